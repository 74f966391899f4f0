-- expect: on_save: 'os' is not available in a policy \(os\.lua:3\)
return { on_save = function()
  os.execute("touch /tmp/pwned")
end }
