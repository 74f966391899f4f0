/* SPDX-License-Identifier: MIT */
/*
 * stream.c: the migration stream parser and the framing encoders.
 *
 * Device sections carry no length, so the end of an opaque FULL section is
 * found by scanning for its footer (0x7e + section id) and accepting the
 * first candidate that is followed by a well-formed next element. The scan
 * happens inside the reader's look-ahead window, which is bounded.
 */
#include "format/stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "format/chunked.h"
#include "format/qemu.h"
#include "util/bytes.h"

#define OFF(x) ((unsigned long long)(x))

void mre_walk_init(struct mre_walk *w)
{
	memset(w, 0, sizeof(*w));
	w->last_block = -1;
}

void mre_walk_free(struct mre_walk *w)
{
	free(w->blocks);
	free(w->page_buf);
	w->blocks = NULL;
	w->page_buf = NULL;
}

const char *mre_elem_type_name(uint8_t type)
{
	switch (type) {
	case MRE_VM_EOF: return "EOF";
	case MRE_VM_SECTION_START: return "START";
	case MRE_VM_SECTION_PART: return "PART";
	case MRE_VM_SECTION_END: return "END";
	case MRE_VM_SECTION_FULL: return "FULL";
	case MRE_VM_VMDESCRIPTION: return "VMDESC";
	case MRE_VM_CONFIGURATION: return "CONFIGURATION";
	case MRE_VM_COMMAND: return "COMMAND";
	}
	return "UNKNOWN";
}

const char *mre_cmd_name(uint16_t cmd)
{
	static const char *const names[] = {
		"INVALID", "OPEN_RETURN_PATH", "PING", "POSTCOPY_ADVISE", "POSTCOPY_LISTEN",
		"POSTCOPY_RUN", "POSTCOPY_RAM_DISCARD", "PACKAGED", "ENABLE_COLO",
		"POSTCOPY_RESUME", "RECV_BITMAP", "SWITCHOVER_START",
	};
	return cmd < MRE_ARRAY_SIZE(names) ? names[cmd] : "UNKNOWN";
}

/* Payload length a command must have, or -1 when it varies. */
static int cmd_fixed_len(uint16_t cmd, uint16_t len)
{
	switch (cmd) {
	case MRE_CMD_PING:
	case MRE_CMD_PACKAGED:
		return 4;
	case MRE_CMD_POSTCOPY_ADVISE:
		return len == 16 ? 16 : 0;
	case MRE_CMD_POSTCOPY_RAM_DISCARD:
	case MRE_CMD_RECV_BITMAP:
		return -1;
	default:
		return 0;
	}
}

/* ---- the ram section ------------------------------------------------- */

static int find_block(const struct mre_walk *w, const char *id)
{
	for (unsigned i = 0; i < w->nblocks; i++)
		if (!strcmp(w->blocks[i].id, id))
			return (int)i;
	return -1;
}

/* Compressed variant: the chunk table follows the bitmap inline. */
static int parse_chunk_table(struct mre_walk *w, struct mre_rd *rd, struct mre_block *b,
			     uint64_t bm_end, struct mre_err *err)
{
	struct mre_chunk_hdr h;
	int r;

	if (b->pages_offset < bm_end || b->pages_offset % 8)
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x%llx: block '%s': chunk table at 0x%llx overlaps the bitmap or is not 8-byte aligned",
				   OFF(b->header_offset), b->id, OFF(b->pages_offset));
	if ((r = mre_rd_seek(rd, b->pages_offset, "chunk table", err)) ||
	    (r = mre_rd_need(rd, MRE_CHUNK_HDR, "chunk table header", err)) ||
	    (r = mre_chunk_hdr_decode(mre_rd_ptr(rd), b->pages_offset, b->used_length, w->page_size, &h, err)))
		return r;
	b->chunk_alg = h.alg;
	b->chunk_level = h.level;
	b->chunk_size = h.chunk_size;
	b->nchunks = h.nchunks;
	if (rd->src.size != MRE_SIZE_UNKNOWN &&
	    mre_chunk_table_bytes(h.nchunks) > rd->src.size - b->pages_offset)
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x%llx: block '%s': chunk table of %llu chunks extends beyond the end of the file",
				   OFF(b->pages_offset), b->id, OFF(h.nchunks));
	return mre_rd_seek(rd, b->pages_offset + mre_chunk_table_bytes(h.nchunks), "end of the chunk table", err);
}

