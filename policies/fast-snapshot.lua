-- fast-snapshot.lua: as fast as the storage allows: channels from the CPUs and the target,
-- O_DIRECT when the target supports it, no compression and no checksums; client settings win.
local MiB, GiB = mre.MiB, mre.GiB

-- Parallel writers pay off on flash and memory, not on a spinning disk.
local function channels_for(target, host, vm)
  local n = mre.clamp(host.cpus, 1, 16)
  if target.rotational then n = math.min(n, 2) end
  -- no point in more channels than 256 MiB pieces of RAM
  return mre.clamp(math.min(n, vm.ram_bytes // (256 * MiB)), 1, 16)
end

return {
  name = "fast-snapshot",
  description = "Maximum throughput: parallel direct I/O, nothing computed on the pages.",

  on_save = function(vm, target, host, params)
    local dio = target.direct_io
    return mre.honour({
      channels = channels_for(target, host, vm),
      io = host.io_uring and "uring" or "threads",
      direct_io = dio,
      alignment = dio and math.max(MiB, target.dio_align) or MiB,
      compression = "none",
      checksum = "none",
      sync = "fdatasync",
    }, params)
  end,

  on_restore = function(image, vm, host, params)
    return mre.honour({
      channels = mre.clamp(host.cpus, 1, 16),
      io = host.io_uring and "uring" or "threads",
      verify = false,
    }, params)
  end,
}
