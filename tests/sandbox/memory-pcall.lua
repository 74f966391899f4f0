-- expect: on_save: memory limit exceeded \(16777216 bytes\) \(memory-pcall\.lua:5\)
return { on_save = function()
  local keep = {}
  while true do
    local ok = pcall(function() keep[#keep + 1] = string.rep("y", 1 << 20) end)
  end
end }
