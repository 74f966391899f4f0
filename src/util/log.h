/* SPDX-License-Identifier: MIT */
/*
 * log.h: the one place that writes diagnostics to stderr. Modules fill
 * struct mre_err and let the caller decide; log is for progress notes,
 * warnings and debug traces.
 */
#ifndef MRE_UTIL_LOG_H
#define MRE_UTIL_LOG_H

enum mre_log_level {
	MRE_LOG_ERROR,
	MRE_LOG_WARN,
	MRE_LOG_INFO,
	MRE_LOG_DEBUG,
};

/* Messages above @level are dropped. Default: MRE_LOG_WARN, or
 * MRE_LOG_DEBUG when MRENGINE_DEBUG is set in the environment. */
void mre_log_set_level(enum mre_log_level level);
enum mre_log_level mre_log_get_level(void);

void mre_log(enum mre_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define mre_warn(...) mre_log(MRE_LOG_WARN, __VA_ARGS__)
#define mre_info(...) mre_log(MRE_LOG_INFO, __VA_ARGS__)
#define mre_debug(...) mre_log(MRE_LOG_DEBUG, __VA_ARGS__)

#endif
