/* SPDX-License-Identifier: MIT */
/* size.c: parsing and printing of byte sizes; pure functions. */
#include "util/size.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mre_parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || *end || end == s)
		return -EINVAL;
	/* strtoull(..., 0) would take a leading 0 as octal; refuse that form */
	if (s[0] == '0' && s[1] && s[1] != 'x' && s[1] != 'X')
		return -EINVAL;
	*out = v;
	return 0;
}

static int suffix_shift(char c)
{
	switch (tolower((unsigned char)c)) {
	case 'b': return 0;
	case 'k': return 10;
	case 'm': return 20;
	case 'g': return 30;
	case 't': return 40;
	case 'p': return 50;
	case 'e': return 60;
	}
	return -1;
}

int mre_parse_size(const char *s, uint64_t *out)
{
	const char *p = s;
	uint64_t ip = 0;
	double frac = 0;
	int shift = 0, digits = 0, fdigits = 0;

	if (!s || !*s)
		return -EINVAL;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		/* hexadecimal: no suffix, no fraction */
		return mre_parse_u64(s, out);
	}
	for (; isdigit((unsigned char)*p); p++, digits++) {
		uint64_t d = (uint64_t)(*p - '0');

		if (ip > (UINT64_MAX - d) / 10)
			return -ERANGE;
		ip = ip * 10 + d;
	}
	if (!digits)
		return -EINVAL;
	if (*p == '.') {
		double scale = 0.1;

		for (p++; isdigit((unsigned char)*p); p++, fdigits++) {
			frac += (*p - '0') * scale;
			scale /= 10;
		}
		if (!fdigits)
			return -EINVAL;
	}
	if (*p) {
		shift = suffix_shift(*p);
		if (shift < 0 || p[1])
			return -EINVAL;
	}
	if (fdigits && shift == 0)
		return -EINVAL; /* QEMU: fractions need a unit above bytes */
	if (shift && ip > (UINT64_MAX >> shift))
		return -ERANGE;
	{
		uint64_t whole = ip << shift;
		uint64_t part = (uint64_t)llround(frac * (double)(1ULL << shift));

		if (whole + part < whole)
			return -ERANGE;
		*out = whole + part;
	}
	return 0;
}

const char *mre_fmt_size(uint64_t v, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double d = (double)v;
	int u = 0;

	if (v < 1024) {
		snprintf(buf, len, "%llu B", (unsigned long long)v);
		return buf;
	}
	while (d >= 1024 && u < 6) {
		d /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", d, units[u]);
	return buf;
}
