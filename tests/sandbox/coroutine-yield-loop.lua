-- expect: on_save: instruction budget exceeded \(10000000 instructions\) \(coroutine-yield-loop\.lua:[3-6]\)
return { on_save = function()
  local co = coroutine.wrap(function() while true do coroutine.yield() end end)
  while true do co() end
end }
