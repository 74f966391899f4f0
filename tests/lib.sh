# SPDX-License-Identifier: MIT
# tests/lib.sh: shared setup for shell tests that speak TAP.
#   . "$srcdir/tests/lib.sh"
# gives: $MRENGINE, $VECTORS (may be empty), $TMP (removed on exit),
# plan N, ok/not_ok helpers, skip_all REASON, run_ok / run_fails CMD...
set -u
LC_ALL=C
export LC_ALL
: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MRENGINE:=$srcdir/src/mrengine}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mre-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
_tap_n=0
_tap_fail=0

# The QEMU vectors: ../shared/vectors beside the checkout, or $MRE_VECTORS.
VECTORS=${MRE_VECTORS:-}
if [ -z "$VECTORS" ]; then
	for d in "$srcdir/../shared/vectors" "$srcdir/../../shared/vectors"; do
		[ -d "$d" ] && VECTORS=$(cd "$d" && pwd) && break
	done
fi

plan() { echo "1..$1"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
diag() { printf '# %s\n' "$@"; }
ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
not_ok() { _tap_n=$((_tap_n + 1)); _tap_fail=$((_tap_fail + 1)); echo "not ok $_tap_n - $*"; }
check() { # check DESC CMD...: ok if CMD succeeds
	local d=$1; shift
	if "$@" >"$TMP/.out" 2>&1; then ok "$d"; else not_ok "$d"; sed 's/^/#   /' "$TMP/.out"; fi
}
check_fails() { # check_fails DESC PATTERN CMD...: ok if CMD exits 1 and stderr matches PATTERN
	local d=$1 pat=$2 rc; shift 2
	"$@" >"$TMP/.out" 2>"$TMP/.err"; rc=$?
	if [ $rc -eq 1 ] && grep -qE -- "$pat" "$TMP/.err"; then ok "$d"
	else not_ok "$d"; diag "exit $rc, stderr:"; sed 's/^/#   /' "$TMP/.err"; fi
}
done_testing() { [ "$_tap_fail" -eq 0 ]; exit $?; }

# Decompress a vector into $TMP (sparse); prints the path.
vector() {
	local out="$TMP/$1"
	[ -f "$out" ] || zstd -q -d --sparse -f "$VECTORS/$1.zst" -o "$out"
	echo "$out"
}

# Succeeds if this kernel lets us set up an io_uring (seccomp in a
# container or kernel.io_uring_disabled may refuse it).
have_uring() {
	PYTHONPATH="$srcdir/tests/lib" python3 -c 'import qemu, sys; sys.exit(not qemu.uring_ok())'
}

# Unmount, retrying briefly: io_uring releases registered files only
# asynchronously after a process exits, which keeps the mount busy a moment.
umount_retry() {
	for _i in 1 2 3 4 5 6 7 8 9 10; do umount "$1" 2>/dev/null && return 0; sleep 0.5; done
	umount -l "$1"
}
