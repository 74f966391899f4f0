-- expect: on_save: cannot assign to 'mre\.log': mre is read-only \(write-mre\.lua:3\)
return { on_save = function()
  mre.log = function() end
end }
