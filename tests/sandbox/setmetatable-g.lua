-- expect: on_save: setmetatable: the table is read-only \(setmetatable-g\.lua:3\)
return { on_save = function()
  setmetatable(_G, { __index = function() return "anything" end })
end }
