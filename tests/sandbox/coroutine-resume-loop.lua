-- expect: on_save: instruction budget exceeded \(10000000 instructions\) \(coroutine-resume-loop\.lua:(4|5)\)
return { on_save = function()
  while true do
    local co = coroutine.create(function() while true do end end)
    coroutine.resume(co)
  end
end }
