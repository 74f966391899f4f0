-- expect: on_save: instruction budget exceeded \(10000000 instructions\) \(loop\.lua:3\)
return { on_save = function()
  while true do end
end }
