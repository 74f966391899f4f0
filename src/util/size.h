/* SPDX-License-Identifier: MIT */
/*
 * size.h: sizes in QEMU's syntax (binary suffixes B/K/M/G/T/P/E, decimal
 * fractions only with a suffix above B, hexadecimal without suffix) and
 * human-readable formatting.
 */
#ifndef MRE_UTIL_SIZE_H
#define MRE_UTIL_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* 0 on success, -EINVAL for bad syntax, -ERANGE for overflow. */
int mre_parse_size(const char *s, uint64_t *out);

/* Plain unsigned decimal (or 0x-hex) integer, whole string. */
int mre_parse_u64(const char *s, uint64_t *out);

/* "4.0 GiB", "512 B": writes into @buf and returns it. */
const char *mre_fmt_size(uint64_t v, char *buf, size_t len);

#endif
