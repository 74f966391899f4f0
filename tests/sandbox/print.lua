-- expect: on_save: 'print' is not available in a policy; use mre\.log\(level, msg\) \(print\.lua:3\)
return { on_save = function()
  print("hello")
end }
