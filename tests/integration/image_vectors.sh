#!/bin/sh
# SPDX-License-Identifier: MIT
# image_vectors.sh: inspect, verify and extract on real files written by
# QEMU 10.0.2 (mapped-ram and sequential) and QEMU 7.2 (sequential), from
# ../shared/vectors: the reported layout, the extracted guest RAM against
# QEMU's own pmemsave, and clean failures on truncated, corrupted and
# offset copies.
. "$srcdir/tests/lib.sh"
. "$srcdir/tests/integration/image_lib.sh"

[ -n "$VECTORS" ] || skip_all "no QEMU vectors (../shared/vectors not found beside the source tree; set MRE_VECTORS)"
command -v zstd >/dev/null 2>&1 || skip_all "zstd is not installed"
command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"
for v in a_new_mapped_ram f_new_sequential_file f_old72_sequential_exec; do
	[ -f "$VECTORS/$v.mig.zst" ] && [ -f "$VECTORS/$v.ram.zst" ] || skip_all "vector $v missing from $VECTORS"
done

MiB=1048576
BLOCKS='[("pc.ram", 64 << 20), ("/rom@etc/acpi/tables", 128 << 10), ("pc.bios", 256 << 10),
	("pc.rom", 128 << 10), ("/rom@etc/table-loader", 4096), ("/rom@etc/acpi/rsdp", 4096)]'

# Python (j = inspect JSON): how QEMU lays out mapped-ram regions.
MR_LAYOUT='all(b["bitmap-offset"] == b["header-offset"] + 28 and
	b["pages-offset"] == -(-(b["bitmap-offset"] + (b["pages"] + 63) // 64 * 8) // (1 << 20)) * (1 << 20)
	for b in j["blocks"])'
MR_CHAIN='all(j["blocks"][i + 1]["entry-offset"] == b["pages-offset"] + b["used-length"]
	for i, b in enumerate(j["blocks"][:-1]))'

# count_nonzero_pages FILE: 4 KiB pages of FILE that are not all zero.
count_nonzero_pages() {
	python3 -c '
import sys
n = 0
with open(sys.argv[1], "rb") as f:
    while True:
        p = f.read(4096)
        if not p:
            break
        n += p.count(0) != len(p)
print(n)' "$1"
}

