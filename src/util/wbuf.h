/* SPDX-License-Identifier: MIT */
/*
 * wbuf.h: a growable byte buffer that encoders append to. An allocation
 * failure is sticky: the buffer remembers it and mre_wbuf_err() reports it
 * once at the end, so encoders can append without checking every call.
 */
#ifndef MRE_UTIL_WBUF_H
#define MRE_UTIL_WBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mre_wbuf {
	uint8_t *data;
	size_t len;
	size_t cap;
	bool oom;
};

void mre_wbuf_init(struct mre_wbuf *wb);
void mre_wbuf_free(struct mre_wbuf *wb);
void mre_wbuf_reset(struct mre_wbuf *wb);
/* 0, or -ENOMEM if any append failed since init/reset. */
int mre_wbuf_err(const struct mre_wbuf *wb);

void mre_wbuf_put(struct mre_wbuf *wb, const void *p, size_t n);
void mre_wbuf_zero(struct mre_wbuf *wb, size_t n);
void mre_wbuf_u8(struct mre_wbuf *wb, uint8_t v);
void mre_wbuf_be16(struct mre_wbuf *wb, uint16_t v);
void mre_wbuf_be32(struct mre_wbuf *wb, uint32_t v);
void mre_wbuf_be64(struct mre_wbuf *wb, uint64_t v);
void mre_wbuf_le32(struct mre_wbuf *wb, uint32_t v);
void mre_wbuf_le64(struct mre_wbuf *wb, uint64_t v);
/* u8 length + bytes; the caller guarantees strlen(s) is 1..255. */
void mre_wbuf_cstr8(struct mre_wbuf *wb, const char *s);
void mre_wbuf_printf(struct mre_wbuf *wb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A JSON string literal (quotes included) with everything outside
 * printable ASCII escaped as \uXXXX. */
void mre_wbuf_json_str(struct mre_wbuf *wb, const char *s);

#endif
