/* SPDX-License-Identifier: MIT */
/*
 * test_format_synth.c: builders of synthetic migration streams for the
 * format tests. They lay files out the way QEMU does (header, configuration,
 * ram START with the block list, mapped-ram regions or page records, PART,
 * SWITCHOVER_START, END, device sections, EOF, vmdesc) but stay tiny, and
 * they must use mrengine's encoders so that encoder and parser are tested
 * against each other; the expected values come from the recorded offsets,
 * never from the parser.
 */
#include "test_format_synth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/config.h"
#include "format/qemu.h"
#include "format/ram.h"
#include "format/stream.h"
#include "util/bytes.h"

static const struct synth_block default_mapped[] = {
	{ "pc.ram", 6, "101101", false },
	{ "pc.bios", 2, "11", false },
	{ "/rom@etc/acpi/rsdp", 1, "0", false },
};

static const struct synth_block sequential_blocks[] = {
	{ "pc.ram", 160, NULL, false },
	{ "pc.bios", 2, NULL, false },
	{ "/rom@etc/acpi/rsdp", 1, NULL, false },
};

/* XBZRLE deltas used by synth_sequential(); see synth_sequential_page(). */
static const uint8_t xb_page1[] = { 4, 2, 0xaa, 0xbb, 0xc8, 0x01, 1, 0xcc };
static const uint8_t xb_page6[] = { 0, 3, 1, 2, 3 };

uint8_t synth_byte(unsigned block, uint64_t page, size_t k)
{
	return (uint8_t)(0x11 * (block + 1) + page * 13 + k * 7 + 1) | 0x01;
}

static void page_data(unsigned block, uint64_t page, uint8_t *buf, size_t ps)
{
	for (size_t k = 0; k < ps; k++)
		buf[k] = synth_byte(block, page, k);
}

static void elem(struct synth *s, uint8_t type, uint64_t off)
{
	if (s->nelems < SYNTH_MAX_ELEMS) {
		s->elems[s->nelems].type = type;
		s->elems[s->nelems].off = off;
		s->elems[s->nelems].end = s->wb.len;
		s->nelems++;
	}
}

static void begin(struct synth *s, const struct synth_opts *o, bool mapped)
{
	struct mre_config cfg;

	memset(s, 0, sizeof(*s));
	mre_wbuf_init(&s->wb);
	s->page_size = o->page_bits ? (uint64_t)1 << o->page_bits : MRE_PAGE_SIZE_DEFAULT;
	for (uint64_t i = 0; i < o->prefix; i++)
		mre_wbuf_u8(&s->wb, 'X');
	s->stream_offset = s->wb.len;
	mre_emit_file_header(&s->wb);
	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.machine, "pc-i440fx-10.0");
	if (o->page_bits) {
		cfg.has_page_bits = true;
		cfg.page_bits = o->page_bits;
	}
	if (mapped)
		mre_config_set_cap(&cfg, "mapped-ram", true);
	if (o->ignore_shared)
		mre_config_set_cap(&cfg, "x-ignore-shared", true);
	if (o->uuid) {
		cfg.has_uuid = true;
		for (int i = 0; i < 16; i++)
			cfg.uuid[i] = (uint8_t)(0xa0 + i);
	}
	mre_config_emit(&s->wb, &cfg);
	s->config_end = s->wb.len;
}

static void start_ram(struct synth *s, const struct synth_block *blocks, unsigned n)
{
	s->ram_start = s->wb.len;
	mre_emit_section_start(&s->wb, MRE_VM_SECTION_START, SYNTH_RAM_ID, "ram", 0,
			       MRE_RAM_SECTION_VERSION);
	s->total = 0;
	for (unsigned i = 0; i < n; i++)
		s->total += blocks[i].npages * s->page_size;
	s->mem_size = s->wb.len;
	mre_wbuf_be64(&s->wb, s->total | MRE_RAM_MEM_SIZE);
	s->nblocks = n;
}

/* Section footer plus the end of the element. */
static void close_ram_section(struct synth *s, uint64_t sec, uint8_t type, uint64_t *eos)
{
	*eos = s->wb.len;
	mre_wbuf_be64(&s->wb, MRE_RAM_EOS);
	if (type == MRE_VM_SECTION_START)
		s->start_footer = s->wb.len;
	else if (type == MRE_VM_SECTION_END)
		s->end_footer = s->wb.len;
	mre_emit_footer(&s->wb, SYNTH_RAM_ID);
	elem(s, type, sec);
}

static void switchover(struct synth *s)
{
	s->cmd = s->wb.len;
	mre_emit_command(&s->wb, MRE_CMD_SWITCHOVER_START, NULL, 0);
	elem(s, MRE_VM_COMMAND, s->cmd);
}

