/* SPDX-License-Identifier: MIT */
/*
 * test_format.c: unit tests of the QEMU stream codec in src/format (and the
 * size parser it relies on): the configuration section (byte-exact output,
 * round trips, capability order, subsections), the stream walker on
 * synthetic sequential and mapped-ram streams built with the encoders,
 * struct mre_image, non-seekable sources, the mapped-ram bitmap helpers,
 * XBZRLE decoding and QEMU size syntax. Malformed input has its own binary
 * (test_format_malformed.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "format/config.h"
#include "format/image.h"
#include "format/qemu.h"
#include "format/ram.h"
#include "format/stream.h"
#include "tap.h"
#include "test_format_synth.h"
#include "util/bytes.h"
#include "util/size.h"

/* ---- helpers -------------------------------------------------------------- */

/* Everything the walker reported, for comparison with what was written. */
struct seen {
	bool got_cfg;
	struct mre_config cfg;
	unsigned nelems;
	struct mre_elem elems[32];
	unsigned nblocks;
	struct mre_block blocks[8];
	unsigned npages;
	struct seen_page {
		unsigned block;
		uint64_t offset;
		enum mre_page_kind kind;
		size_t len;
		uint8_t fill;
		uint8_t *copy;     /* the payload */
	} pages[32];
	char vmdesc[256];
	size_t vmdesc_len;
	unsigned vmdesc_calls;
};

static int on_config(void *u, const struct mre_config *cfg, struct mre_err *err)
{
	struct seen *s = u;

	s->got_cfg = true;
	s->cfg = *cfg;
	return 0;
}

static int on_elem(void *u, const struct mre_elem *el, struct mre_err *err)
{
	struct seen *s = u;

	if (s->nelems < MRE_ARRAY_SIZE(s->elems))
		s->elems[s->nelems] = *el;
	s->nelems++;
	return 0;
}

static int on_block(void *u, unsigned idx, const struct mre_block *b, struct mre_err *err)
{
	struct seen *s = u;

	if (idx != s->nblocks)
		return mre_err_set(err, -EINVAL, "block index %u out of order", idx);
	if (s->nblocks < MRE_ARRAY_SIZE(s->blocks))
		s->blocks[s->nblocks] = *b;
	s->nblocks++;
	return 0;
}

static int on_page(void *u, unsigned block, uint64_t offset, enum mre_page_kind kind,
		   const uint8_t *data, size_t len, uint8_t fill, struct mre_err *err)
{
	struct seen *s = u;
	struct seen_page *p;

	if (s->npages >= MRE_ARRAY_SIZE(s->pages))
		return mre_err_set(err, -E2BIG, "too many pages");
	p = &s->pages[s->npages++];
	p->block = block;
	p->offset = offset;
	p->kind = kind;
	p->len = len;
	p->fill = fill;
	if (len) {
		p->copy = malloc(len);
		memcpy(p->copy, data, len);
	}
	return 0;
}

static int on_vmdesc(void *u, const char *json, size_t len, struct mre_err *err)
{
	struct seen *s = u;

	s->vmdesc_calls++;
	s->vmdesc_len = len;
	memcpy(s->vmdesc, json, MRE_MIN(len, sizeof(s->vmdesc) - 1));
	return 0;
}

static const struct mre_walk_ops all_ops = {
	.config = on_config,
	.elem = on_elem,
	.block = on_block,
	.page = on_page,
	.vmdesc = on_vmdesc,
};

static void seen_free(struct seen *s)
{
	for (unsigned i = 0; i < s->npages && i < MRE_ARRAY_SIZE(s->pages); i++)
		free(s->pages[i].copy);
}

/* Walk @data[start..len) from memory; fills @w (caller frees) and @s. */
static int walk_mem(const uint8_t *data, size_t len, uint64_t start, bool want_vmdesc,
		    struct mre_walk *w, struct seen *s, struct mre_err *err)
{
	struct mre_memsrc mem;
	struct mre_src src;
	struct mre_rd rd;
	int r;

	memset(s, 0, sizeof(*s));
	mre_src_mem(&src, &mem, data, len);
	mre_walk_init(w);
	w->want_vmdesc = want_vmdesc;
	r = mre_rd_init(&rd, &src, start, err);
	if (!r)
		r = mre_walk_run(w, &rd, &all_ops, s, err);
	mre_rd_free(&rd);
	return r;
}

static int load_mem(const uint8_t *data, size_t len, uint64_t start, unsigned flags,
		    struct mre_image **img, struct mre_err *err)
{
	struct mre_memsrc mem;
	struct mre_src src;

	mre_src_mem(&src, &mem, data, len);
	return mre_image_load(&src, start, flags, img, err);
}

/* A source that only ever hands out the next bytes, like a pipe. */
struct pipe_src {
	const uint8_t *data;
	size_t len;
	uint64_t next;
	unsigned out_of_order;
};

static ssize_t pipe_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct pipe_src *p = ctx;

	if (off != p->next) {
		p->out_of_order++;
		return -ESPIPE;
	}
	if (len > 1000)
		len = 1000; /* short reads, as pipes give */
	if (len > p->len - off)
		len = p->len - off;
	memcpy(buf, p->data + off, len);
	p->next += len;
	return (ssize_t)len;
}

static void pipe_init(struct mre_src *src, struct pipe_src *p, const uint8_t *data, size_t len)
{
	memset(p, 0, sizeof(*p));
	p->data = data;
	p->len = len;
	src->read = pipe_read;
	src->ctx = p;
	src->size = MRE_SIZE_UNKNOWN;
	src->seekable = false;
}

/* ---- configuration ------------------------------------------------------- */

