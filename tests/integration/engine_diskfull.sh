#!/bin/sh
# SPDX-License-Identifier: MIT
# Full disks: on a small size-limited tmpfs, a save that cannot fit is
# refused before anything is written; a disk that fills up during a save
# fails it cleanly (exit 1, no file at the path, no temporary file, an older
# image intact); --prealloc reserves exactly the ranges with data.
. "$srcdir/tests/lib.sh"

mkdir "$TMP/fs"
mount -t tmpfs -o size=24M tmpfs "$TMP/fs" 2>/dev/null || skip_all "cannot mount a size-limited tmpfs here"
trap 'umount_retry "$TMP/fs"; rm -rf "$TMP"' EXIT
plan 15

"$MRENGINE" generate --size 64M --mix 30,30,40 --seed 3 "$TMP/big.ram"     # ~45 MiB of data
"$MRENGINE" generate --size 16M --mix 60,20,20 --seed 4 "$TMP/small.ram"   # ~6.4 MiB of data
"$MRENGINE" generate --size 32M --mix 0,0,100 --seed 5 "$TMP/rand.ram"     # incompressible
leftovers() { ls -A "$TMP/fs" | grep -c 'mrengine-' ; }

check "a small image fits" "$MRENGINE" save -q -object memory-backend-file,id=m,size=16M,mem-path="$TMP/small.ram" \
	--output "$TMP/fs/keep.img"
cp "$TMP/fs/keep.img" "$TMP/keep.orig"
used_before=$(df --output=used -B1 "$TMP/fs" | tail -1)

check_fails "a save that cannot fit is refused up front" "not enough space for the image: it needs" \
	"$MRENGINE" save -object memory-backend-file,id=m,size=64M,mem-path="$TMP/big.ram" --output "$TMP/fs/keep.img"
[ "$(leftovers)" -eq 0 ] && ok "no temporary file left" || not_ok "no temporary file left"
cmp -s "$TMP/fs/keep.img" "$TMP/keep.orig" && ok "the older image is intact" || not_ok "the older image is intact"
[ "$(df --output=used -B1 "$TMP/fs" | tail -1)" -eq "$used_before" ] && ok "nothing was written" || not_ok "nothing was written"

# compressed incompressible data: the pre-flight cannot know its size, the disk fills mid-save
check_fails "a disk that fills during the save fails it cleanly" "No space left on device" \
	"$MRENGINE" save -object memory-backend-file,id=m,size=32M,mem-path="$TMP/rand.ram" --output "$TMP/fs/keep.img" \
	--compress lz4
[ "$(leftovers)" -eq 0 ] && ok "no temporary file left after ENOSPC" || not_ok "no temporary file left after ENOSPC"
cmp -s "$TMP/fs/keep.img" "$TMP/keep.orig" && ok "the older image is intact after ENOSPC" || not_ok "the older image is intact after ENOSPC"
check "verify still accepts the older image" "$MRENGINE" verify -q "$TMP/fs/keep.img"

# --prealloc: the file's allocation is exactly the data (plus metadata), holes stay holes
rm -f "$TMP/fs/keep.img"
check "save --prealloc" "$MRENGINE" save -q -object memory-backend-file,id=m,size=16M,mem-path="$TMP/small.ram" \
	--output "$TMP/fs/p.img" --prealloc
alloc=$(( $(stat -c %b "$TMP/fs/p.img") * 512 ))
data=$("$MRENGINE" inspect --json "$TMP/fs/p.img" | python3 -c "import json,sys; print(sum(b['present'] for b in json.load(sys.stdin)['blocks'])*4096)")
[ "$alloc" -ge "$data" ] && [ "$alloc" -le $((data + 256 * 1024)) ] && ok "allocated $alloc bytes for $data bytes of data" \
	|| not_ok "allocated $alloc bytes for $data bytes of data"
check "verify the preallocated image" "$MRENGINE" verify -q "$TMP/fs/p.img"
rm -f "$TMP/fs/p.img"
# --prealloc refuses up front too, even when the worst case would not be checked otherwise
check_fails "--prealloc: the exact need is checked" "not enough space" \
	"$MRENGINE" save -object memory-backend-file,id=m,size=64M,mem-path="$TMP/big.ram" --output "$TMP/fs/x.img" --prealloc
[ "$(ls -A "$TMP/fs" | wc -l)" -eq 0 ] && ok "the filesystem is empty again" || not_ok "the filesystem is empty again"
# restore from a short file fails and leaves the target unusable
head -c 3000000 "$TMP/keep.orig" >"$TMP/short.img"
check_fails "restore from a cut image fails" "offset 0x|truncated" \
	"$MRENGINE" restore "$TMP/short.img" -object memory-backend-file,id=m,size=16M,mem-path="$TMP/r.ram"
done_testing
