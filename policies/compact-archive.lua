-- compact-archive.lua: the smallest file: zstd in 4 MiB chunks (level 9, or 3 when the sample
-- shows the pages barely compress), crc32c checksums, a channel per CPU for the compression.
local KiB, MiB = mre.KiB, mre.MiB

return {
  name = "compact-archive",
  description = "Smallest image: compressed, checksummed, buffered.",

  on_save = function(vm, target, host, params)
    local level = 9
    if vm.sample_compress_ratio > 0.9 then
      level = 3 -- nearly incompressible: do not burn CPU for nothing
    end
    return mre.honour({
      channels = mre.clamp(host.cpus, 1, 8),
      direct_io = false,
      alignment = 4 * KiB, -- no padding beyond a page
      compression = "zstd:" .. level,
      chunk_size = 4 * MiB,
      checksum = "crc32c",
      sync = "fdatasync",
      prealloc = false,
    }, params)
  end,

  on_restore = function(image, vm, host, params)
    return mre.honour({
      channels = mre.clamp(host.cpus, 1, 8),
      verify = image.checksums,
    }, params)
  end,
}
