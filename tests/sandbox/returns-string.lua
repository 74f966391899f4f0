-- expect: on_save: the hook returned "fast" \(allowed: a plan table, or nil for no opinion\) \(returns-string\.lua:2\)
return { on_save = function(vm, target, host, params)
  return "fast"
end }
