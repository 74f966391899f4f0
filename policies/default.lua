-- default.lua: sensible defaults: one channel per CPU up to 4, io_uring when the host has it,
-- buffered I/O, 1 MiB alignment, no compression, crc32c checksums; client-set parameters win.
local MiB = mre.MiB

return {
  name = "default",
  description = "Sensible defaults that keep every parameter a client set explicitly.",

  on_save = function(vm, target, host, params)
    return mre.honour({
      channels = mre.clamp(host.cpus, 1, 4),
      io = host.io_uring and "uring" or "threads",
      direct_io = false,
      alignment = MiB,
      compression = "none",
      checksum = "crc32c",
      sync = "fdatasync",
    }, params)
  end,

  on_restore = function(image, vm, host, params)
    return mre.honour({
      channels = mre.clamp(host.cpus, 1, 4),
      io = host.io_uring and "uring" or "threads",
      verify = image.checksums,
    }, params)
  end,
}