static int parse_mr_header(struct mre_walk *w, struct mre_rd *rd, struct mre_block *b,
			   struct mre_err *err)
{
	uint64_t at = mre_rd_pos(rd), hdr_end, npages, bm_end, pages_end;
	int r;

	b->mapped = true;
	b->header_offset = at;
	if ((r = mre_rd_be32(rd, &b->mr_version, "mapped-ram header version", err)) ||
	    (r = mre_rd_be64(rd, &b->mr_page_size, "mapped-ram page size", err)) ||
	    (r = mre_rd_be64(rd, &b->bitmap_offset, "mapped-ram bitmap offset", err)) ||
	    (r = mre_rd_be64(rd, &b->pages_offset, "mapped-ram pages offset", err)))
		return r;
	if (b->mr_version == MRE_MR_VERSION_CHUNKED) {
		if (!w->compressed)
			return mre_err_set(err, MRE_EFORMAT,
					   "offset 0x%llx: block '%s': compressed block in a stream without the %s capability",
					   OFF(at), b->id, MRE_CAP_COMPRESSED);
		b->chunked = true;
	} else if (b->mr_version != MRE_MR_VERSION) {
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x%llx: block '%s': mapped-ram header version %u not supported (expected 1)",
				   OFF(at), b->id, b->mr_version);
	}
	if (w->ignore_shared && b->bitmap_offset == 0 && b->pages_offset == 0) {
		b->ignored = true; /* shared block skipped by x-ignore-shared: no region */
		return 0;
	}
	if (b->mr_page_size != w->page_size)
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x%llx: block '%s': mapped-ram page size %llu, but the stream's page size is %llu",
				   OFF(at), b->id, OFF(b->mr_page_size), OFF(w->page_size));
	hdr_end = at + MRE_MR_HEADER_SIZE;
	npages = b->used_length / w->page_size;
	if (b->bitmap_offset < hdr_end)
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x%llx: block '%s': bitmap offset 0x%llx overlaps the block header (ends at 0x%llx)",
				   OFF(at), b->id, OFF(b->bitmap_offset), OFF(hdr_end));
	if (!mre_add_ok(b->bitmap_offset, mre_bitmap_bytes(npages), &bm_end) ||
	    !mre_add_ok(b->pages_offset, b->used_length, &pages_end))
		return mre_err_set(err, MRE_EFORMAT, "offset 0x%llx: block '%s': offsets overflow",
				   OFF(at), b->id);
	if (b->chunked)
		return parse_chunk_table(w, rd, b, bm_end, err);
	if (b->pages_offset % w->page_size)
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x%llx: block '%s': pages offset 0x%llx not aligned to the %llu-byte page size",
				   OFF(at), b->id, OFF(b->pages_offset), OFF(w->page_size));
	if (b->pages_offset < bm_end)
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x%llx: block '%s': pages region at 0x%llx overlaps the bitmap (0x%llx..0x%llx)",
				   OFF(at), b->id, OFF(b->pages_offset), OFF(b->bitmap_offset), OFF(bm_end));
	if (rd->src.size != MRE_SIZE_UNKNOWN && pages_end > rd->src.size)
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x%llx: block '%s': pages region 0x%llx..0x%llx extends beyond the end of the file (0x%llx)",
				   OFF(at), b->id, OFF(b->pages_offset), OFF(pages_end), OFF(rd->src.size));
	/* the stream resumes after the block's page region */
	return mre_rd_seek(rd, pages_end, "end of the mapped-ram page region", err);
}

