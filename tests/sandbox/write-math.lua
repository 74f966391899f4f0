-- expect: on_save: cannot assign to 'math\.pi': math is read-only \(write-math\.lua:3\)
return { on_save = function()
  math.pi = 3
end }
