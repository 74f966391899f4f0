/* SPDX-License-Identifier: MIT */
/* wbuf.c: append-only buffer with a sticky out-of-memory flag. */
#include "util/wbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"

void mre_wbuf_init(struct mre_wbuf *wb)
{
	memset(wb, 0, sizeof(*wb));
}

void mre_wbuf_free(struct mre_wbuf *wb)
{
	free(wb->data);
	mre_wbuf_init(wb);
}

void mre_wbuf_reset(struct mre_wbuf *wb)
{
	wb->len = 0;
	wb->oom = false;
}

int mre_wbuf_err(const struct mre_wbuf *wb)
{
	return wb->oom ? -ENOMEM : 0;
}

static uint8_t *grow(struct mre_wbuf *wb, size_t n)
{
	if (wb->oom)
		return NULL;
	if (wb->cap - wb->len < n) {
		size_t ncap = wb->cap ? wb->cap : 256;
		uint8_t *nd;

		while (ncap - wb->len < n) {
			if (ncap > SIZE_MAX / 2) {
				wb->oom = true;
				return NULL;
			}
			ncap *= 2;
		}
		nd = realloc(wb->data, ncap);
		if (!nd) {
			wb->oom = true;
			return NULL;
		}
		wb->data = nd;
		wb->cap = ncap;
	}
	wb->len += n;
	return wb->data + wb->len - n;
}

void mre_wbuf_put(struct mre_wbuf *wb, const void *p, size_t n)
{
	uint8_t *d = grow(wb, n);

	if (d && n)
		memcpy(d, p, n);
}

void mre_wbuf_zero(struct mre_wbuf *wb, size_t n)
{
	uint8_t *d = grow(wb, n);

	if (d)
		memset(d, 0, n);
}

void mre_wbuf_u8(struct mre_wbuf *wb, uint8_t v)
{
	mre_wbuf_put(wb, &v, 1);
}

void mre_wbuf_be16(struct mre_wbuf *wb, uint16_t v)
{
	uint8_t *d = grow(wb, 2);

	if (d)
		mre_put_be16(d, v);
}

void mre_wbuf_be32(struct mre_wbuf *wb, uint32_t v)
{
	uint8_t *d = grow(wb, 4);

	if (d)
		mre_put_be32(d, v);
}

void mre_wbuf_be64(struct mre_wbuf *wb, uint64_t v)
{
	uint8_t *d = grow(wb, 8);

	if (d)
		mre_put_be64(d, v);
}

void mre_wbuf_le32(struct mre_wbuf *wb, uint32_t v)
{
	uint8_t *d = grow(wb, 4);

	if (d)
		mre_put_le32(d, v);
}

void mre_wbuf_le64(struct mre_wbuf *wb, uint64_t v)
{
	uint8_t *d = grow(wb, 8);

	if (d)
		mre_put_le64(d, v);
}

void mre_wbuf_cstr8(struct mre_wbuf *wb, const char *s)
{
	size_t n = strlen(s);

	mre_wbuf_u8(wb, (uint8_t)n);
	mre_wbuf_put(wb, s, n);
}

void mre_wbuf_printf(struct mre_wbuf *wb, const char *fmt, ...)
{
	va_list ap;
	int n;
	uint8_t *d;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		wb->oom = true;
		return;
	}
	d = grow(wb, (size_t)n + 1);
	if (!d)
		return;
	va_start(ap, fmt);
	vsnprintf((char *)d, (size_t)n + 1, fmt, ap);
	va_end(ap);
	wb->len--; /* drop the NUL */
}

void mre_wbuf_json_str(struct mre_wbuf *wb, const char *s)
{
	mre_wbuf_u8(wb, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			mre_wbuf_u8(wb, '\\');
			mre_wbuf_u8(wb, *p);
		} else if (*p < 0x20 || *p > 0x7e) {
			mre_wbuf_printf(wb, "\\u%04x", *p);
		} else {
			mre_wbuf_u8(wb, *p);
		}
	}
	mre_wbuf_u8(wb, '"');
}