static int parse_mem_size(struct mre_walk *w, struct mre_rd *rd, uint64_t total,
			  const struct mre_walk_ops *ops, void *u, struct mre_err *err)
{
	uint64_t remaining = total;
	unsigned cap = 0;
	int r;

	w->ram_total = total;
	while (remaining) {
		struct mre_block *b;
		uint64_t at = mre_rd_pos(rd);

		if (w->nblocks == MRE_MAX_BLOCKS)
			return mre_err_set(err, MRE_EFORMAT, "offset 0x%llx: more than %u RAM blocks",
					   OFF(at), MRE_MAX_BLOCKS);
		if (w->nblocks == cap) {
			unsigned ncap = cap ? cap * 2 : 8;
			struct mre_block *nb = realloc(w->blocks, ncap * sizeof(*nb));

			if (!nb)
				return mre_err_set(err, -ENOMEM, "out of memory for the RAM block list");
			w->blocks = nb;
			cap = ncap;
		}
		b = &w->blocks[w->nblocks];
		memset(b, 0, sizeof(*b));
		b->entry_offset = at;
		if ((r = mre_rd_cstr8(rd, b->id, "RAM block id", err)) ||
		    (r = mre_rd_be64(rd, &b->used_length, "RAM block length", err)))
			return r;
		if (find_block(w, b->id) >= 0)
			return mre_err_set(err, MRE_EFORMAT, "offset 0x%llx: RAM block '%s' listed twice",
					   OFF(at), b->id);
		if (b->used_length == 0 || b->used_length % w->page_size)
			return mre_err_set(err, MRE_EFORMAT,
					   "offset 0x%llx: RAM block '%s': length 0x%llx is not a positive multiple of the %llu-byte page size",
					   OFF(at), b->id, OFF(b->used_length), OFF(w->page_size));
		if (b->used_length > remaining)
			return mre_err_set(err, MRE_EFORMAT,
					   "offset 0x%llx: RAM block '%s': length 0x%llx exceeds what remains of the total (0x%llx)",
					   OFF(at), b->id, OFF(b->used_length), OFF(remaining));
		if (w->postcopy_advise) {
			/*
			 * With postcopy the source adds the block's host page size
			 * for hugepage-backed blocks only. It is recognisable: a
			 * power of two above the target page size, whereas the
			 * next entry would start with a non-zero length byte and
			 * EOS (0x10) is below any page size.
			 */
			ssize_t got = mre_rd_fill(rd, 8, err);

			if (got < 0)
				return (int)got;
			if (got == 8) {
				uint64_t v = mre_get_be64(mre_rd_ptr(rd));

				if (mre_is_pow2(v) && v > w->page_size) {
					b->has_page_size = true;
					b->block_page_size = v;
					mre_rd_advance(rd, 8);
				}
			}
		}
		if (w->ignore_shared) {
			b->has_gpa = true;
			if ((r = mre_rd_be64(rd, &b->gpa, "RAM block guest address", err)))
				return r;
		}
		if (w->mapped_ram && (r = parse_mr_header(w, rd, b, err)))
			return r;
		w->nblocks++;
		if (ops->block && (r = ops->block(u, w->nblocks - 1, b, err)))
			return r;
		remaining -= b->used_length;
	}
	return 0;
}

