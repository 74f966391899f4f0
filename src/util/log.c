/* SPDX-License-Identifier: MIT */
/* log.c: level-filtered, line-atomic writes to stderr. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int log_level = -1;

void mre_log_set_level(enum mre_log_level level)
{
	log_level = level;
}

enum mre_log_level mre_log_get_level(void)
{
	if (log_level < 0)
		log_level = getenv("MRENGINE_DEBUG") ? MRE_LOG_DEBUG : MRE_LOG_WARN;
	return log_level;
}

void mre_log(enum mre_log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char line[1024];
	va_list ap;
	int n;

	if ((int)level > (int)mre_log_get_level())
		return;
	n = snprintf(line, sizeof(line), "mrengine: %s: ", names[level]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	/* one fputs per line so lines from several threads do not interleave */
	fprintf(stderr, "%s\n", line);
}
