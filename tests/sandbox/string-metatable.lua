-- expect: on_save: attempt to index a nil value \(field '__index'\) \(string-metatable\.lua:3\)
return { on_save = function()
  getmetatable("").__index.len = function() return 0 end
end }
