-- expect: on_save: .*attempt to call a nil value \(field 'dump'\) \(string-dump\.lua:3\)
return { on_save = function()
  local bytes = string.dump(function() return 1 end)
end }
