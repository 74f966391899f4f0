#!/bin/sh
# SPDX-License-Identifier: MIT
# Limits: a 64 GiB guest that is almost all holes saves, verifies and
# restores in bounded memory without allocating its holes anywhere; a VM of
# 300 RAM blocks round-trips byte-exact.
. "$srcdir/tests/lib.sh"
plan 12

# peak RSS (KiB) of a command, and its exit status
rss() { python3 -c "
import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r)" "$@"; }

# --- 64 GiB, a few pages of data (memory in /dev/shm is not touched) ---------
BIG=/dev/shm/mre-limits-$$.ram
BACK=/dev/shm/mre-limits-$$-back.ram
trap 'rm -f "$BIG" "$BACK"; rm -rf "$TMP"' EXIT
truncate -s 64G "$BIG"
python3 -c "
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
for i, off in enumerate((0, 5 << 30, 63 << 30, (64 << 30) - 4096)):
    os.pwrite(fd, bytes([i + 1]) * 4096, off)" "$BIG"
set -- $(rss "$MRENGINE" save -q -object memory-backend-file,id=pc.ram,size=64G,mem-path="$BIG" --output "$TMP/big.img")
[ "$2" -eq 0 ] && ok "save of a 64 GiB sparse guest" || not_ok "save of a 64 GiB sparse guest (exit $2)"
[ "$1" -lt 65536 ] && ok "  in bounded memory ($1 KiB peak)" || not_ok "  in bounded memory ($1 KiB peak)"
alloc=$(( $(stat -c %b "$TMP/big.img") * 512 ))
[ "$alloc" -lt $((8 << 20)) ] && ok "  the image allocates $alloc bytes" || not_ok "  the image allocates $alloc bytes"
[ "$(stat -c %b "$BIG")" -lt 1024 ] && ok "  the guest's holes were not touched" || not_ok "  the guest's holes were not touched"
set -- $(rss "$MRENGINE" verify -q "$TMP/big.img")
[ "$2" -eq 0 ] && [ "$1" -lt 65536 ] && ok "verify in bounded memory ($1 KiB)" || not_ok "verify in bounded memory ($1 KiB, exit $2)"
set -- $(rss "$MRENGINE" restore -q "$TMP/big.img" -object memory-backend-file,id=pc.ram,size=64G,mem-path="$BACK")
[ "$2" -eq 0 ] && [ "$1" -lt 65536 ] && ok "restore in bounded memory ($1 KiB)" || not_ok "restore in bounded memory ($1 KiB, exit $2)"
[ "$(stat -c %b "$BACK")" -lt 1024 ] && ok "  the restored guest stays sparse" || not_ok "  the restored guest stays sparse"
python3 -c "
import os, sys
a, b = (os.open(p, os.O_RDONLY) for p in sys.argv[1:3])
for off in (0, 4096, 5 << 30, 63 << 30, (64 << 30) - 4096, (64 << 30) - 8192):
    assert os.pread(a, 4096, off) == os.pread(b, 4096, off), off" "$BIG" "$BACK" \
	&& ok "  its pages are right" || not_ok "  its pages are right"

# --- 300 RAM blocks -----------------------------------------------------------------
objs=""; back=""
for i in $(seq 1 300); do
	"$MRENGINE" generate --size $((i % 7 + 1))M --seed "$i" "$TMP/b$i.ram"
	objs="$objs -object memory-backend-file,id=blk$i,size=$((i % 7 + 1))M,mem-path=$TMP/b$i.ram"
	back="$back -object memory-backend-file,id=blk$i,size=$((i % 7 + 1))M,mem-path=$TMP/r$i.ram"
done
# shellcheck disable=SC2086
check "save 300 blocks" "$MRENGINE" save -q $objs --output "$TMP/many.img"
[ "$("$MRENGINE" inspect --json "$TMP/many.img" | python3 -c "import json,sys; print(len(json.load(sys.stdin)['blocks']))")" = 300 ] \
	&& ok "  inspect lists 300 blocks" || not_ok "  inspect lists 300 blocks"
# shellcheck disable=SC2086
check "restore 300 blocks" "$MRENGINE" restore -q "$TMP/many.img" $back
same=1
for i in $(seq 1 300); do cmp -s "$TMP/b$i.ram" "$TMP/r$i.ram" || same=0; done
[ $same -eq 1 ] && ok "  all 300 byte-exact" || not_ok "  all 300 byte-exact"
done_testing
