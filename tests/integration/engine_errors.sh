#!/bin/sh
# SPDX-License-Identifier: MIT
# Bad input to save and restore: each is a clear error (exit 1), and no
# file is left at the target path (nor a temporary one beside it).
. "$srcdir/tests/lib.sh"
plan 25

"$MRENGINE" generate --size 2M --seed 5 "$TMP/ram"
no_leftovers() { # no_leftovers DIR DESC
	if ls -A "$1" | grep -q 'mrengine-'; then not_ok "$2: no temporary file left"; ls -A "$1" | sed 's/^/#   /'
	else ok "$2: no temporary file left"; fi
}

mkdir "$TMP/out"
check_fails "save: mem-path that does not exist" "mem-path '$TMP/absent' does not exist" \
	"$MRENGINE" save -object memory-backend-file,id=m,size=2M,mem-path="$TMP/absent" --output "$TMP/out/x.img"
[ -e "$TMP/absent" ] && not_ok "save does not create a missing mem-path" || ok "save does not create a missing mem-path"
[ -e "$TMP/out/x.img" ] && not_ok "no image after a save from a missing mem-path" ||
	ok "no image after a save from a missing mem-path"
truncate -s 1M "$TMP/short"
"$MRENGINE" save -q -object memory-backend-file,id=m,size=2M,mem-path="$TMP/ram" --output "$TMP/ok.img"
check_fails "restore: backing in a directory that does not exist" "cannot open mem-path '$TMP/nodir/ram'" \
	"$MRENGINE" restore "$TMP/ok.img" -object memory-backend-file,id=m,size=2M,mem-path="$TMP/nodir/ram"
check_fails "save: backing smaller than the block" "smaller than the block" \
	"$MRENGINE" save -object memory-backend-file,id=m,size=2M,mem-path="$TMP/short" --output "$TMP/out/x.img"
[ -e "$TMP/out/x.img" ] && not_ok "no image after a failed save" || ok "no image after a failed save"
no_leftovers "$TMP/out" "short backing"
check_fails "save: unwritable target" "Could not create" \
	"$MRENGINE" save -object memory-backend-file,id=m,size=2M,mem-path="$TMP/ram" --output "$TMP/nodir/x.img"
check_fails "save: size not a page multiple" "not a multiple of 4096" \
	"$MRENGINE" save -object memory-backend-memfd,id=m,size=5000 --output "$TMP/out/x.img"
check_fails "save: unknown object property" "Property 'memory-backend-memfd.colour' not found" \
	"$MRENGINE" save -object memory-backend-memfd,id=m,size=1M,colour=red --output "$TMP/out/x.img"
check_fails "save: duplicate block id" "duplicate" \
	"$MRENGINE" save -object memory-backend-memfd,id=m,size=1M -object memory-backend-memfd,id=m,size=1M \
	--output "$TMP/out/x.img"

# direct-io on a filesystem that refuses O_DIRECT (ramfs), if we may mount one
mkdir "$TMP/ramfs"
if mount -t ramfs ramfs "$TMP/ramfs" 2>/dev/null; then
	check_fails "save: direct-io unsupported" "does not support O_DIRECT" \
		"$MRENGINE" save -object memory-backend-file,id=m,size=2M,mem-path="$TMP/ram" \
		--output "$TMP/ramfs/x.img" --direct-io on
	[ -e "$TMP/ramfs/x.img" ] && not_ok "no image on ramfs" || ok "no image on ramfs"
	no_leftovers "$TMP/ramfs" "direct-io refused"
	check "save without direct-io on ramfs" "$MRENGINE" save -q -object memory-backend-file,id=m,size=2M,mem-path="$TMP/ram" \
		--output "$TMP/ramfs/x.img"
	umount_retry "$TMP/ramfs"
else
	for i in 1 2 3 4; do ok "# SKIP cannot mount ramfs here"; done
fi

# an older image at the path survives a failed save
"$MRENGINE" save -q -object memory-backend-file,id=m,size=2M,mem-path="$TMP/ram" --output "$TMP/out/keep.img"
cp "$TMP/out/keep.img" "$TMP/keep.orig"
check_fails "save over an image fails (short backing)" "smaller" \
	"$MRENGINE" save -object memory-backend-file,id=m,size=2M,mem-path="$TMP/short" --output "$TMP/out/keep.img"
if cmp -s "$TMP/out/keep.img" "$TMP/keep.orig"; then ok "older image intact"; else not_ok "older image intact"; fi

# restore: mismatched blocks
img="$TMP/out/keep.img"
check_fails "restore: block size differs" "is 2097152 bytes in the image but 1048576 bytes in the VM" \
	"$MRENGINE" restore "$img" -object memory-backend-memfd,id=m,size=1M
check_fails "restore: block missing from the VM" "has RAM block 'm'.*no such block" \
	"$MRENGINE" restore "$img" -object memory-backend-memfd,id=other,size=2M
check_fails "restore: VM block missing from the image" "'extra' is not in the image" \
	"$MRENGINE" restore "$img" -object memory-backend-memfd,id=m,size=2M -object memory-backend-memfd,id=extra,size=1M
check_fails "restore: not an image" "no QEMU migration stream found" \
	"$MRENGINE" restore "$TMP/ram" -object memory-backend-memfd,id=m,size=2M
head -c 100000 "$img" >"$TMP/trunc.img"
check_fails "restore: truncated image" "offset 0x[0-9a-f]+" \
	"$MRENGINE" restore "$TMP/trunc.img" -object memory-backend-memfd,id=m,size=2M
check_fails "restore: missing file" "cannot open" \
	"$MRENGINE" restore "$TMP/none.img" -object memory-backend-memfd,id=m,size=2M

# usage errors exit 2
"$MRENGINE" save -object memory-backend-memfd,id=m,size=1M >/dev/null 2>&1
[ $? -eq 2 ] && ok "save without --output is a usage error" || not_ok "save without --output is a usage error"
"$MRENGINE" restore "$img" --channels 0 -object memory-backend-memfd,id=m,size=2M >/dev/null 2>&1
[ $? -eq 2 ] && ok "--channels 0 is a usage error" || not_ok "--channels 0 is a usage error"

done_testing
