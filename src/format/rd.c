/* SPDX-License-Identifier: MIT */
/*
 * rd.c: buffered reading with explicit bounds. The buffer only grows when a
 * caller needs a longer contiguous look-ahead (opaque device sections are
 * scanned in place), and never beyond rd->max.
 */
#include "format/rd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"

#define RD_CHUNK (256 * 1024)
#define RD_MAX_DEFAULT (256u * 1024 * 1024)

static ssize_t mem_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct mre_memsrc *m = ctx;

	if (off >= m->len)
		return 0;
	if (len > m->len - off)
		len = m->len - off;
	memcpy(buf, m->data + off, len);
	return (ssize_t)len;
}

void mre_src_mem(struct mre_src *src, struct mre_memsrc *mem, const void *data, size_t len)
{
	mem->data = data;
	mem->len = len;
	src->read = mem_read;
	src->ctx = mem;
	src->size = len;
	src->seekable = true;
}

int mre_rd_init(struct mre_rd *rd, const struct mre_src *src, uint64_t start, struct mre_err *err)
{
	memset(rd, 0, sizeof(*rd));
	rd->src = *src;
	rd->max = RD_MAX_DEFAULT;
	rd->cap = RD_CHUNK;
	rd->buf = malloc(rd->cap);
	if (!rd->buf)
		return mre_err_set(err, -ENOMEM, "out of memory for the read buffer");
	if (!src->seekable && start)
		return mre_rd_seek(rd, start, "start of stream", err);
	rd->base = start;
	return 0;
}

void mre_rd_free(struct mre_rd *rd)
{
	free(rd->buf);
	rd->buf = NULL;
}

static int rd_fill_to(struct mre_rd *rd, size_t n, struct mre_err *err)
{
	if (rd->head + n > rd->cap) {
		/* compact: keep only unread bytes */
		size_t live = rd->tail - rd->head;

		memmove(rd->buf, rd->buf + rd->head, live);
		rd->base += rd->head;
		rd->head = 0;
		rd->tail = live;
		if (n > rd->cap) {
			size_t ncap = rd->cap;
			uint8_t *nb;

			if (n > rd->max)
				return mre_err_set(err, MRE_ELIMIT,
						   "offset 0x%llx: look-ahead of %zu bytes exceeds the %zu-byte limit",
						   (unsigned long long)mre_rd_pos(rd), n, rd->max);
			while (ncap < n)
				ncap *= 2;
			if (ncap > rd->max)
				ncap = rd->max;
			nb = realloc(rd->buf, ncap);
			if (!nb)
				return mre_err_set(err, -ENOMEM, "out of memory for a %zu-byte read buffer", ncap);
			rd->buf = nb;
			rd->cap = ncap;
		}
	}
	while (rd->tail - rd->head < n && !rd->eof) {
		size_t want = rd->cap - rd->tail;
		uint64_t off = rd->base + rd->tail;
		ssize_t r;

		if (rd->src.size != MRE_SIZE_UNKNOWN) {
			if (off >= rd->src.size) {
				rd->eof = true;
				break;
			}
			if (want > rd->src.size - off)
				want = rd->src.size - off;
		}
		r = rd->src.read(rd->src.ctx, rd->buf + rd->tail, want, off);
		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r < 0)
			return mre_err_sys(err, (int)r, "offset 0x%llx: read failed", (unsigned long long)off);
		if (r == 0)
			rd->eof = true;
		rd->tail += (size_t)r;
	}
	return 0;
}

ssize_t mre_rd_fill(struct mre_rd *rd, size_t n, struct mre_err *err)
{
	int r;

	if (mre_rd_avail(rd) >= n)
		return (ssize_t)n;
	r = rd_fill_to(rd, n, err);
	if (r < 0)
		return r;
	return (ssize_t)MRE_MIN(n, mre_rd_avail(rd));
}

int mre_rd_need(struct mre_rd *rd, size_t n, const char *what, struct mre_err *err)
{
	ssize_t got = mre_rd_fill(rd, n, err);

	if (got < 0)
		return (int)got;
	if ((size_t)got < n)
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x%llx: truncated: %s needs %zu bytes, only %zd left",
				   (unsigned long long)mre_rd_pos(rd), what, n, got);
	return 0;
}

int mre_rd_at_end(struct mre_rd *rd, struct mre_err *err)
{
	ssize_t got = mre_rd_fill(rd, 1, err);

	if (got < 0)
		return (int)got;
	return got == 0;
}

int mre_rd_u8(struct mre_rd *rd, uint8_t *v, const char *what, struct mre_err *err)
{
	int r = mre_rd_need(rd, 1, what, err);

	if (r)
		return r;
	*v = rd->buf[rd->head++];
	return 0;
}