/* Device sections, EOF and the vmdesc: the same for both layouts. */
static void devices_eof(struct synth *s, const struct synth_opts *o)
{
	static const uint8_t timer_body[] = {
		0x00, 0x00, 0x00, 0x00, 0x12, 0x34, 0x56, 0x78,
		/* looks like this section's footer, but is followed by a byte
		 * that cannot start an element: the scan must go on */
		0x7e, 0x00, 0x00, 0x00, 0x00, 0xff, 0x01, 0x02,
	};
	uint8_t cpu_body[40];
	struct mre_wbuf js;
	uint64_t at;

	at = s->wb.len;
	mre_emit_section_start(&s->wb, MRE_VM_SECTION_FULL, SYNTH_TIMER_ID, "timer", 0, 2);
	s->timer_body = s->wb.len;
	mre_wbuf_put(&s->wb, timer_body, sizeof(timer_body));
	s->timer_footer = s->wb.len;
	mre_emit_footer(&s->wb, SYNTH_TIMER_ID);
	elem(s, MRE_VM_SECTION_FULL, at);

	at = s->wb.len;
	mre_emit_section_start(&s->wb, MRE_VM_SECTION_FULL, SYNTH_CPU_ID, "cpu", 0, 12);
	for (size_t i = 0; i < sizeof(cpu_body); i++)
		cpu_body[i] = (uint8_t)(i * 37);
	mre_wbuf_put(&s->wb, cpu_body, sizeof(cpu_body));
	s->cpu_footer = s->wb.len;
	mre_emit_footer(&s->wb, SYNTH_CPU_ID);
	elem(s, MRE_VM_SECTION_FULL, at);

	s->eof = s->wb.len;
	if (o->no_vmdesc) {
		mre_emit_eof(&s->wb, NULL, 0);
		elem(s, MRE_VM_EOF, s->eof);
		return;
	}
	mre_wbuf_init(&js);
	mre_wbuf_printf(&js, "{\"page_size\": %llu, \"devices\": []}", (unsigned long long)s->page_size);
	mre_emit_eof(&s->wb, (const char *)js.data, js.len);
	mre_wbuf_free(&js);
	s->vmdesc = s->eof + 1;
	elem(s, MRE_VM_EOF, s->eof);
	s->elems[s->nelems - 1].end = s->eof + 1;
	elem(s, MRE_VM_VMDESCRIPTION, s->vmdesc);
}

void synth_mapped(struct synth *s, const struct synth_opts *o)
{
	const struct synth_block *blocks = o->blocks ? o->blocks : default_mapped;
	unsigned n = o->blocks ? o->nblocks : MRE_ARRAY_SIZE(default_mapped);
	uint64_t align, at, eos;
	uint8_t *page;

	begin(s, o, true);
	align = o->align ? o->align : s->page_size;
	page = malloc(s->page_size);
	start_ram(s, blocks, n);
	for (unsigned i = 0; i < n; i++) {
		struct synth_block_pos *p = &s->blk[i];
		const struct synth_block *b = &blocks[i];
		uint64_t words = mre_bitmap_bytes(b->npages) / 8;

		p->id = b->id;
		p->npages = b->npages;
		p->used = b->npages * s->page_size;
		p->entry = s->wb.len;
		p->length = p->entry + 1 + strlen(b->id);
		p->gpa = o->ignore_shared ? p->length + 8 : 0;
		mre_mem_entry_emit(&s->wb, b->id, p->used, o->ignore_shared, 0x100000000ull * (i + 1));
		p->header = s->wb.len;
		if (b->ignored) {
			mre_mr_header_emit(&s->wb, MRE_MR_VERSION, s->page_size, 0, 0);
			continue;
		}
		p->bitmap = p->header + MRE_MR_HEADER_SIZE;
		mre_align_up(p->bitmap + words * 8, align, &p->pages);
		mre_mr_header_emit(&s->wb, MRE_MR_VERSION, s->page_size, p->bitmap, p->pages);
		for (uint64_t w = 0; w < words; w++) {
			uint64_t v = 0;

			for (unsigned k = 0; k < 64 && w * 64 + k < b->npages; k++)
				if (b->present[w * 64 + k] == '1')
					v |= (uint64_t)1 << k;
			mre_wbuf_le64(&s->wb, v);
		}
		mre_wbuf_zero(&s->wb, p->pages - s->wb.len);
		for (unsigned k = 0; k < b->npages; k++) {
			if (b->present[k] == '1') {
				page_data(i, k, page, s->page_size);
				mre_wbuf_put(&s->wb, page, s->page_size);
				p->present++;
				p->present_mask |= (uint64_t)1 << k;
			} else {
				mre_wbuf_zero(&s->wb, s->page_size);
			}
		}
	}
	free(page);
	close_ram_section(s, s->ram_start, MRE_VM_SECTION_START, &eos);
	s->start_eos = eos;
	at = s->wb.len;
	mre_emit_section_short(&s->wb, MRE_VM_SECTION_PART, SYNTH_RAM_ID);
	close_ram_section(s, at, MRE_VM_SECTION_PART, &eos);
	switchover(s);
	at = s->wb.len;
	mre_emit_section_short(&s->wb, MRE_VM_SECTION_END, SYNTH_RAM_ID);
	close_ram_section(s, at, MRE_VM_SECTION_END, &eos);
	devices_eof(s, o);
}

