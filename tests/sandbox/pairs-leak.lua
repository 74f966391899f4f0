-- expect: on_save: cannot assign to 'string\.len': string is read-only \(pairs-leak\.lua:5\)
return { on_save = function()
  -- the state pairs() hands out must not be the real library table
  local iter, state = pairs(string)
  state.len = nil
end }
