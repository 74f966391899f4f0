-- expect: on_save: string\.match: a pattern with 12 repetitions is too costly on a 300-byte string in a policy \(pattern-backtrack\.lua:4\)
return { on_save = function()
  -- backtracking in C, where no instruction count can stop it
  local m = string.match(("a"):rep(300), ("a*"):rep(12) .. "b")
end }
