-- expect: on_save: cannot assign to 'string\.len': string is read-only \(write-string\.lua:3\)
return { on_save = function()
  string.len = function() return 0 end
end }
