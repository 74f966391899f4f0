-- expect: on_save: collectgarbage: only "count" is allowed in a policy \(got "stop"\) \(collectgarbage-stop\.lua:3\)
return { on_save = function()
  collectgarbage("stop")
end }
