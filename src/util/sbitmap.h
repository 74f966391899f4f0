/* SPDX-License-Identifier: MIT */
/*
 * sbitmap.h: a bitmap whose storage is allocated only where bits are set,
 * in 64 KiB leaves. Used where a file merely *claims* a huge number of
 * pages (a sequential stream's block list): memory then grows with the page
 * records actually present, not with what the header says.
 */
#ifndef MRE_UTIL_SBITMAP_H
#define MRE_UTIL_SBITMAP_H

#include <stdbool.h>
#include <stdint.h>

struct mre_sbitmap {
	uint64_t nbits;
	uint64_t nleaves;
	uint64_t **leaves;
};

/* 0 or -ENOMEM (the leaf table: one pointer per 512 Ki bits). */
int mre_sbitmap_init(struct mre_sbitmap *s, uint64_t nbits);
void mre_sbitmap_free(struct mre_sbitmap *s);
/* 0 or -ENOMEM. */
int mre_sbitmap_set(struct mre_sbitmap *s, uint64_t i);
void mre_sbitmap_clear(struct mre_sbitmap *s, uint64_t i);
bool mre_sbitmap_test(const struct mre_sbitmap *s, uint64_t i);
uint64_t mre_sbitmap_count(const struct mre_sbitmap *s);

#endif
