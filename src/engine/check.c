/* SPDX-License-Identifier: MIT */
/* check.c: checksum and decompression checks; pure computation plus reads of metadata. */
#include "engine/check.h"

#include <errno.h>
#include <lz4.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "format/qemu.h"
#include "io/file.h"
#include "util/bytes.h"
#include "util/crc32c.h"
#include "util/zero.h"

int mre_check_chunks(const struct mre_image *img, unsigned bi, uint64_t c0, uint64_t c1,
		     const uint8_t *pages, struct mre_err *err)
{
	const struct mre_image_block *ib = &img->blocks[bi];
	const struct mre_trailer_block *tb = &img->trailer.blocks[bi];
	uint64_t cp = img->trailer.chunk_pages, ps = img->page_size;

	for (uint64_t c = c0; c < c1; c++) {
		uint64_t first = c * cp, end = MRE_MIN(first + cp, ib->npages);
		uint32_t v = 0;

		for (uint64_t p = first; p < end; p++)
			if (mre_bit_test(ib->bitmap, p))
				v = mre_trailer_fold(v, (uint32_t)(p - first),
						     mre_crc32c(0, pages + (p - c0 * cp) * ps, ps));
		if (v != tb->crc[c])
			return mre_err_set(err, MRE_ECHECKSUM,
					   "RAM block '%s': pages %llu..%llu (file offset 0x%llx..0x%llx): checksum mismatch, the data is corrupt",
					   ib->b.id, (unsigned long long)first, (unsigned long long)end - 1,
					   (unsigned long long)(ib->b.pages_offset + first * ps),
					   (unsigned long long)(ib->b.pages_offset + end * ps));
	}
	return 0;
}

static int crc_range(int fd, uint64_t off, uint64_t len, uint32_t *crc, uint8_t *buf, size_t cap)
{
	while (len) {
		size_t k = (size_t)MRE_MIN(len, (uint64_t)cap);
		int r = mre_pread_all(fd, buf, k, off);

		if (r)
			return r;
		*crc = mre_crc32c(*crc, buf, k);
		off += k;
		len -= k;
	}
	return 0;
}

int mre_check_meta(const struct mre_image *img, int fd, struct mre_err *err)
{
	size_t cap = 1 << 20;
	uint8_t *buf = malloc(cap);
	uint64_t pos = img->stream_offset;
	uint32_t crc = 0;
	int r = 0;

	if (!buf)
		return mre_err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < img->nblocks && !r; i++) {
		const struct mre_block *b = &img->blocks[i].b;
		uint64_t meta_end = b->ignored ? b->header_offset + MRE_MR_HEADER_SIZE
					       : b->bitmap_offset + mre_bitmap_bytes(img->blocks[i].npages);

		/* everything from the previous block's end up to this block's bitmap end */
		r = crc_range(fd, pos, meta_end - pos, &crc, buf, cap);
		if (b->ignored)
			pos = meta_end;
		else if (b->chunked) {
			uint64_t tlen = mre_chunk_table_bytes(b->nchunks);

			if (!r)
				r = crc_range(fd, b->pages_offset, tlen, &crc, buf, cap);
			pos = b->pages_offset + tlen;
		} else {
			pos = b->pages_offset + b->used_length;
		}
	}
	if (!r)
		r = crc_range(fd, pos, img->stream_end - pos, &crc, buf, cap);
	free(buf);
	if (r)
		return mre_err_sys(err, r, "reading the stream's metadata");
	if (crc != img->trailer.meta_crc)
		return mre_err_set(err, MRE_ECHECKSUM,
				   "the stream's metadata (headers, bitmaps, device state) does not match its checksum");
	return 0;
}

int mre_chunk_unpack(const struct mre_image *img, unsigned bi, uint64_t ci, const uint8_t *stored,
		     uint8_t *out, struct mre_err *err)
{
	const struct mre_image_block *ib = &img->blocks[bi];
	const struct mre_chunk *c = &ib->chunks[ci];
	struct mre_chunk_hdr h = { ib->b.chunk_alg, ib->b.chunk_level, ib->b.chunk_size, ib->b.nchunks };
	uint64_t bytes = mre_chunk_bytes(&h, ib->b.used_length, ci);

	if (c->flags == MRE_CHUNK_F_ZERO || !stored) {
		memset(out, 0, bytes);
	} else if (c->flags == MRE_CHUNK_F_RAW) {
		memcpy(out, stored, bytes);
	} else if (ib->b.chunk_alg == MRE_CHUNK_ZSTD) {
		size_t n = ZSTD_decompress(out, bytes, stored, c->len);

		if (ZSTD_isError(n) || n != bytes)
			return mre_err_set(err, MRE_ECHECKSUM,
					   "RAM block '%s': chunk %llu (file offset 0x%llx): zstd data is corrupt",
					   ib->b.id, (unsigned long long)ci, (unsigned long long)c->offset);
	} else {
		int n = LZ4_decompress_safe((const char *)stored, (char *)out, (int)c->len, (int)bytes);

		if (n < 0 || (uint64_t)n != bytes)
			return mre_err_set(err, MRE_ECHECKSUM,
					   "RAM block '%s': chunk %llu (file offset 0x%llx): lz4 data is corrupt",
					   ib->b.id, (unsigned long long)ci, (unsigned long long)c->offset);
	}
	if (mre_crc32c(0, out, bytes) != c->crc)
		return mre_err_set(err, MRE_ECHECKSUM,
				   "RAM block '%s': chunk %llu (pages %llu..%llu, file offset 0x%llx): checksum mismatch, the data is corrupt",
				   ib->b.id, (unsigned long long)ci,
				   (unsigned long long)(ci * ib->b.chunk_size / img->page_size),
				   (unsigned long long)((ci * ib->b.chunk_size + bytes) / img->page_size - 1),
				   (unsigned long long)c->offset);
	/*
	 * The writer sets a page's bit exactly when the page holds data. A
	 * page with data and no bit means the bitmap (which no chunk CRC
	 * covers) is corrupt: readers that go by the chunk (restore) and
	 * readers that go by the bitmap (extract) would disagree.
	 */
	if (ib->bitmap && c->flags != MRE_CHUNK_F_ZERO && stored) {
		uint64_t first = ci * ib->b.chunk_size / img->page_size;

		for (uint64_t p = 0; p < bytes / img->page_size; p++)
			if (!mre_bit_test(ib->bitmap, first + p) &&
			    !mre_is_zero(out + p * img->page_size, img->page_size))
				return mre_err_set(err, MRE_EFORMAT,
						   "RAM block '%s': page %llu holds data in chunk %llu but its bitmap bit is clear: the bitmap is corrupt",
						   ib->b.id, (unsigned long long)(first + p), (unsigned long long)ci);
	}
	return 0;
}