static void test_config_bytes(void)
{
	/* bytes 8..0x49 of QEMU 10.0.2's a_new_mapped_ram.mig */
	static const uint8_t want[] = {
		0x07, 0x00, 0x00, 0x00, 0x0e, 'p', 'c', '-', 'i', '4', '4', '0', 'f', 'x', '-', '1',
		'0', '.', '0', 0x05, 0x1a, 'c', 'o', 'n', 'f', 'i', 'g', 'u', 'r', 'a', 't', 'i',
		'o', 'n', '/', 'c', 'a', 'p', 'a', 'b', 'i', 'l', 'i', 't', 'i', 'e', 's', 0x00,
		0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x0a, 'm', 'a', 'p', 'p', 'e', 'd', '-',
		'r', 'a', 'm',
	};
	struct mre_config cfg;
	struct mre_wbuf wb;

	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.machine, "pc-i440fx-10.0");
	is_int(mre_config_set_cap(&cfg, "mapped-ram", true), 0, "config: add mapped-ram");
	mre_wbuf_init(&wb);
	mre_config_emit(&wb, &cfg);
	is_int(wb.len, sizeof(want), "config: emitted length equals QEMU's (%zu bytes)", sizeof(want));
	ok(wb.len == sizeof(want) && !memcmp(wb.data, want, sizeof(want)),
	   "config: emitted bytes equal QEMU 10's for a mapped-ram stream");
	/* the capabilities subsection alone is the documented 47 bytes */
	is_int(wb.len - (1 + 4 + strlen(cfg.machine)), 47, "config: capabilities subsection is 47 bytes");

	/* a plain sequential stream: machine name only, no subsection */
	mre_wbuf_reset(&wb);
	mre_config_set_cap(&cfg, "mapped-ram", false);
	mre_config_emit(&wb, &cfg);
	is_int(wb.len, 1 + 4 + 14, "config: no capabilities, no subsection");
	mre_wbuf_free(&wb);
}

static int parse_cfg_bytes(const uint8_t *data, size_t len, struct mre_config *cfg, size_t *used,
			   struct mre_err *err)
{
	struct mre_memsrc mem;
	struct mre_src src;
	struct mre_rd rd;
	int r;

	mre_src_mem(&src, &mem, data, len);
	r = mre_rd_init(&rd, &src, 0, err);
	if (!r)
		r = mre_config_parse(&rd, cfg, err);
	if (used)
		*used = (size_t)mre_rd_pos(&rd);
	mre_rd_free(&rd);
	return r;
}

static size_t find_bytes(const uint8_t *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= n; i++)
		if (!memcmp(hay + i, needle, k))
			return i;
	return SIZE_MAX;
}

static void test_config_roundtrip(void)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_config cfg, back;
	struct mre_wbuf wb, wb2;
	size_t used = 0, pb, caps, uuid;
	int r;

	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.machine, "virt-10.0");
	cfg.has_page_bits = true;
	cfg.page_bits = 14;
	mre_config_set_cap(&cfg, "mapped-ram", true);
	mre_config_set_cap(&cfg, "x-ignore-shared", true);
	cfg.has_uuid = true;
	for (int i = 0; i < 16; i++)
		cfg.uuid[i] = (uint8_t)(i * 17);
	mre_wbuf_init(&wb);
	mre_wbuf_init(&wb2);
	mre_config_emit(&wb, &cfg);

	r = parse_cfg_bytes(wb.data + 1, wb.len - 1, &back, &used, &err);
	is_int(r, 0, "config round trip: parses (%s)", err.msg);
	is_int(used, wb.len - 1, "config round trip: consumes every byte");
	is_str(back.machine, "virt-10.0", "config round trip: machine");
	ok(back.has_page_bits && back.page_bits == 14, "config round trip: target-page-bits 14");
	is_u64(mre_config_page_size(&back), 16384, "config round trip: page size 16 KiB");
	is_int(back.ncaps, 2, "config round trip: two capabilities");
	is_str(back.caps[0], "x-ignore-shared", "config round trip: x-ignore-shared first");
	is_str(back.caps[1], "mapped-ram", "config round trip: mapped-ram second");
	ok(back.has_uuid && !memcmp(back.uuid, cfg.uuid, 16), "config round trip: uuid");
	ok(mre_config_has_cap(&back, "mapped-ram") && !mre_config_has_cap(&back, "multifd"),
	   "config: has_cap");
	mre_config_emit(&wb2, &back);
	ok(wb.len == wb2.len && !memcmp(wb.data, wb2.data, wb.len), "config round trip: re-emit is identical");

	/* QEMU's fixed order: target-page-bits, capabilities, uuid */
	pb = find_bytes(wb.data, wb.len, "configuration/target-page-bits");
	caps = find_bytes(wb.data, wb.len, "configuration/capabilities");
	uuid = find_bytes(wb.data, wb.len, "configuration/uuid");
	ok(pb != SIZE_MAX && caps != SIZE_MAX && uuid != SIZE_MAX && pb < caps && caps < uuid,
	   "config: subsections emitted in QEMU's order");
	ok(pb != SIZE_MAX && wb.data[pb - 2] == MRE_VM_SUBSECTION && wb.data[pb - 1] == 30 &&
	   mre_get_be32(wb.data + pb + 30) == 1 && mre_get_be32(wb.data + pb + 34) == 14,
	   "config: target-page-bits subsection bytes (0x05, cstr8, be32 1, be32 bits)");
	ok(uuid != SIZE_MAX && mre_get_be32(wb.data + uuid + 18) == 1 &&
	   !memcmp(wb.data + uuid + 22, cfg.uuid, 16) && uuid + 22 + 16 == wb.len,
	   "config: uuid subsection bytes (be32 1, 16 raw bytes, last)");

	/* the loader accepts the subsections in any order */
	mre_wbuf_reset(&wb2);
	mre_wbuf_be32(&wb2, 4);
	mre_wbuf_put(&wb2, "pc-q", 4);
	mre_wbuf_u8(&wb2, MRE_VM_SUBSECTION);
	mre_wbuf_cstr8(&wb2, "configuration/uuid");
	mre_wbuf_be32(&wb2, 1);
	mre_wbuf_put(&wb2, cfg.uuid, 16);
	mre_wbuf_u8(&wb2, MRE_VM_SUBSECTION);
	mre_wbuf_cstr8(&wb2, "configuration/capabilities");
	mre_wbuf_be32(&wb2, 1);
	mre_wbuf_be32(&wb2, 1);
	mre_wbuf_cstr8(&wb2, "mapped-ram");
	mre_wbuf_u8(&wb2, MRE_VM_SECTION_START); /* what follows: not a subsection */
	mre_err_clear(&err);
	r = parse_cfg_bytes(wb2.data, wb2.len, &back, &used, &err);
	ok(r == 0 && back.has_uuid && back.ncaps == 1 && !back.has_page_bits && used == wb2.len - 1,
	   "config: uuid before capabilities is accepted, parsing stops at the next element (%s)", err.msg);
	is_u64(mre_config_page_size(&back), 4096, "config: no target-page-bits means 4096");
	mre_wbuf_free(&wb);
	mre_wbuf_free(&wb2);
}

