#!/bin/sh
# SPDX-License-Identifier: MIT
# seeds.sh OUTDIR: write the seed corpora of the fuzz harnesses, made at
# build or test time so that no large binary is committed:
#   OUTDIR/image   small images saved by mrengine (plain, compressed with
#                  zstd and lz4, mrengine and libvirt headers, checksums on
#                  and off, two blocks, device state carried from a real
#                  QEMU file), the synthetic streams of test_format_gen, and
#                  the first and last 8 KiB of the real QEMU 10 / 7.2 files
#                  in ../shared/vectors (when present);
#   OUTDIR/qmp     the client side of every QMP transcript (tests/qmp/*.qmp)
#                  and a few sessions that save, restore, cancel and pass fds;
#   OUTDIR/policy  the shipped policies and the sandbox escape attempts, in
#                  the policy harness's raw mode, and some generated ones.
# Needs $MRENGINE, $builddir (for tests/unit/test_format_gen), $srcdir,
# python3 and zstd (the QEMU files are skipped without zstd).
set -eu
out=$1
: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${builddir:=$srcdir}"
: "${MRENGINE:=$builddir/src/mrengine}"
mkdir -p "$out/image" "$out/qmp" "$out/policy"
work=$(mktemp -d "${TMPDIR:-/tmp}/mre-seeds.XXXXXX")
trap 'rm -rf "$work"' EXIT

# ---- images --------------------------------------------------------------
"$builddir/tests/unit/test_format_gen" "$work" >/dev/null
cp "$work/seq.mig" "$out/image/synth-seq.mig"
cp "$work/mapped.mig" "$out/image/synth-mapped.mig"

python3 - "$work" <<'EOF'
import random, sys
rnd = random.Random(7)
for name, pages in (("a", 8), ("b", 4)):
    out = bytearray()
    for i in range(pages):
        k = i % 3
        # data pages: a little noise on zeros, so compressed seeds stay small
        out += (rnd.randbytes(64) + bytes(4032) if k == 0 else bytes(4096) if k == 1
                else bytes([i + 1]) * 4096)
    open("%s/%s.ram" % (sys.argv[1], name), "wb").write(out)
EOF
cat >"$work/small.lua" <<'EOF'
return { on_save = function() return { alignment = 4096 } end }
EOF
cat >"$work/libvirt.lua" <<'EOF'
return { on_save = function() return { alignment = 4096,
  header = { format = "libvirt", xml = "<domain><name>fuzz</name></domain>" } } end }
EOF
objs="-object memory-backend-file,id=pc.ram,size=32K,mem-path=$work/a.ram
      -object memory-backend-file,id=vga,size=16K,mem-path=$work/b.ram"
save() { # save NAME OPTIONS...
	name=$1; shift
	# shellcheck disable=SC2086
	"$MRENGINE" save -q --policy "$work/small.lua" $objs -O "$out/image/$name" "$@"
}
save plain.img
save plain-nocsum.img --checksum none
save header.img --header mrengine
save zstd.img --compress zstd --chunk-size 64K
save lz4-header.img --compress lz4 --chunk-size 64K --header mrengine
# shellcheck disable=SC2086
"$MRENGINE" save -q --policy "$work/libvirt.lua" $objs -O "$out/image/libvirt.img"

vectors=${MRE_VECTORS:-}
for d in "$srcdir/../shared/vectors" "$srcdir/../../shared/vectors"; do
	[ -z "$vectors" ] && [ -d "$d" ] && vectors=$d
done
if [ -n "$vectors" ] && command -v zstd >/dev/null 2>&1; then
	for v in a_new_mapped_ram f_new_sequential_file f_old72_sequential_exec; do
		[ -f "$vectors/$v.mig.zst" ] || continue
		zstd -q -d --sparse -f "$vectors/$v.mig.zst" -o "$work/$v.mig"
		head -c 8192 "$work/$v.mig" >"$out/image/$v-head.mig"
		tail -c 8192 "$work/$v.mig" >"$out/image/$v-tail.mig"
	done
	# real device state (everything between the ram END and EOF) in a small image
	if [ -f "$work/a_new_mapped_ram.mig" ]; then
		"$MRENGINE" inspect --json "$work/a_new_mapped_ram.mig" >"$work/a.json"
		python3 - "$work/a.json" "$work/a_new_mapped_ram.mig" "$work/devices.bin" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
