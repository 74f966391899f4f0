-- low-impact.lua: a background save on a busy host: 1 channel (2 on 8+ CPUs), 200 MiB/s cap
-- (50 MiB/s on a spinning disk), O_DIRECT where possible to keep the page cache clean.
local MiB = mre.MiB

return {
  name = "low-impact",
  description = "Gentle on the host: few channels, a bandwidth cap, no page-cache pollution.",

  on_save = function(vm, target, host, params)
    return mre.honour({
      channels = host.cpus >= 8 and 2 or 1,
      io = "threads",
      direct_io = target.direct_io,
      alignment = target.direct_io and math.max(MiB, target.dio_align) or MiB,
      max_bandwidth = (target.rotational and 50 or 200) * MiB,
      compression = "none",
      checksum = "crc32c",
      sync = "fdatasync",
    }, params)
  end,

  on_restore = function(image, vm, host, params)
    return mre.honour({ channels = 1, io = "threads" }, params)
  end,
}