static void test_config_caps(void)
{
	struct mre_config cfg;
	char name[300];

	memset(&cfg, 0, sizeof(cfg));
	mre_config_set_cap(&cfg, "mapped-ram", true);
	mre_config_set_cap(&cfg, "x-ignore-shared", true);
	ok(cfg.ncaps == 2 && !strcmp(cfg.caps[0], "x-ignore-shared") && !strcmp(cfg.caps[1], "mapped-ram"),
	   "caps: x-ignore-shared is put before mapped-ram whatever the insertion order");
	mre_config_set_cap(&cfg, "validate-uuid", true);
	mre_config_set_cap(&cfg, "xbzrle", true);
	mre_config_set_cap(&cfg, "zz-not-qemus", true);
	mre_config_set_cap(&cfg, "multifd", true);
	ok(cfg.ncaps == 6 && !strcmp(cfg.caps[0], "xbzrle") && !strcmp(cfg.caps[1], "multifd") &&
	   !strcmp(cfg.caps[2], "x-ignore-shared") && !strcmp(cfg.caps[3], "validate-uuid") &&
	   !strcmp(cfg.caps[4], "mapped-ram") && !strcmp(cfg.caps[5], "zz-not-qemus"),
	   "caps: QEMU enum order, unknown names last");
	is_int(mre_config_set_cap(&cfg, "multifd", true), 0, "caps: adding twice is a no-op");
	is_int(cfg.ncaps, 6, "caps: still six");
	mre_config_set_cap(&cfg, "x-ignore-shared", false);
	ok(cfg.ncaps == 5 && !strcmp(cfg.caps[2], "validate-uuid") && !strcmp(cfg.caps[3], "mapped-ram"),
	   "caps: removal keeps the others in order");
	is_int(mre_config_set_cap(&cfg, "postcopy-ram", false), 0, "caps: removing an absent one is a no-op");
	is_int(cfg.ncaps, 5, "caps: still five");
	is_int(mre_config_set_cap(&cfg, "", true), -EINVAL, "caps: empty name refused");
	memset(name, 'a', 256);
	name[256] = 0;
	is_int(mre_config_set_cap(&cfg, name, true), -EINVAL, "caps: 256-byte name refused");
	name[255] = 0;
	is_int(mre_config_set_cap(&cfg, name, true), 0, "caps: 255-byte name accepted");

	memset(&cfg, 0, sizeof(cfg));
	for (int i = 0; i < MRE_CONFIG_MAX_CAPS; i++) {
		snprintf(name, sizeof(name), "cap-%02d", i);
		mre_config_set_cap(&cfg, name, true);
	}
	is_int(cfg.ncaps, MRE_CONFIG_MAX_CAPS, "caps: list filled to the limit");
	is_int(mre_config_set_cap(&cfg, "mapped-ram", true), -E2BIG, "caps: one more is -E2BIG");
	ok(!strcmp(cfg.caps[0], "cap-00") && !strcmp(cfg.caps[31], "cap-31"),
	   "caps: unknown names keep insertion order");
}

static void test_config_errors(void)
{
	static const struct {
		const char *what, *sub;
		uint32_t version;
		int kind;   /* 0: be32 value, 1: caps list, 2: repeat subsection */
		uint32_t v;
		const char *msg;
	} cases[] = {
		{ "unknown subsection", "configuration/bogus", 1, 0, 0, "unknown configuration subsection" },
		{ "subsection version 2", "configuration/target-page-bits", 2, 0, 12, "version 2" },
		{ "target-page-bits 9", "configuration/target-page-bits", 1, 0, 9, "out of range" },
		{ "target-page-bits 17", "configuration/target-page-bits", 1, 0, 17, "out of range" },
		{ "caps count 0xffffffff", "configuration/capabilities", 1, 0, 0xffffffffu, "at most 32" },
		{ "capability listed twice", "configuration/capabilities", 1, 1, 0, "listed twice" },
		{ "subsection twice", "configuration/target-page-bits", 1, 2, 12, "appears twice" },
	};

	for (size_t i = 0; i < MRE_ARRAY_SIZE(cases); i++) {
		struct mre_err err = MRE_ERR_INIT;
		struct mre_config cfg;
		struct mre_wbuf wb;
		int r;

		mre_wbuf_init(&wb);
		mre_wbuf_be32(&wb, 2);
		mre_wbuf_put(&wb, "pc", 2);
		for (int rep = 0; rep < (cases[i].kind == 2 ? 2 : 1); rep++) {
			mre_wbuf_u8(&wb, MRE_VM_SUBSECTION);
			mre_wbuf_cstr8(&wb, cases[i].sub);
			mre_wbuf_be32(&wb, cases[i].version);
			if (cases[i].kind == 1) {
				mre_wbuf_be32(&wb, 2);
				mre_wbuf_cstr8(&wb, "mapped-ram");
				mre_wbuf_cstr8(&wb, "mapped-ram");
			} else {
				mre_wbuf_be32(&wb, cases[i].v);
			}
		}
		r = parse_cfg_bytes(wb.data, wb.len, &cfg, NULL, &err);
		is_int(r, MRE_EFORMAT, "config error: %s -> MRE_EFORMAT", cases[i].what);
		like(err.msg, cases[i].msg, "config error: %s: message", cases[i].what);
		like(err.msg, "offset 0x", "config error: %s: message names the offset", cases[i].what);
		mre_wbuf_free(&wb);
	}
}

static void test_config_vmdesc(void)
{
	static const char one[] =
		"{\"vmsd_name\": \"configuration\", \"version\": 1, \"fields\": [{\"name\": \"len\", "
		"\"type\": \"uint32\", \"size\": 4}, {\"name\": \"name\", \"type\": \"buffer\", \"size\": 11}], "
		"\"subsections\": [{\"vmsd_name\": \"configuration/capabilities\", \"version\": 1, "
		"\"fields\": [{\"name\": \"caps_count\", \"type\": \"uint32\", \"size\": 4}, "
		"{\"name\": \"capabilities\", \"type\": \"capability\", \"size\": 11}]}]}";
	static const char two_tail[] =
		"{\"name\": \"capabilities\", \"array_len\": 2, \"type\": \"capability\", \"size\": 16}]}]}";
	static const char none[] =
		"{\"vmsd_name\": \"configuration\", \"version\": 1, \"fields\": [{\"name\": \"len\", "
		"\"type\": \"uint32\", \"size\": 4}, {\"name\": \"name\", \"type\": \"buffer\", \"size\": 13}]}";
	struct mre_config cfg;
	struct mre_wbuf wb;

	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.machine, "pc-q35-10.2");
	mre_config_set_cap(&cfg, "mapped-ram", true);
	mre_wbuf_init(&wb);
	mre_config_vmdesc(&wb, &cfg);
	ok(wb.len == strlen(one) && !memcmp(wb.data, one, wb.len),
	   "vmdesc configuration: QEMU's exact text for pc-q35-10.2 + mapped-ram");
	mre_config_set_cap(&cfg, "x-ignore-shared", true);
	mre_wbuf_reset(&wb);
	mre_config_vmdesc(&wb, &cfg);
	ok(wb.len > strlen(two_tail) && !memcmp(wb.data + wb.len - strlen(two_tail), two_tail, strlen(two_tail)),
	   "vmdesc configuration: two capabilities use array_len 2 and x-ignore-shared's size");
	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.machine, "pc-i440fx-7.2");
	mre_wbuf_reset(&wb);
	mre_config_vmdesc(&wb, &cfg);
	ok(wb.len == strlen(none) && !memcmp(wb.data, none, wb.len),
	   "vmdesc configuration: no subsections without capabilities");
	mre_wbuf_free(&wb);
}

