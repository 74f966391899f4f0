-- expect: on_save: plan field 'header': data has more than 4096 values \(returns-huge-header\.lua:2\)
return { on_save = function(vm, target, host, params)
  local t = {}
  for i = 1, 5000 do t["k" .. i] = i end
  return { header = mre.header.json(t) }
end }
