/* SPDX-License-Identifier: MIT */
/* image.c: builds struct mre_image from the stream walker's callbacks. */
#include "format/image.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "format/qemu.h"
#include "util/sbitmap.h"

/* A bitmap may not be larger than this (covers a 64 TiB block of 4 KiB pages). */
#define MAX_BITMAP_BYTES (2ULL << 30)

struct load_ctx {
	struct mre_image *img;
	struct mre_rd *rd;
	struct mre_walk *w;
	unsigned flags;
	size_t elem_cap;
	struct mre_sbitmap *seq;  /* sequential: pages holding data, per block */
};

static int on_elem(void *u, const struct mre_elem *el, struct mre_err *err)
{
	struct load_ctx *c = u;
	struct mre_image *img = c->img;

	if (img->nelems == c->elem_cap) {
		size_t ncap = c->elem_cap ? c->elem_cap * 2 : 64;
		struct mre_elem *ne = realloc(img->elems, ncap * sizeof(*ne));

		if (!ne)
			return mre_err_set(err, -ENOMEM, "out of memory for the element list");
		img->elems = ne;
		c->elem_cap = ncap;
	}
	img->elems[img->nelems++] = *el;
	return 0;
}

static int alloc_bitmap(struct mre_image_block *ib, struct mre_err *err)
{
	uint64_t bytes = mre_bitmap_bytes(ib->npages);

	if (bytes > MAX_BITMAP_BYTES)
		return mre_err_set(err, MRE_ELIMIT, "RAM block '%s': %llu pages is more than supported",
				   ib->b.id, (unsigned long long)ib->npages);
	ib->bitmap = calloc(1, bytes ? bytes : 8);
	if (!ib->bitmap)
		return mre_err_set(err, -ENOMEM, "out of memory for the bitmap of block '%s'", ib->b.id);
	return 0;
}

static int read_mr_bitmap(struct load_ctx *c, struct mre_image_block *ib, struct mre_err *err)
{
	uint64_t bytes = mre_bitmap_bytes(ib->npages), words = bytes / 8;
	int r;

	if ((r = alloc_bitmap(ib, err)))
		return r;
	r = mre_rd_pread(c->rd, ib->bitmap, bytes, ib->b.bitmap_offset, "mapped-ram bitmap", err);
	if (r)
		return mre_err_prefix(err, "RAM block '%s'", ib->b.id);
	mre_bitmap_from_le(ib->bitmap, words);
	if (ib->npages % 64) {
		uint64_t tail = ib->bitmap[words - 1] >> (ib->npages % 64);

		if (tail)
			return mre_err_set(err, MRE_EFORMAT,
					   "offset 0x%llx: RAM block '%s': bitmap has page %llu set, beyond the block's %llu pages",
					   (unsigned long long)(ib->b.bitmap_offset + bytes - 8), ib->b.id,
					   (unsigned long long)(ib->npages / 64 * 64 + (uint64_t)__builtin_ctzll(tail) +
								ib->npages % 64),
					   (unsigned long long)ib->npages);
	}
	ib->present = mre_bitmap_count(ib->bitmap, ib->npages);
	return 0;
}

static int on_block(void *u, unsigned idx, const struct mre_block *b, struct mre_err *err)
{
	struct load_ctx *c = u;
	struct mre_image *img = c->img;
	struct mre_image_block *ib;

	if (idx % 8 == 0) {
		struct mre_image_block *nb = realloc(img->blocks, (idx + 8) * sizeof(*nb));

		if (!nb)
			return mre_err_set(err, -ENOMEM, "out of memory for the block list");
		img->blocks = nb;
	}
	ib = &img->blocks[idx];
	memset(ib, 0, sizeof(*ib));
	ib->b = *b;
	ib->npages = b->used_length / c->w->page_size;
	img->nblocks = idx + 1;
	if (c->w->mapped_ram) {
		if (b->ignored || (c->flags & MRE_IMAGE_NO_BITMAPS))
			return 0;
		return read_mr_bitmap(c, ib, err);
	}
	if (idx % 8 == 0) {
		struct mre_sbitmap *ns = realloc(c->seq, (idx + 8) * sizeof(*ns));

		if (!ns)
			return mre_err_set(err, -ENOMEM, "out of memory for the block list");
		c->seq = ns;
	}
	if (mre_sbitmap_init(&c->seq[idx], ib->npages))
		return mre_err_set(err, -ENOMEM, "out of memory for the pages of block '%s'", b->id);
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && !memcmp(p, p + 1, n - 1));
}

