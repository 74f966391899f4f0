-- expect: load: the policy must return a table of hooks \(got nil\)
local function on_save() return { channels = 2 } end
