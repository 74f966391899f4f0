#!/bin/sh
# SPDX-License-Identifier: MIT
# The project's test command (what CI runs): install what is missing, build
# from scratch, run `make check` (printing test-suite.log when something
# fails) and `make distcheck`. Exits non-zero on the first failure.
# Run from anywhere; it works in the checkout that contains it.
set -eu
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# Print the logs of a failed test run found under directory $1.
show_logs() {
	for log in "$1/test-suite.log" "$1"/mrengine-*/_build/sub/test-suite.log; do
		[ -f "$log" ] || continue
		printf '\n==> %s\n' "$log"
		cat "$log"
	done
}

step "scripts/install-deps.sh"
sh scripts/install-deps.sh

step "./autogen.sh"
./autogen.sh

step "./configure"
./configure

step "make -j2 check"
if ! make -j2 check; then
	show_logs .
	echo "check.sh: make check failed" >&2
	exit 1
fi

step "make -j2 distcheck"
if ! make -j2 distcheck; then
	show_logs .
	echo "check.sh: make distcheck failed" >&2
	exit 1
fi

step "all checks passed"
