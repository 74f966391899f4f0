/* SPDX-License-Identifier: MIT */
/*
 * ram.h: QEMU's "ram" section: the RAM block list (MEM_SIZE), the
 * mapped-ram per-block header, bitmap and page-region layout, and the
 * XBZRLE page delta. Pure functions over memory.
 */
#ifndef MRE_FORMAT_RAM_H
#define MRE_FORMAT_RAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/wbuf.h"
#include "util/err.h"

/* One RAM block as listed in the MEM_SIZE record. */
struct mre_block {
	char id[256];
	uint64_t used_length;
	uint64_t entry_offset;      /* file offset of the idstr length byte */
	bool has_page_size;         /* postcopy: hugepage size field present */
	uint64_t block_page_size;
	bool has_gpa;               /* x-ignore-shared: guest physical address */
	uint64_t gpa;
	/* mapped-ram only */
	bool mapped;
	bool ignored;               /* x-ignore-shared block with 0/0 offsets */
	uint32_t mr_version;
	uint64_t mr_page_size;
	uint64_t header_offset;
	uint64_t bitmap_offset;
	uint64_t pages_offset;      /* compressed variant: the chunk table */
	/* compressed variant (mr_version == MRE_MR_VERSION_CHUNKED) */
	bool chunked;
	uint32_t chunk_alg;
	uint32_t chunk_level;
	uint64_t chunk_size;
	uint64_t nchunks;
};

/* Bytes of the mapped-ram bitmap for @npages pages (whole 64-bit words). */
static inline uint64_t mre_bitmap_bytes(uint64_t npages)
{
	return (npages + 63) / 64 * 8;
}

/* The bitmap is an array of host-order longs; x86_64 writes little-endian
 * 64-bit words, which is what we read and write on every host. */
static inline bool mre_bit_test(const uint64_t *bm, uint64_t i)
{
	return bm[i / 64] >> (i % 64) & 1;
}

static inline void mre_bit_set(uint64_t *bm, uint64_t i)
{
	bm[i / 64] |= (uint64_t)1 << (i % 64);
}

/* Convert between the on-disk little-endian words and host words, in place. */
void mre_bitmap_from_le(uint64_t *bm, uint64_t nwords);
void mre_bitmap_to_le(uint64_t *bm, uint64_t nwords);

/* Count set bits among the first @npages. */
uint64_t mre_bitmap_count(const uint64_t *bm, uint64_t npages);

/*
 * Find the next run of set bits at or after @from, below @npages. Returns
 * true and sets [*start, *end) or false when there is none.
 */
bool mre_bitmap_next_run(const uint64_t *bm, uint64_t npages, uint64_t from,
			 uint64_t *start, uint64_t *end);

/* Where one block's pieces go in a mapped-ram file (absolute offsets). */
struct mre_mr_layout {
	uint64_t entry_offset;    /* cstr8 idstr + be64 used_length [+ be64 gpa] */
	uint64_t header_offset;   /* the 28-byte MappedRamHeader */
	uint64_t bitmap_offset;   /* right after the header, as QEMU writes it */
	uint64_t bitmap_bytes;
	uint64_t pages_offset;    /* rounded up to @align */
	uint64_t end_offset;      /* pages_offset + used_length: the stream resumes here */
};

/*
 * Lay out a block whose MEM_SIZE entry starts at @pos. -EOVERFLOW if the
 * offsets do not fit in 64 bits, -EINVAL for a bad id or alignment.
 */
int mre_mr_layout_block(uint64_t pos, const char *id, uint64_t used_length, uint64_t page_size,
			uint64_t align, bool has_gpa, struct mre_mr_layout *out);

/* START section of "ram" with the MEM_SIZE record word (entries follow). */
void mre_emit_ram_start(struct mre_wbuf *wb, uint32_t section_id, uint64_t total);
/* EOS + footer ending the START section, then an END section (EOS + footer). */
void mre_emit_ram_end(struct mre_wbuf *wb, uint32_t section_id);

/* Emit the 28-byte MappedRamHeader. */
void mre_mr_header_emit(struct mre_wbuf *wb, uint32_t version, uint64_t page_size,
			uint64_t bitmap_offset, uint64_t pages_offset);

/* One MEM_SIZE list entry: idstr, used_length, [gpa]. */
void mre_mem_entry_emit(struct mre_wbuf *wb, const char *id, uint64_t used_length,
			bool has_gpa, uint64_t gpa);

/*
 * Apply an XBZRLE delta to @page (@page_size bytes). Returns 0 or
 * MRE_EFORMAT with the problem described in @err.
 */
int mre_xbzrle_apply(uint8_t *page, size_t page_size, const uint8_t *delta, size_t len,
		     struct mre_err *err);

#endif
