-- expect: on_save: unknown plan field "chanels" \(allowed: alignment, channels, .*\) \(returns-unknown-field\.lua:2\)
return { on_save = function(vm, target, host, params)
  return { chanels = 4 }
end }
