-- expect: on_save: instruction budget exceeded \(10000000 instructions\) \(coroutine-loop\.lua:4\)
return { on_save = function()
  local co = coroutine.wrap(function()
    while true do end
  end)
  co()
end }
