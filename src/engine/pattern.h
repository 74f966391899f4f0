/* SPDX-License-Identifier: MIT */
/*
 * pattern.h: deterministic guest-RAM content for demos, tests and
 * benchmarks: pages that are zero, filled with one repeated non-zero byte,
 * or random, in runs of varied length (1..64 pages), from a fixed seed.
 * The same seed and mix always give the same bytes.
 */
#ifndef MRE_ENGINE_PATTERN_H
#define MRE_ENGINE_PATTERN_H

#include <stdint.h>

#include "util/err.h"

struct mre_pattern_mix {
	unsigned zero;     /* percentages, summing to 100 */
	unsigned repeat;
	unsigned random;
};

/* "Z,R,X" percentages of zero, repeated-byte and random pages. */
int mre_pattern_parse_mix(const char *s, struct mre_pattern_mix *mix, struct mre_err *err);

/*
 * Fill @npages pages of @page_size bytes at @buf. Pages [first, first +
 * npages) of the stream defined by (@seed, @mix) are produced, so a large
 * image can be filled in independent slices (e.g. by several threads).
 */
void mre_pattern_fill(uint8_t *buf, uint64_t first, uint64_t npages, uint64_t page_size,
		      uint64_t seed, const struct mre_pattern_mix *mix);

#endif