static int parse_page(struct mre_walk *w, struct mre_rd *rd, uint64_t at, uint64_t addr,
		      unsigned flags, const struct mre_walk_ops *ops, void *u, struct mre_err *err)
{
	unsigned kind = flags & ~MRE_RAM_CONTINUE;
	const struct mre_block *b;
	uint8_t fill = 0, enc;
	uint16_t elen;
	int r, bi;

	if (w->mapped_ram)
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x%llx: page record (flags 0x%x) in a mapped-ram stream", OFF(at), flags);
	if (!w->nblocks)
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x%llx: page record before the RAM block list", OFF(at));
	if (flags & MRE_RAM_CONTINUE) {
		if (w->last_block < 0)
			return mre_err_set(err, MRE_EFORMAT,
					   "offset 0x%llx: CONTINUE page record with no previous block", OFF(at));
		bi = w->last_block;
	} else {
		char id[256];

		if ((r = mre_rd_cstr8(rd, id, "page record block id", err)))
			return r;
		bi = find_block(w, id);
		if (bi < 0)
			return mre_err_set(err, MRE_EFORMAT,
					   "offset 0x%llx: page record for unknown RAM block '%s'", OFF(at), id);
		w->last_block = bi;
	}
	b = &w->blocks[bi];
	if (addr >= b->used_length)
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x%llx: page offset 0x%llx outside RAM block '%s' (0x%llx bytes)",
				   OFF(at), OFF(addr), b->id, OFF(b->used_length));
	switch (kind) {
	case MRE_RAM_ZERO:
		if ((r = mre_rd_u8(rd, &fill, "zero page fill byte", err)))
			return r;
		return ops->page ? ops->page(u, (unsigned)bi, addr, MRE_PAGE_ZERO, NULL, 0, fill, err) : 0;
	case MRE_RAM_PAGE:
		if ((r = mre_rd_need(rd, w->page_size, "page data", err)))
			return r;
		if (ops->page && (r = ops->page(u, (unsigned)bi, addr, MRE_PAGE_DATA, mre_rd_ptr(rd),
						w->page_size, 0, err)))
			return r;
		mre_rd_advance(rd, w->page_size);
		return 0;
	case MRE_RAM_XBZRLE:
		if ((r = mre_rd_u8(rd, &enc, "XBZRLE encoding", err)) ||
		    (r = mre_rd_be16(rd, &elen, "XBZRLE length", err)))
			return r;
		if (enc != MRE_XBZRLE_ENCODING)
			return mre_err_set(err, MRE_EFORMAT, "offset 0x%llx: XBZRLE encoding 0x%02x, expected 0x01",
					   OFF(at), enc);
		if (elen > w->page_size)
			return mre_err_set(err, MRE_EFORMAT,
					   "offset 0x%llx: XBZRLE delta of %u bytes is larger than a page", OFF(at), elen);
		if ((r = mre_rd_need(rd, elen, "XBZRLE delta", err)))
			return r;
		if (ops->page && (r = ops->page(u, (unsigned)bi, addr, MRE_PAGE_XBZRLE, mre_rd_ptr(rd), elen,
						0, err)))
			return r;
		mre_rd_advance(rd, elen);
		return 0;
	default: /* COMPRESS_PAGE */
		return mre_err_set(err, MRE_EUNSUPP,
				   "offset 0x%llx: zlib-compressed page record: streams written with QEMU's legacy 'compress' capability are not supported (migrate without it)",
				   OFF(at));
	}
}

/* The body of a ram START/PART/END section, up to and including EOS. */
static int parse_ram_body(struct mre_walk *w, struct mre_rd *rd, bool start,
			  const struct mre_walk_ops *ops, void *u, struct mre_err *err)
{
	bool first = true;
	int r;

	for (;;) {
		uint64_t at = mre_rd_pos(rd), word, addr;
		unsigned flags;

		if ((r = mre_rd_be64(rd, &word, "RAM record", err)))
			return r;
		flags = (unsigned)(word & (w->page_size - 1));
		addr = word & ~(w->page_size - 1);
		switch (flags & ~MRE_RAM_CONTINUE) {
		case MRE_RAM_EOS:
			if (flags != MRE_RAM_EOS)
				break;
			if (start && !w->nblocks)
				return mre_err_set(err, MRE_EFORMAT,
						   "offset 0x%llx: ram START section ends without a RAM block list", OFF(at));
			return 0;
		case MRE_RAM_MEM_SIZE:
			if (flags != MRE_RAM_MEM_SIZE)
				break;
			if (!start || !first)
				return mre_err_set(err, MRE_EFORMAT,
						   "offset 0x%llx: RAM block list outside the start of the ram section", OFF(at));
			if (addr == 0 || addr > MRE_MAX_RAM)
				return mre_err_set(err, MRE_EFORMAT,
						   "offset 0x%llx: RAM block list with total size 0x%llx (must be 1 byte to 64 TiB)",
						   OFF(at), OFF(addr));
			if ((r = parse_mem_size(w, rd, addr, ops, u, err)))
				return r;
			first = false;
			continue;
		case MRE_RAM_ZERO:
		case MRE_RAM_PAGE:
		case MRE_RAM_XBZRLE:
		case MRE_RAM_COMPRESS_PAGE:
			if ((r = parse_page(w, rd, at, addr, flags, ops, u, err)))
				return r;
			first = false;
			continue;
		case MRE_RAM_MULTIFD_FLUSH:
			if (flags != MRE_RAM_MULTIFD_FLUSH || w->mapped_ram)
				break;
			continue;
		case MRE_RAM_HOOK:
			return mre_err_set(err, MRE_EUNSUPP, "offset 0x%llx: RDMA hook record in a file stream",
					   OFF(at));
		}
		return mre_err_set(err, MRE_EFORMAT, "offset 0x%llx: unknown combination of RAM flags 0x%x%s",
				   OFF(at), flags, w->mapped_ram ? " in a mapped-ram stream" : "");
	}
}

