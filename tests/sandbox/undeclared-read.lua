-- expect: on_save: read of undeclared global 'chanels' \(undeclared-read\.lua:3\)
return { on_save = function()
  return { channels = chanels }
end }
