#!/bin/sh
# SPDX-License-Identifier: MIT
# The README's main job, `mrengine demo` (what scripts/demo.sh runs after
# building): a VM saved, restored byte-identical and verified, plain and
# compressed, leaving nothing behind in its directory.
. "$srcdir/tests/lib.sh"
plan 6

for extra in "" "--compress zstd:1"; do
	name="demo${extra:+ $extra}"
	mkdir -p "$TMP/d"
	# shellcheck disable=SC2086
	"$MRENGINE" demo --size 16M --seed 3 --dir "$TMP/d" $extra >"$TMP/out" 2>&1
	rc=$?
	[ $rc -eq 0 ] && ok "$name exits 0" || { not_ok "$name exits 0 (exit $rc)"; sed 's/^/#   /' "$TMP/out"; }
	grep -q "^demo: OK: restored RAM is byte-identical (16.0 MiB), and the image verifies" "$TMP/out" &&
		ok "$name: restored RAM byte-identical, image verified" ||
		not_ok "$name: restored RAM byte-identical, image verified"
	[ -z "$(ls -A "$TMP/d")" ] && ok "$name leaves no file behind" || not_ok "$name leaves no file behind"
done
done_testing
