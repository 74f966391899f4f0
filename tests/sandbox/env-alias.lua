-- expect: on_save: assignment to undeclared global 'x' \(use 'local x'\) \(env-alias\.lua:4\)
return { on_save = function()
  local env = _ENV
  env.x = 1
end }