/* ---- the stream walker --------------------------------------------------- */

static void check_elems(const char *name, const struct synth *s, const struct seen *seen)
{
	bool same = seen->nelems == s->nelems;

	for (size_t i = 0; same && i < s->nelems; i++)
		same = seen->elems[i].type == s->elems[i].type && seen->elems[i].offset == s->elems[i].off &&
		       seen->elems[i].end == s->elems[i].end;
	ok(same, "%s: every element reported with the offsets it was written at (%u of %zu)", name,
	   seen->nelems, s->nelems);
	if (!same)
		for (unsigned i = 0; i < seen->nelems && i < 32; i++)
			diag("seen %s at 0x%llx..0x%llx", mre_elem_type_name(seen->elems[i].type),
			     (unsigned long long)seen->elems[i].offset, (unsigned long long)seen->elems[i].end);
}

static void check_sections(const char *name, const struct seen *seen)
{
	static const struct {
		uint8_t type;
		const char *idstr;
		uint32_t id;
	} want[] = {
		{ MRE_VM_SECTION_START, "ram", SYNTH_RAM_ID },
		{ MRE_VM_SECTION_PART, "ram", SYNTH_RAM_ID },
		{ MRE_VM_COMMAND, NULL, 0 },
		{ MRE_VM_SECTION_END, "ram", SYNTH_RAM_ID },
		{ MRE_VM_SECTION_FULL, "timer", SYNTH_TIMER_ID },
		{ MRE_VM_SECTION_FULL, "cpu", SYNTH_CPU_ID },
		{ MRE_VM_EOF, NULL, 0 },
	};
	bool same = seen->nelems >= MRE_ARRAY_SIZE(want);

	for (size_t i = 0; same && i < MRE_ARRAY_SIZE(want); i++) {
		const struct mre_elem *el = &seen->elems[i];

		same = el->type == want[i].type;
		if (same && want[i].idstr)
			same = !strcmp(el->idstr, want[i].idstr) && el->section_id == want[i].id;
		if (same && el->type == MRE_VM_COMMAND)
			same = el->cmd == MRE_CMD_SWITCHOVER_START && el->cmd_len == 0;
	}
	ok(same, "%s: START/PART ram, SWITCHOVER_START, END ram, FULL timer, FULL cpu, EOF", name);
	ok(seen->nelems > 4 && seen->elems[0].version == 4 && seen->elems[4].version == 2 &&
	   seen->elems[5].version == 12 && seen->elems[5].instance == 0,
	   "%s: section versions and instances", name);
}

static void test_walk_mapped(const char *name, const struct synth_opts *o)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_walk w;
	struct seen seen;
	struct synth s;
	bool ok_blocks = true;
	int r;

	synth_mapped(&s, o);
	r = walk_mem(s.wb.data, s.wb.len, s.stream_offset, true, &w, &seen, &err);
	is_int(r, 0, "%s: walks (%s)", name, err.msg);
	ok(seen.got_cfg && mre_config_has_cap(&seen.cfg, "mapped-ram"), "%s: config callback, mapped-ram", name);
	ok(w.mapped_ram && !!w.ignore_shared == !!o->ignore_shared, "%s: walker flags", name);
	is_u64(w.page_size, s.page_size, "%s: page size", name);
	is_u64(w.stream_offset, s.stream_offset, "%s: stream offset", name);
	is_u64(w.config_end, s.config_end, "%s: end of configuration", name);
	ok(w.ram_seen && w.ram_section_id == SYNTH_RAM_ID, "%s: ram section id", name);
	is_u64(w.ram_total, s.total, "%s: MEM_SIZE total", name);
	is_int(seen.nblocks, s.nblocks, "%s: block callbacks", name);
	is_int(w.nblocks, s.nblocks, "%s: walker block list", name);
	for (unsigned i = 0; i < s.nblocks && i < seen.nblocks; i++) {
		const struct mre_block *b = &seen.blocks[i];
		const struct synth_block_pos *p = &s.blk[i];
		bool ign = o->blocks && o->blocks[i].ignored;

		if (strcmp(b->id, p->id) || b->used_length != p->used || b->entry_offset != p->entry ||
		    !b->mapped || b->header_offset != p->header || b->mr_version != 1 ||
		    b->bitmap_offset != p->bitmap || b->pages_offset != p->pages || b->ignored != ign ||
		    b->has_gpa != o->ignore_shared || (o->ignore_shared && b->gpa != 0x100000000ull * (i + 1)) ||
		    (!ign && b->mr_page_size != s.page_size)) {
			ok_blocks = false;
			diag("block %u '%s': entry 0x%llx header 0x%llx bitmap 0x%llx pages 0x%llx", i, b->id,
			     (unsigned long long)b->entry_offset, (unsigned long long)b->header_offset,
			     (unsigned long long)b->bitmap_offset, (unsigned long long)b->pages_offset);
		}
	}
	ok(ok_blocks, "%s: every block's id, length, entry/header/bitmap/pages offsets%s", name,
	   o->ignore_shared ? ", GPA, ignored flag" : "");
	is_int(seen.npages, 0, "%s: no page records in a mapped-ram stream", name);
	check_elems(name, &s, &seen);
	check_sections(name, &seen);
	is_u64(w.eof_offset, s.eof, "%s: EOF offset", name);
	ok(w.has_vmdesc && w.vmdesc_offset == s.vmdesc && w.vmdesc_len == s.wb.len - s.vmdesc - 5,
	   "%s: vmdesc offset and length", name);
	ok(seen.vmdesc_calls == 1 && seen.vmdesc_len == w.vmdesc_len &&
	   !strncmp(seen.vmdesc, "{\"page_size\": ", 14), "%s: vmdesc JSON handed over", name);
	is_u64(w.end, s.wb.len, "%s: walk ends at the end of the file", name);
	mre_walk_free(&w);
	seen_free(&seen);
	synth_free(&s);
}

