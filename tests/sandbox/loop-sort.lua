-- expect: on_save: instruction budget exceeded \(10000000 instructions\) \(loop-sort\.lua:4\)
return { on_save = function()
  local t = { 3, 1, 2 }
  table.sort(t, function(a, b) while true do end end)
end }
