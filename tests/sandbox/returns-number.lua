-- expect: load: the policy must return a table of hooks \(got number\).* \(returns-number\.lua:3\)
local channels = 4
return channels
