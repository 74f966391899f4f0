#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh HARNESS...: run each libFuzzer harness of $FUZZ_DIR for
# $FUZZ_SECONDS seconds, one after the other, starting from its corpus in
# $FUZZ_DIR/corpus/HARNESS (kept between runs), the seeds (seeds.sh) and
# the regression inputs in tests/fuzz/regress/HARNESS. A crash leaves its
# input in $FUZZ_DIR/artifacts/HARNESS/ and fails the run: minimise it,
# fix the bug, and commit the input under tests/fuzz/regress/HARNESS/. A
# harness that cannot confine itself (exit 3 after "fuzz sandbox: ...") is
# reported as skipped; any other failure (libFuzzer exits 77 on a crash,
# 70 on a timeout) fails the run.
set -u
: "${FUZZ_SECONDS:=60}"
seeds=$FUZZ_DIR/seeds
rm -rf "$seeds"
if ! sh "$srcdir/tests/fuzz/seeds.sh" "$seeds"; then
	echo "fuzz: cannot make the seed corpora" >&2
	exit 1
fi
status=0
for h in "$@"; do
	corpus=$FUZZ_DIR/corpus/$h
	art=$FUZZ_DIR/artifacts/$h
	mkdir -p "$corpus" "$art"
	dict=
	[ -f "$srcdir/tests/fuzz/$h.dict" ] && dict=-dict=$srcdir/tests/fuzz/$h.dict
	printf '\n==> fuzz_%s for %ss\n' "$h" "$FUZZ_SECONDS"
	start=$(date +%s)
	# shellcheck disable=SC2086
	"$FUZZ_DIR/fuzz_$h" -max_total_time="$FUZZ_SECONDS" -timeout=60 -rss_limit_mb=4096 \
		-max_len=262144 -print_final_stats=1 -artifact_prefix="$art/" $dict \
		"$corpus" "$seeds/$h" "$srcdir/tests/fuzz/regress/$h" >"$FUZZ_DIR/$h.log" 2>&1
	rc=$?
	end=$(date +%s)
	grep -E '^(stat::|#[0-9]+.*DONE)' "$FUZZ_DIR/$h.log" | sed 's/^/   /'
	if [ $rc -eq 3 ] && grep -q '^fuzz sandbox:' "$FUZZ_DIR/$h.log"; then
		rc=skip
	fi
	case $rc in
	0) echo "fuzz_$h: no crash in $((end - start))s" ;;
	skip) echo "fuzz_$h: SKIP ($(grep '^fuzz sandbox:' "$FUZZ_DIR/$h.log" | tail -n 1))" ;;
	*)
		echo "fuzz_$h: FAILED (exit $rc); the end of its log:"
		tail -n 60 "$FUZZ_DIR/$h.log"
		ls -l "$art"
		status=1
		;;
	esac
done
exit $status
