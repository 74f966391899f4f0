#!/bin/sh
# SPDX-License-Identifier: MIT
# image_cli.sh: the command line of inspect, verify and extract: --help,
# --version, usage errors (exit 2 with a hint), and failures to open a file
# (exit 1 with the path).
. "$srcdir/tests/lib.sh"

# exits CODE DESC PATTERN CMD...: CMD exits CODE and its output (stdout +
# stderr) matches PATTERN.
exits() {
	local code=$1 d=$2 pat=$3 rc
	shift 3
	"$@" >"$TMP/out" 2>&1
	rc=$?
	if [ "$rc" -eq "$code" ] && grep -qE -- "$pat" "$TMP/out"; then
		ok "$d"
	else
		not_ok "$d"
		diag "exit $rc (expected $code), output:"
		sed 's/^/#   /' "$TMP/out"
	fi
}

M=$MRENGINE
printf 'not a migration stream\n' >"$TMP/text"

exits 0 "mrengine --help exits 0 and lists the image commands" 'inspect.*' "$M" --help
exits 0 "mrengine --help lists extract and verify" 'verify' "$M" --help
exits 0 "mrengine --version" '^mrengine [0-9]+\.[0-9]+' "$M" --version
exits 2 "mrengine without a command exits 2" 'Usage: mrengine' "$M"
exits 2 "an unknown command exits 2" "unknown command 'frobnicate'" "$M" frobnicate
for c in inspect verify extract; do
	exits 0 "$c --help exits 0" "Usage: mrengine $c" "$M" "$c" --help
	exits 0 "$c -h exits 0" "Usage: mrengine $c" "$M" "$c" -h
	exits 2 "$c without FILE exits 2" "missing FILE" "$M" "$c"
	exits 2 "$c with two files exits 2" 'expected exactly one FILE' "$M" "$c" "$TMP/text" "$TMP/text"
	exits 2 "$c with an unknown option exits 2" "Try 'mrengine $c --help'" "$M" "$c" --frob "$TMP/text"
	exits 2 "$c --offset 0x20M (hex with a suffix) exits 2" "invalid value '0x20M' for --offset" \
		"$M" "$c" --offset 0x20M "$TMP/text"
	exits 2 "$c --offset -1 exits 2" "invalid value '-1' for --offset" "$M" "$c" --offset -1 "$TMP/text"
done
exits 2 "extract without --block exits 2" '--block and --output are required' "$M" extract --output "$TMP/o" "$TMP/text"
exits 2 "extract without --output exits 2" '--block and --output are required' "$M" extract --block pc.ram "$TMP/text"
exits 1 "verify of a missing file exits 1 naming it" "$TMP/missing" "$M" verify "$TMP/missing"
exits 1 "inspect of a directory exits 1" "mrengine: " "$M" inspect "$TMP"
exits 1 "verify of a text file exits 1: no stream found" 'no QEMU migration stream found' "$M" verify "$TMP/text"
: >"$TMP/empty"
exits 1 "verify of an empty file exits 1" 'no QEMU migration stream found' "$M" verify "$TMP/empty"
exits 1 "verify --offset past the end exits 1" 'offset 0x' "$M" verify --offset 1M "$TMP/text"

plan "$_tap_n"
done_testing
