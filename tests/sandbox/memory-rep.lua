-- expect: on_save: memory limit exceeded \(16777216 bytes\) \(memory-rep\.lua:4\)
return { on_save = function()
  local s = "x"
  while true do s = s .. s end
end }
