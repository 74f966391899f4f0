-- expect: on_save: rawset: the table is read-only \(rawset-g\.lua:3\)
return { on_save = function()
  rawset(_G, "channels", 99)
end }
