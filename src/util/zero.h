/* SPDX-License-Identifier: MIT */
/*
 * zero.h: is a page all zeros? The save path asks this of every guest page,
 * so it must run at memory bandwidth: 64 bytes per step, OR-accumulated,
 * leaving at the first non-zero block (most data pages end it at once).
 */
#ifndef MRE_UTIL_ZERO_H
#define MRE_UTIL_ZERO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* An 8-byte load from any address (one mov where unaligned loads are
 * allowed): pages in a stream's read buffer are not 8-byte aligned. */
static inline uint64_t mre_zero_ld(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* @p at any alignment; @len a multiple of 64 (any page size is). */
static inline bool mre_is_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	/* data pages usually differ from zero in their first bytes */
	if (mre_zero_ld(b) | mre_zero_ld(b + 8))
		return false;
	for (size_t i = 0; i < len; i += 64) {
		uint64_t acc = mre_zero_ld(b + i) | mre_zero_ld(b + i + 8) | mre_zero_ld(b + i + 16) |
			       mre_zero_ld(b + i + 24) | mre_zero_ld(b + i + 32) | mre_zero_ld(b + i + 40) |
			       mre_zero_ld(b + i + 48) | mre_zero_ld(b + i + 56);

		if (acc)
			return false;
	}
	return true;
}

#endif
