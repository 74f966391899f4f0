/* SPDX-License-Identifier: MIT */
/* err.c: formatting of struct mre_err; no allocation, no I/O. */
#include "util/err.h"

#include <stdio.h>
#include <string.h>

int mre_err_vset(struct mre_err *err, int code, const char *fmt, va_list ap)
{
	if (!err || err->code)
		return code;
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return code;
}

int mre_err_set(struct mre_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mre_err_vset(err, code, fmt, ap);
	va_end(ap);
	return code;
}

int mre_err_sys(struct mre_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!err || err->code)
		return code;
	va_start(ap, fmt);
	mre_err_vset(err, code, fmt, ap);
	va_end(ap);
	n = strlen(err->msg);
	snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", mre_strerror(code));
	return code;
}

int mre_err_prefix(struct mre_err *err, const char *fmt, ...)
{
	char head[MRE_ERR_MSG_MAX], old[MRE_ERR_MSG_MAX];
	va_list ap;

	if (!err || !err->code)
		return err ? err->code : 0;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", head, old);
	return err->code;
}

void mre_err_clear(struct mre_err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = 0;
	}
}

const char *mre_strerror(int code)
{
	switch (code) {
	case MRE_EFORMAT:
		return "malformed image";
	case MRE_EPOLICY:
		return "policy error";
	case MRE_ELIMIT:
		return "resource limit exceeded";
	case MRE_ECANCELED:
		return "cancelled";
	case MRE_EUNSUPP:
		return "not supported";
	case MRE_ECHECKSUM:
		return "checksum mismatch";
	}
	if (code < 0 && code > -4096)
		return strerror(-code);
	return "unknown error";
}
