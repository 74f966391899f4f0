/* SPDX-License-Identifier: MIT */
/* jsonw.c: streaming JSON writer; nesting deeper than MRE_JSONW_DEPTH is a bug. */
#include "util/jsonw.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

void mre_jsonw_init(struct mre_jsonw *j, struct mre_wbuf *wb)
{
	memset(j, 0, sizeof(*j));
	j->wb = wb;
	j->first[0] = true;
}

static void sep(struct mre_jsonw *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (!j->first[j->depth])
		mre_wbuf_put(j->wb, ", ", 2);
	j->first[j->depth] = false;
}

static void open(struct mre_jsonw *j, char c)
{
	sep(j);
	mre_wbuf_u8(j->wb, (uint8_t)c);
	if (j->depth + 1 < MRE_JSONW_DEPTH)
		j->depth++;
	j->first[j->depth] = true;
}

static void close_(struct mre_jsonw *j, char c)
{
	mre_wbuf_u8(j->wb, (uint8_t)c);
	if (j->depth > 0)
		j->depth--;
}

void mre_jsonw_obj_begin(struct mre_jsonw *j)
{
	open(j, '{');
}

void mre_jsonw_obj_end(struct mre_jsonw *j)
{
	close_(j, '}');
}

void mre_jsonw_arr_begin(struct mre_jsonw *j)
{
	open(j, '[');
}

void mre_jsonw_arr_end(struct mre_jsonw *j)
{
	close_(j, ']');
}

void mre_jsonw_key(struct mre_jsonw *j, const char *key)
{
	sep(j);
	mre_wbuf_json_str(j->wb, key);
	mre_wbuf_put(j->wb, ": ", 2);
	j->after_key = true;
}

void mre_jsonw_str(struct mre_jsonw *j, const char *s)
{
	sep(j);
	mre_wbuf_json_str(j->wb, s);
}

void mre_jsonw_u64(struct mre_jsonw *j, uint64_t v)
{
	sep(j);
	mre_wbuf_printf(j->wb, "%" PRIu64, v);
}

void mre_jsonw_i64(struct mre_jsonw *j, int64_t v)
{
	sep(j);
	mre_wbuf_printf(j->wb, "%" PRId64, v);
}

void mre_jsonw_double(struct mre_jsonw *j, double v)
{
	sep(j);
	if (isfinite(v))
		mre_wbuf_printf(j->wb, "%.17g", v);
	else
		mre_wbuf_put(j->wb, "null", 4);
}

void mre_jsonw_bool(struct mre_jsonw *j, bool v)
{
	sep(j);
	mre_wbuf_printf(j->wb, "%s", v ? "true" : "false");
}

void mre_jsonw_null(struct mre_jsonw *j)
{
	sep(j);
	mre_wbuf_put(j->wb, "null", 4);
}

void mre_jsonw_raw(struct mre_jsonw *j, const char *json, size_t len)
{
	sep(j);
	mre_wbuf_put(j->wb, json, len);
}

void mre_jsonw_kstr(struct mre_jsonw *j, const char *key, const char *s)
{
	mre_jsonw_key(j, key);
	mre_jsonw_str(j, s);
}

void mre_jsonw_ku64(struct mre_jsonw *j, const char *key, uint64_t v)
{
	mre_jsonw_key(j, key);
	mre_jsonw_u64(j, v);
}

void mre_jsonw_kbool(struct mre_jsonw *j, const char *key, bool v)
{
	mre_jsonw_key(j, key);
	mre_jsonw_bool(j, v);
}
