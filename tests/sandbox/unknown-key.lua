-- expect: load: unknown key 'on_saev' in the policy table \(allowed: name, description, on_save, on_restore, on_progress, on_complete\)
return {
  on_save = function() end,
  on_saev = function() end,
}