static void test_walk_sequential(void)
{
	struct synth_opts o = { .uuid = true };
	struct mre_err err = MRE_ERR_INIT;
	struct mre_walk w;
	struct seen seen;
	struct synth s;
	bool same = true;
	uint8_t *page;
	int r;

	synth_sequential(&s, &o);
	page = malloc(s.page_size);
	r = walk_mem(s.wb.data, s.wb.len, 0, false, &w, &seen, &err);
	is_int(r, 0, "sequential: walks (%s)", err.msg);
	ok(!w.mapped_ram && seen.cfg.ncaps == 0 && seen.cfg.has_uuid && seen.cfg.uuid[15] == 0xaf,
	   "sequential: no capabilities, uuid parsed");
	is_int(seen.nblocks, 3, "sequential: three blocks");
	for (unsigned i = 0; i < 3 && i < seen.nblocks; i++)
		if (strcmp(seen.blocks[i].id, s.blk[i].id) || seen.blocks[i].used_length != s.blk[i].used ||
		    seen.blocks[i].entry_offset != s.blk[i].entry || seen.blocks[i].mapped)
			same = false;
	ok(same, "sequential: block ids, lengths and entry offsets");
	is_int(seen.npages, s.nrecs, "sequential: one page callback per page record");
	same = seen.npages == s.nrecs;
	for (size_t i = 0; same && i < s.nrecs; i++) {
		const struct synth_rec *rc = &s.recs[i];
		const struct seen_page *p = &seen.pages[i];
		enum mre_page_kind kind = rc->kind == MRE_RAM_PAGE ? MRE_PAGE_DATA :
					  rc->kind == MRE_RAM_ZERO ? MRE_PAGE_ZERO : MRE_PAGE_XBZRLE;

		same = p->block == rc->block && p->offset == rc->addr && p->kind == kind && p->len == rc->len &&
		       p->fill == rc->fill;
		if (same && kind == MRE_PAGE_DATA) {
			for (size_t k = 0; k < s.page_size; k++)
				page[k] = synth_byte(rc->block, rc->addr / s.page_size, k);
			same = !memcmp(p->copy, page, s.page_size);
		}
		if (same && kind == MRE_PAGE_XBZRLE)
			same = !memcmp(p->copy, s.wb.data + rc->off + 8 + (rc->cont ? 0 : 1 + strlen(s.blk[rc->block].id)) + 3,
				       rc->len);
		if (!same)
			diag("record %zu differs: block %u offset 0x%llx kind %d len %zu", i, p->block,
			     (unsigned long long)p->offset, (int)p->kind, p->len);
	}
	ok(same, "sequential: block, offset, kind, fill and payload of every record "
	   "(CONTINUE within and across sections, block switches)");
	check_elems("sequential", &s, &seen);
	check_sections("sequential", &seen);
	ok(seen.elems[4].end == s.timer_footer + 5,
	   "sequential: a false footer inside a device section does not end it");
	ok(w.has_vmdesc && w.end == s.wb.len && seen.vmdesc_calls == 0,
	   "sequential: vmdesc skipped without want_vmdesc, walk ends at the end");
	mre_walk_free(&w);
	seen_free(&seen);
	free(page);
	synth_free(&s);
}

static void test_walk_no_vmdesc(void)
{
	struct synth_opts o = { .no_vmdesc = true };
	struct mre_err err = MRE_ERR_INIT;
	struct mre_walk w;
	struct seen seen;
	struct synth s;
	int r;

	synth_mapped(&s, &o);
	r = walk_mem(s.wb.data, s.wb.len, 0, true, &w, &seen, &err);
	ok(r == 0 && !w.has_vmdesc && w.end == s.wb.len && w.eof_offset == s.eof && seen.vmdesc_calls == 0,
	   "no vmdesc (suppress-vmdesc): the stream ends at EOF (%s)", err.msg);
	mre_walk_free(&w);
	synth_free(&s);
}

static void test_walk_postcopy_pagesize(void)
{
	struct mre_err err = MRE_ERR_INIT;
	uint8_t advise[16];
	struct mre_config cfg;
	struct mre_walk w;
	struct seen seen;
	struct mre_wbuf wb;
	int r;

	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.machine, "pc-q35-7.2");
	mre_put_be64(advise, 0x201000);
	mre_put_be64(advise + 8, 4096);
	mre_wbuf_init(&wb);
	mre_emit_file_header(&wb);
	mre_config_emit(&wb, &cfg);
	mre_emit_command(&wb, MRE_CMD_POSTCOPY_ADVISE, advise, sizeof(advise));
	mre_emit_section_start(&wb, MRE_VM_SECTION_START, 1, "ram", 0, 4);
	mre_wbuf_be64(&wb, (0x400000 + 0x1000) | MRE_RAM_MEM_SIZE);
	mre_mem_entry_emit(&wb, "mem0", 0x400000, false, 0);
	mre_wbuf_be64(&wb, 0x200000);  /* hugepage-backed: its page size */
	mre_mem_entry_emit(&wb, "small", 0x1000, false, 0);
	mre_wbuf_be64(&wb, MRE_RAM_EOS);
	mre_emit_footer(&wb, 1);
	mre_emit_section_short(&wb, MRE_VM_SECTION_END, 1);
	mre_wbuf_be64(&wb, MRE_RAM_EOS);
	mre_emit_footer(&wb, 1);
	mre_emit_eof(&wb, NULL, 0);
	r = walk_mem(wb.data, wb.len, 0, false, &w, &seen, &err);
	is_int(r, 0, "postcopy: walks (%s)", err.msg);
	ok(w.postcopy_advise && seen.nelems > 0 && seen.elems[0].type == MRE_VM_COMMAND &&
	   seen.elems[0].cmd == MRE_CMD_POSTCOPY_ADVISE && seen.elems[0].cmd_len == 16,
	   "postcopy: ADVISE command with its 16-byte payload");
	ok(seen.nblocks == 2 && seen.blocks[0].has_page_size && seen.blocks[0].block_page_size == 0x200000,
	   "postcopy: hugepage block carries its page size");
	ok(seen.nblocks == 2 && !seen.blocks[1].has_page_size && !strcmp(seen.blocks[1].id, "small"),
	   "postcopy: normal block has none");
	mre_walk_free(&w);
	mre_wbuf_free(&wb);
}

