#!/bin/sh
# SPDX-License-Identifier: MIT
# regress.sh: every fuzz harness, built with the normal compiler and the
# file-feeding driver, runs once over its seed corpus (made now by
# seeds.sh) and over tests/fuzz/regress/, which holds every input that
# ever crashed a harness. A crash, a sanitizer report (in sanitizer
# builds) or a broken harness invariant fails the test.
. "$srcdir/tests/lib.sh"
command -v python3 >/dev/null 2>&1 || skip_all "python3 is needed to make the seeds"
plan 4
check "seed corpora generated" env srcdir="$srcdir" builddir="$builddir" MRENGINE="$MRENGINE" \
	sh "$srcdir/tests/fuzz/seeds.sh" "$TMP/seeds"
for h in image qmp policy; do
	n=$(ls "$TMP/seeds/$h" | wc -l)
	r=$(ls "$srcdir/tests/fuzz/regress/$h" | wc -l)
	check "fuzz_$h: $n seeds and $r regression inputs" \
		"$builddir/tests/fuzz/fuzz_$h" "$TMP/seeds/$h" "$srcdir/tests/fuzz/regress/$h"
done
done_testing
