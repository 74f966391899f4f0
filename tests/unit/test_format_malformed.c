/* SPDX-License-Identifier: MIT */
/*
 * test_format_malformed.c: mre_image_load() against broken input. Every
 * strict prefix of small synthetic mapped-ram and sequential files must fail
 * with MRE_EFORMAT and a message naming the offset; each named corruption
 * (bad magic, absurd lengths, overlapping regions, bad footers, unknown
 * flags, ...) must fail with the right code and message; and a deterministic
 * sweep that corrupts every byte in several ways must never crash: each
 * variant loads or fails with a message. Run under ASan/UBSan this is the
 * memory-safety check of the parser.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "format/image.h"
#include "format/qemu.h"
#include "format/ram.h"
#include "tap.h"
#include "test_format_synth.h"
#include "util/bytes.h"

enum layout { MAPPED, SEQ };

static int load(const uint8_t *d, size_t len, uint64_t start, struct mre_image **img, struct mre_err *err)
{
	struct mre_memsrc mem;
	struct mre_src src;

	mre_err_clear(err);
	mre_src_mem(&src, &mem, d, len);
	return mre_image_load(&src, start, 0, img, err);
}

static size_t find_str(const struct synth *s, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= s->wb.len; i++)
		if (!memcmp(s->wb.data + i, needle, k))
			return i;
	abort();
}

/* ---- truncation ---------------------------------------------------------- */

static void sweep_truncate(const char *name, const struct synth *s)
{
	size_t bad = 0, eof_prefix = s->eof + 1;
	bool eof_ok = false;
	char first[MRE_ERR_MSG_MAX + 64] = "";

	for (size_t len = 0; len < s->wb.len; len++) {
		struct mre_err err = MRE_ERR_INIT;
		struct mre_image *img = NULL;
		int r = load(s->wb.data, len, s->stream_offset, &img, &err);

		if (s->vmdesc && len == eof_prefix) {
			/* indistinguishable from a stream written with suppress-vmdesc */
			eof_ok = r == 0 && !img->has_vmdesc && img->stream_end == len;
			mre_image_free(img);
			continue;
		}
		if (r != MRE_EFORMAT || !strstr(err.msg, "offset 0x") || img) {
			if (!bad++)
				snprintf(first, sizeof(first), "prefix of %zu bytes: code %d: %s", len, r, err.msg);
			mre_image_free(img);
		}
	}
	ok(bad == 0, "%s: each of the %zu strict prefixes fails with MRE_EFORMAT naming an offset", name,
	   s->wb.len - (s->vmdesc ? 1 : 0));
	if (bad)
		diag("%zu failures; first: %s", bad, first);
	if (s->vmdesc)
		ok(eof_ok, "%s: the prefix ending right after EOF loads as a stream without vmdesc", name);
}

/* ---- named corruptions --------------------------------------------------- */

struct mcase {
	const char *what;
	enum layout layout;
	void (*mutate)(struct synth *s);
	int code;
	const char *msg;
};

static void put32(struct synth *s, uint64_t off, uint32_t v)
{
	mre_put_be32(s->wb.data + off, v);
}

static void put64(struct synth *s, uint64_t off, uint64_t v)
{
	mre_put_be64(s->wb.data + off, v);
}

/* Offsets inside a block's mapped-ram header. */
#define MR_VERSION(s, i) ((s)->blk[i].header)
#define MR_PSIZE(s, i) ((s)->blk[i].header + 4)
#define MR_BITMAP(s, i) ((s)->blk[i].header + 12)
#define MR_PAGES(s, i) ((s)->blk[i].header + 20)

/* Element @i's offset (see struct synth's element list). */
static uint64_t el(const struct synth *s, unsigned i)
{
	return s->elems[i].off;
}

/* The PART section's EOS word, the command, the END section, devices. */
enum { E_START, E_PART, E_CMD, E_END, E_TIMER, E_CPU, E_EOF, E_VMDESC };

static void m_magic(struct synth *s)
{
	put32(s, 0, 0x5145564e);
}

static void m_version2(struct synth *s)
{
	put32(s, 4, 2);
}

static void m_version4(struct synth *s)
{
	put32(s, 4, 4);
}

static void m_no_config(struct synth *s)
{
	s->wb.data[8] = MRE_VM_SECTION_START;
}

static void m_machine0(struct synth *s)
{
	put32(s, 9, 0);
}

static void m_machine256(struct synth *s)
{
	put32(s, 9, 256);
}

