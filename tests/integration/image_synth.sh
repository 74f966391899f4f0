#!/bin/sh
# SPDX-License-Identifier: MIT
# image_synth.sh: inspect, verify and extract on synthetic streams whose
# every byte is known (written by tests/unit/test_format_gen): sequential
# records QEMU's own files rarely contain (XBZRLE deltas, ZERO over data,
# CONTINUE across sections, non-zero ZERO fill) and mapped-ram files with
# page-aligned and 1 MiB-aligned regions behind a prepended header.
. "$srcdir/tests/lib.sh"
. "$srcdir/tests/integration/image_lib.sh"

GEN=$builddir/tests/unit/test_format_gen
[ -x "$GEN" ] || skip_all "$GEN was not built"
command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"

check "test_format_gen writes the streams" "$GEN" "$TMP"

for f in seq mapped mapped-off; do
	check "$f.mig: verify exits 0" "$MRENGINE" verify "$TMP/$f.mig"
	"$MRENGINE" inspect --json "$TMP/$f.mig" >"$TMP/$f.json"
done

jcheck "seq.mig: inspect --json" "$TMP/seq.json" \
	"j['format'] == 'sequential'" "j['machine'] == 'pc-i440fx-10.0'" "j['capabilities'] == []" \
	"[(b['id'], b['pages'], b['present'], b['zero']) for b in j['blocks']] == [('pc.ram', 160, 4, 156), ('pc.bios', 2, 1, 1), ('/rom@etc/acpi/rsdp', 1, 1, 0)]" \
	"[s['type'] for s in j['sections']] == ['START', 'PART', 'COMMAND', 'END', 'FULL', 'FULL', 'EOF', 'VMDESC']" \
	"[s.get('idstr') for s in j['sections'] if s['type'] == 'FULL'] == ['timer', 'cpu']" \
	"j['ram'] == {'section-id': 2, 'total': 163 * 4096}"
jcheck "mapped.mig: inspect --json" "$TMP/mapped.json" \
	"j['format'] == 'mapped-ram'" "j['capabilities'] == ['mapped-ram']" "j['stream-offset'] == 0" \
	"[(b['id'], b['pages'], b['present']) for b in j['blocks']] == [('pc.ram', 6, 4), ('pc.bios', 2, 2), ('/rom@etc/acpi/rsdp', 1, 0)]" \
	"all(b['pages-offset'] % 4096 == 0 and b['bitmap-offset'] == b['header-offset'] + 28 for b in j['blocks'])"
jcheck "mapped-off.mig: stream found at 4096, pages at absolute 1 MiB boundaries" "$TMP/mapped-off.json" \
	"j['stream-offset'] == 4096" "j['stream-end'] == j['file-size']" \
	"[b['pages-offset'] for b in j['blocks']] == [0x100000, 0x200000, 0x300000]"
check "mapped-off.mig: verify --offset 4096 exits 0" "$MRENGINE" verify --offset 4096 "$TMP/mapped-off.mig"
check_fails "mapped-off.mig: verify --offset 0 exits 1 (the header is not a stream)" 'offset 0x0: bad magic' \
	"$MRENGINE" verify --offset 0 "$TMP/mapped-off.mig"
check "mapped-off.mig: the 4096-byte header is what was written" \
	sh -c 'head -c 4096 "$1" | tr -d X | wc -c | grep -qx 0' sh "$TMP/mapped-off.mig"

# Extract: each block equals the content the records describe.
for f in seq mapped; do
	for b in pc.ram pc.bios /rom@etc/acpi/rsdp; do
		name=$(echo "$b" | tr '/@' '__')
		check "$f.mig: extract $b equals the expected content" \
			sh -c '"$1" extract "$2" --block "$3" --output "$4" && cmp "$4" "$5"' sh \
			"$MRENGINE" "$TMP/$f.mig" "$b" "$TMP/out.raw" "$TMP/$f.$name.raw"
	done
done
check "mapped-off.mig: extract pc.ram (offset found automatically) equals mapped.mig's" \
	sh -c '"$1" extract "$2" --block pc.ram --output "$3" && cmp "$3" "$4"' sh \
	"$MRENGINE" "$TMP/mapped-off.mig" "$TMP/out.raw" "$TMP/mapped.pc.ram.raw"

# An existing output is replaced, not merged.
head -c 65536 /dev/zero | tr '\0' '\377' >"$TMP/out.raw"
check "extract truncates an existing output file" \
	sh -c '"$1" extract "$2" --block pc.ram --output "$3" && cmp "$3" "$4"' sh \
	"$MRENGINE" "$TMP/seq.mig" "$TMP/out.raw" "$TMP/seq.pc.ram.raw"
check_fails "extract into a missing directory fails naming the file" "cannot create '$TMP/no/such/dir'" \
	"$MRENGINE" extract "$TMP/seq.mig" --block pc.ram --output "$TMP/no/such/dir"

# A sequential stream read from a pipe: inspect and verify do not need to seek.
check "seq.mig through a pipe: inspect exits 0" sh -c 'cat "$2" | "$1" inspect --offset 0 /dev/stdin' sh \
	"$MRENGINE" "$TMP/seq.mig"

plan "$_tap_n"
done_testing
