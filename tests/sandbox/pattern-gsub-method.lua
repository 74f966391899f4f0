-- expect: on_save: string\.gsub: a pattern with 8 repetitions is too costly on a 5000-byte string in a policy \(pattern-gsub-method\.lua:3\)
return { on_save = function()
  local s = ("x"):rep(5000):gsub("x-x-x-x-x-x-x-x-y", "")
end }
