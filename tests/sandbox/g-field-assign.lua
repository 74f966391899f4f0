-- expect: on_save: assignment to undeclared global 'os' \(use 'local os'\) \(g-field-assign\.lua:3\)
return { on_save = function()
  _G.os = {}
end }
