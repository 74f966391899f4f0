-- expect: on_save: (instruction budget exceeded|memory limit exceeded).* \(recursion-pcall\.lua:(3|6)\)
local function f() return 1 + f() end
return { on_save = function()
  -- a stack overflow caught by pcall, again and again, still ends
  while true do
    pcall(f)
  end
end }