int mre_rd_be16(struct mre_rd *rd, uint16_t *v, const char *what, struct mre_err *err)
{
	int r = mre_rd_need(rd, 2, what, err);

	if (r)
		return r;
	*v = mre_get_be16(rd->buf + rd->head);
	rd->head += 2;
	return 0;
}

int mre_rd_be32(struct mre_rd *rd, uint32_t *v, const char *what, struct mre_err *err)
{
	int r = mre_rd_need(rd, 4, what, err);

	if (r)
		return r;
	*v = mre_get_be32(rd->buf + rd->head);
	rd->head += 4;
	return 0;
}

int mre_rd_be64(struct mre_rd *rd, uint64_t *v, const char *what, struct mre_err *err)
{
	int r = mre_rd_need(rd, 8, what, err);

	if (r)
		return r;
	*v = mre_get_be64(rd->buf + rd->head);
	rd->head += 8;
	return 0;
}

int mre_rd_bytes(struct mre_rd *rd, void *dst, size_t n, const char *what, struct mre_err *err)
{
	uint8_t *d = dst;

	/* copy in chunks so that large payloads do not grow the buffer */
	while (n) {
		size_t k = MRE_MIN(n, (size_t)RD_CHUNK);
		int r = mre_rd_need(rd, k, what, err);

		if (r)
			return r;
		memcpy(d, rd->buf + rd->head, k);
		rd->head += k;
		d += k;
		n -= k;
	}
	return 0;
}

int mre_rd_cstr8(struct mre_rd *rd, char out[256], const char *what, struct mre_err *err)
{
	uint64_t at = mre_rd_pos(rd);
	uint8_t len;
	int r;

	r = mre_rd_u8(rd, &len, what, err);
	if (r)
		return r;
	if (len == 0)
		return mre_err_set(err, MRE_EFORMAT, "offset 0x%llx: %s: empty string",
				   (unsigned long long)at, what);
	r = mre_rd_need(rd, len, what, err);
	if (r)
		return r;
	for (unsigned i = 0; i < len; i++) {
		uint8_t c = rd->buf[rd->head + i];

		if (c < 0x20 || c > 0x7e)
			return mre_err_set(err, MRE_EFORMAT,
					   "offset 0x%llx: %s: byte 0x%02x at position %u is not printable ASCII",
					   (unsigned long long)at, what, c, i);
	}
	memcpy(out, rd->buf + rd->head, len);
	out[len] = 0;
	rd->head += len;
	return 0;
}

int mre_rd_seek(struct mre_rd *rd, uint64_t off, const char *what, struct mre_err *err)
{
	uint64_t pos = mre_rd_pos(rd);

	if (off >= rd->base && off <= rd->base + rd->tail) {
		rd->head = (size_t)(off - rd->base);
		return 0;
	}
	if (rd->src.seekable) {
		if (rd->src.size != MRE_SIZE_UNKNOWN && off > rd->src.size)
			return mre_err_set(err, MRE_EFORMAT,
					   "offset 0x%llx: %s at 0x%llx lies beyond the end of the file (0x%llx)",
					   (unsigned long long)pos, what, (unsigned long long)off,
					   (unsigned long long)rd->src.size);
		rd->base = off;
		rd->head = rd->tail = 0;
		rd->eof = false;
		return 0;
	}
	if (off < pos)
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x%llx: %s at 0x%llx would need seeking backwards in a stream",
				   (unsigned long long)pos, what, (unsigned long long)off);
	while (mre_rd_pos(rd) < off) {
		size_t k = (size_t)MRE_MIN(off - mre_rd_pos(rd), (uint64_t)RD_CHUNK);
		int r = mre_rd_need(rd, k, what, err);

		if (r)
			return r;
		rd->head += k;
	}
	return 0;
}

int mre_rd_pread(struct mre_rd *rd, void *dst, size_t n, uint64_t off, const char *what,
		 struct mre_err *err)
{
	uint8_t *d = dst;
	size_t done = 0;

	if (!rd->src.seekable)
		return mre_err_set(err, -ESPIPE, "%s: random access needs a seekable file", what);
	if (rd->src.size != MRE_SIZE_UNKNOWN && (off > rd->src.size || n > rd->src.size - off))
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x%llx: truncated: %s needs %zu bytes, the file ends at 0x%llx",
				   (unsigned long long)off, what, n, (unsigned long long)rd->src.size);
	while (done < n) {
		ssize_t r = rd->src.read(rd->src.ctx, d + done, n - done, off + done);

		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r < 0)
			return mre_err_sys(err, (int)r, "offset 0x%llx: reading %s failed",
					   (unsigned long long)(off + done), what);
		if (r == 0)
			return mre_err_set(err, MRE_EFORMAT,
					   "offset 0x%llx: truncated: %s needs %zu bytes, only %zu present",
					   (unsigned long long)off, what, n, done);
		done += (size_t)r;
	}
	return 0;
}
