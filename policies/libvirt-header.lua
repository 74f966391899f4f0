-- libvirt-header.lua: a file laid out like libvirt's "sparse" save image: the libvirt save-image
-- header and domain XML first, then plain QEMU-loadable mapped-ram (no compression, no checksums).
local MiB = mre.MiB
local esc = mre.xml_escape

-- A minimal domain description; a management layer with the real XML would pass it in.
local function domain_xml(vm)
  local uuid = vm.uuid ~= "" and ("  <uuid>" .. vm.uuid .. "</uuid>\n") or ""
  return "<domain type='kvm'>\n" ..
         "  <name>" .. esc(vm.name ~= "" and vm.name or "mrengine-vm") .. "</name>\n" ..
         uuid ..
         "  <memory unit='KiB'>" .. (vm.ram_bytes // 1024) .. "</memory>\n" ..
         "</domain>\n"
end

return {
  name = "libvirt-header",
  description = "libvirt save-image header + XML, then QEMU mapped-ram.",

  on_save = function(vm, target, host, params)
    return mre.honour({
      channels = mre.clamp(host.cpus, 1, 4),
      direct_io = target.direct_io,
      alignment = MiB, -- what QEMU uses for mapped-ram page regions
      compression = "none",
      checksum = "none",
      header = mre.header.libvirt(domain_xml(vm)),
    }, params)
  end,
}
