-- expect: on_save: attempt to index a string value.* \(getmetatable-g\.lua:3\)
return { on_save = function()
  getmetatable(_G).__index = { os = "x" }
end }
