-- expect: on_save: \(error object is a table value\) \(error-table\.lua:3\)
return { on_save = function()
  error({ code = 42 })
end }
