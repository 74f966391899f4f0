-- expect: on_save: (stack overflow|memory limit exceeded|instruction budget exceeded).* \(recursion\.lua:3\)
local function f(n)
  return 1 + f(n + 1)
end
return { on_save = function() return { channels = f(1) } end }
