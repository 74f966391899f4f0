-- expect: on_save: instruction budget exceeded \(10000000 instructions\) \(loop-xpcall-handler\.lua:4\)
return { on_save = function()
  for i = 1, 1000 do
    xpcall(error, function(e) while true do end end)
  end
  return { channels = 1 }
end }
