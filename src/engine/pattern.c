/* SPDX-License-Identifier: MIT */
/*
 * pattern.c: the page-mix generator. Run boundaries and kinds come from a
 * hash of (seed, run index) and the bytes of a page from a hash of (seed,
 * page index), so any slice can be generated without the pages before it.
 */
#include "engine/pattern.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define RUN_PAGES 64u  /* runs are 1..64 pages inside aligned 64-page windows */

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

int mre_pattern_parse_mix(const char *s, struct mre_pattern_mix *mix, struct mre_err *err)
{
	if (sscanf(s, "%u,%u,%u", &mix->zero, &mix->repeat, &mix->random) != 3 ||
	    mix->zero + mix->repeat + mix->random != 100)
		return mre_err_set(err, -EINVAL,
				   "page mix '%s' must be ZERO,REPEAT,RANDOM percentages summing to 100", s);
	return 0;
}

/* Kind of page @p: 0 zero, 1 repeated byte, 2 random. A 64-page window is
 * cut at one point into two runs of different kinds. */
static unsigned page_kind(uint64_t p, uint64_t seed, const struct mre_pattern_mix *mix)
{
	uint64_t w = p / RUN_PAGES, h = mix64(seed ^ mix64(w + 0x9e3779b97f4a7c15ULL));
	unsigned cut = (unsigned)(h % RUN_PAGES) + 1, pick;

	if (p % RUN_PAGES >= cut)
		h = mix64(h);
	pick = (unsigned)((h >> 8) % 100);
	if (pick < mix->zero)
		return 0;
	return pick < mix->zero + mix->repeat ? 1 : 2;
}

void mre_pattern_fill(uint8_t *buf, uint64_t first, uint64_t npages, uint64_t page_size,
		      uint64_t seed, const struct mre_pattern_mix *mix)
{
	for (uint64_t i = 0; i < npages; i++) {
		uint64_t p = first + i, *w = (uint64_t *)(buf + i * page_size);
		uint64_t s = mix64(seed * 0x2545f4914f6cdd1dULL + p);

		switch (page_kind(p, seed, mix)) {
		case 0:
			memset(w, 0, page_size);
			break;
		case 1:
			memset(w, (int)(s % 255) + 1, page_size);
			break;
		default:
			/* xorshift64*: fast enough to fill GiBs in a second */
			for (uint64_t j = 0; j < page_size / 8; j++) {
				s ^= s >> 12;
				s ^= s << 25;
				s ^= s >> 27;
				w[j] = s * 0x2545f4914f6cdd1dULL;
			}
			if (!w[0] && !w[1])
				w[0] = 1; /* keep the page recognisably non-zero */
		}
	}
}
