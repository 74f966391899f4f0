/* SPDX-License-Identifier: MIT */
/*
 * rd.h: a bounds-checked, buffered reader over a caller-supplied source.
 *
 * The codec never makes I/O syscalls itself: the caller hands in a struct
 * mre_src whose read() callback reads a file (pread), a pipe (read) or a
 * memory buffer. Every read names what it is reading so that a truncated or
 * malformed input produces "offset 0x...: ..." errors (MRE_EFORMAT).
 *
 * Not thread-safe; one reader per parse.
 */
#ifndef MRE_FORMAT_RD_H
#define MRE_FORMAT_RD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

#define MRE_SIZE_UNKNOWN UINT64_MAX

struct mre_src {
	/*
	 * Read up to @len bytes at absolute offset @off into @buf. Returns the
	 * number of bytes read (0 only at the end of the data) or -errno.
	 * A non-seekable source is only ever asked for the next byte in order.
	 */
	ssize_t (*read)(void *ctx, void *buf, size_t len, uint64_t off);
	void *ctx;
	uint64_t size;  /* total size, or MRE_SIZE_UNKNOWN (pipes) */
	bool seekable;
};

/* A memory buffer as a source (fuzzers, unit tests, in-memory parsing). */
struct mre_memsrc {
	const uint8_t *data;
	size_t len;
};
void mre_src_mem(struct mre_src *src, struct mre_memsrc *mem, const void *data, size_t len);

struct mre_rd {
	struct mre_src src;
	uint8_t *buf;
	size_t cap;       /* allocated bytes */
	size_t max;       /* growth limit for look-ahead (MRE_ELIMIT beyond) */
	size_t head;      /* cursor inside buf */
	size_t tail;      /* end of valid bytes inside buf */
	uint64_t base;    /* absolute offset of buf[0] */
	bool eof;         /* the source reported the end of data */
};

/* Start reading at absolute offset @start. */
int mre_rd_init(struct mre_rd *rd, const struct mre_src *src, uint64_t start, struct mre_err *err);
void mre_rd_free(struct mre_rd *rd);

static inline uint64_t mre_rd_pos(const struct mre_rd *rd)
{
	return rd->base + rd->head;
}

static inline size_t mre_rd_avail(const struct mre_rd *rd)
{
	return rd->tail - rd->head;
}

static inline const uint8_t *mre_rd_ptr(const struct mre_rd *rd)
{
	return rd->buf + rd->head;
}

/*
 * Make at least @n bytes available at the cursor (mre_rd_ptr). Returns 0,
 * MRE_EFORMAT if the data ends first ("truncated"), MRE_ELIMIT if @n is
 * above the look-ahead limit, or -errno from the source.
 */
int mre_rd_need(struct mre_rd *rd, size_t n, const char *what, struct mre_err *err);

/* Like mre_rd_need() but a short result is not an error: returns the number
 * of bytes available (<= @n), or a negative code. */
ssize_t mre_rd_fill(struct mre_rd *rd, size_t n, struct mre_err *err);

/* True when no byte is left at the cursor. */
int mre_rd_at_end(struct mre_rd *rd, struct mre_err *err);

static inline void mre_rd_advance(struct mre_rd *rd, size_t n)
{
	rd->head += n;
}

int mre_rd_u8(struct mre_rd *rd, uint8_t *v, const char *what, struct mre_err *err);
int mre_rd_be16(struct mre_rd *rd, uint16_t *v, const char *what, struct mre_err *err);
int mre_rd_be32(struct mre_rd *rd, uint32_t *v, const char *what, struct mre_err *err);
int mre_rd_be64(struct mre_rd *rd, uint64_t *v, const char *what, struct mre_err *err);
int mre_rd_bytes(struct mre_rd *rd, void *dst, size_t n, const char *what, struct mre_err *err);
/* A counted string (u8 length + bytes); @out gets a NUL-terminated copy.
 * Refuses empty strings and bytes outside printable ASCII. */
int mre_rd_cstr8(struct mre_rd *rd, char out[256], const char *what, struct mre_err *err);

/*
 * Move the cursor to absolute offset @off. Seekable sources jump; other
 * sources may only move forward and discard what lies between.
 */
int mre_rd_seek(struct mre_rd *rd, uint64_t off, const char *what, struct mre_err *err);

/* Read exactly @n bytes at @off straight from the source (seekable only),
 * without moving the cursor. */
int mre_rd_pread(struct mre_rd *rd, void *dst, size_t n, uint64_t off, const char *what,
		 struct mre_err *err);

#endif
