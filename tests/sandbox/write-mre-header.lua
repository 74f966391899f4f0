-- expect: load: cannot assign to 'mre\.header\.json': mre\.header is read-only \(write-mre-header\.lua:2\)
mre.header.json = function() return "gotcha" end
return {}
