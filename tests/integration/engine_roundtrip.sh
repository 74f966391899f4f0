#!/bin/sh
# SPDX-License-Identifier: MIT
# Save/restore round trips are byte-exact for every backend x channel count
# x direct-io combination, with block sizes that do not divide into units
# or channels, a single-page block, an all-zero block, and several blocks;
# restoring over old data zeroes the pages the image has no data for.
. "$srcdir/tests/lib.sh"

# O_DIRECT where this filesystem allows it (probe a 1 MiB aligned write)
DIO=off
python3 - "$TMP" <<'PY' && DIO=on
import mmap, os, sys
fd = os.open(os.path.join(sys.argv[1], "probe"), os.O_CREAT | os.O_WRONLY | os.O_DIRECT)
buf = mmap.mmap(-1, 1 << 20)
os.pwrite(fd, buf, 1 << 20)
PY
[ "$DIO" = on ] || diag "this filesystem refuses O_DIRECT: direct-io cases are skipped"

plan 55

# Source blocks: odd sizes (8 MiB + 12 KiB crosses a unit boundary and is
# not a multiple of 2 or 3 channels' share), one page, all zero.
"$MRENGINE" generate --size 8204K --seed 7 "$TMP/a.ram"
"$MRENGINE" generate --size 4K --mix 0,0,100 --seed 3 "$TMP/b.ram"
truncate -s 3M "$TMP/c.ram"
"$MRENGINE" generate --size 17M --mix 10,10,80 --seed 9 "$TMP/d.ram"
src="-object memory-backend-file,id=a,size=8204K,mem-path=$TMP/a.ram
 -object memory-backend-file,id=pc.bios,size=4K,mem-path=$TMP/b.ram
 -object memory-backend-file,id=/rom@etc/zero,size=3M,mem-path=$TMP/c.ram
 -object memory-backend-file,id=d,size=17M,mem-path=$TMP/d.ram"

roundtrip() { # roundtrip IO CHANNELS DIO
	name="io=$1 channels=$2 direct-io=$3"
	img="$TMP/img-$1-$2-$3"
	rm -f "$TMP"/r-*.ram
	# shellcheck disable=SC2086
	check "save $name" "$MRENGINE" save -q $src --output "$img" --io "$1" --channels "$2" --direct-io "$3"
	check "verify $name" "$MRENGINE" verify -q "$img"
	check "restore $name" "$MRENGINE" restore -q "$img" --io "$1" --channels "$2" --direct-io "$3" \
		-object memory-backend-file,id=a,size=8204K,mem-path="$TMP/r-a.ram" \
		-object memory-backend-file,id=pc.bios,size=4K,mem-path="$TMP/r-b.ram" \
		-object memory-backend-file,id=/rom@etc/zero,size=3M,mem-path="$TMP/r-c.ram" \
		-object memory-backend-file,id=d,size=17M,mem-path="$TMP/r-d.ram"
	if cmp -s "$TMP/a.ram" "$TMP/r-a.ram" && cmp -s "$TMP/b.ram" "$TMP/r-b.ram" &&
	   cmp -s "$TMP/c.ram" "$TMP/r-c.ram" && cmp -s "$TMP/d.ram" "$TMP/r-d.ram"; then
		ok "byte-exact $name"
	else
		not_ok "byte-exact $name"
	fi
}

URING=on
have_uring || URING=off
for io in threads uring; do
	for ch in 1 2 3; do
		for dio in off on; do
			if [ "$io" = uring ] && [ "$URING" = off ]; then
				for i in 1 2 3 4; do ok "# SKIP io_uring is refused here"; done
				continue
			fi
			if [ "$dio" = on ] && [ "$DIO" = off ]; then
				for i in 1 2 3 4; do ok "# SKIP direct-io unsupported here"; done
				continue
			fi
			roundtrip $io $ch $dio
		done
	done
done

# The image is sparse: the all-zero block and zero pages are holes.
img="$TMP/img-threads-1-off"
alloc=$(( $(stat -c %b "$img") * 512 ))
data=$(python3 -c "
import sys
z = bytes(4096); n = 0
for f in sys.argv[1:]:
    d = open(f, 'rb').read()
    n += sum(1 for i in range(0, len(d), 4096) if d[i:i+4096] != z)
print(n * 4096)" "$TMP/a.ram" "$TMP/b.ram" "$TMP/c.ram" "$TMP/d.ram")
if [ "$alloc" -lt $((data + 1024 * 1024)) ]; then ok "image allocates $alloc bytes for $data bytes of data"
else not_ok "image allocates $alloc bytes for $data bytes of data"; fi

# inspect agrees with the pages that hold data
present=$("$MRENGINE" inspect --json "$img" | python3 -c "
import json, sys
print(sum(b['present'] for b in json.load(sys.stdin)['blocks']) * 4096)")
if [ "$present" = "$data" ]; then ok "inspect counts $present bytes of present pages"
else not_ok "inspect counts $present bytes of present pages, expected $data"; fi

# Restoring over old data: pages without data must come back as zeros.
python3 -c "open('$TMP/old-c.ram','wb').write(b'\xff' * (3 << 20))"
python3 -c "open('$TMP/old-a.ram','wb').write(b'\x5a' * (8204 << 10))"
cp "$TMP/b.ram" "$TMP/old-b.ram"; cp "$TMP/d.ram" "$TMP/old-d.ram"
check "restore over old data" "$MRENGINE" restore -q "$img" \
	-object memory-backend-file,id=a,size=8204K,mem-path="$TMP/old-a.ram" \
	-object memory-backend-file,id=pc.bios,size=4K,mem-path="$TMP/old-b.ram" \
	-object memory-backend-file,id=/rom@etc/zero,size=3M,mem-path="$TMP/old-c.ram" \
	-object memory-backend-file,id=d,size=17M,mem-path="$TMP/old-d.ram"
if cmp -s "$TMP/c.ram" "$TMP/old-c.ram" && cmp -s "$TMP/a.ram" "$TMP/old-a.ram"; then
	ok "old data replaced: zero pages zeroed"
else
	not_ok "old data replaced: zero pages zeroed"
fi

# file:PATH,offset=N keeps the bytes before N and the stream starts there
python3 -c "open('$TMP/off.img','wb').write(b'H' * 8192)"
check "save with offset=4096" "$MRENGINE" save -q $src --output "file:$TMP/off.img,offset=4096"
if [ "$(head -c 4096 "$TMP/off.img" | tr -d H | wc -c)" -eq 0 ] &&
   [ "$(dd if="$TMP/off.img" bs=1 skip=4096 count=4 2>/dev/null)" = QEVM ]; then
	ok "prefix kept, stream at 4096"
else
	not_ok "prefix kept, stream at 4096"
fi
check "verify finds the stream behind the prefix" "$MRENGINE" verify -q "$TMP/off.img"

done_testing