static void m_machine_huge(struct synth *s)
{
	put32(s, 9, 0x7fffffff);
}

static void m_machine_byte(struct synth *s)
{
	s->wb.data[13] = 0x01;
}

static void m_caps_huge(struct synth *s)
{
	put32(s, find_str(s, "configuration/capabilities") + 26 + 4, 0xffffffff);
}

static void m_cap_empty(struct synth *s)
{
	s->wb.data[find_str(s, "mapped-ram") - 1] = 0;
}

static void m_cap_byte(struct synth *s)
{
	s->wb.data[find_str(s, "mapped-ram")] = 0x80;
}

static void m_subsection(struct synth *s)
{
	s->wb.data[find_str(s, "configuration/capabilities") + 14] = 'X';
}

static void m_len_unaligned(struct synth *s)
{
	put64(s, s->blk[0].length, s->blk[0].used + 1);
}

static void m_len_zero(struct synth *s)
{
	put64(s, s->blk[0].length, 0);
}

static void m_len_over_total(struct synth *s)
{
	put64(s, s->blk[0].length, s->total + s->page_size);
}

static void m_total_zero(struct synth *s)
{
	put64(s, s->mem_size, MRE_RAM_MEM_SIZE);
}

static void m_total_small(struct synth *s)
{
	put64(s, s->mem_size, (s->total - s->page_size) | MRE_RAM_MEM_SIZE);
}

static void m_total_big(struct synth *s)
{
	put64(s, s->mem_size, (s->total + s->page_size) | MRE_RAM_MEM_SIZE);
}

static void m_id_empty(struct synth *s)
{
	s->wb.data[s->blk[1].entry] = 0;
}

static void m_id_dup(struct synth *s)
{
	memcpy(s->wb.data + s->blk[1].entry + 1, "pc.ram", 6);
	s->wb.data[s->blk[1].entry] = 6;
}

static void m_mr_version(struct synth *s)
{
	put32(s, MR_VERSION(s, 0), 2);
}

static void m_mr_psize(struct synth *s)
{
	put64(s, MR_PSIZE(s, 1), 2 * s->page_size);
}

static void m_bm_in_header(struct synth *s)
{
	put64(s, MR_BITMAP(s, 0), s->blk[0].header + 20);
}

static void m_pages_on_bitmap(struct synth *s)
{
	/* the page boundary at or below the bitmap */
	put64(s, MR_PAGES(s, 1), s->blk[1].bitmap / s->page_size * s->page_size);
}

static void m_pages_past_eof(struct synth *s)
{
	put64(s, MR_PAGES(s, 2), (s->wb.len + s->page_size) / s->page_size * s->page_size);
}

static void m_pages_unaligned(struct synth *s)
{
	put64(s, MR_PAGES(s, 0), s->blk[0].pages + 512);
}

static void m_pages_overflow(struct synth *s)
{
	put64(s, MR_PAGES(s, 0), UINT64_MAX - s->page_size + 1);
}

static void m_bitmap_overflow(struct synth *s)
{
	put64(s, MR_BITMAP(s, 0), UINT64_MAX - 3);
}

static void m_bit_past_end(struct synth *s)
{
	s->wb.data[s->blk[0].bitmap] |= 1 << 6;
}

static void m_bit63(struct synth *s)
{
	s->wb.data[s->blk[1].bitmap + 7] |= 0x80;
}

static void m_footer_id(struct synth *s)
{
	put32(s, s->start_footer + 1, 9);
}

static void m_footer_missing(struct synth *s)
{
	s->wb.data[s->start_footer] = 0;
}

static void m_end_footer_id(struct synth *s)
{
	put32(s, s->end_footer + 1, SYNTH_RAM_ID + 1);
}

static void m_flags_unknown(struct synth *s)
{
	put64(s, s->start_eos, 0x400);
}

static void m_flags_full(struct synth *s)
{
	put64(s, s->start_eos, MRE_RAM_FULL);
}

static void m_flags_eos_cont(struct synth *s)
{
	put64(s, s->start_eos, MRE_RAM_EOS | MRE_RAM_CONTINUE);
}

static void m_mr_zero_rec(struct synth *s)
{
	put64(s, el(s, E_PART) + 5, MRE_RAM_ZERO);
}

static void m_mr_flush(struct synth *s)
{
	put64(s, el(s, E_PART) + 5, MRE_RAM_MULTIFD_FLUSH);
}

static void m_cmd_unknown(struct synth *s)
{
	mre_put_be16(s->wb.data + s->cmd + 1, 12);
}

