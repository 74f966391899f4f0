-- expect: load: 'package' is not available in a policy \(package\.lua:2\)
local lib = package.loadlib("libc.so.6", "system")
return {}
