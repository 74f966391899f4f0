/* SPDX-License-Identifier: MIT */
/*
 * jsonw.h: a small streaming JSON writer over struct mre_wbuf, for reports
 * (inspect --json, policy-check --json, image metadata). It only writes;
 * parsing JSON is the QMP module's job. Commas are placed automatically.
 * Output is compact ASCII with QEMU's separators (", " and ": ").
 */
#ifndef MRE_UTIL_JSONW_H
#define MRE_UTIL_JSONW_H

#include <stdbool.h>
#include <stdint.h>

#include "util/wbuf.h"

#define MRE_JSONW_DEPTH 32

struct mre_jsonw {
	struct mre_wbuf *wb;
	int depth;
	bool first[MRE_JSONW_DEPTH];
	bool after_key;
};

void mre_jsonw_init(struct mre_jsonw *j, struct mre_wbuf *wb);
void mre_jsonw_obj_begin(struct mre_jsonw *j);
void mre_jsonw_obj_end(struct mre_jsonw *j);
void mre_jsonw_arr_begin(struct mre_jsonw *j);
void mre_jsonw_arr_end(struct mre_jsonw *j);
void mre_jsonw_key(struct mre_jsonw *j, const char *key);
void mre_jsonw_str(struct mre_jsonw *j, const char *s);
void mre_jsonw_u64(struct mre_jsonw *j, uint64_t v);
void mre_jsonw_i64(struct mre_jsonw *j, int64_t v);
void mre_jsonw_double(struct mre_jsonw *j, double v);
void mre_jsonw_bool(struct mre_jsonw *j, bool v);
void mre_jsonw_null(struct mre_jsonw *j);
/* Insert already-serialised JSON (trusted) as one value. */
void mre_jsonw_raw(struct mre_jsonw *j, const char *json, size_t len);

/* key + value shorthands */
void mre_jsonw_kstr(struct mre_jsonw *j, const char *key, const char *s);
void mre_jsonw_ku64(struct mre_jsonw *j, const char *key, uint64_t v);
void mre_jsonw_kbool(struct mre_jsonw *j, const char *key, bool v);

#endif