static void m_cmd_zero(struct synth *s)
{
	mre_put_be16(s->wb.data + s->cmd + 1, 0);
}

static void m_cmd_len(struct synth *s)
{
	mre_put_be16(s->wb.data + s->cmd + 3, 4);
}

static void m_cmd_packaged(struct synth *s)
{
	mre_put_be16(s->wb.data + s->cmd + 1, MRE_CMD_PACKAGED);
	mre_put_be16(s->wb.data + s->cmd + 3, 4);
}

static void m_part_id(struct synth *s)
{
	put32(s, el(s, E_PART) + 1, 7);
}

static void m_no_end(struct synth *s)
{
	s->wb.data[el(s, E_END)] = MRE_VM_SECTION_PART;
}

static void m_top_byte(struct synth *s)
{
	s->wb.data[el(s, E_TIMER)] = 0x09;
}

static void m_top_subsection(struct synth *s)
{
	s->wb.data[el(s, E_TIMER)] = MRE_VM_SUBSECTION;
}

static void m_dev_footer(struct synth *s)
{
	put32(s, s->timer_footer + 1, 0x01000000);
}

static void m_ram_version(struct synth *s)
{
	put32(s, s->ram_start + 1 + 4 + 4 + 4, 3);
}

static void m_ram_full(struct synth *s)
{
	s->wb.data[s->ram_start] = MRE_VM_SECTION_FULL;
}

static void m_iterative(struct synth *s)
{
	s->wb.data[el(s, E_TIMER)] = MRE_VM_SECTION_START;
}

static void m_vmdesc_huge(struct synth *s)
{
	put32(s, s->vmdesc + 1, 0xffffffff);
}

static void m_vmdesc_long(struct synth *s)
{
	put32(s, s->vmdesc + 1, 1000000);
}

/* sequential */
static void m_continue_first(struct synth *s)
{
	put64(s, s->recs[0].off, MRE_RAM_PAGE | MRE_RAM_CONTINUE);
}

static void m_page_past_block(struct synth *s)
{
	put64(s, s->recs[0].off, s->blk[0].used | MRE_RAM_PAGE);
}

static void m_page_far(struct synth *s)
{
	put64(s, s->recs[0].off, 0xfffffffffffff000ull | MRE_RAM_PAGE);
}

static void m_unknown_block(struct synth *s)
{
	s->wb.data[s->recs[0].off + 8 + 1 + 5] = 'x';
}

static void m_compress(struct synth *s)
{
	put64(s, s->recs[0].off, MRE_RAM_COMPRESS_PAGE);
}

static void m_hook(struct synth *s)
{
	put64(s, s->recs[0].off, MRE_RAM_HOOK);
}

static void m_page_zero(struct synth *s)
{
	put64(s, s->recs[0].off, MRE_RAM_PAGE | MRE_RAM_ZERO);
}

static void m_xbz_enc(struct synth *s)
{
	s->wb.data[s->recs[6].off + 8] = 2;
}

static void m_xbz_len(struct synth *s)
{
	/* recs[6] is an XBZRLE record with CONTINUE: encoding, be16 length */
	mre_put_be16(s->wb.data + s->recs[6].off + 8 + 1, (uint16_t)(s->page_size + 1));
}

static void m_mem_size_part(struct synth *s)
{
	put64(s, s->recs[0].off, s->page_size | MRE_RAM_MEM_SIZE);
}

static void m_start_empty(struct synth *s)
{
	put64(s, s->mem_size, MRE_RAM_EOS);
}

static void m_page_before_list(struct synth *s)
{
	put64(s, s->mem_size, MRE_RAM_ZERO);
}

static void m_seq_flags(struct synth *s)
{
	put64(s, s->recs[0].off, 0x800);
}

static void m_block_huge(struct synth *s)
{
	/* 2^60 bytes of RAM: consistent with the total, but absurd */
	put64(s, s->mem_size, (s->total - s->blk[0].used + (1ull << 60)) | MRE_RAM_MEM_SIZE);
	put64(s, s->blk[0].length, 1ull << 60);
}

