-- expect: on_save: memory limit exceeded \(16777216 bytes\) \(memory-table\.lua:5\)
return { on_save = function()
  local t = {}
  local i = 0
  while true do i = i + 1; t[i] = { i, i, i } end
end }
