-- expect: on_save: 'io' is not available in a policy \(io\.lua:4\)
return {
  on_save = function()
    local f = io.open("/etc/passwd")
  end,
}