/* Sequential records: the final state of each page (last record wins). */
static int on_page(void *u, unsigned bi, uint64_t offset, enum mre_page_kind kind,
		   const uint8_t *data, size_t len, uint8_t fill, struct mre_err *err)
{
	struct load_ctx *c = u;
	struct mre_sbitmap *bm = &c->seq[bi];
	uint64_t page = offset / c->w->page_size;
	bool present = kind == MRE_PAGE_XBZRLE || (kind == MRE_PAGE_ZERO ? fill != 0 : !all_zero(data, len));

	if (!present) {
		mre_sbitmap_clear(bm, page);
		return 0;
	}
	if (mre_sbitmap_set(bm, page))
		return mre_err_set(err, -ENOMEM, "out of memory for the pages of block '%s'",
				   c->img->blocks[bi].b.id);
	return 0;
}

void mre_image_free(struct mre_image *img)
{
	if (!img)
		return;
	for (unsigned i = 0; i < img->nblocks; i++) {
		free(img->blocks[i].bitmap);
		free(img->blocks[i].chunks);
	}
	free(img->blocks);
	mre_trailer_free(&img->trailer);
	free(img->elems);
	free(img);
}

int mre_image_find_block(const struct mre_image *img, const char *id)
{
	for (unsigned i = 0; i < img->nblocks; i++)
		if (!strcmp(img->blocks[i].b.id, id))
			return (int)i;
	return -1;
}

/*
 * The trailer's block list must be the stream's, block for block: verify
 * and restore index the checksums by the image's block and page numbers.
 * A checksum chunk is at most MRE_TRAILER_MAX_CHUNK_BYTES of guest memory,
 * which bounds what a reader buffers to check one.
 */
static int check_trailer_blocks(const struct mre_image *img, struct mre_err *err)
{
	const struct mre_trailer *t = &img->trailer;

	if ((uint64_t)t->chunk_pages * img->page_size > MRE_TRAILER_MAX_CHUNK_BYTES)
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x%llx: trailer: checksum chunks of %u pages of %llu bytes exceed %u bytes",
				   (unsigned long long)img->trailer_offset + 36, t->chunk_pages,
				   (unsigned long long)img->page_size, MRE_TRAILER_MAX_CHUNK_BYTES);
	if (t->nblocks != img->nblocks)
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x%llx: trailer: %u RAM blocks, but the stream has %u",
				   (unsigned long long)img->trailer_offset + 44, t->nblocks, img->nblocks);
	for (unsigned i = 0; i < t->nblocks; i++) {
		const struct mre_image_block *ib = &img->blocks[i];

		if (strcmp(t->blocks[i].id, ib->b.id) || t->blocks[i].npages != ib->npages)
			return mre_err_set(err, MRE_EFORMAT,
					   "offset 0x%llx: trailer: block %u is '%s' of %llu pages, but the stream's is '%s' of %llu pages",
					   (unsigned long long)img->trailer_offset, i, t->blocks[i].id,
					   (unsigned long long)t->blocks[i].npages, ib->b.id,
					   (unsigned long long)ib->npages);
	}
	return 0;
}

/* The trailer, if the file ends with one after the stream (and the data area). */
static int load_trailer(struct mre_rd *rd, struct mre_image *img, struct mre_err *err)
{
	uint64_t size = rd->src.size, len;
	uint8_t tail[MRE_TRAILER_END], *buf;
	int r;

	img->data_end = size;
	if (size == MRE_SIZE_UNKNOWN || size - img->stream_end < MRE_TRAILER_END)
		return 0;
	if ((r = mre_rd_pread(rd, tail, sizeof(tail), size - sizeof(tail), "end of the file", err)))
		return r;
	len = mre_trailer_length(tail);
	if (!len)
		return 0;
	if (len > size - img->stream_end || len > MRE_TRAILER_MAX)
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x%llx: trailer length %llu does not fit after the stream (ends at 0x%llx)",
				   (unsigned long long)(size - 16), (unsigned long long)len,
				   (unsigned long long)img->stream_end);
	buf = malloc(len);
	if (!buf)
		return mre_err_set(err, -ENOMEM, "out of memory for the trailer");
	r = mre_rd_pread(rd, buf, len, size - len, "trailer", err);
	if (!r)
		r = mre_trailer_decode(buf, len, size - len, &img->trailer, err);
	free(buf);
	if (r)
		return r;
	img->has_trailer = true;
	img->trailer_offset = size - len;
	img->trailer_length = len;
	img->data_end = img->trailer_offset;
	if (img->trailer.stream_offset != img->stream_offset || img->trailer.stream_end != img->stream_end)
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x%llx: trailer describes a stream at 0x%llx..0x%llx, but the stream is at 0x%llx..0x%llx",
				   (unsigned long long)img->trailer_offset,
				   (unsigned long long)img->trailer.stream_offset,
				   (unsigned long long)img->trailer.stream_end,
				   (unsigned long long)img->stream_offset, (unsigned long long)img->stream_end);
	return check_trailer_blocks(img, err);
}

