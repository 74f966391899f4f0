# SPDX-License-Identifier: MIT
# tests/integration/image_lib.sh: helpers shared by the image_*.sh tests
# (sourced after tests/lib.sh). JSON is read with python3, bytes are
# patched with dd; nothing here writes outside $TMP.

# jget FILE EXPR: print a Python expression evaluated with j = the JSON in FILE.
jget() {
	python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# jcheck DESC FILE EXPR...: ok if every Python expression (j = the JSON) is true.
jcheck() {
	local d=$1 f=$2
	shift 2
	check "$d" python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
bad = [e for e in sys.argv[2:] if not eval(e)]
for e in bad:
    print("false:", e)
sys.exit(1 if bad else 0)' "$f" "$@"
}

# flip FILE OFFSET [XOR]: xor one byte in place (default 0xff).
flip() {
	local f=$1 off=$2 x=${3:-255} b
	b=$(od -An -tu1 -j "$off" -N1 "$f" | tr -d ' ')
	[ -n "$b" ] || { echo "flip: $f has no byte at $off" >&2; return 1; }
	printf "$(printf '\\%03o' $(((b ^ x) & 255)))" |
		dd of="$f" bs=1 seek="$off" count=1 conv=notrunc status=none
}

# copy_cut SRC DST LEN: a sparse copy of SRC cut to LEN bytes.
copy_cut() {
	cp --sparse=always "$1" "$2" && chmod u+w "$2" && truncate -s "$3" "$2"
}

# verify_fails DESC FILE [ARGS...]: `mrengine verify` must exit 1 (not crash)
# and name an offset.
verify_fails() {
	local d=$1 f=$2
	shift 2
	check_fails "$d" 'offset 0x' "$MRENGINE" verify "$@" "$f"
}

# allocated FILE: bytes actually allocated on disk.
allocated() {
	echo $(($(stat -c %b "$1") * $(stat -c %B "$1")))
}