static const struct mcase cases[] = {
	{ "bad magic", MAPPED, m_magic, MRE_EFORMAT, "bad magic 0x5145564e" },
	{ "stream version 2", MAPPED, m_version2, MRE_EFORMAT, "version 2 is obsolete" },
	{ "stream version 4", MAPPED, m_version4, MRE_EFORMAT, "version 4 is not supported" },
	{ "no configuration section", MAPPED, m_no_config,
	  MRE_EFORMAT, "expected the configuration section" },
	{ "machine name length 0", MAPPED, m_machine0, MRE_EFORMAT, "machine name length 0 out of range" },
	{ "machine name length 256", MAPPED, m_machine256,
	  MRE_EFORMAT, "machine name length 256 out of range" },
	{ "machine name length 2^31-1", MAPPED, m_machine_huge, MRE_EFORMAT, "out of range" },
	{ "machine name with a control byte", MAPPED, m_machine_byte,
	  MRE_EFORMAT, "machine name contains byte 0x01" },
	{ "capability count 0xffffffff", MAPPED, m_caps_huge, MRE_EFORMAT, "4294967295 capabilities" },
	{ "capability name of length 0", MAPPED, m_cap_empty, MRE_EFORMAT, "empty string" },
	{ "capability name not ASCII", MAPPED, m_cap_byte, MRE_EFORMAT, "not printable ASCII" },
	{ "unknown configuration subsection", MAPPED, m_subsection,
	  MRE_EFORMAT, "unknown configuration subsection" },
	{ "block length not a page multiple", MAPPED, m_len_unaligned,
	  MRE_EFORMAT, "not a positive multiple" },
	{ "block length 0", MAPPED, m_len_zero, MRE_EFORMAT, "not a positive multiple" },
	{ "block length above the total", MAPPED, m_len_over_total,
	  MRE_EFORMAT, "exceeds what remains of the total" },
	{ "RAM total 0", MAPPED, m_total_zero, MRE_EFORMAT, "total size 0" },
	/* the list ends early: the next entry is read as a RAM record */
	{ "RAM total one page short", MAPPED, m_total_small,
	  MRE_EFORMAT, "unknown combination of RAM flags" },
	{ "RAM total one page long", MAPPED, m_total_big, MRE_EFORMAT, "RAM block id: empty string" },
	{ "block id of length 0", MAPPED, m_id_empty, MRE_EFORMAT, "RAM block id: empty string" },
	{ "block listed twice", MAPPED, m_id_dup, MRE_EFORMAT, "listed twice" },
	{ "mapped-ram header version 2", MAPPED, m_mr_version,
	  MRE_EFORMAT, "header version 2 not supported" },
	{ "mapped-ram page size differs", MAPPED, m_mr_psize, MRE_EFORMAT, "but the stream's page size is" },
	{ "bitmap inside the block header", MAPPED, m_bm_in_header,
	  MRE_EFORMAT, "overlaps the block header" },
	{ "pages overlapping the bitmap", MAPPED, m_pages_on_bitmap, MRE_EFORMAT, "overlaps the bitmap" },
	{ "pages region beyond EOF", MAPPED, m_pages_past_eof,
	  MRE_EFORMAT, "extends beyond the end of the file" },
	{ "unaligned pages offset", MAPPED, m_pages_unaligned, MRE_EFORMAT, "not aligned to the" },
	{ "pages offset overflows", MAPPED, m_pages_overflow, MRE_EFORMAT, "offsets overflow" },
	{ "bitmap offset overflows", MAPPED, m_bitmap_overflow, MRE_EFORMAT, "offsets overflow" },
	{ "bitmap bit past used_length", MAPPED, m_bit_past_end,
	  MRE_EFORMAT, "page 6 set, beyond the block's 6 pages" },
	{ "bitmap bit 63 of a 2-page block", MAPPED, m_bit63,
	  MRE_EFORMAT, "page 63 set, beyond the block's 2 pages" },
	{ "footer id mismatch", MAPPED, m_footer_id, MRE_EFORMAT, "footer names section 9, expected 2" },
	{ "missing footer", MAPPED, m_footer_missing, MRE_EFORMAT, "missing section footer" },
	{ "END footer id mismatch", MAPPED, m_end_footer_id,
	  MRE_EFORMAT, "footer names section 3, expected 2" },
	{ "unknown RAM flag 0x400", MAPPED, m_flags_unknown,
	  MRE_EFORMAT, "unknown combination of RAM flags 0x400" },
	{ "obsolete RAM flag FULL", MAPPED, m_flags_full,
	  MRE_EFORMAT, "unknown combination of RAM flags 0x1" },
	{ "EOS with CONTINUE", MAPPED, m_flags_eos_cont,
	  MRE_EFORMAT, "unknown combination of RAM flags 0x30" },
	{ "ZERO record in mapped-ram", MAPPED, m_mr_zero_rec,
	  MRE_EFORMAT, "page record (flags 0x2) in a mapped-ram stream" },
	{ "MULTIFD_FLUSH in mapped-ram", MAPPED, m_mr_flush, MRE_EFORMAT, "in a mapped-ram stream" },
	{ "unknown command 12", MAPPED, m_cmd_unknown, MRE_EFORMAT, "unknown command 12" },
	{ "command 0", MAPPED, m_cmd_zero, MRE_EFORMAT, "unknown command 0" },
	{ "SWITCHOVER_START with a payload", MAPPED, m_cmd_len, MRE_EFORMAT, "with length 4, expected 0" },
	{ "PACKAGED command", MAPPED, m_cmd_packaged, MRE_EUNSUPP, "PACKAGED" },
	{ "PART for an unknown section id", MAPPED, m_part_id,
	  MRE_EFORMAT, "PART section for unknown section id 7" },
	{ "EOF before the ram END", MAPPED, m_no_end, MRE_EFORMAT, "EOF before the ram END section" },
	{ "unknown top-level byte", MAPPED, m_top_byte,
	  MRE_EFORMAT, "unexpected byte 0x09 at the top level" },
	{ "subsection at the top level", MAPPED, m_top_subsection, MRE_EFORMAT, "unexpected byte 0x05" },
	{ "device section without its footer", MAPPED, m_dev_footer,
	  MRE_EFORMAT, "no footer before the end" },
	{ "ram section version 3", MAPPED, m_ram_version, MRE_EFORMAT, "expected instance 0 version 4" },
	{ "ram as a FULL section", MAPPED, m_ram_full, MRE_EFORMAT, "unexpected FULL section for 'ram'" },
	{ "iterative device other than ram", MAPPED, m_iterative, MRE_EUNSUPP, "iterative section 'timer'" },
	{ "vmdesc length 0xffffffff", MAPPED, m_vmdesc_huge, MRE_EFORMAT, "exceeds the" },
	{ "vmdesc longer than the file", MAPPED, m_vmdesc_long, MRE_EFORMAT, "beyond the end of the file" },
	{ "CONTINUE with no previous block", SEQ, m_continue_first,
	  MRE_EFORMAT, "CONTINUE page record with no previous block" },
	{ "page offset at the block's end", SEQ, m_page_past_block,
	  MRE_EFORMAT, "outside RAM block 'pc.ram'" },
	{ "page offset near 2^64", SEQ, m_page_far, MRE_EFORMAT, "outside RAM block" },
	{ "unknown block name", SEQ, m_unknown_block, MRE_EFORMAT, "unknown RAM block 'pc.rax'" },
	{ "COMPRESS_PAGE record", SEQ, m_compress, MRE_EUNSUPP, "zlib-compressed page record" },
	{ "RDMA HOOK record", SEQ, m_hook, MRE_EUNSUPP, "RDMA hook" },
	{ "PAGE|ZERO flags", SEQ, m_page_zero, MRE_EFORMAT, "unknown combination of RAM flags 0xa" },
	{ "unknown RAM flag 0x800", SEQ, m_seq_flags, MRE_EFORMAT, "unknown combination of RAM flags 0x800" },
	{ "XBZRLE encoding 2", SEQ, m_xbz_enc, MRE_EFORMAT, "XBZRLE encoding 0x02" },
	{ "XBZRLE delta longer than a page", SEQ, m_xbz_len, MRE_EFORMAT, "larger than a page" },
	{ "block list in a PART section", SEQ, m_mem_size_part,
	  MRE_EFORMAT, "RAM block list outside the start" },
	{ "START section without a block list", SEQ, m_start_empty, MRE_EFORMAT, "without a RAM block list" },
	{ "page record before the block list", SEQ, m_page_before_list,
	  MRE_EFORMAT, "before the RAM block list" },
	{ "block of 2^60 bytes", SEQ, m_block_huge, MRE_EFORMAT, "must be 1 byte to 64 TiB" },
};

