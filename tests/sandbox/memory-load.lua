-- expect: load: memory limit exceeded \(16777216 bytes\) \(memory-load\.lua:3\)
local t = {}
for i = 1, 1e8 do t[i] = ("z"):rep(100) .. i end
return {}
