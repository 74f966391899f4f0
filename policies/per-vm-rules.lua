-- per-vm-rules.lua: picks each VM's save plan from a rule list keyed on its labels and RAM size;
-- the first rule that matches decides, and parameters a client set explicitly always win.
local MiB, GiB = mre.MiB, mre.GiB
local label, ram_at_least, always = mre.label, mre.ram_at_least, mre.always

local rules = {
  -- when ...                        save with ...
  { label("tier", "gold"),           function(vm, target)
                                       return { channels = 8, direct_io = target.direct_io,
                                                checksum = "none" }
                                     end },
  { label("backup", "archive"),      { compression = "zstd:9", chunk_size = 4 * MiB,
                                       checksum = "crc32c" } },
  { label("env", "dev"),             { channels = 1, max_bandwidth = 100 * MiB } },
  { ram_at_least(64 * GiB),          { channels = 16 } },
  { ram_at_least(8 * GiB),           { channels = 4 } },
  { always,                          { channels = 2 } },
}

return {
  name = "per-vm-rules",
  description = "Rules on vm.labels and vm.ram_bytes; first match wins.",

  on_save = function(vm, target, host, params)
    local plan, n = mre.first_match(rules, vm, target, host, params)
    mre.log("info", "vm '%s' (%d MiB): rule %d", vm.name, mre.mib(vm.ram_bytes), n)
    return mre.honour(plan, params)
  end,
}
