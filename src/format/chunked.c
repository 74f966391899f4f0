/* SPDX-License-Identifier: MIT */
/* chunked.c: the compressed variant's chunk table: encoding and checks. */
#include "format/chunked.h"

#include <string.h>

#include "util/bytes.h"

#define OFF(x) ((unsigned long long)(x))

const char *mre_chunk_alg_name(uint32_t alg)
{
	switch (alg) {
	case MRE_CHUNK_ZSTD: return "zstd";
	case MRE_CHUNK_LZ4: return "lz4";
	}
	return "unknown";
}

void mre_chunk_table_encode(const struct mre_chunk_hdr *h, const struct mre_chunk *c,
			    struct mre_wbuf *wb)
{
	mre_wbuf_put(wb, MRE_CHUNK_MAGIC, 8);
	mre_wbuf_le32(wb, h->alg);
	mre_wbuf_le32(wb, h->level);
	mre_wbuf_le64(wb, h->chunk_size);
	mre_wbuf_le64(wb, h->nchunks);
	mre_wbuf_le64(wb, 0);
	for (uint64_t i = 0; i < h->nchunks; i++) {
		mre_wbuf_le64(wb, c ? c[i].offset : 0);
		mre_wbuf_le32(wb, c ? c[i].len : 0);
		mre_wbuf_le32(wb, c ? c[i].flags : 0);
		mre_wbuf_le32(wb, c ? c[i].crc : 0);
		mre_wbuf_le32(wb, 0);
	}
}

int mre_chunk_hdr_decode(const uint8_t *buf, uint64_t at, uint64_t used_length, uint64_t page_size,
			 struct mre_chunk_hdr *h, struct mre_err *err)
{
	if (memcmp(buf, MRE_CHUNK_MAGIC, 8))
		return mre_err_set(err, MRE_EFORMAT, "offset 0x%llx: chunk table: bad magic", OFF(at));
	h->alg = mre_get_le32(buf + 8);
	h->level = mre_get_le32(buf + 12);
	h->chunk_size = mre_get_le64(buf + 16);
	h->nchunks = mre_get_le64(buf + 24);
	if (h->alg != MRE_CHUNK_ZSTD && h->alg != MRE_CHUNK_LZ4)
		return mre_err_set(err, MRE_EFORMAT, "offset 0x%llx: chunk table: unknown algorithm %u",
				   OFF(at + 8), h->alg);
	if (!mre_is_pow2(h->chunk_size) || h->chunk_size < MRE_CHUNK_MIN || h->chunk_size > MRE_CHUNK_MAX ||
	    h->chunk_size % page_size)
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x%llx: chunk table: chunk size %llu is not a power of two of 64 KiB..16 MiB",
				   OFF(at + 16), OFF(h->chunk_size));
	if (h->nchunks != (used_length + h->chunk_size - 1) / h->chunk_size)
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x%llx: chunk table: %llu chunks, but the block needs %llu",
				   OFF(at + 24), OFF(h->nchunks),
				   OFF((used_length + h->chunk_size - 1) / h->chunk_size));
	return 0;
}

int mre_chunk_entries_decode(const uint8_t *buf, uint64_t at, const struct mre_chunk_hdr *h,
			     uint64_t used_length, uint64_t data_start, uint64_t file_size,
			     uint64_t max_stored, struct mre_chunk *out, struct mre_err *err)
{
	for (uint64_t i = 0; i < h->nchunks; i++) {
		const uint8_t *e = buf + i * MRE_CHUNK_ENTRY;
		uint64_t eat = at + MRE_CHUNK_HDR + i * MRE_CHUNK_ENTRY, bytes = mre_chunk_bytes(h, used_length, i);
		struct mre_chunk *c = &out[i];

		c->offset = mre_get_le64(e);
		c->len = mre_get_le32(e + 8);
		c->flags = mre_get_le32(e + 12);
		c->crc = mre_get_le32(e + 16);
		if (c->flags == MRE_CHUNK_F_ZERO) {
			if (c->offset || c->len)
				return mre_err_set(err, MRE_EFORMAT,
						   "offset 0x%llx: chunk %llu: a zero chunk with stored bytes", OFF(eat), OFF(i));
			continue;
		}
		if (c->flags > MRE_CHUNK_F_RAW)
			return mre_err_set(err, MRE_EFORMAT, "offset 0x%llx: chunk %llu: unknown flags 0x%x",
					   OFF(eat), OFF(i), c->flags);
		if (!c->len || (c->flags == MRE_CHUNK_F_RAW ? c->len != bytes : c->len > max_stored))
			return mre_err_set(err, MRE_EFORMAT, "offset 0x%llx: chunk %llu: stored length %u is invalid",
					   OFF(eat), OFF(i), c->len);
		if (c->offset < data_start || c->offset > file_size || c->len > file_size - c->offset)
			return mre_err_set(err, MRE_EFORMAT,
					   "offset 0x%llx: chunk %llu: stored at 0x%llx..0x%llx, outside the data area (0x%llx..0x%llx)",
					   OFF(eat), OFF(i), OFF(c->offset), OFF(c->offset + c->len), OFF(data_start),
					   OFF(file_size));
	}
	return 0;
}