for v in a_new_mapped_ram f_new_sequential_file f_old72_sequential_exec; do
	mig=$(vector "$v.mig")
	ram=$(vector "$v.ram")
	json=$TMP/$v.json
	case $v in
	a_*) fmt=mapped-ram machine=pc-i440fx-10.0 caps='["mapped-ram"]' sid=1 sw=True ;;
	f_new*) fmt=sequential machine=pc-i440fx-10.0 caps='[]' sid=1 sw=True ;;
	*) fmt=sequential machine=pc-i440fx-7.2 caps='[]' sid=2 sw=False ;;
	esac

	check "$v: verify exits 0" "$MRENGINE" verify "$mig"
	check "$v: verify --quiet prints nothing" sh -c '[ -z "$("$1" verify --quiet "$2")" ]' sh "$MRENGINE" "$mig"
	check "$v: inspect (text) exits 0" "$MRENGINE" inspect "$mig"
	"$MRENGINE" inspect --json "$mig" >"$json" 2>"$TMP/err" || diag "inspect --json failed: $(cat "$TMP/err")"
	jcheck "$v: inspect --json: format, machine, page size, capabilities, stream bounds" "$json" \
		"j['format'] == '$fmt'" "j['machine'] == '$machine'" "j['page-size'] == 4096" \
		"j['capabilities'] == $caps" "j['uuid'] is None" "j['stream-offset'] == 0" \
		"j['stream-end'] == j['file-size'] == $(stat -c %s "$mig")"
	jcheck "$v: inspect --json: RAM block ids and lengths in QEMU's order" "$json" \
		"[(b['id'], b['used-length']) for b in j['blocks']] == $BLOCKS" \
		"j['ram'] == {'section-id': $sid, 'total': sum(l for _, l in $BLOCKS)}"
	jcheck "$v: inspect --json: present + zero == pages == length / 4096 for every block" "$json" \
		"all(b['present'] + b['zero'] == b['pages'] == b['used-length'] // 4096 for b in j['blocks'])" \
		"j['blocks'][0]['present'] > 700"
	jcheck "$v: inspect --json: sections START ram ... END ram, EOF, VMDESC" "$json" \
		"(j['sections'][0]['type'], j['sections'][0]['idstr']) == ('START', 'ram')" \
		"[s['type'] for s in j['sections'] if s.get('idstr') == 'ram'][-1] == 'END'" \
		"all(s['section-id'] == $sid for s in j['sections'] if s.get('idstr') == 'ram')" \
		"[s['type'] for s in j['sections'][-2:]] == ['EOF', 'VMDESC']" \
		"j['vmdesc']['offset'] == j['sections'][-1]['offset'] == j['sections'][-2]['end']" \
		"j['sections'][-1]['end'] == j['stream-end']" \
		"all(a['end'] == b['offset'] for a, b in zip(j['sections'], j['sections'][1:]))" \
		"any(s.get('idstr') == 'cpu' and s['type'] == 'FULL' for s in j['sections'])" \
		"any(s.get('command') == 'SWITCHOVER_START' for s in j['sections']) == $sw"
	if [ "$fmt" = mapped-ram ]; then
		jcheck "$v: inspect --json: mapped-ram offsets as QEMU 10 wrote them" "$json" \
			"j['blocks'][0]['entry-offset'] == 99" "j['blocks'][0]['header-offset'] == 114" "j['blocks'][0]['bitmap-offset'] == 142" \
			"[b['pages-offset'] for b in j['blocks']] == [0x100000, 0x4200000, 0x4300000, 0x4400000, 0x4500000, 0x4600000]" \
			"not any(b['ignored'] for b in j['blocks'])" "$MR_LAYOUT" "$MR_CHAIN"
	else
		jcheck "$v: inspect --json: no mapped-ram fields in a sequential stream" "$json" \
			"not any('pages-offset' in b for b in j['blocks'])"
	fi

	out=$TMP/$v.pc.ram
	check "$v: extract pc.ram exits 0" "$MRENGINE" extract "$mig" --block pc.ram --output "$out"
	check "$v: extracted pc.ram is the block's length" test "$(stat -c %s "$out")" -eq $((64 * MiB))
	check "$v: extracted pc.ram equals QEMU's pmemsave from 1 MiB on" cmp -i $MiB "$out" "$ram"
	check "$v: extracted pc.ram is sparse" test "$(allocated "$out")" -lt $((16 * MiB))
	check "$v: pages holding data in the extract == inspect's present count" \
		test "$(count_nonzero_pages "$out")" -eq "$(jget "$json" "j['blocks'][0]['present']")"
	check "$v: extract of pc.bios" "$MRENGINE" extract --block pc.bios --output "$TMP/$v.bios" "$mig"
	check "$v: extract of a block whose id has slashes" \
		"$MRENGINE" extract --block /rom@etc/acpi/tables --output "$TMP/$v.acpi" "$mig"
	check "$v: extracted /rom@etc/acpi/tables is 128 KiB" test "$(stat -c %s "$TMP/$v.acpi")" -eq 131072
	check_fails "$v: extract of an unknown block fails and lists the blocks" \
		"no RAM block 'nope' \\(blocks: pc.ram /rom@etc/acpi/tables pc.bios" \
		"$MRENGINE" extract --block nope --output "$TMP/nope" "$mig"
	check "$v: ... and leaves no output file" test ! -e "$TMP/nope"

	# truncated copies
	size=$(stat -c %s "$mig")
	cpu_mid=$(jget "$json" "[(s['offset'] + s['end']) // 2 for s in j['sections'] if s.get('idstr') == 'cpu'][0]")
	eof=$(jget "$json" "j['sections'][-2]['offset']")
	vmd=$(jget "$json" "j['vmdesc']['offset']")
	if [ "$fmt" = mapped-ram ]; then
		cuts="20 160 $((MiB + 8192)) $((0x4600000 - 1)) $cpu_mid $eof $((vmd + 3)) $((vmd + 1000)) $((size - 1))"
	else
		part_mid=$(jget "$json" "[(s['offset'] + s['end']) // 2 for s in j['sections'] if s['type'] == 'PART'][0]")
		cuts="20 100 $part_mid $cpu_mid $eof $((vmd + 3)) $((vmd + 1000)) $((size - 1))"
	fi
	for n in $cuts; do
		copy_cut "$mig" "$TMP/cut" "$n"
		verify_fails "$v: cut to $n bytes: verify exits 1 naming an offset" "$TMP/cut"
	done
	rm -f "$TMP/cut"

	# corrupted copies (one byte xor 0xff each)
	start=$(jget "$json" "j['sections'][0]['offset']")
	start_end=$(jget "$json" "j['sections'][0]['end']")
	cpu_end=$(jget "$json" "[s['end'] for s in j['sections'] if s.get('idstr') == 'cpu'][0]")
	flips="9:machine-name-length $((start + 16)):ram-section-version $((start_end - 1)):ram-footer-id"
	flips="$flips $((cpu_end - 1)):cpu-footer-id $eof:EOF-byte $((vmd + 1)):vmdesc-length"
	if [ "$fmt" = mapped-ram ]; then
		h=$(jget "$json" "j['blocks'][0]['header-offset']")
		tl=$(jget "$json" "[b['bitmap-offset'] for b in j['blocks'] if b['id'] == '/rom@etc/table-loader'][0]")
		flips="$flips $((h + 3)):mapped-ram-version $((h + 27)):pages-offset-alignment $((tl + 7)):bitmap-bit-past-the-block"
	else
		part=$(jget "$json" "[s['offset'] for s in j['sections'] if s['type'] == 'PART'][0]")
		flips="$flips $((part + 12)):page-record-flags $((part + 14)):page-record-block-id"
	fi
	for f in $flips; do
		cp --sparse=always "$mig" "$TMP/flip" && chmod u+w "$TMP/flip"
		flip "$TMP/flip" "${f%%:*}"
		verify_fails "$v: ${f#*:} corrupted (byte ${f%%:*}): verify exits 1 naming an offset" "$TMP/flip" --offset 0
	done
	cp --sparse=always "$mig" "$TMP/flip" && chmod u+w "$TMP/flip"
	flip "$TMP/flip" 0
	verify_fails "$v: bad magic with --offset 0: verify exits 1 naming an offset" "$TMP/flip" --offset 0
	check_fails "$v: bad magic, offset auto-detected: verify exits 1 saying no stream was found" \
		'no QEMU migration stream found' "$MRENGINE" verify "$TMP/flip"
	rm -f "$TMP/flip"
