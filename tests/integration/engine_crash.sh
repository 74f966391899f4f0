#!/bin/sh
# SPDX-License-Identifier: MIT
# Crash safety: the saver is killed with SIGKILL at many points (every
# setup, metadata, sync, trailer and rename point, and page writes spread
# over the data) while saving over an older image. After every kill the
# path holds either the older image, intact, or the complete new one;
# verify accepts that and refuses every torn temporary file left behind.
. "$srcdir/tests/lib.sh"

"$MRENGINE" generate --size 48M --mix 40,30,30 --seed 2 "$TMP/new.ram"
"$MRENGINE" generate --size 48M --mix 40,30,30 --seed 9 "$TMP/old.ram"
VM="-object memory-backend-file,id=pc.ram,size=48M,mem-path=$TMP/new.ram"
OLDVM="-object memory-backend-file,id=pc.ram,size=48M,mem-path=$TMP/old.ram"
mkdir "$TMP/d"

# The points of one save, in order (one channel keeps the order fixed).
points() { # points HEADER
	# shellcheck disable=SC2086
	MRENGINE_TESTPOINTS=1 "$MRENGINE" save -q $VM --output "$TMP/probe.img" --channels 1 --header "$1" 2>&1 |
		sed -n 's/^testpoint \([0-9]*\) \(.*\)/\1 \2/p'
	rm -f "$TMP/probe.img"
}

# Every point that is not a page write, and page writes at regular steps.
pick() { awk '$2 != "page" { print $1; next } { if (++n % 7 == 1) print $1 }'; }

for hdr in none mrengine; do
	# shellcheck disable=SC2086
	"$MRENGINE" save -q $VM --output "$TMP/ref-$hdr.img" --channels 1 --header "$hdr"
	points "$hdr" >"$TMP/points-$hdr"
done
total=$(( $(pick <"$TMP/points-none" | wc -l) + $(pick <"$TMP/points-mrengine" | wc -l) ))
plan $((total * 2))
diag "$total kill points (of $(cat "$TMP/points-none" "$TMP/points-mrengine" | wc -l) in two saves)"

for hdr in none mrengine; do
	# the completion marker's point: a temporary file killed before it is torn
	marker=$(awk '$2 == "the" && $3 == "completion" { print $1 }' "$TMP/points-$hdr")
	for k in $(pick <"$TMP/points-$hdr"); do
		name=$(awk -v k="$k" '$1 == k { $1 = ""; print substr($0, 2) }' "$TMP/points-$hdr")
		rm -f "$TMP/d/"* "$TMP/d/".vm.img.mrengine-*
		# shellcheck disable=SC2086
		"$MRENGINE" save -q $OLDVM --output "$TMP/d/vm.img" --channels 1 --header "$hdr"
		cp "$TMP/d/vm.img" "$TMP/old.img"
		# shellcheck disable=SC2086
		MRENGINE_KILL_AT=$k "$MRENGINE" save -q $VM --output "$TMP/d/vm.img" --channels 1 --header "$hdr" \
			>/dev/null 2>&1
		rc=$?
		if cmp -s "$TMP/d/vm.img" "$TMP/old.img"; then
			state=old
		elif [ "$hdr" = none ] && cmp -s "$TMP/d/vm.img" "$TMP/ref-none.img"; then
			state=new
		elif [ "$hdr" = mrengine ] && "$MRENGINE" verify -q "$TMP/d/vm.img" 2>/dev/null &&
		     "$MRENGINE" extract "$TMP/d/vm.img" --block pc.ram --output "$TMP/x.ram" 2>/dev/null &&
		     cmp -s "$TMP/x.ram" "$TMP/new.ram"; then
			state=new
		else
			state=broken
		fi
		if [ $rc -eq 137 ] && [ "$state" != broken ] && "$MRENGINE" verify -q "$TMP/d/vm.img" 2>/dev/null; then
			ok "header=$hdr killed at $k ($name): the path holds the $state image, which verifies"
		else
			not_ok "header=$hdr killed at $k ($name): exit $rc, path holds: $state"
		fi
		# what the kill left behind: torn (refused) unless it was complete
		bad=0
		for f in "$TMP/d/".vm.img.mrengine-*; do
			[ -e "$f" ] || continue
			if [ "$k" -lt "$marker" ] && "$MRENGINE" verify -q "$f" 2>/dev/null; then
				bad=1; diag "verify accepted torn $(basename "$f")"
			fi
		done
		[ $bad -eq 0 ] && ok "header=$hdr killed at $k: no torn leftover is accepted" \
			|| not_ok "header=$hdr killed at $k: no torn leftover is accepted"
	done
done
done_testing
