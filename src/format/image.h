/* SPDX-License-Identifier: MIT */
/*
 * image.h: what a migration file holds, as one structure: the stream's
 * configuration, every top-level element with its offsets, and every RAM
 * block with its layout and which pages hold data.
 *
 * For mapped-ram files the bitmaps are read and checked (no bit beyond the
 * block's length). For sequential files the page records are replayed to
 * learn each page's final state (last record wins); memory grows with the
 * records present, not with the block sizes claimed. Built by mre_image_load() through the stream walker; pure codec, all
 * reads go through the caller's struct mre_src.
 */
#ifndef MRE_FORMAT_IMAGE_H
#define MRE_FORMAT_IMAGE_H

#include "format/chunked.h"
#include "format/stream.h"
#include "format/trailer.h"

struct mre_image_block {
	struct mre_block b;
	uint64_t npages;
	uint64_t present;   /* pages holding data */
	uint64_t zero;      /* npages - present */
	uint64_t *bitmap;   /* mapped-ram: host-order words; bit i set = page i has data
			     * (sequential streams: NULL, only the counts are kept) */
	struct mre_chunk *chunks; /* compressed variant: b.nchunks entries */
};

struct mre_image {
	uint64_t file_size;       /* MRE_SIZE_UNKNOWN for streams */
	uint64_t stream_offset;
	uint64_t config_end;
	struct mre_config cfg;
	uint64_t page_size;
	bool mapped_ram;
	bool ram_seen;
	uint32_t ram_section_id;
	uint64_t ram_total;
	struct mre_image_block *blocks;
	unsigned nblocks;
	struct mre_elem *elems;
	size_t nelems;
	uint64_t eof_offset;
	bool has_vmdesc;
	uint64_t vmdesc_offset;
	uint64_t vmdesc_len;
	uint64_t stream_end;      /* one past the vmdesc (or EOF byte) */
	bool compressed;          /* mrengine's compressed variant */
	/* what follows the stream */
	bool has_trailer;
	uint64_t trailer_offset;
	uint64_t trailer_length;
	struct mre_trailer trailer;
	uint64_t data_end;        /* end of the compressed data area (= trailer or file end) */
};

enum {
	MRE_IMAGE_NO_BITMAPS = 1 << 0, /* mapped-ram: skip reading the bitmaps */
	MRE_IMAGE_STREAM_ONLY = 1 << 1, /* ignore what follows the stream (no trailer lookup) */
};

/*
 * Parse the stream that starts at @stream_offset of @src. On success
 * *@out owns everything; free it with mre_image_free().
 */
int mre_image_load(const struct mre_src *src, uint64_t stream_offset, unsigned flags,
		   struct mre_image **out, struct mre_err *err);
void mre_image_free(struct mre_image *img);

/* Index of the block named @id, or -1. */
int mre_image_find_block(const struct mre_image *img, const char *id);

#endif