/* Compressed blocks: read and check every chunk table entry. */
static int load_chunks(struct mre_rd *rd, struct mre_image *img, struct mre_err *err)
{
	for (unsigned i = 0; i < img->nblocks; i++) {
		struct mre_image_block *ib = &img->blocks[i];
		struct mre_chunk_hdr h = { ib->b.chunk_alg, ib->b.chunk_level, ib->b.chunk_size, ib->b.nchunks };
		uint64_t bytes = ib->b.nchunks * MRE_CHUNK_ENTRY;
		uint8_t *buf;
		int r;

		if (!ib->b.chunked)
			continue;
		buf = malloc(bytes ? bytes : 1);
		ib->chunks = calloc(ib->b.nchunks ? ib->b.nchunks : 1, sizeof(*ib->chunks));
		if (!buf || !ib->chunks) {
			free(buf);
			return mre_err_set(err, -ENOMEM, "out of memory for the chunk table of '%s'", ib->b.id);
		}
		r = mre_rd_pread(rd, buf, bytes, ib->b.pages_offset + MRE_CHUNK_HDR, "chunk table", err);
		/*
		 * A chunk that compression does not make smaller is stored raw,
		 * so compressed bytes never exceed the chunk's size; every
		 * reader sizes its buffer (one chunk plus 4 KiB) on that.
		 */
		if (!r)
			r = mre_chunk_entries_decode(buf, ib->b.pages_offset, &h, ib->b.used_length, img->stream_end,
						     img->data_end, ib->b.chunk_size, ib->chunks, err);
		free(buf);
		if (r)
			return mre_err_prefix(err, "RAM block '%s'", ib->b.id);
	}
	return 0;
}

int mre_image_load(const struct mre_src *src, uint64_t stream_offset, unsigned flags,
		   struct mre_image **out, struct mre_err *err)
{
	static const struct mre_walk_ops ops = {
		.elem = on_elem,
		.block = on_block,
		.page = on_page,
	};
	struct mre_image *img = calloc(1, sizeof(*img));
	struct mre_walk w;
	struct mre_rd rd;
	struct load_ctx c = { .img = img, .rd = &rd, .w = &w, .flags = flags };
	int r;

	*out = NULL;
	if (!img)
		return mre_err_set(err, -ENOMEM, "out of memory");
	mre_walk_init(&w);
	r = mre_rd_init(&rd, src, stream_offset, err);
	if (!r)
		r = mre_walk_run(&w, &rd, &ops, &c, err);
	if (!r) {
		img->file_size = src->size;
		img->stream_offset = w.stream_offset;
		img->config_end = w.config_end;
		img->cfg = w.cfg;
		img->page_size = w.page_size;
		img->mapped_ram = w.mapped_ram;
		img->ram_seen = w.ram_seen;
		img->ram_section_id = w.ram_section_id;
		img->ram_total = w.ram_total;
		img->eof_offset = w.eof_offset;
		img->has_vmdesc = w.has_vmdesc;
		img->vmdesc_offset = w.vmdesc_offset;
		img->vmdesc_len = w.vmdesc_len;
		img->stream_end = w.end;
		img->compressed = w.compressed;
		img->data_end = src->size;
		if (!(flags & MRE_IMAGE_STREAM_ONLY))
			r = load_trailer(&rd, img, err);
		if (!r && img->compressed)
			r = load_chunks(&rd, img, err);
	}
	if (!r) {
		if (!w.mapped_ram)
			for (unsigned i = 0; i < img->nblocks; i++)
				img->blocks[i].present = mre_sbitmap_count(&c.seq[i]);
	}
	for (unsigned i = 0; c.seq && i < img->nblocks; i++)
		mre_sbitmap_free(&c.seq[i]);
	free(c.seq);
	mre_rd_free(&rd);
	mre_walk_free(&w);
	if (r) {
		mre_image_free(img);
		return r;
	}
	for (unsigned i = 0; i < img->nblocks; i++)
		img->blocks[i].zero = img->blocks[i].npages - img->blocks[i].present;
	*out = img;
	return 0;
}
