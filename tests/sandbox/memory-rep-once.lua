-- expect: on_save: memory limit exceeded \(16777216 bytes\) \(memory-rep-once\.lua:3\)
return { on_save = function()
  local s = string.rep("x", 1 << 30)
end }