/* ---- framing ----------------------------------------------------------- */

static int read_footer(struct mre_rd *rd, uint32_t id, struct mre_err *err)
{
	uint64_t at = mre_rd_pos(rd);
	uint32_t fid;
	uint8_t mark;
	int r;

	if ((r = mre_rd_u8(rd, &mark, "section footer", err)))
		return r;
	if (mark != MRE_VM_SECTION_FOOTER)
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x%llx: missing section footer for section %u (found byte 0x%02x, expected 0x7e)",
				   OFF(at), id, mark);
	if ((r = mre_rd_be32(rd, &fid, "section footer id", err)))
		return r;
	if (fid != id)
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x%llx: section footer names section %u, expected %u", OFF(at), fid, id);
	return 0;
}

/*
 * Is a well-formed element at p[0..avail)? 1 yes, 0 no, -1 undecided (more
 * bytes needed). @at_end: the data ends at p + avail.
 */
static int elem_plausible(const struct mre_walk *w, const uint8_t *p, size_t avail, bool at_end)
{
	size_t need;

	if (avail == 0)
		return at_end ? 0 : -1;
	switch (p[0]) {
	case MRE_VM_EOF:
		if (avail < 2)
			return at_end ? 1 : -1;
		return p[1] == MRE_VM_VMDESCRIPTION;
	case MRE_VM_SECTION_START:
	case MRE_VM_SECTION_FULL:
		if (avail < 6)
			return at_end ? 0 : -1;
		need = 6 + (size_t)p[5] + 8;
		if (p[5] == 0)
			return 0;
		if (avail < need)
			return at_end ? 0 : -1;
		for (size_t i = 0; i < p[5]; i++)
			if (p[6 + i] < 0x20 || p[6 + i] > 0x7e)
				return 0;
		return 1;
	case MRE_VM_SECTION_PART:
	case MRE_VM_SECTION_END:
		if (avail < 5)
			return at_end ? 0 : -1;
		return w->ram_seen && !w->ram_ended && mre_get_be32(p + 1) == w->ram_section_id;
	case MRE_VM_COMMAND: {
		uint16_t cmd, len;
		int fixed;

		if (avail < 5)
			return at_end ? 0 : -1;
		cmd = mre_get_be16(p + 1);
		len = mre_get_be16(p + 3);
		if (cmd == 0 || cmd > MRE_CMD_MAX)
			return 0;
		fixed = cmd_fixed_len(cmd, len);
		return fixed < 0 || fixed == len;
	}
	}
	return 0;
}

/* Length of an opaque section body starting at the cursor (footer excluded). */
static int scan_opaque_body(struct mre_walk *w, struct mre_rd *rd, uint32_t id, size_t *body_len,
			    struct mre_err *err)
{
	uint8_t pat[5] = { MRE_VM_SECTION_FOOTER };
	size_t window = 64 * 1024, from = 0;

