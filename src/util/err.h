/* SPDX-License-Identifier: MIT */
/*
 * err.h: the error carrier used across mrengine.
 *
 * Fallible functions return int: >= 0 on success (possibly a count), a
 * negative errno or MRE_E* code on failure. Where a human message matters a
 * trailing struct mre_err * carries it. The first error set wins; callers add
 * context with mre_err_prefix() while propagating. No allocation happens on
 * the error path, so this is safe to use from any thread on its own struct.
 */
#ifndef MRE_UTIL_ERR_H
#define MRE_UTIL_ERR_H

#include <stdarg.h>
#include <stdbool.h>

#define MRE_ERR_MSG_MAX 512

/* Project codes sit below the errno range. */
enum {
	MRE_EFORMAT = -4096 - 1, /* malformed or truncated image/stream */
	MRE_EPOLICY = -4096 - 2, /* a policy failed to load, or a hook failed */
	MRE_ELIMIT = -4096 - 3,  /* a resource limit was hit */
	MRE_ECANCELED = -4096 - 4, /* the job was cancelled */
	MRE_EUNSUPP = -4096 - 5, /* valid input that mrengine does not handle */
	MRE_ECHECKSUM = -4096 - 6, /* page data does not match its checksum */
};

struct mre_err {
	int code;                 /* 0 = no error */
	char msg[MRE_ERR_MSG_MAX]; /* no trailing newline */
};

#define MRE_ERR_INIT { 0, { 0 } }

/*
 * Record an error and return @code. Does nothing (but still returns @code)
 * when @err is NULL or already holds an error: the first error wins.
 */
int mre_err_set(struct mre_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int mre_err_vset(struct mre_err *err, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Like mre_err_set() with ": strerror(-code)" appended. @code is -errno. */
int mre_err_sys(struct mre_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepend context ("while X: ") to an error already set. Returns err->code. */
int mre_err_prefix(struct mre_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void mre_err_clear(struct mre_err *err);
static inline bool mre_err_isset(const struct mre_err *err)
{
	return err && err->code != 0;
}

/* Text for an errno or MRE_E* code (never NULL). */
const char *mre_strerror(int code);

#endif
