-- expect: on_save: .*attempt to call a nil value \(method 'dump'\) \(string-dump-method\.lua:3\)
return { on_save = function()
  local bytes = ("x"):dump()
end }
