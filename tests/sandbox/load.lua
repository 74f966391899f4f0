-- expect: on_save: 'load' is not available in a policy \(load\.lua:3\)
return { on_save = function()
  return load("return { channels = 4 }")()
end }