/* ---- struct mre_image ---------------------------------------------------- */

static void test_image_mapped(void)
{
	struct synth_opts o = { .prefix = 4096, .align = 0x100000 };
	struct mre_err err = MRE_ERR_INIT;
	struct mre_image *img = NULL;
	struct synth s;
	bool same = true;
	int r;

	synth_mapped(&s, &o);
	r = load_mem(s.wb.data, s.wb.len, 4096, 0, &img, &err);
	is_int(r, 0, "image mapped-ram (offset 4096, 1 MiB alignment): loads (%s)", err.msg);
	if (r)
		goto out;
	ok(img->mapped_ram && img->stream_offset == 4096 && img->file_size == s.wb.len &&
	   img->stream_end == s.wb.len, "image mapped-ram: format, stream offset, sizes");
	is_u64(img->blocks[0].b.pages_offset, 0x100000, "image mapped-ram: pc.ram pages at 1 MiB");
	ok(img->blocks[0].b.bitmap_offset == img->blocks[0].b.header_offset + MRE_MR_HEADER_SIZE &&
	   img->blocks[0].b.bitmap_offset == s.blk[0].bitmap,
	   "image mapped-ram: pc.ram bitmap right after its header");
	is_u64(img->blocks[1].b.pages_offset, 0x200000, "image mapped-ram: next block on the next 1 MiB");
	for (unsigned i = 0; i < s.nblocks; i++) {
		const struct mre_image_block *ib = &img->blocks[i];

		if (ib->npages != s.blk[i].npages || ib->present != s.blk[i].present ||
		    ib->zero != ib->npages - ib->present || ib->bitmap[0] != s.blk[i].present_mask)
			same = false;
	}
	ok(same && img->nblocks == s.nblocks, "image mapped-ram: pages, present, zero and bitmap of each block");
	is_int(img->nelems, s.nelems, "image mapped-ram: element list");
out:
	mre_image_free(img);
	img = NULL;
	r = load_mem(s.wb.data, s.wb.len, 4096, MRE_IMAGE_NO_BITMAPS, &img, &err);
	ok(r == 0 && img->blocks[0].present == 0 && img->blocks[0].bitmap == NULL,
	   "image mapped-ram: MRE_IMAGE_NO_BITMAPS skips the bitmaps");
	mre_image_free(img);
	synth_free(&s);
}

static void test_image_sequential(void)
{
	struct synth_opts o = { 0 };
	struct mre_err err = MRE_ERR_INIT;
	struct mre_image *img = NULL;
	struct synth s;
	bool same = true;
	int r;

	synth_sequential(&s, &o);
	r = load_mem(s.wb.data, s.wb.len, 0, 0, &img, &err);
	is_int(r, 0, "image sequential: loads (%s)", err.msg);
	if (!r) {
		for (unsigned i = 0; i < s.nblocks; i++) {
			const struct mre_image_block *ib = &img->blocks[i];

			/* which pages: checked through extract in image_synth.sh */
			if (ib->present != s.blk[i].present || ib->zero != ib->npages - ib->present ||
			    ib->present != (uint64_t)__builtin_popcountll(s.blk[i].present_mask) || ib->bitmap) {
				same = false;
				diag("block %u: present %llu", i, (unsigned long long)ib->present);
			}
		}
		ok(same, "image sequential: last record wins, ZERO with a fill byte counts as data, XBZRLE as data");
		ok(!img->mapped_ram && img->ram_total == s.total && img->nblocks == 3,
		   "image sequential: format, total, blocks");
		is_int(mre_image_find_block(img, "pc.bios"), 1, "image: find_block finds pc.bios");
		is_int(mre_image_find_block(img, "pc.bio"), -1, "image: find_block needs the whole name");
	}
	mre_image_free(img);
	synth_free(&s);
}

static void test_nonseekable(void)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_image *img = NULL;
	struct synth_opts o = { 0 };
	struct pipe_src p;
	struct mre_src src;
	struct synth s;
	int r;

	synth_sequential(&s, &o);
	pipe_init(&src, &p, s.wb.data, s.wb.len);
	r = mre_image_load(&src, 0, 0, &img, &err);
	ok(r == 0 && p.out_of_order == 0 && img->blocks[0].present == s.blk[0].present,
	   "pipe: a sequential stream loads reading strictly in order (%s)", err.msg);
	mre_image_free(img);
	img = NULL;
	synth_free(&s);

	synth_mapped(&s, &o);
	pipe_init(&src, &p, s.wb.data, s.wb.len);
	mre_err_clear(&err);
	r = mre_image_load(&src, 0, MRE_IMAGE_NO_BITMAPS, &img, &err);
	ok(r == 0 && p.out_of_order == 0 && img->stream_end == s.wb.len,
	   "pipe: a mapped-ram stream walks forward over its regions (%s)", err.msg);
	mre_image_free(img);
	img = NULL;
	pipe_init(&src, &p, s.wb.data, s.wb.len);
	mre_err_clear(&err);
	r = mre_image_load(&src, 0, 0, &img, &err);
	is_int(r, -ESPIPE, "pipe: reading mapped-ram bitmaps needs a seekable file");
	like(err.msg, "seekable", "pipe: the message says so");
	ok(img == NULL, "pipe: no image on failure");
	synth_free(&s);
}

/* ---- bitmap helpers ------------------------------------------------------ */

