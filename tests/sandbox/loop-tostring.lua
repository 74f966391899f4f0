-- expect: on_save: instruction budget exceeded \(10000000 instructions\) \(loop-tostring\.lua:3\)
return { on_save = function()
  local t = setmetatable({}, { __tostring = function() while true do end end })
  return { header = mre.header.json({ s = tostring(t) }) }
end }