static void test_cases(void)
{
	for (size_t i = 0; i < MRE_ARRAY_SIZE(cases); i++) {
		const struct mcase *c = &cases[i];
		struct synth_opts o = { 0 };
		struct mre_err err = MRE_ERR_INIT;
		struct mre_image *img = NULL;
		struct synth s;
		int r;

		if (c->layout == MAPPED)
			synth_mapped(&s, &o);
		else
			synth_sequential(&s, &o);
		r = load(s.wb.data, s.wb.len, 0, &img, &err);
		ok(r == 0, "control for '%s': the unmodified file loads (%s)", c->what, err.msg);
		mre_image_free(img);
		img = NULL;
		c->mutate(&s);
		r = load(s.wb.data, s.wb.len, 0, &img, &err);
		if (!ok(r == c->code && img == NULL, "%s: fails with %s", c->what,
			c->code == MRE_EFORMAT ? "MRE_EFORMAT" : c->code == MRE_EUNSUPP ? "MRE_EUNSUPP" : "MRE_ELIMIT"))
			diag("got %d: %s", r, err.msg);
		like(err.msg, c->msg, "%s: says what is wrong", c->what);
		if (c->code != MRE_ELIMIT)
			like(err.msg, "offset 0x", "%s: says where", c->what);
		mre_image_free(img);
		synth_free(&s);
	}
}