static void test_bitmap(void)
{
	uint64_t bm[3] = { 0 }, s = 0, e = 0;
	uint8_t le[16] = { 0 };
	uint64_t words[2];

	is_u64(mre_bitmap_bytes(0), 0, "bitmap bytes: 0 pages");
	is_u64(mre_bitmap_bytes(1), 8, "bitmap bytes: 1 page is one word");
	is_u64(mre_bitmap_bytes(64), 8, "bitmap bytes: 64 pages");
	is_u64(mre_bitmap_bytes(65), 16, "bitmap bytes: 65 pages");
	is_u64(mre_bitmap_bytes(16384), 2048, "bitmap bytes: 64 MiB of 4 KiB pages (as in QEMU's file)");

	ok(!mre_bitmap_next_run(bm, 150, 0, &s, &e), "next_run: none in an empty bitmap");
	is_u64(mre_bitmap_count(bm, 150), 0, "count: empty");
	for (int i = 60; i < 70; i++)
		mre_bit_set(bm, i);
	mre_bit_set(bm, 3);
	mre_bit_set(bm, 149);
	ok(mre_bit_test(bm, 3) && mre_bit_test(bm, 64) && !mre_bit_test(bm, 70) && !mre_bit_test(bm, 4),
	   "bit_test/bit_set");
	ok(mre_bitmap_next_run(bm, 150, 0, &s, &e) && s == 3 && e == 4, "next_run: single bit");
	ok(mre_bitmap_next_run(bm, 150, 4, &s, &e) && s == 60 && e == 70, "next_run: run across a word boundary");
	ok(mre_bitmap_next_run(bm, 150, 65, &s, &e) && s == 65 && e == 70, "next_run: from inside a run");
	ok(mre_bitmap_next_run(bm, 150, 70, &s, &e) && s == 149 && e == 150, "next_run: last page");
	ok(!mre_bitmap_next_run(bm, 150, 150, &s, &e), "next_run: nothing at npages");
	ok(!mre_bitmap_next_run(bm, 149, 70, &s, &e), "next_run: bits at or past npages are ignored");
	ok(mre_bitmap_next_run(bm, 66, 60, &s, &e) && s == 60 && e == 66, "next_run: a run is cut at npages");
	is_u64(mre_bitmap_count(bm, 150), 12, "count: all");
	is_u64(mre_bitmap_count(bm, 64), 5, "count: first word only");
	is_u64(mre_bitmap_count(bm, 66), 7, "count: partial last word");
	is_u64(mre_bitmap_count(bm, 149), 11, "count: bit at npages not counted");
	memset(bm, 0xff, sizeof(bm));
	ok(mre_bitmap_next_run(bm, 192, 0, &s, &e) && s == 0 && e == 192, "next_run: all set is one run");
	is_u64(mre_bitmap_count(bm, 130), 130, "count: all set, partial word");

	/* on disk: little-endian 64-bit words, bit i = byte i/8, bit i%8 */
	le[0] = 0x01;   /* page 0 */
	le[7] = 0x80;   /* page 63 */
	le[8] = 0x02;   /* page 65 */
	le[15] = 0x40;  /* page 126 */
	memcpy(words, le, sizeof(words));
	mre_bitmap_from_le(words, 2);
	ok(mre_bit_test(words, 0) && mre_bit_test(words, 63) && mre_bit_test(words, 65) &&
	   mre_bit_test(words, 126) && mre_bitmap_count(words, 128) == 4,
	   "from_le: bit i is byte i/8 bit i%%8 on any host");
	mre_bitmap_to_le(words, 2);
	ok(!memcmp(words, le, sizeof(le)), "to_le: back to the same bytes");
}

/* ---- XBZRLE -------------------------------------------------------------- */

static int xb(uint8_t *page, size_t ps, const uint8_t *d, size_t n, struct mre_err *err)
{
	mre_err_clear(err);
	return mre_xbzrle_apply(page, ps, d, n, err);
}

static void test_xbzrle(void)
{
	static const uint8_t d1[] = { 0, 3, 'a', 'b', 'c' };
	static const uint8_t d2[] = { 4, 2, 0xaa, 0xbb, 0xc8, 0x01, 1, 0xcc };
	static const uint8_t d_end[] = { 0xff, 0x1f, 1, 0x77 };      /* 4095 unchanged, 1 changed */
	static const uint8_t over1[] = { 0xff, 0x1f, 2, 1, 2 };      /* 4095 + 2 > 4096 */
	static const uint8_t over2[] = { 0xff, 0x7f, 1, 1 };         /* 16383 unchanged */
	static const uint8_t zrun[] = { 0, 1, 'x', 0, 1, 'y' };      /* empty run after the first pair */
	static const uint8_t nzrun0[] = { 5, 0 };
	static const uint8_t trunc_pair[] = { 5 };
	static const uint8_t trunc_uleb[] = { 0x85 };
	static const uint8_t trunc_data[] = { 5, 3, 'a' };
	static const uint8_t long_uleb[] = { 0x85, 0x80, 0x01, 1, 'a' };
	static const struct {
		const char *what;
		const uint8_t *d;
		size_t n;
		const char *msg;
	} bad[] = {
		{ "runs overflow the page", over1, sizeof(over1), "overflow" },
		{ "unchanged run past the page", over2, sizeof(over2), "overflow" },
		{ "zero-length unchanged run after the first", zrun, sizeof(zrun), "empty unchanged run" },
		{ "zero-length changed run", nzrun0, sizeof(nzrun0), "empty changed run" },
		{ "pair cut after the first length", trunc_pair, sizeof(trunc_pair), "bad run length" },
		{ "two-byte length cut", trunc_uleb, sizeof(trunc_uleb), "bad run length" },
		{ "changed bytes missing", trunc_data, sizeof(trunc_data), "overruns the delta" },
		{ "three-byte length", long_uleb, sizeof(long_uleb), "bad run length" },
	};
	struct mre_err err = MRE_ERR_INIT;
	uint8_t page[4096], want[4096], *full;
	size_t nfull = 3 + 4096;

	memset(page, 0x11, sizeof(page));
	memcpy(want, page, sizeof(want));
	memcpy(want, "abc", 3);
	ok(xb(page, sizeof(page), d1, sizeof(d1), &err) == 0 && !memcmp(page, want, sizeof(page)),
	   "xbzrle: leading changed run");
	want[4] = 0xaa;
	want[5] = 0xbb;
	want[206] = 0xcc;
	ok(xb(page, sizeof(page), d2, sizeof(d2), &err) == 0 && !memcmp(page, want, sizeof(page)),
	   "xbzrle: two pairs, two-byte length (200)");
	want[4095] = 0x77;
	ok(xb(page, sizeof(page), d_end, sizeof(d_end), &err) == 0 && !memcmp(page, want, sizeof(page)),
	   "xbzrle: a run ending exactly at the end of the page");
	ok(xb(page, sizeof(page), d1, 0, &err) == 0 && !memcmp(page, want, sizeof(page)),
	   "xbzrle: empty delta changes nothing");
	full = malloc(nfull);
	full[0] = 0;
	full[1] = 0x80;   /* 4096 = 0x80 0x20 */
	full[2] = 0x20;
	for (size_t i = 0; i < 4096; i++)
		full[3 + i] = want[i] = (uint8_t)(i * 3 + 1);
	ok(xb(page, sizeof(page), full, nfull, &err) == 0 && !memcmp(page, want, sizeof(page)),
	   "xbzrle: a whole-page changed run (length 4096)");
	free(full);
	for (size_t i = 0; i < MRE_ARRAY_SIZE(bad); i++) {
		int r = xb(page, sizeof(page), bad[i].d, bad[i].n, &err);

		is_int(r, MRE_EFORMAT, "xbzrle invalid: %s -> MRE_EFORMAT", bad[i].what);
		like(err.msg, bad[i].msg, "xbzrle invalid: %s: message", bad[i].what);
	}
	{
		static const uint8_t d[] = { 0xe8, 0x07, 30, 0 }; /* 1000 + 30 > 1024 */

		is_int(xb(page, 1024, d, sizeof(d), &err), MRE_EFORMAT, "xbzrle: bounds follow the page size (1 KiB)");
	}
}

