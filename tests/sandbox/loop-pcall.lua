-- expect: on_save: instruction budget exceeded \(10000000 instructions\) \(loop-pcall\.lua:(4|5)\)
return { on_save = function()
  while true do
    pcall(function() while true do end end)
  end
end }
