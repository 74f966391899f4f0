#!/bin/sh
# SPDX-License-Identifier: MIT
# Checksums, the completion marker, mrengine's header and the compressed
# variant: corrupt data is found and named (block and pages), an unfinished
# image is refused, and compressed images round-trip byte-exact.
. "$srcdir/tests/lib.sh"
plan 45

"$MRENGINE" generate --size 6M --seed 11 "$TMP/a.ram"
"$MRENGINE" generate --size 1028K --mix 50,0,50 --seed 12 "$TMP/b.ram"
SRC="-object memory-backend-file,id=a,size=6M,mem-path=$TMP/a.ram -object memory-backend-file,id=b,size=1028K,mem-path=$TMP/b.ram"
restore_to() { # restore_to IMAGE PREFIX [ARGS...]
	img=$1 pre=$2; shift 2
	rm -f "$pre-a" "$pre-b"
	"$MRENGINE" restore -q "$img" -object memory-backend-file,id=a,size=6M,mem-path="$pre-a" \
		-object memory-backend-file,id=b,size=1028K,mem-path="$pre-b" "$@"
}
same() { cmp -s "$TMP/a.ram" "$1-a" && cmp -s "$TMP/b.ram" "$1-b"; }
# flip one byte at OFFSET of FILE
flip() { python3 -c "
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR); off = int(sys.argv[2])
b = os.pread(fd, 1, off); os.pwrite(fd, bytes([b[0] ^ 0x5a]), off)" "$1" "$2"; }
json() { "$MRENGINE" inspect --json "$1" | python3 -c "import json, sys; d = json.load(sys.stdin); print($2)"; }

# --- plain image with page checksums -----------------------------------------
# shellcheck disable=SC2086
check "save with checksums" "$MRENGINE" save -q $SRC --output "$TMP/p.img"
"$MRENGINE" verify "$TMP/p.img" >"$TMP/v.out" 2>&1
grep -q "checksums of all pages verified" "$TMP/v.out" && ok "verify checks every page" || not_ok "verify checks every page"
[ "$(json "$TMP/p.img" "d['trailer']['page-checksums']")" = True ] && ok "inspect shows the trailer" || not_ok "inspect shows the trailer"
check "restore verifies and is byte-exact" restore_to "$TMP/p.img" "$TMP/r"
same "$TMP/r" && ok "restored bytes equal" || not_ok "restored bytes equal"

# a flipped byte in a present page of block b: verify and restore name it
cp "$TMP/p.img" "$TMP/bad.img"
off=$(python3 -c "
import json, subprocess, sys
d = json.loads(subprocess.check_output([sys.argv[1], 'inspect', '--json', sys.argv[2]]))
b = [x for x in d['blocks'] if x['id'] == 'b'][0]
data = open(sys.argv[3], 'rb').read()
page = next(i for i in range(200, 257) if data[i*4096:(i+1)*4096] != bytes(4096))
print(b['pages-offset'] + page * 4096 + 123, page)" "$MRENGINE" "$TMP/p.img" "$TMP/b.ram")
page=${off#* }; off=${off% *}
flip "$TMP/bad.img" "$off"
check_fails "verify finds the flipped byte" "RAM block 'b': pages 256\.\.256|RAM block 'b': pages [0-9]+\.\.[0-9]+ .*checksum mismatch" \
	"$MRENGINE" verify "$TMP/bad.img"
grep -q "pages $((page / 256 * 256))\.\." "$TMP/.err" && ok "the page range contains page $page" || not_ok "the page range contains page $page"
check_fails "restore refuses corrupt data" "RAM block 'b'.*checksum mismatch" restore_to "$TMP/bad.img" "$TMP/c"
[ ! -s "$TMP/c-b" ] && ok "failed restore leaves the target unusable (empty)" || not_ok "failed restore leaves the target unusable (empty)"
"$MRENGINE" restore "$TMP/bad.img" --no-verify -object memory-backend-file,id=a,size=6M,mem-path="$TMP/n-a" \
	-object memory-backend-file,id=b,size=1028K,mem-path="$TMP/n-b" >"$TMP/nv.out" 2>&1
grep -q "checksums NOT verified" "$TMP/nv.out" && ok "--no-verify restores and says so" || not_ok "--no-verify restores and says so"

# every single-byte flip in metadata is caught too (bitmap, device area, tail)
bm=$(json "$TMP/p.img" "d['blocks'][0]['bitmap-offset']")
cp "$TMP/p.img" "$TMP/bm.img"; flip "$TMP/bm.img" "$((bm + 1))"
check_fails "a flipped bitmap byte is refused" "offset 0x|checksum" "$MRENGINE" verify "$TMP/bm.img"
end=$(json "$TMP/p.img" "d['stream-end']")
cp "$TMP/p.img" "$TMP/vd.img"; flip "$TMP/vd.img" "$((end - 3))"
check_fails "a flipped vmdesc byte is refused" "metadata .* does not match its checksum" "$MRENGINE" verify "$TMP/vd.img"
check_fails "restore refuses it too, naming the file" "vd.img: .*metadata .* does not match its checksum" restore_to "$TMP/vd.img" "$TMP/vd"

# torn ends: no completion marker, or a cut trailer
size=$(stat -c %s "$TMP/p.img")
head -c $((size - 8)) "$TMP/p.img" >"$TMP/t1.img"
check_fails "missing completion marker" "unexpected bytes after the end of the stream" "$MRENGINE" verify "$TMP/t1.img"
head -c $((end + 20)) "$TMP/p.img" >"$TMP/t2.img"
check_fails "cut trailer" "unexpected bytes" "$MRENGINE" verify "$TMP/t2.img"
head -c $((end - 100)) "$TMP/p.img" >"$TMP/t3.img"
check_fails "cut inside the vmdesc" "offset 0x" "$MRENGINE" verify "$TMP/t3.img"
vd=$(json "$TMP/p.img" "d['vmdesc']['offset']")
head -c "$vd" "$TMP/p.img" >"$TMP/t4.img"
check_fails "cut right after EOF" "without the VM description" "$MRENGINE" verify "$TMP/t4.img"
check_fails "restore refuses a file cut right after EOF" "t4.img: .*without the VM description" restore_to "$TMP/t4.img" "$TMP/t4"

# checksums off: still a trailer, metadata checked, no page checksums
# shellcheck disable=SC2086
check "save --checksum none" "$MRENGINE" save -q $SRC --output "$TMP/nc.img" --checksum none
"$MRENGINE" verify "$TMP/nc.img" >"$TMP/v.out" 2>&1
grep -q "no page checksums" "$TMP/v.out" && ok "verify says there are no page checksums" || not_ok "verify says there are no page checksums"

# --- mrengine header -------------------------------------------------------
# shellcheck disable=SC2086
check "save with an mrengine header" "$MRENGINE" save -q $SRC --output "$TMP/h.img" --header mrengine --name vm7 --label tier=gold
[ "$(head -c 8 "$TMP/h.img" | od -An -c | tr -d ' ')" = 'MREIMG\r\n' ] && ok "magic at 0" || not_ok "magic at 0"
so=$(json "$TMP/h.img" "d['stream-offset']")
[ "$so" -ge 4096 ] && [ $((so % 4096)) -eq 0 ] && ok "stream at aligned offset $so" || not_ok "stream at aligned offset $so"
[ "$(json "$TMP/h.img" "d['header']['kind'] + ' ' + str(d['header']['complete'])")" = "mrengine True" ] \
	&& ok "inspect: mrengine header, complete" || not_ok "inspect: mrengine header, complete"
grep -a -q '"name": "vm7"' "$TMP/h.img" && grep -a -q '"tier": "gold"' "$TMP/h.img" \
	&& ok "metadata has the VM name and labels" || not_ok "metadata has the VM name and labels"
check "verify finds the stream behind the header" "$MRENGINE" verify -q "$TMP/h.img"
check "restore through the header" restore_to "$TMP/h.img" "$TMP/h"
same "$TMP/h" && ok "restored bytes equal" || not_ok "restored bytes equal"
# an interrupted save: state "in progress" (header CRC recomputed so only the state is wrong)
python3 - "$TMP/h.img" "$TMP/hp.img" <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], 'rb').read())
d[12:16] = struct.pack('<I', 1)
meta_len = struct.unpack_from('<I', d, 48)[0]
tmp = bytes(d[:52]) + b'\0\0\0\0' + bytes(d[56:64]) + bytes(d[64:64 + meta_len])
# CRC-32C (Castagnoli), bitwise
crc = 0xffffffff
for byte in tmp:
    crc ^= byte
    for _ in range(8):
        crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