static void rec(struct synth *s, unsigned block, uint64_t page, unsigned kind, bool cont,
		uint8_t fill, const uint8_t *delta, size_t dlen)
{
	struct synth_rec *r = &s->recs[s->nrecs++];
	uint8_t *buf;

	r->off = s->wb.len;
	r->block = block;
	r->addr = page * s->page_size;
	r->kind = kind;
	r->cont = cont;
	r->fill = fill;
	mre_wbuf_be64(&s->wb, r->addr | kind | (cont ? MRE_RAM_CONTINUE : 0));
	if (!cont)
		mre_wbuf_cstr8(&s->wb, sequential_blocks[block].id);
	switch (kind) {
	case MRE_RAM_ZERO:
		mre_wbuf_u8(&s->wb, fill);
		r->len = 0;
		break;
	case MRE_RAM_PAGE:
		buf = malloc(s->page_size);
		page_data(block, page, buf, s->page_size);
		mre_wbuf_put(&s->wb, buf, s->page_size);
		free(buf);
		r->len = s->page_size;
		break;
	case MRE_RAM_XBZRLE:
		mre_wbuf_u8(&s->wb, MRE_XBZRLE_ENCODING);
		mre_wbuf_be16(&s->wb, (uint16_t)dlen);
		mre_wbuf_put(&s->wb, delta, dlen);
		r->len = dlen;
		break;
	}
}

void synth_sequential(struct synth *s, const struct synth_opts *o)
{
	unsigned n = MRE_ARRAY_SIZE(sequential_blocks);
	uint64_t at, eos;

	begin(s, o, false);
	start_ram(s, sequential_blocks, n);
	for (unsigned i = 0; i < n; i++) {
		struct synth_block_pos *p = &s->blk[i];

		p->id = sequential_blocks[i].id;
		p->npages = sequential_blocks[i].npages;
		p->used = p->npages * s->page_size;
		p->entry = s->wb.len;
		p->length = p->entry + 1 + strlen(p->id);
		p->gpa = o->ignore_shared ? p->length + 8 : 0;
		mre_mem_entry_emit(&s->wb, p->id, p->used, o->ignore_shared, 0x100000000ull * (i + 1));
	}
	close_ram_section(s, s->ram_start, MRE_VM_SECTION_START, &eos);
	s->start_eos = eos;

	at = s->wb.len;
	mre_emit_section_short(&s->wb, MRE_VM_SECTION_PART, SYNTH_RAM_ID);
	rec(s, 0, 0, MRE_RAM_PAGE, false, 0, NULL, 0);
	rec(s, 0, 1, MRE_RAM_PAGE, true, 0, NULL, 0);
	rec(s, 0, 2, MRE_RAM_ZERO, true, 0, NULL, 0);
	rec(s, 1, 0, MRE_RAM_PAGE, false, 0, NULL, 0);
	rec(s, 1, 1, MRE_RAM_ZERO, true, 0, NULL, 0);
	rec(s, 0, 3, MRE_RAM_PAGE, false, 0, NULL, 0);
	rec(s, 0, 1, MRE_RAM_XBZRLE, true, 0, xb_page1, sizeof(xb_page1));
	mre_wbuf_be64(&s->wb, MRE_RAM_MULTIFD_FLUSH);
	close_ram_section(s, at, MRE_VM_SECTION_PART, &eos);

	switchover(s);

	at = s->wb.len;
	mre_emit_section_short(&s->wb, MRE_VM_SECTION_END, SYNTH_RAM_ID);
	rec(s, 0, 5, MRE_RAM_PAGE, true, 0, NULL, 0);   /* CONTINUE across sections */
	rec(s, 0, 150, MRE_RAM_ZERO, true, 0, NULL, 0); /* far beyond the small blocks */
	rec(s, 0, 3, MRE_RAM_ZERO, true, 0, NULL, 0);   /* last record wins */
	rec(s, 2, 0, MRE_RAM_ZERO, false, 0x5a, NULL, 0);
	rec(s, 0, 6, MRE_RAM_XBZRLE, false, 0, xb_page6, sizeof(xb_page6));
	close_ram_section(s, at, MRE_VM_SECTION_END, &eos);
	devices_eof(s, o);

	s->blk[0].present = 4;
	s->blk[0].present_mask = 1u << 0 | 1u << 1 | 1u << 5 | 1u << 6;
	s->blk[1].present = 1;
	s->blk[1].present_mask = 1;
	s->blk[2].present = 1;
	s->blk[2].present_mask = 1;
}

void synth_sequential_page(const struct synth *s, unsigned block, uint64_t page, uint8_t *out)
{
	memset(out, 0, s->page_size);
	if (block == 0) {
		switch (page) {
		case 0:
		case 5:
			page_data(0, page, out, s->page_size);
			break;
		case 1:
			page_data(0, 1, out, s->page_size);
			out[4] = 0xaa;
			out[5] = 0xbb;
			out[206] = 0xcc;
			break;
		case 6:
			out[0] = 1;
			out[1] = 2;
			out[2] = 3;
			break;
		}
	} else if (block == 1 && page == 0) {
		page_data(1, 0, out, s->page_size);
	} else if (block == 2) {
		memset(out, 0x5a, s->page_size);
	}
}

void synth_free(struct synth *s)
{
	mre_wbuf_free(&s->wb);
}
