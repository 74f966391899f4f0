-- expect: on_save: 'loadfile' is not available in a policy \(loadfile\.lua:3\)
return { on_save = function()
  return loadfile("/etc/passwd")
end }