	mre_put_be32(pat + 1, id);
	for (;;) {
		ssize_t got = mre_rd_fill(rd, window, err);
		bool at_end;
		const uint8_t *p;
		size_t i = from;

		if (got < 0)
			return (int)got;
		at_end = (size_t)got < window;
		p = mre_rd_ptr(rd);
		while (i + 5 <= (size_t)got) {
			const uint8_t *hit = memchr(p + i, MRE_VM_SECTION_FOOTER, (size_t)got - i - 4);
			int ok;

			if (!hit)
				break;
			i = (size_t)(hit - p);
			if (memcmp(hit, pat, 5)) {
				i++;
				continue;
			}
			ok = elem_plausible(w, hit + 5, (size_t)got - i - 5, at_end);
			if (ok > 0) {
				*body_len = i;
				return 0;
			}
			if (ok < 0)
				break; /* decide once more bytes are buffered */
			i++;
		}
		if (at_end)
			return mre_err_set(err, MRE_EFORMAT,
					   "offset 0x%llx: section %u: no footer before the end of the data (truncated?)",
					   OFF(mre_rd_pos(rd)), id);
		from = i;
		if (window >= rd->max)
			return mre_err_set(err, MRE_ELIMIT,
					   "offset 0x%llx: section %u: no footer within %zu bytes",
					   OFF(mre_rd_pos(rd)), id, rd->max);
		window = MRE_MIN(window * 2, rd->max);
	}
}

static int parse_section(struct mre_walk *w, struct mre_rd *rd, struct mre_elem *el,
			 const struct mre_walk_ops *ops, void *u, struct mre_err *err)
{
	int r;

	if (el->type == MRE_VM_SECTION_START || el->type == MRE_VM_SECTION_FULL) {
		if ((r = mre_rd_be32(rd, &el->section_id, "section id", err)) ||
		    (r = mre_rd_cstr8(rd, el->idstr, "section name", err)) ||
		    (r = mre_rd_be32(rd, &el->instance, "section instance", err)) ||
		    (r = mre_rd_be32(rd, &el->version, "section version", err)))
			return r;
		if (!strcmp(el->idstr, "ram")) {
			if (el->type != MRE_VM_SECTION_START || w->ram_seen)
				return mre_err_set(err, MRE_EFORMAT, "offset 0x%llx: unexpected %s section for 'ram'",
						   OFF(el->offset), mre_elem_type_name(el->type));
			if (el->instance != 0 || el->version != MRE_RAM_SECTION_VERSION)
				return mre_err_set(err, MRE_EFORMAT,
						   "offset 0x%llx: ram section instance %u version %u, expected instance 0 version 4",
						   OFF(el->offset), el->instance, el->version);
			w->ram_seen = true;
			w->ram_section_id = el->section_id;
			w->ram_sections++;
			if ((r = parse_ram_body(w, rd, true, ops, u, err)))
				return r;
		} else if (el->type == MRE_VM_SECTION_START) {
			return mre_err_set(err, MRE_EUNSUPP,
					   "offset 0x%llx: iterative section '%s' is not supported (only 'ram' is)",
					   OFF(el->offset), el->idstr);
		} else {
			size_t len = 0;

			if ((r = scan_opaque_body(w, rd, el->section_id, &len, err)))
				return r;
			if ((r = mre_rd_seek(rd, mre_rd_pos(rd) + len, "section body", err)))
				return r;
		}
	} else {
		if ((r = mre_rd_be32(rd, &el->section_id, "section id", err)))
			return r;
		if (!w->ram_seen || w->ram_ended || el->section_id != w->ram_section_id)
			return mre_err_set(err, MRE_EFORMAT,
					   "offset 0x%llx: %s section for unknown section id %u",
					   OFF(el->offset), mre_elem_type_name(el->type), el->section_id);
		strcpy(el->idstr, "ram");
		el->version = MRE_RAM_SECTION_VERSION;
		w->ram_sections++;
		if ((r = parse_ram_body(w, rd, false, ops, u, err)))
			return r;
		if (el->type == MRE_VM_SECTION_END)
			w->ram_ended = true;
	}
	return read_footer(rd, el->section_id, err);
}

static int parse_command(struct mre_walk *w, struct mre_rd *rd, struct mre_elem *el,
			 struct mre_err *err)
{
	int fixed, r;

