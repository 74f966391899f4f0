-- expect: on_save: setmetatable: __gc metamethods are not allowed in a policy \(setmetatable-gc\.lua:3\)
return { on_save = function()
  setmetatable({}, { __gc = function() while true do end end })
end }
