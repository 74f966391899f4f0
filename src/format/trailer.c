/* SPDX-License-Identifier: MIT */
/* trailer.c: encoding and strict decoding of the checksum trailer. */
#include "format/trailer.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"
#include "util/crc32c.h"

uint32_t mre_trailer_fold(uint32_t acc, uint32_t index_in_chunk, uint32_t page_crc)
{
	uint8_t b[8];

	mre_put_le32(b, index_in_chunk);
	mre_put_le32(b + 4, page_crc);
	return mre_crc32c(acc, b, sizeof(b));
}

void mre_trailer_encode(const struct mre_trailer *t, struct mre_wbuf *wb)
{
	size_t start = wb->len;
	uint32_t crc;

	mre_wbuf_put(wb, MRE_TRAILER_MAGIC, 8);
	mre_wbuf_le32(wb, 1);
	mre_wbuf_le32(wb, t->flags);
	mre_wbuf_le64(wb, t->stream_offset);
	mre_wbuf_le64(wb, t->stream_end);
	mre_wbuf_le32(wb, t->algorithm);
	mre_wbuf_le32(wb, t->chunk_pages);
	mre_wbuf_le32(wb, t->meta_crc);
	mre_wbuf_le32(wb, t->nblocks);
	for (unsigned i = 0; i < t->nblocks; i++) {
		const struct mre_trailer_block *b = &t->blocks[i];

		mre_wbuf_cstr8(wb, b->id);
		mre_wbuf_le64(wb, b->npages);
		for (uint64_t c = 0; (t->flags & MRE_TRAILER_F_PAGES) && c < b->nchunks; c++)
			mre_wbuf_le32(wb, b->crc[c]);
	}
	if (mre_wbuf_err(wb))
		return;
	crc = mre_crc32c(0, wb->data + start, wb->len - start);
	mre_wbuf_le32(wb, crc);
	mre_wbuf_le64(wb, wb->len - start + 8 + 8);
	mre_wbuf_put(wb, MRE_TRAILER_DONE, 8);
}

uint64_t mre_trailer_length(const uint8_t tail[16])
{
	if (memcmp(tail + 8, MRE_TRAILER_DONE, 8))
		return 0;
	return mre_get_le64(tail);
}

void mre_trailer_free(struct mre_trailer *t)
{
	for (unsigned i = 0; t->blocks && i < t->nblocks; i++)
		free(t->blocks[i].crc);
	free(t->blocks);
	t->blocks = NULL;
	t->nblocks = 0;
}

static int terr(struct mre_err *err, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int terr(struct mre_err *err, uint64_t off, const char *fmt, ...)
{
	char msg[MRE_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return mre_err_set(err, MRE_EFORMAT, "offset 0x%llx: trailer: %s", (unsigned long long)off, msg);
}

#define TERR(at, ...) terr(err, base + (at), __VA_ARGS__)

int mre_trailer_decode(const uint8_t *buf, size_t len, uint64_t base, struct mre_trailer *t,
		       struct mre_err *err)
{
	size_t pos = 48, body;
	int r;

	memset(t, 0, sizeof(*t));
	if (len < 48 + 4 + MRE_TRAILER_END || len > MRE_TRAILER_MAX)
		return TERR(0, "length %zu out of range", len);
	if (memcmp(buf, MRE_TRAILER_MAGIC, 8))
		return TERR(0, "bad magic");
	body = len - 4 - MRE_TRAILER_END;
	if (mre_get_le64(buf + len - MRE_TRAILER_END) != len)
		return TERR(len - MRE_TRAILER_END, "recorded length does not match");
	if (mre_crc32c(0, buf, body) != mre_get_le32(buf + body))
		return TERR(body, "checksum mismatch: the trailer itself is corrupt");
	t->version = mre_get_le32(buf + 8);
	t->flags = mre_get_le32(buf + 12);
	t->stream_offset = mre_get_le64(buf + 16);
	t->stream_end = mre_get_le64(buf + 24);
	t->algorithm = mre_get_le32(buf + 32);
	t->chunk_pages = mre_get_le32(buf + 36);
	t->meta_crc = mre_get_le32(buf + 40);
	t->nblocks = mre_get_le32(buf + 44);
	if (t->version != 1)
		return TERR(8, "version %u not supported (expected 1)", t->version);
	if (t->algorithm != MRE_TRAILER_CRC32C)
		return TERR(32, "checksum algorithm %u not supported", t->algorithm);
	if (!t->chunk_pages || t->chunk_pages > (1u << 20))
		return TERR(36, "chunk of %u pages out of range", t->chunk_pages);
	if (t->nblocks > 65536 || t->nblocks > body)
		return TERR(44, "%u blocks is too many", t->nblocks);
	t->blocks = calloc(t->nblocks ? t->nblocks : 1, sizeof(*t->blocks));
	if (!t->blocks)
		return mre_err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < t->nblocks; i++) {
		struct mre_trailer_block *b = &t->blocks[i];
		size_t idlen;

		if (pos + 1 > body || (idlen = buf[pos]) == 0 || pos + 1 + idlen + 8 > body) {
			r = TERR(pos, "block %u entry truncated", i);
			goto fail;
		}
		memcpy(b->id, buf + pos + 1, idlen);
		b->id[idlen] = 0;
		pos += 1 + idlen;
		b->npages = mre_get_le64(buf + pos);
		pos += 8;
		b->nchunks = (b->npages + t->chunk_pages - 1) / t->chunk_pages;
		if (!(t->flags & MRE_TRAILER_F_PAGES))
			continue;
		if (b->nchunks > (body - pos) / 4) {
			r = TERR(pos, "block '%s': %llu checksums do not fit", b->id, (unsigned long long)b->nchunks);
			goto fail;
		}
		b->crc = malloc((b->nchunks ? b->nchunks : 1) * 4);
		if (!b->crc) {
			r = mre_err_set(err, -ENOMEM, "out of memory");
			goto fail;
		}
		for (uint64_t c = 0; c < b->nchunks; c++, pos += 4)
			b->crc[c] = mre_get_le32(buf + pos);
	}
	if (pos != body) {
		r = TERR(pos, "%zu unexpected bytes", body - pos);
		goto fail;
	}
	return 0;
fail:
	mre_trailer_free(t);
	return r;
}
