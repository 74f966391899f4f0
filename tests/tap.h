/* SPDX-License-Identifier: MIT */
/*
 * tap.h: a tiny TAP producer for C unit tests (run by automake's TAP
 * driver). Comparisons print both values on failure.
 */
#ifndef MRE_TESTS_TAP_H
#define MRE_TESTS_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed, tap_planned;

static inline void tap_plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
}

static inline void tap_skip_all(const char *reason)
{
	printf("1..0 # SKIP %s\n", reason);
	exit(0);
}

static inline void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static inline bool ok_(bool cond, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static inline bool ok_(bool cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", cond ? "ok" : "not ok", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return cond;
}

#define ok(cond, ...) ok_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...)                                                          \
	do {                                                                            \
		long long g_ = (long long)(got), w_ = (long long)(want);                \
		if (!ok(g_ == w_, __VA_ARGS__))                                          \
			diag("     got: %lld\n#     expected: %lld", g_, w_);             \
	} while (0)

#define is_u64(got, want, ...)                                                          \
	do {                                                                            \
		uint64_t g_ = (uint64_t)(got), w_ = (uint64_t)(want);                   \
		if (!ok(g_ == w_, __VA_ARGS__))                                          \
			diag("     got: 0x%" PRIx64 "\n#     expected: 0x%" PRIx64, g_, w_); \
	} while (0)

#define is_str(got, want, ...)                                                          \
	do {                                                                            \
		const char *g_ = (got), *w_ = (want);                                   \
		if (!ok(g_ && w_ && !strcmp(g_, w_), __VA_ARGS__))                       \
			diag("     got: '%s'\n#     expected: '%s'", g_ ? g_ : "(null)",   \
			     w_ ? w_ : "(null)");                                          \
	} while (0)

/* Substring match, for error messages. */
#define like(got, needle, ...)                                                          \
	do {                                                                            \
		const char *g_ = (got), *n_ = (needle);                                 \
		if (!ok(g_ && strstr(g_, n_), __VA_ARGS__))                              \
			diag("     got: '%s'\n#     expected to contain: '%s'",             \
			     g_ ? g_ : "(null)", n_);                                       \
	} while (0)

static inline int tap_done(void)
{
	if (!tap_planned)
		printf("1..%d\n", tap_n);
	else if (tap_planned != tap_n)
		printf("# planned %d tests but ran %d\n", tap_planned, tap_n);
	return tap_failed || (tap_planned && tap_planned != tap_n) ? 1 : 0;
}

#endif