done

# The same BIOS in both QEMU 10.0.2 files.
check "pc.bios is the same in QEMU 10's mapped-ram and sequential files" \
	cmp "$TMP/a_new_mapped_ram.bios" "$TMP/f_new_sequential_file.bios"

# A 4096-byte foreign header in front of a sequential stream.
for v in f_new_sequential_file f_old72_sequential_exec; do
	mig=$TMP/$v.mig
	hdr=$TMP/$v.hdr.mig
	{ head -c 4096 /dev/zero | tr '\0' 'J'; cat "$mig"; } >"$hdr"
	check "$v + 4096-byte header: verify --offset 4096 exits 0" "$MRENGINE" verify --offset 4096 "$hdr"
	check "$v + 4096-byte header: verify --offset 0x1000 exits 0" "$MRENGINE" verify --offset 0x1000 "$hdr"
	check "$v + 4096-byte header: verify finds the stream by itself" "$MRENGINE" verify "$hdr"
	"$MRENGINE" inspect --json "$hdr" >"$TMP/hdr.json"
	jcheck "$v + 4096-byte header: inspect reports stream-offset 4096" "$TMP/hdr.json" \
		"j['stream-offset'] == 4096" "j['stream-end'] == j['file-size']" \
		"j['sections'][0]['offset'] == $(jget "$TMP/$v.json" "j['sections'][0]['offset']") + 4096"
	check "$v + 4096-byte header: extract (auto offset) gives the same pc.ram" \
		sh -c '"$1" extract "$2" --block pc.ram --output "$3" && cmp "$3" "$4"' sh \
		"$MRENGINE" "$hdr" "$TMP/hdr.pc.ram" "$TMP/$v.pc.ram"
	check "$v + 4096-byte header: extract --offset 4096 gives the same pc.ram" \
		sh -c '"$1" extract --offset 4K "$2" --block pc.ram --output "$3" && cmp "$3" "$4"' sh \
		"$MRENGINE" "$hdr" "$TMP/hdr.pc.ram" "$TMP/$v.pc.ram"
	check_fails "$v + 4096-byte header: verify --offset 0 exits 1 (bad magic at 0x0)" \
		'offset 0x0: bad magic' "$MRENGINE" verify --offset 0 "$hdr"
	verify_fails "$v + 4096-byte header: verify --offset 4097 exits 1" "$hdr" --offset 4097
	rm -f "$hdr" "$TMP/hdr.pc.ram"
done

# mapped-ram offsets are absolute: moving the stream breaks the file, and
# mrengine says so instead of reading the wrong bytes.
{ head -c 4096 /dev/zero | tr '\0' 'J'; cat "$TMP/a_new_mapped_ram.mig"; } >"$TMP/moved.mig"
check_fails "mapped-ram moved by 4096 bytes: verify exits 1 (bitmap offset overlaps the block header)" \
	'offset 0x[0-9a-f]+: block .pc\.ram.: bitmap offset 0x8e overlaps the block header' \
	"$MRENGINE" verify "$TMP/moved.mig"
rm -f "$TMP/moved.mig"

# Trailing bytes after the stream: inspect shows it, verify refuses it.
cp --sparse=always "$TMP/f_new_sequential_file.mig" "$TMP/tail.mig"
chmod u+w "$TMP/tail.mig"
printf 'trailing' >>"$TMP/tail.mig"
check "trailing bytes: inspect still exits 0" "$MRENGINE" inspect "$TMP/tail.mig"
check_fails "trailing bytes: verify exits 1" '8 unexpected bytes after the end of the stream' \
	"$MRENGINE" verify "$TMP/tail.mig"

plan "$_tap_n"
done_testing