	if ((r = mre_rd_be16(rd, &el->cmd, "command number", err)) ||
	    (r = mre_rd_be16(rd, &el->cmd_len, "command length", err)))
		return r;
	if (el->cmd == 0 || el->cmd > MRE_CMD_MAX)
		return mre_err_set(err, MRE_EFORMAT, "offset 0x%llx: unknown command %u",
				   OFF(el->offset), el->cmd);
	fixed = cmd_fixed_len(el->cmd, el->cmd_len);
	if (fixed >= 0 && fixed != el->cmd_len)
		return mre_err_set(err, MRE_EFORMAT, "offset 0x%llx: command %s with length %u, expected %d",
				   OFF(el->offset), mre_cmd_name(el->cmd), el->cmd_len, fixed);
	if (el->cmd == MRE_CMD_PACKAGED)
		return mre_err_set(err, MRE_EUNSUPP,
				   "offset 0x%llx: postcopy PACKAGED command is not supported in a file",
				   OFF(el->offset));
	if (el->cmd == MRE_CMD_POSTCOPY_ADVISE)
		w->postcopy_advise = true;
	return mre_rd_seek(rd, mre_rd_pos(rd) + el->cmd_len, "command payload", err);
}

static int parse_vmdesc(struct mre_walk *w, struct mre_rd *rd, const struct mre_walk_ops *ops,
			void *u, struct mre_err *err)
{
	uint64_t at = mre_rd_pos(rd);
	uint32_t len;
	uint8_t type;
	int r;

	if ((r = mre_rd_u8(rd, &type, "vmdesc marker", err)) ||
	    (r = mre_rd_be32(rd, &len, "vmdesc length", err)))
		return r;
	if (len > MRE_MAX_VMDESC)
		return mre_err_set(err, MRE_EFORMAT, "offset 0x%llx: vmdesc of %u bytes exceeds the %u-byte limit",
				   OFF(at), len, MRE_MAX_VMDESC);
	w->has_vmdesc = true;
	w->vmdesc_offset = at;
	w->vmdesc_len = len;
	if (w->want_vmdesc && ops->vmdesc) {
		char *json = malloc(len ? len : 1);

		if (!json)
			return mre_err_set(err, -ENOMEM, "out of memory for the %u-byte vmdesc", len);
		r = mre_rd_bytes(rd, json, len, "vmdesc JSON", err);
		if (!r)
			r = ops->vmdesc(u, json, len, err);
		free(json);
		return r;
	}
	return mre_rd_seek(rd, at + 5 + len, "vmdesc JSON", err);
}

int mre_walk_run(struct mre_walk *w, struct mre_rd *rd, const struct mre_walk_ops *ops, void *u,
		 struct mre_err *err)
{
	uint32_t magic, version;
	uint8_t type;
	int r;

