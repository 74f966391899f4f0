#!/bin/sh
# SPDX-License-Identifier: MIT
# policy_check.sh: `mrengine policy-check` end to end: help and usage, the
# human and JSON reports, client parameters winning (and being logged),
# labels reaching per-VM rules, on_restore against a real image, a broken
# policy's error, and that nothing is ever written.
. "$srcdir/tests/lib.sh"
plan 24

OBJ="-object memory-backend-memfd,id=pc.ram,size=64M"
P="$srcdir/policies"

"$MRENGINE" policy-check --help >"$TMP/help" 2>&1 && grep -q '^Usage: mrengine policy-check POLICY' "$TMP/help" &&
	ok "--help" || not_ok "--help"
"$MRENGINE" policy-check >/dev/null 2>"$TMP/err"; rc=$?
[ $rc -eq 2 ] && grep -q 'missing POLICY' "$TMP/err" && ok "no POLICY is a usage error" || not_ok "no POLICY (exit $rc)"

mkdir "$TMP/target"
check "fast-snapshot, human report" "$MRENGINE" policy-check "$P/fast-snapshot.lua" $OBJ --name web1 --target "$TMP/target/out.img"
out=$(cat "$TMP/.out")
for want in 'policy   fast-snapshot' 'plan \(on_save\)' 'compression          none' 'checksum             none' \
	'on_save              [0-9]+ instructions, [0-9]+ us' 'vm       web1, 1 block, 64.0 MiB RAM'; do
	printf '%s\n' "$out" | grep -Eq -- "$want" && ok "report shows '$want'" || { not_ok "report shows '$want'"; printf '%s\n' "$out" | sed 's/^/#   /'; }
done
[ -z "$(ls -A "$TMP/target")" ] && ok "nothing was written" || not_ok "nothing was written"

"$MRENGINE" policy-check "$P/compact-archive.lua" $OBJ --channels 3 --json >"$TMP/json" 2>"$TMP/err"
if [ -n "${PYTHON3:-$(command -v python3)}" ]; then
	ch=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["plan"]["channels"], d["plan"]["compression"], d["hook"], "instructions" in d["cost"]["on_save"])' "$TMP/json")
	[ "$ch" = "3 zstd:3 on_save True" ] || [ "$ch" = "3 zstd:9 on_save True" ] && ok "JSON report: the client's 3 channels, zstd" || not_ok "JSON report ($ch)"
else
	ok "# SKIP no python3"
fi
grep -q "policy compact-archive: keeping the client's multifd-channels=3 (the policy proposed channels=" "$TMP/err" &&
	ok "the kept client parameter is logged" || { not_ok "the kept client parameter is logged"; sed 's/^/#   /' "$TMP/err"; }

"$MRENGINE" policy-check "$P/per-vm-rules.lua" $OBJ --name db --label tier=gold --json >"$TMP/json" 2>"$TMP/err"
grep -q '"channels": 8' "$TMP/json" && ok "a label reaches the per-VM rules" || not_ok "a label reaches the per-VM rules"
grep -q "policy per-vm-rules: vm 'db' (64 MiB): rule 1" "$TMP/err" && ok "the rule is logged" || not_ok "the rule is logged"
grep -q '"labels": {"tier": "gold"}' "$TMP/json" && ok "the facts are in the JSON" || not_ok "the facts are in the JSON"

(cd "$srcdir" && "$MRENGINE" policy-check default $OBJ >"$TMP/out" 2>&1) && grep -q '(policies/default.lua)' "$TMP/out" &&
	ok "a bare name is found in ./policies" || not_ok "a bare name is found in ./policies"

cat >"$TMP/broken.lua" <<'LUA'
return {
  on_save = function(vm, target, host, params)
    return { channels = host.cpu }
  end,
}
LUA
check_fails "a broken policy fails with its file and line" \
	"^mrengine: policy broken: on_save: host has no field 'cpu' \(fields: cpus, io_uring, mem_free\) \(broken.lua:3\)$" \
	"$MRENGINE" policy-check "$TMP/broken.lua" $OBJ
rm -f "$TMP/broken.lua"
check_fails "an unknown policy name" "policy 'no-such-policy' not found" "$MRENGINE" policy-check no-such-policy $OBJ

# --running: the command line's VM is paused unless told otherwise
cat >"$TMP/runstate.lua" <<'LUA'
return {
  on_save = function(vm, target, host, params)
    return { channels = vm.running and 3 or 1 }
  end,
}
LUA
for how in paused running; do
	flag=; [ "$how" = running ] && flag=--running
	# shellcheck disable=SC2086
	"$MRENGINE" policy-check "$TMP/runstate.lua" $OBJ $flag --json >"$TMP/json" 2>"$TMP/err"
	want=1; [ "$how" = running ] && want=3
	[ "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["plan"]["channels"], d["facts"]["vm"]["running"])' "$TMP/json" 2>&1)" = \
		"$want $([ "$how" = running ] && echo True || echo False)" ] &&
		ok "the policy sees a $how VM" || { not_ok "the policy sees a $how VM"; sed 's/^/#   /' "$TMP/json" "$TMP/err"; }
done

# on_restore against a real image
if "$MRENGINE" save $OBJ --output "$TMP/img" -q >"$TMP/.out" 2>&1; then
	check "default --restore IMAGE" "$MRENGINE" policy-check "$P/default.lua" $OBJ --restore "$TMP/img"
	grep -q 'plan (on_restore)' "$TMP/.out" && ok "the restore plan" || not_ok "the restore plan"
	grep -Eq "image    $TMP/img: mapped-ram, 1 block, 64.0 MiB RAM" "$TMP/.out" && ok "image facts" ||
		{ not_ok "image facts"; sed 's/^/#   /' "$TMP/.out"; }
	cmp -s "$TMP/img" "$TMP/img" && ok "the image is untouched" || not_ok "the image is untouched"
else
	not_ok "save an image to restore from"; sed 's/^/#   /' "$TMP/.out"
	not_ok "the restore plan"; not_ok "image facts"; not_ok "the image is untouched"
fi
done_testing