secs = j["sections"]
end = [s for s in secs if s.get("idstr") == "ram" and s["type"] == "END"][-1]["end"]
eof = [s for s in secs if s["type"] == "EOF"][0]["offset"]
data = open(sys.argv[2], "rb").read()[end:eof]
open(sys.argv[3], "wb").write(data)
EOF
		save qemu-devices.img --device-state "$work/devices.bin"
	fi
fi

# ---- QMP sessions ----------------------------------------------------------
for t in "$srcdir"/tests/qmp/*.qmp; do
	# the client's lines; scratch paths become relative to the daemon's directory
	sed -n 's/^> //p' "$t" | sed 's|@TMP@/|./|g; s|@TMP@|.|g' >"$out/qmp/$(basename "$t" .qmp).in"
done
cat >"$out/qmp/save-restore-cancel.in" <<'EOF'
{"execute": "qmp_capabilities"}
{"execute": "object-add", "arguments": {"qom-type": "memory-backend-memfd", "id": "pc.ram", "size": 1048576}}
{"execute": "object-add", "arguments": {"qom-type": "memory-backend-file", "id": "vga", "size": 65536, "mem-path": "vga.ram", "share": true}}
{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "mapped-ram", "state": true}, {"capability": "multifd", "state": true}]}}
{"execute": "migrate-set-parameters", "arguments": {"multifd-channels": 2, "max-bandwidth": 1048576}}
{"execute": "migrate", "arguments": {"uri": "file:a.img"}}
{"execute": "query-migrate"}
{"execute": "migrate_cancel"}
{"execute": "migrate", "arguments": {"uri": "file:b.img,offset=4096"}}
{"execute": "query-migrate", "id": 7}
{"execute": "x-image-inspect", "arguments": {"filename": "b.img", "offset": 4096}}
{"execute": "migrate-incoming", "arguments": {"uri": "file:b.img,offset=4096"}}
{"execute": "x-plan", "arguments": {"kind": "save", "uri": "file:c.img"}}
{"execute": "query-memdev"}
{"execute": "object-del", "arguments": {"id": "vga"}}
EOF
cat >"$out/qmp/fdpass-session.in" <<'EOF'
{"execute": "qmp_capabilities"}
{"execute": "add-fd", "arguments": {"fdset-id": 1, "opaque": "rw"}}
{"execute": "add-fd", "arguments": {"fdset-id": 1, "opaque": "ro"}}
{"execute": "add-fd", "arguments": {"fdset-id": 2}}
{"execute": "query-fdsets"}
{"execute": "object-add", "arguments": {"qom-type": "memory-backend-memfd", "id": "m", "size": 65536}}
{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "mapped-ram", "state": true}]}}
{"execute": "migrate", "arguments": {"uri": "file:/dev/fdset/1"}}
{"execute": "remove-fd", "arguments": {"fdset-id": 1}}
{"execute": "getfd", "arguments": {"fdname": "x"}}
{"execute": "closefd", "arguments": {"fdname": "x"}}
EOF
cat >"$out/qmp/policy-session.in" <<'EOF'
{"execute": "qmp_capabilities"}
{"execute": "x-policy-load", "arguments": {"path": "compact-archive"}}
{"execute": "x-policy-query"}
{"execute": "object-add", "arguments": {"qom-type": "memory-backend-memfd", "id": "pc.ram", "size": 262144}}
{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "mapped-ram", "state": true}]}}
{"execute": "x-plan"}
{"execute": "migrate", "arguments": {"uri": "file:z.img"}}
{"execute": "quit"}
EOF
printf '{"execute": "qmp_capabilities"}\n{"execute": "query-status"} {"execute":\n "query-version"}[1, {"a": "\\u0000"}]\n\001{"execute": 12}' >"$out/qmp/framing.in"

# ---- policies ---------------------------------------------------------------
# raw mode: first byte 0, then the source
for p in "$srcdir"/policies/*.lua "$srcdir"/tests/sandbox/*.lua; do
	name=$(basename "$(dirname "$p")")-$(basename "$p" .lua)
	{ printf '\000'; cat "$p"; } >"$out/policy/$name"
done
# generated mode: fixed byte strings the generator turns into policies
python3 - "$out/policy" <<'EOF'
import random, sys
rnd = random.Random(11)
for i in range(24):
    data = bytes([2 + i % 6]) + rnd.randbytes(64 + 8 * i)
    open("%s/generated-%02d" % (sys.argv[1], i), "wb").write(data)
# plan mode
for i in range(8):
    open("%s/plan-%02d" % (sys.argv[1], i), "wb").write(bytes([1]) + rnd.randbytes(120))
EOF
