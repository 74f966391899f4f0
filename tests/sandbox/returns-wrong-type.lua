-- expect: on_save: plan field 'direct_io': "yes" is not a boolean \(allowed: true, false\) \(returns-wrong-type\.lua:2\)
return { on_save = function(vm, target, host, params)
  return { direct_io = "yes" }
end }
