-- expect: load: 'on_save' must be a function \(got table\) \(hook-not-function\.lua:2\)
return { on_save = { channels = 4 } }
