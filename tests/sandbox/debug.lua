-- expect: on_save: 'debug' is not available in a policy \(debug\.lua:3\)
return { on_save = function()
  local reg = debug.getregistry()
end }
