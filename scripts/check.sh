#!/bin/sh
# SPDX-License-Identifier: MIT
# The project's test command (what CI runs): install what is missing, build
# from scratch, run `make check` (printing test-suite.log when something
# fails), a two-minute soak of the QMP daemon, and `make distcheck`; then
# the whole `make check` again in an AddressSanitizer + UBSan build (out of
# tree, in _build-san/), failing on any sanitizer report, and each libFuzzer
# harness for FUZZ_SECONDS (default 60) when clang can build them. Prints
# the wall time of every step at the end. Exits non-zero on the first
# failure. Run from anywhere; it works in the checkout that contains it.
# SOAK_SECONDS and FUZZ_SECONDS tune the two timed steps (0 skips them).
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
: "${SOAK_SECONDS:=120}"
: "${FUZZ_SECONDS:=60}"
times=$(mktemp "${TMPDIR:-/tmp}/mre-check-times.XXXXXX")
trap 'rm -f "$times"' EXIT

step() { printf '\n==> %s\n' "$*"; }

# timed NAME CMD...: run CMD as a step and record its wall time
timed() {
	name=$1
	shift
	step "$name"
	t0=$(date +%s)
	"$@"
	rc=$?
	echo "$(($(date +%s) - t0)) $name" >>"$times"
	return $rc
}

summary() {
	step "wall time per step (seconds)"
	while read -r s name; do
		printf '%6s  %s\n' "$s" "$name"
	done <"$times"
}

# The tests under directory $1 that failed or errored: their .trs files.
failed_trs() {
	grep -rlE '^:test-result: (FAIL|ERROR|XPASS)' --include='*.trs' "$1" 2>/dev/null | sort
}

# Print the logs of a failed test run found under directory $1: the whole
# test-suite.log, then a digest (each failed test's verdicts and the end of
# its log), so that the names are also at the end of the output.
show_logs() {
	for log in "$1/test-suite.log" "$1"/mrengine-*/_build/sub/test-suite.log; do
		[ -f "$log" ] || continue
		printf '\n==> %s\n' "$log"
		cat "$log"
	done
	step "failed tests under $1"
	for trs in $(failed_trs "$1"); do
		log=${trs%.trs}.log
		printf '\n--- %s\n' "${log%.log}"
		grep -E '^(FAIL|ERROR|XPASS):' "$log" | head -5
		tail -n 25 "$log"
	done
}

# Sanitizer reports anywhere in the test logs under $1 (a test may have
# run mrengine as a child and not looked at its stderr).
sanitizer_reports() {
	grep -rlE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' --include='*.log' "$1" 2>/dev/null
}

fail() {
	echo "check.sh: $*" >&2
	summary
	exit 1
}

timed "scripts/install-deps.sh" sh scripts/install-deps.sh || fail "install-deps failed"
timed "./autogen.sh" ./autogen.sh || fail "autogen failed"
timed "./configure" ./configure || fail "configure failed"
timed "make -j2" make -j2 || fail "the build failed"

if ! timed "make -j2 check" make -j2 check; then
	show_logs .
	fail "make check failed"
fi

if [ "$SOAK_SECONDS" -gt 0 ]; then
	timed "soak: QMP daemon, five clients, ${SOAK_SECONDS}s" \
		env MRE_SOAK_SECONDS="$SOAK_SECONDS" MRENGINE="$top/src/mrengine" srcdir="$top" \
		PYTHONPATH="$top/tests/lib" python3 tests/soak/soak.py || fail "the soak test failed"
fi

if ! timed "make -j2 distcheck" make -j2 distcheck; then
	show_logs .
	fail "make distcheck failed"
fi

# The sanitizer build is out of tree, so the tree itself must not stay
# configured.
timed "make distclean" make distclean || fail "make distclean failed"
rm -rf _build-san
mkdir _build-san
timed "configure --enable-asan --enable-ubsan (in _build-san/)" \
	sh -c 'cd _build-san && ../configure --enable-asan --enable-ubsan' || fail "sanitizer configure failed"
timed "make -j2 (ASan+UBSan)" make -C _build-san -j2 || fail "the sanitizer build failed"
if ! timed "make -j2 check (ASan+UBSan)" make -C _build-san -j2 check; then
	show_logs _build-san
	fail "make check failed in the sanitizer build"
fi
if reports=$(sanitizer_reports _build-san) && [ -n "$reports" ]; then
	for log in $reports; do
		printf '\n==> sanitizer report in %s\n' "$log"
		grep -A20 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log" | head -60
	done
	fail "sanitizer reports in the test logs"
fi

# Can clang build libFuzzer targets here?
libfuzzer_ok() {
	probe=$(mktemp -d "${TMPDIR:-/tmp}/mre-fuzz-probe.XXXXXX")
	printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' >"$probe/p.c"
	clang -fsanitize=fuzzer,address,undefined -o "$probe/p" "$probe/p.c" >/dev/null 2>&1
	rc=$?
	rm -rf "$probe"
	return $rc
}

if [ "$FUZZ_SECONDS" -gt 0 ]; then
	if command -v clang >/dev/null 2>&1 && libfuzzer_ok; then
		timed "make fuzz (libFuzzer, ${FUZZ_SECONDS}s per harness)" \
			make -C _build-san fuzz FUZZ_SECONDS="$FUZZ_SECONDS" || fail "a fuzzer found a problem"
	else
		step "make fuzz: SKIPPED (clang cannot build libFuzzer targets; Debian: apt-get install clang libclang-rt-14-dev)"
	fi
fi

summary
step "all checks passed"