d[52:56] = struct.pack('<I', crc ^ 0xffffffff)
open(sys.argv[2], 'wb').write(d)
PY
check_fails "verify refuses an in-progress header" "never completed" "$MRENGINE" verify "$TMP/hp.img"
check_fails "restore refuses an in-progress header" "hp.img: .*never completed" restore_to "$TMP/hp.img" "$TMP/hp"
cp "$TMP/h.img" "$TMP/hc.img"; flip "$TMP/hc.img" 70
check_fails "a corrupt header is refused" "header checksum mismatch" "$MRENGINE" verify "$TMP/hc.img"

# --- compressed variant -----------------------------------------------------------
for c in zstd zstd:1 lz4; do
	# shellcheck disable=SC2086
	check "save --compress $c" "$MRENGINE" save -q $SRC --output "$TMP/z.img" --compress "$c" --chunk-size 64K
	check "verify $c" "$MRENGINE" verify -q "$TMP/z.img"
	restore_to "$TMP/z.img" "$TMP/z" && same "$TMP/z" && ok "$c round trip byte-exact" || not_ok "$c round trip byte-exact"
done
[ "$(json "$TMP/z.img" "d['format']")" = mapped-ram-compressed ] && ok "inspect: compressed format" || not_ok "inspect: compressed format"
check "extract from a compressed image" "$MRENGINE" extract "$TMP/z.img" --block a --output "$TMP/za.raw"
cmp -s "$TMP/za.raw" "$TMP/a.ram" && ok "extract is byte-exact" || not_ok "extract is byte-exact"
# corrupt a stored chunk: verify and restore refuse, naming the chunk
# (inside the stored bytes of the first compressed chunk: read its table entry)
off=$(python3 -c "
import json, struct, subprocess, sys
d = json.loads(subprocess.check_output([sys.argv[1], 'inspect', '--json', sys.argv[2]]))
table = d['blocks'][0]['pages-offset']
raw = open(sys.argv[2], 'rb').read()
n = struct.unpack_from('<Q', raw, table + 24)[0]
for i in range(n):
    off, length, flags = struct.unpack_from('<QII', raw, table + 40 + 24 * i)
    if flags == 0 and length > 64:
        print(off + length // 2)
        break" "$MRENGINE" "$TMP/z.img")
flip "$TMP/z.img" "$off"
check_fails "verify finds a corrupt chunk" "chunk [0-9]+ .*(corrupt|checksum)" "$MRENGINE" verify "$TMP/z.img"
check_fails "restore refuses a corrupt chunk" "chunk [0-9]+ .*(corrupt|checksum)" restore_to "$TMP/z.img" "$TMP/zz"

done_testing
