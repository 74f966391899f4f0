#!/bin/sh
# SPDX-License-Identifier: MIT
# Policies in real saves: every shipped policy saves and restores a VM
# byte-exact and produces the image its header comment promises; a policy
# that loops, bombs memory or returns garbage fails the save with an error
# naming the policy, the hook, the file and the line, and writes nothing.
. "$srcdir/tests/lib.sh"
plan 27

"$MRENGINE" generate --size 12M --seed 31 "$TMP/vm.ram"
VM="-object memory-backend-file,id=pc.ram,size=12M,mem-path=$TMP/vm.ram"
P="$srcdir/policies"
json() { "$MRENGINE" inspect --json "$1" | python3 -c "import json, sys; d = json.load(sys.stdin); print(($2))"; }

for pol in default fast-snapshot compact-archive low-impact libvirt-header per-vm-rules; do
	img="$TMP/$pol.img"
	# shellcheck disable=SC2086
	check "$pol: save" "$MRENGINE" save -q $VM --output "$img" --policy "$P/$pol.lua" --label backup=archive
	check "$pol: verify" "$MRENGINE" verify -q "$img"
	rm -f "$TMP/back.ram"
	if "$MRENGINE" restore -q "$img" --policy "$P/$pol.lua" \
		-object memory-backend-file,id=pc.ram,size=12M,mem-path="$TMP/back.ram" 2>"$TMP/.err" &&
	   cmp -s "$TMP/vm.ram" "$TMP/back.ram"; then
		ok "$pol: restore is byte-exact"
	else
		not_ok "$pol: restore is byte-exact"; sed 's/^/#   /' "$TMP/.err"
	fi
done
# what each promises, as the image shows it
[ "$(json "$TMP/default.img" "d['format'], d['trailer']['page-checksums']")" = "('mapped-ram', True)" ] \
	&& ok "default: plain mapped-ram with page checksums" || not_ok "default: plain mapped-ram with page checksums"
[ "$(json "$TMP/compact-archive.img" "d['format'], d['blocks'][0]['compression']['algorithm'], d['blocks'][0]['compression']['chunk-size']")" = "('mapped-ram-compressed', 'zstd', 4194304)" ] \
	&& ok "compact-archive: zstd in 4 MiB chunks" || not_ok "compact-archive: zstd in 4 MiB chunks"
[ "$(json "$TMP/libvirt-header.img" "d['header']['kind'], d['header']['complete'], d['trailer']['page-checksums']")" = "('libvirt', True, False)" ] \
	&& ok "libvirt-header: a complete libvirt header, no checksums" || not_ok "libvirt-header: a complete libvirt header, no checksums"
[ "$(head -c 16 "$TMP/libvirt-header.img")" = LibvirtQemudSave ] && ok "libvirt-header: LibvirtQemudSave at 0" \
	|| not_ok "libvirt-header: LibvirtQemudSave at 0"
[ "$(json "$TMP/per-vm-rules.img" "d['format'], d['blocks'][0]['compression']['level']")" = "('mapped-ram-compressed', 9)" ] \
	&& ok "per-vm-rules: the backup=archive rule (zstd:9)" || not_ok "per-vm-rules: the backup=archive rule (zstd:9)"

# hostile policies fail the save cleanly
printf 'return { name = "spin", on_save = function() while true do end end }\n' >"$TMP/spin.lua"
printf 'local t = {}\nreturn { name = "bomb", on_save = function()\n  local s = "x"\n  while true do s = s .. s end\nend }\n' >"$TMP/bomb.lua"
printf 'return { name = "junk", on_save = function() return { channels = "many" } end }\n' >"$TMP/junk.lua"
mkdir "$TMP/out"
# shellcheck disable=SC2086
check_fails "a looping hook is stopped" "policy spin: on_save: .*budget.*spin.lua:1" \
	"$MRENGINE" save $VM --output "$TMP/out/x.img" --policy "$TMP/spin.lua"
# shellcheck disable=SC2086
check_fails "a memory bomb is stopped" "policy bomb: on_save: .*(memory|not enough).*bomb.lua:4" \
	"$MRENGINE" save $VM --output "$TMP/out/x.img" --policy "$TMP/bomb.lua"
# shellcheck disable=SC2086
check_fails "a bad plan is refused naming the field" "policy junk: on_save: .*channels" \
	"$MRENGINE" save $VM --output "$TMP/out/x.img" --policy "$TMP/junk.lua"
[ -z "$(ls -A "$TMP/out")" ] && ok "nothing was written" || not_ok "nothing was written"
done_testing