/* ---- sizes --------------------------------------------------------------- */

static void test_size(void)
{
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
		{ "0", 0 }, { "4096", 4096 }, { "1B", 1 }, { "1K", 1024 }, { "1k", 1024 },
		{ "2M", 2ull << 20 }, { "3G", 3ull << 30 }, { "1T", 1ull << 40 }, { "1P", 1ull << 50 },
		{ "1E", 1ull << 60 }, { "15E", 15ull << 60 }, { "1.5M", 1572864 }, { "0.5K", 512 },
		{ "1.25G", 1342177280 }, { "0x1000", 4096 }, { "0X1f", 31 },
		{ "0xffffffffffffffff", UINT64_MAX }, { "18446744073709551609", UINT64_MAX - 6 },
	};
	static const struct {
		const char *s;
		int r;
	} bad[] = {
		{ "", -EINVAL }, { "0x20M", -EINVAL }, { "-1", -EINVAL }, { "1.5", -EINVAL },
		{ "1.5B", -EINVAL }, { "M", -EINVAL }, { "1MB", -EINVAL }, { " 1", -EINVAL },
		{ "1 ", -EINVAL }, { "+1", -EINVAL }, { "1Z", -EINVAL }, { "0x", -EINVAL },
		{ "abc", -EINVAL }, { ".5M", -EINVAL },
		{ "16E", -ERANGE }, { "18446744073709551616", -ERANGE }, { "17179869184G", -ERANGE },
		{ "0x10000000000000000", -ERANGE }, { "99999999999999999999K", -ERANGE },
	};
	char buf[32];
	uint64_t v;

	for (size_t i = 0; i < MRE_ARRAY_SIZE(good); i++) {
		int r;

		v = 0xdead;
		r = mre_parse_size(good[i].s, &v);
		ok(r == 0 && v == good[i].v, "size: '%s' = %llu (got %d, %llu)", good[i].s,
		   (unsigned long long)good[i].v, r, (unsigned long long)v);
	}
	for (size_t i = 0; i < MRE_ARRAY_SIZE(bad); i++) {
		v = 0xdead;
		is_int(mre_parse_size(bad[i].s, &v), bad[i].r, "size: '%s' refused (%s)", bad[i].s,
		       bad[i].r == -ERANGE ? "ERANGE" : "EINVAL");
		is_u64(v, 0xdead, "size: '%s' leaves the output alone", bad[i].s);
	}
	/* the largest values are accepted; one more overflows */
	for (int i = 0; i < 2; i++) {
		static const char *const top[] = { "18446744073709551615", "18446744073709551610" };
		int r = mre_parse_size(top[i], &v);

		ok(r == 0 && v == UINT64_MAX - (i ? 5 : 0), "size: '%s' is accepted (got %d)", top[i], r);
	}
	is_int(mre_parse_size("18446744073709551616", &v), -ERANGE, "size: 2^64 overflows");
	ok(mre_parse_u64("0x10", &v) == 0 && v == 16, "u64: hex");
	is_int(mre_parse_u64("010", &v), -EINVAL, "u64: leading zero (octal) refused");
	is_int(mre_parse_u64("1K", &v), -EINVAL, "u64: no suffix");
	is_int(mre_parse_u64("-5", &v), -EINVAL, "u64: negative refused");
	is_int(mre_parse_u64("18446744073709551616", &v), -ERANGE, "u64: overflow");
	is_str(mre_fmt_size(512, buf, sizeof(buf)), "512 B", "fmt_size: bytes");
	is_str(mre_fmt_size(1536, buf, sizeof(buf)), "1.5 KiB", "fmt_size: KiB");
	is_str(mre_fmt_size(64ull << 20, buf, sizeof(buf)), "64.0 MiB", "fmt_size: MiB");
}

static void test_names(void)
{
	is_str(mre_elem_type_name(MRE_VM_SECTION_FULL), "FULL", "names: FULL");
	is_str(mre_elem_type_name(MRE_VM_VMDESCRIPTION), "VMDESC", "names: VMDESC");
	is_str(mre_elem_type_name(0x42), "UNKNOWN", "names: unknown type");
	is_str(mre_cmd_name(MRE_CMD_SWITCHOVER_START), "SWITCHOVER_START", "names: command 11");
	is_str(mre_cmd_name(12), "UNKNOWN", "names: command 12");
}

int main(void)
{
	struct synth_opts plain = { 0 };
	struct synth_opts small = { .page_bits = 10 };
	struct synth_opts offset = { .prefix = 4096, .align = 0x100000 };
	static const struct synth_block shared[] = {
		{ "pc.ram", 4, "1100", false },
		{ "mem-shared", 2, NULL, true },
		{ "pc.bios", 1, "1", false },
	};
	struct synth_opts ign = { .ignore_shared = true, .blocks = shared, .nblocks = 3 };

	test_config_bytes();
	test_config_roundtrip();
	test_config_caps();
	test_config_errors();
	test_config_vmdesc();
	test_walk_mapped("mapped-ram 4 KiB pages", &plain);
	test_walk_mapped("mapped-ram 1 KiB pages (target-page-bits 10)", &small);
	test_walk_mapped("mapped-ram at offset 4096, 1 MiB aligned", &offset);
	test_walk_mapped("mapped-ram x-ignore-shared", &ign);
	test_walk_sequential();
	test_walk_no_vmdesc();
	test_walk_postcopy_pagesize();
	test_image_mapped();
	test_image_sequential();
	test_nonseekable();
	test_bitmap();
	test_xbzrle();
	test_size();
	test_names();
	return tap_done();
}
