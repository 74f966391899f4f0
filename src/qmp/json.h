/* SPDX-License-Identifier: MIT */
/*
 * json.h: the QMP module's JSON layer. The one header (with the .c files
 * of src/qmp/) that sees cJSON.
 *
 * Parsing accepts what QEMU's monitor accepts (single-quoted strings and
 * the \' escape included), refuses what it refuses (duplicate keys, lone
 * surrogates, invalid UTF-8, bad literals) with "JSON parse error, ..."
 * messages, and keeps integers exact: cJSON stores numbers as doubles, so
 * every integer literal that fits int64 or uint64 also carries its decimal
 * text in the node's valuestring. That text is what the getters read and
 * what the writer prints, so 64-bit sizes and echoed ids survive.
 *
 * Writing produces QEMU's compact form (", " and ": ") in pure ASCII:
 * non-ASCII as \uXXXX (surrogate pairs above U+FFFF), doubles as %.17g.
 */
#ifndef MRE_QMP_JSON_H
#define MRE_QMP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "util/err.h"
#include "util/wbuf.h"

/* Parse one complete value of @len bytes. -EINVAL with @err set on error. */
int mre_qmp_json_parse(const char *buf, size_t len, cJSON **out, struct mre_err *err);

/* Append @v in QEMU's compact ASCII form. */
void mre_qmp_json_write(struct mre_wbuf *wb, const cJSON *v);

/* Exact integer nodes (NULL on allocation failure). */
cJSON *mre_qmp_json_i64(int64_t v);
cJSON *mre_qmp_json_u64(uint64_t v);

/* True for an integer literal (as opposed to 1.0, 1e3 or a huge number). */
bool mre_qmp_json_is_int(const cJSON *v);
/* 0, -EINVAL (not an integer), -ERANGE (out of range). */
int mre_qmp_json_get_i64(const cJSON *v, int64_t *out);
int mre_qmp_json_get_u64(const cJSON *v, uint64_t *out);

/*
 * Builders. They accept a NULL @o (a failed allocation upstream) and free
 * the value if it cannot be attached, so callers need not check each one.
 */
void mre_qmp_add(cJSON *o, const char *key, cJSON *item);
void mre_qmp_add_str(cJSON *o, const char *key, const char *v);
void mre_qmp_add_i64(cJSON *o, const char *key, int64_t v);
void mre_qmp_add_u64(cJSON *o, const char *key, uint64_t v);
void mre_qmp_add_bool(cJSON *o, const char *key, bool v);
void mre_qmp_add_double(cJSON *o, const char *key, double v);
void mre_qmp_append(cJSON *arr, cJSON *item);

#endif