	w->stream_offset = mre_rd_pos(rd);
	if ((r = mre_rd_be32(rd, &magic, "stream magic", err)))
		return r;
	if (magic != MRE_QEMU_MAGIC)
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x%llx: bad magic 0x%08x, expected 0x5145564d (\"QEVM\")",
				   OFF(w->stream_offset), magic);
	if ((r = mre_rd_be32(rd, &version, "stream version", err)))
		return r;
	if (version != MRE_QEMU_VERSION)
		return mre_err_set(err, MRE_EFORMAT, "offset 0x%llx: stream version %u %s (expected 3)",
				   OFF(w->stream_offset + 4), version,
				   version == MRE_QEMU_VERSION_COMPAT ? "is obsolete" : "is not supported");
	if ((r = mre_rd_u8(rd, &type, "configuration marker", err)))
		return r;
	if (type != MRE_VM_CONFIGURATION)
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x%llx: expected the configuration section (0x07), found 0x%02x",
				   OFF(w->stream_offset + 8), type);
	if ((r = mre_config_parse(rd, &w->cfg, err)))
		return r;
	w->config_end = mre_rd_pos(rd);
	w->page_size = mre_config_page_size(&w->cfg);
	w->mapped_ram = mre_config_has_cap(&w->cfg, "mapped-ram");
	w->ignore_shared = mre_config_has_cap(&w->cfg, "x-ignore-shared");
	w->compressed = mre_config_has_cap(&w->cfg, MRE_CAP_COMPRESSED);
	if (w->compressed && !w->mapped_ram)
		return mre_err_set(err, MRE_EFORMAT, "offset 0x%llx: %s without mapped-ram",
				   OFF(w->stream_offset + 9), MRE_CAP_COMPRESSED);
	if (ops->config && (r = ops->config(u, &w->cfg, err)))
		return r;

	for (;;) {
		struct mre_elem el;

		memset(&el, 0, sizeof(el));
		el.offset = mre_rd_pos(rd);
		if ((r = mre_rd_u8(rd, &el.type, "element type (stream ends without EOF?)", err)))
			return r;
		switch (el.type) {
		case MRE_VM_SECTION_START:
		case MRE_VM_SECTION_FULL:
		case MRE_VM_SECTION_PART:
		case MRE_VM_SECTION_END:
			r = parse_section(w, rd, &el, ops, u, err);
			break;
		case MRE_VM_COMMAND:
			r = parse_command(w, rd, &el, err);
			break;
		case MRE_VM_EOF:
			w->eof_offset = el.offset;
			r = 0;
			break;
		default:
			return mre_err_set(err, MRE_EFORMAT, "offset 0x%llx: unexpected byte 0x%02x at the top level",
					   OFF(el.offset), el.type);
		}
		if (r)
			return r;
		el.end = mre_rd_pos(rd);
		if (ops->elem && (r = ops->elem(u, &el, err)))
			return r;
		if (el.type == MRE_VM_EOF)
			break;
	}
	if (w->ram_seen && !w->ram_ended)
		return mre_err_set(err, MRE_EFORMAT, "offset 0x%llx: EOF before the ram END section",
				   OFF(w->eof_offset));
	{
		ssize_t got = mre_rd_fill(rd, 1, err);

		if (got < 0)
			return (int)got;
		if (got && mre_rd_ptr(rd)[0] == MRE_VM_VMDESCRIPTION) {
			struct mre_elem el = { .type = MRE_VM_VMDESCRIPTION, .offset = mre_rd_pos(rd) };

			if ((r = parse_vmdesc(w, rd, ops, u, err)))
				return r;
			el.end = mre_rd_pos(rd);
			if (ops->elem && (r = ops->elem(u, &el, err)))
				return r;
		}
	}
	w->end = mre_rd_pos(rd);
	return 0;
}

/* ---- encoders ---------------------------------------------------------- */

void mre_emit_file_header(struct mre_wbuf *wb)
{
	mre_wbuf_be32(wb, MRE_QEMU_MAGIC);
	mre_wbuf_be32(wb, MRE_QEMU_VERSION);
}

void mre_emit_section_start(struct mre_wbuf *wb, uint8_t type, uint32_t id, const char *idstr,
			    uint32_t instance, uint32_t version)
{
	mre_wbuf_u8(wb, type);
	mre_wbuf_be32(wb, id);
	mre_wbuf_cstr8(wb, idstr);
	mre_wbuf_be32(wb, instance);
	mre_wbuf_be32(wb, version);
}

void mre_emit_section_short(struct mre_wbuf *wb, uint8_t type, uint32_t id)
{
	mre_wbuf_u8(wb, type);
	mre_wbuf_be32(wb, id);
}

void mre_emit_footer(struct mre_wbuf *wb, uint32_t id)
{
	mre_wbuf_u8(wb, MRE_VM_SECTION_FOOTER);
	mre_wbuf_be32(wb, id);
}

void mre_emit_command(struct mre_wbuf *wb, uint16_t cmd, const void *payload, uint16_t len)
{
	mre_wbuf_u8(wb, MRE_VM_COMMAND);
	mre_wbuf_be16(wb, cmd);
	mre_wbuf_be16(wb, len);
	mre_wbuf_put(wb, payload, len);
}

void mre_emit_eof(struct mre_wbuf *wb, const char *json, size_t len)
{
	mre_wbuf_u8(wb, MRE_VM_EOF);
	if (json) {
		mre_wbuf_u8(wb, MRE_VM_VMDESCRIPTION);
		mre_wbuf_be32(wb, (uint32_t)len);
		mre_wbuf_put(wb, json, len);
	}
}
