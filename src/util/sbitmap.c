/* SPDX-License-Identifier: MIT */
/* sbitmap.c: two-level bitmap with leaves allocated on first set. */
#include "util/sbitmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LEAF_WORDS 8192u              /* 64 KiB */
#define LEAF_BITS (LEAF_WORDS * 64u)

int mre_sbitmap_init(struct mre_sbitmap *s, uint64_t nbits)
{
	s->nbits = nbits;
	s->nleaves = (nbits + LEAF_BITS - 1) / LEAF_BITS;
	s->leaves = calloc(s->nleaves ? s->nleaves : 1, sizeof(*s->leaves));
	return s->leaves ? 0 : -ENOMEM;
}

void mre_sbitmap_free(struct mre_sbitmap *s)
{
	for (uint64_t i = 0; s->leaves && i < s->nleaves; i++)
		free(s->leaves[i]);
	free(s->leaves);
	memset(s, 0, sizeof(*s));
}

int mre_sbitmap_set(struct mre_sbitmap *s, uint64_t i)
{
	uint64_t **leaf = &s->leaves[i / LEAF_BITS], b = i % LEAF_BITS;

	if (!*leaf && !(*leaf = calloc(LEAF_WORDS, sizeof(uint64_t))))
		return -ENOMEM;
	(*leaf)[b / 64] |= (uint64_t)1 << (b % 64);
	return 0;
}

void mre_sbitmap_clear(struct mre_sbitmap *s, uint64_t i)
{
	uint64_t *leaf = s->leaves[i / LEAF_BITS], b = i % LEAF_BITS;

	if (leaf)
		leaf[b / 64] &= ~((uint64_t)1 << (b % 64));
}

bool mre_sbitmap_test(const struct mre_sbitmap *s, uint64_t i)
{
	const uint64_t *leaf = s->leaves[i / LEAF_BITS], b = i % LEAF_BITS;

	return leaf && (leaf[b / 64] >> (b % 64) & 1);
}

uint64_t mre_sbitmap_count(const struct mre_sbitmap *s)
{
	uint64_t n = 0;

	for (uint64_t l = 0; l < s->nleaves; l++)
		for (unsigned w = 0; s->leaves[l] && w < LEAF_WORDS; w++)
			n += (uint64_t)__builtin_popcountll(s->leaves[l][w]);
	return n;
}