/* ---- corrupt every byte -------------------------------------------------- */

struct flip {
	bool xor;
	uint8_t v;
};

static void sweep_bytes(const char *name, const struct synth *s, const struct flip *flips, size_t nflips)
{
	uint8_t *d = malloc(s->wb.len);
	size_t bad = 0, loaded = 0, failed = 0;
	char first[MRE_ERR_MSG_MAX + 64] = "";

	memcpy(d, s->wb.data, s->wb.len);
	for (size_t i = 0; i < s->wb.len; i++) {
		for (size_t f = 0; f < nflips; f++) {
			struct mre_err err = MRE_ERR_INIT;
			struct mre_image *img = NULL;
			uint8_t orig = d[i];
			bool good;
			int r;

			d[i] = flips[f].xor ? orig ^ flips[f].v : flips[f].v;
			if (d[i] == orig)
				continue;
			r = load(d, s->wb.len, 0, &img, &err);
			if (r == 0) {
				/* whatever loaded must be self-consistent */
				good = img && img->stream_end <= s->wb.len;
				for (unsigned b = 0; good && b < img->nblocks; b++)
					good = img->blocks[b].present + img->blocks[b].zero == img->blocks[b].npages;
				loaded++;
			} else {
				good = r < 0 && !img && err.code == r && err.msg[0] &&
				       (r != MRE_EFORMAT || strstr(err.msg, "offset 0x"));
				failed++;
			}
			if (!good && !bad++)
				snprintf(first, sizeof(first), "byte 0x%zx %s 0x%02x: code %d: %s", i,
					 flips[f].xor ? "xor" : "set to", flips[f].v, r, err.msg);
			mre_image_free(img);
			d[i] = orig;
		}
	}
	ok(bad == 0, "%s: every corrupted variant loads consistently or fails with a message "
	   "(%zu loaded, %zu failed)", name, loaded, failed);
	if (bad)
		diag("%zu bad; first: %s", bad, first);
	free(d);
}

int main(void)
{
	static const struct flip all[] = {
		{ true, 0xff }, { true, 0x01 }, { true, 0x80 }, { false, 0x00 }, { false, 0x7e },
	};
	static const struct flip one[] = { { true, 0xff } };
	struct synth_opts o4k = { 0 }, o1k = { .page_bits = 10 }, onov = { .no_vmdesc = true };
	struct synth s;

	synth_mapped(&s, &o4k);
	sweep_truncate("truncated mapped-ram (4 KiB pages)", &s);
	sweep_bytes("corrupted mapped-ram (4 KiB pages, xor 0xff)", &s, one, MRE_ARRAY_SIZE(one));
	synth_free(&s);
	synth_mapped(&s, &o1k);
	sweep_truncate("truncated mapped-ram (1 KiB pages)", &s);
	sweep_bytes("corrupted mapped-ram (1 KiB pages, 5 patterns)", &s, all, MRE_ARRAY_SIZE(all));
	synth_free(&s);
	synth_mapped(&s, &onov);
	sweep_truncate("truncated mapped-ram without vmdesc", &s);
	synth_free(&s);

	synth_sequential(&s, &o4k);
	sweep_truncate("truncated sequential (4 KiB pages)", &s);
	sweep_bytes("corrupted sequential (4 KiB pages, 5 patterns)", &s, all, MRE_ARRAY_SIZE(all));
	synth_free(&s);
	synth_sequential(&s, &o1k);
	sweep_truncate("truncated sequential (1 KiB pages)", &s);
	sweep_bytes("corrupted sequential (1 KiB pages, 5 patterns)", &s, all, MRE_ARRAY_SIZE(all));
	synth_free(&s);

	test_cases();
	return tap_done();
}
