-- expect: on_progress: instruction budget exceeded \(10000000 instructions\) \(loop-progress\.lua:4\)
-- hook: on_progress
return { on_progress = function(stats)
  repeat local x = stats.total until false
end }
