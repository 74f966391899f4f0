-- expect: on_save: assignment to undeclared global 'plan' \(use 'local plan'\) \(undeclared-write\.lua:3\)
return { on_save = function()
  plan = { channels = 4 }
  return plan
end }
