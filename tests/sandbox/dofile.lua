-- expect: on_save: 'dofile' is not available in a policy \(dofile\.lua:3\)
return { on_save = function()
  dofile("/etc/passwd")
end }
