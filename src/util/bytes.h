/* SPDX-License-Identifier: MIT */
/*
 * bytes.h: unaligned big- and little-endian loads/stores, and small
 * arithmetic helpers that must not overflow silently.
 */
#ifndef MRE_UTIL_BYTES_H
#define MRE_UTIL_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MRE_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MRE_MIN(a, b) ((a) < (b) ? (a) : (b))
#define MRE_MAX(a, b) ((a) > (b) ? (a) : (b))

static inline uint16_t mre_get_be16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t mre_get_be32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline uint64_t mre_get_be64(const void *p)
{
	const uint8_t *b = p;
	return (uint64_t)mre_get_be32(b) << 32 | mre_get_be32(b + 4);
}

static inline uint32_t mre_get_le32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

static inline uint64_t mre_get_le64(const void *p)
{
	const uint8_t *b = p;
	return (uint64_t)mre_get_le32(b + 4) << 32 | mre_get_le32(b);
}

static inline void mre_put_be16(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = v >> 8;
	b[1] = v;
}

static inline void mre_put_be32(void *p, uint32_t v)
{
	uint8_t *b = p;
	b[0] = v >> 24;
	b[1] = v >> 16;
	b[2] = v >> 8;
	b[3] = v;
}

static inline void mre_put_be64(void *p, uint64_t v)
{
	mre_put_be32(p, v >> 32);
	mre_put_be32((uint8_t *)p + 4, (uint32_t)v);
}

static inline void mre_put_le32(void *p, uint32_t v)
{
	uint8_t *b = p;
	b[0] = v;
	b[1] = v >> 8;
	b[2] = v >> 16;
	b[3] = v >> 24;
}

static inline void mre_put_le64(void *p, uint64_t v)
{
	mre_put_le32(p, (uint32_t)v);
	mre_put_le32((uint8_t *)p + 4, v >> 32);
}

static inline bool mre_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* Round @v up to a multiple of @align (a power of two); false on overflow. */
static inline bool mre_align_up(uint64_t v, uint64_t align, uint64_t *out)
{
	uint64_t r = (v + align - 1) & ~(align - 1);

	if (r < v)
		return false;
	*out = r;
	return true;
}

/* a + b with overflow detection. */
static inline bool mre_add_ok(uint64_t a, uint64_t b, uint64_t *out)
{
	return !__builtin_add_overflow(a, b, out);
}

#endif
