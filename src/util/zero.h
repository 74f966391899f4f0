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

/* @p is 8-byte aligned and @len a multiple of 64 (any page size is). */
static inline bool mre_is_zero(const void *p, size_t len)
{
	const uint64_t *w = p;

	/* data pages usually differ from zero in their first bytes */
	if (w[0] | w[1])
		return false;
	for (size_t i = 0; i < len / 8; i += 8) {
		uint64_t acc = w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] |
			       w[i + 7];

		if (acc)
			return false;
	}
	return true;
}

#endif
