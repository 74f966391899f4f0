#!/bin/sh
# SPDX-License-Identifier: MIT
#
# examples/shared-memory/run.sh: save a QEMU guest whose RAM is shared
# memory (memory-backend-file,share=on in /dev/shm) while QEMU itself sends
# only its device state (x-ignore-shared); mrengine reads the RAM straight
# from the shared file and writes one complete mapped-ram image. Then:
#   1. a QEMU *without* shared memory loads that image natively
#      (mapped-ram, no x-ignore-shared);
#   2. the way back: `mrengine restore --partial` puts the RAM into a new
#      shared file and QEMU loads only the device state from
#      `exec:mrengine emit --ignore-shared` (x-ignore-shared again).
# Each time the guest's RAM is compared with the original, byte for byte
# from 1 MiB up. Needs QEMU >= 10 (x86) and python3 (for QMP).
#
#   MRENGINE=/path/to/mrengine QEMU=qemu-system-x86_64 MEM=256M ./run.sh
set -eu

QEMU=${QEMU:-qemu-system-x86_64}
MRENGINE=${MRENGINE:-mrengine}
MEM=${MEM:-128M}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mre-shm-example.XXXXXX")
SRC_SHM=/dev/shm/mre-example-src-$$
DST_SHM=/dev/shm/mre-example-dst-$$
PIDS=""

cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	rm -rf "$WORK" "$SRC_SHM" "$DST_SHM"
}
trap cleanup EXIT INT TERM

# A minimal QMP client: qmp SOCKET COMMAND [JSON-ARGUMENTS] | qmp SOCKET wait
cat > "$WORK/qmp.py" <<'PY'
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX)
for _ in range(500):
    try:
        s.connect(sys.argv[1]); break
    except OSError:
        time.sleep(0.01)
f = s.makefile("rw")
def call(name, args=None):
    f.write(json.dumps({"execute": name, **({"arguments": args} if args else {})}) + "\n"); f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r: return r["return"]
        if "error" in r: sys.exit("QMP %s: %s" % (name, r["error"]["desc"]))
json.loads(f.readline())
call("qmp_capabilities")
if sys.argv[2] == "wait":
    while True:
        r = call("query-migrate")
        if r.get("status") == "completed": break
        if r.get("status") in ("failed", "cancelled"): sys.exit("migration %s: %s" % (r["status"], r.get("error-desc")))
        time.sleep(0.02)
else:
    print(json.dumps(call(sys.argv[2], json.loads(sys.argv[3]) if len(sys.argv) > 3 else None)))
PY
qmp() { python3 "$WORK/qmp.py" "$@" >/dev/null; }

# qemu NAME MEMORY-BACKEND [EXTRA...]: a paused pc guest, RAM from the backend
qemu() {
	name=$1 backend=$2
	shift 2
	"$QEMU" -machine pc,memory-backend=ram0 -accel tcg -m "$MEM" -nodefaults -display none -S \
		-object "$backend" -qmp "unix:$WORK/$name.qmp,server=on,wait=off" "$@" \
		>"$WORK/$name.log" 2>&1 &
	PIDS="$PIDS $!"
}

same() {   # same FILE-A FILE-B: equal from 1 MiB on
	if cmp -s -i 1048576 "$1" "$2"; then
		echo "   guest RAM equal from 1 MiB to $MEM"
	else
		echo "   guest RAM DIFFERS" >&2
		exit 1
	fi
}

echo "1. source guest: $MEM of RAM in $SRC_SHM (shared), filled with a realistic page mix"
"$MRENGINE" generate --size "$MEM" --mix 33,33,34 --seed 7 "$SRC_SHM" >/dev/null
qemu src "memory-backend-file,id=ram0,size=$MEM,mem-path=$SRC_SHM,share=on"
SIZE=$(stat -c %s "$SRC_SHM")
qmp "$WORK/src.qmp" pmemsave "{\"val\": 0, \"size\": $SIZE, \"filename\": \"$WORK/src.ram\"}"

echo "2. migrate with x-ignore-shared to exec:mrengine ingest --ram ram0=$SRC_SHM"
qmp "$WORK/src.qmp" migrate-set-capabilities '{"capabilities": [{"capability": "x-ignore-shared", "state": true}]}'
qmp "$WORK/src.qmp" migrate-set-parameters '{"max-bandwidth": 1099511627776}'
qmp "$WORK/src.qmp" migrate "{\"uri\": \"exec:$MRENGINE ingest -v --ram ram0=$SRC_SHM $WORK/vm.img\"}"
qmp "$WORK/src.qmp" wait
# QEMU says "completed" once its last byte is in the pipe; ingest renames
# the finished image into place and exits a moment later
n=0
until [ -e "$WORK/vm.img" ] && grep -q '^ingest:' "$WORK/src.log"; do
	n=$((n + 1))
	[ $n -lt 3000 ] || { echo "no image from ingest" >&2; exit 1; }
	sleep 0.01
done
grep '^ingest:' "$WORK/src.log" | sed 's/^/   /'
"$MRENGINE" inspect "$WORK/vm.img" | sed -n 's/^\(capabilities\|ram\):/   &/p'

echo "3. a QEMU without shared memory (memory-backend-ram) loads the image: mapped-ram, no x-ignore-shared"
qemu dst1 "memory-backend-ram,id=ram0,size=$MEM" -incoming defer
qmp "$WORK/dst1.qmp" migrate-set-capabilities '{"capabilities": [{"capability": "mapped-ram", "state": true}]}'
qmp "$WORK/dst1.qmp" migrate-incoming "{\"uri\": \"file:$WORK/vm.img\"}"
qmp "$WORK/dst1.qmp" wait
qmp "$WORK/dst1.qmp" pmemsave "{\"val\": 0, \"size\": $SIZE, \"filename\": \"$WORK/dst1.ram\"}"
same "$WORK/src.ram" "$WORK/dst1.ram"

echo "4. back to shared memory: mrengine restore --partial into $DST_SHM ..."
"$MRENGINE" restore --partial "$WORK/vm.img" -object "memory-backend-file,id=ram0,size=$MEM,mem-path=$DST_SHM,share=on" |
	sed 's/^/   /'
echo "   ... and QEMU on it loads exec:mrengine emit --ignore-shared ram0 with x-ignore-shared"
qemu dst2 "memory-backend-file,id=ram0,size=$MEM,mem-path=$DST_SHM,share=on" -incoming defer
qmp "$WORK/dst2.qmp" migrate-set-capabilities '{"capabilities": [{"capability": "x-ignore-shared", "state": true}]}'
qmp "$WORK/dst2.qmp" migrate-incoming "{\"uri\": \"exec:$MRENGINE emit -v --ignore-shared ram0 $WORK/vm.img\"}"
qmp "$WORK/dst2.qmp" wait
grep '^emit:' "$WORK/dst2.log" | sed 's/^/   /'
qmp "$WORK/dst2.qmp" pmemsave "{\"val\": 0, \"size\": $SIZE, \"filename\": \"$WORK/dst2.ram\"}"
same "$WORK/src.ram" "$WORK/dst2.ram"
echo "done"
