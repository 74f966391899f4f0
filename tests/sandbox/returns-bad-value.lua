-- expect: on_save: plan field 'compression': "gzip" is not allowed \(allowed: "none", "zstd", "zstd:1".."zstd:19", "lz4"\) \(returns-bad-value\.lua:2\)
return { on_save = function(vm, target, host, params)
  return { compression = "gzip" }
end }
