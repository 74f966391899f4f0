/* SPDX-License-Identifier: MIT */
/*
 * json.c: QMP JSON in and out. Input goes through a lexical pass of our
 * own before cJSON sees it: the pass checks what cJSON is lax about (UTF-8,
 * \u escapes, number and keyword syntax), rewrites QEMU's single-quoted
 * strings into standard JSON, and notes where every number token is, so
 * exact integer text can be attached to cJSON's double-only nodes
 * afterwards (tokens and nodes come in the same document order).
 */
#include "qmp/json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"

#define PFX "JSON parse error, "

struct numtok {
	size_t off, len;        /* in the rewritten text */
	bool integer;           /* no fraction, no exponent */
};

struct lexer {
	const unsigned char *p, *end;
	struct mre_wbuf out;
	struct numtok *nums;
	size_t nnums, capnums;
	struct mre_err *err;
};

static int lex_fail(struct lexer *lx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int lex_fail(struct lexer *lx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mre_err_vset(lx->err, -EINVAL, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A short printable copy of a bad token for the message. */
static const char *show(const unsigned char *s, size_t n, char *buf, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 8 < cap; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\'')
			buf[o++] = (char)s[i];
		else
			o += (size_t)snprintf(buf + o, cap - o, "\\x%02X", s[i]);
	}
	buf[o] = 0;
	return buf;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits after "\u" at @p; -1 if malformed. */
static long hex4(const unsigned char *p, const unsigned char *end)
{
	long v = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int h = hexval(p[i]);

		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

/* Length of a valid UTF-8 sequence at @p (not ASCII), or 0. Rejects
 * overlong forms, surrogates and code points above U+10FFFF. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end, uint32_t *cp)
{
	size_t n;
	uint32_t v, min;

	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		v = p[0] & 0x1f;
		min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		v = p[0] & 0x0f;
		min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		v = p[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	if (cp)
		*cp = v;
	return n;
}

static int lex_string(struct lexer *lx)
{
	unsigned char quote = *lx->p++;
	char tmp[16];

	mre_wbuf_u8(&lx->out, '"');
	for (;;) {
		unsigned char c;

		if (lx->p >= lx->end)
			return lex_fail(lx, PFX "unterminated string");
		c = *lx->p;
		if (c == quote) {
			lx->p++;
			break;
		}
		if (c < 0x20)
			return lex_fail(lx, PFX "invalid character in string");
		if (c >= 0x80) {
			size_t n = utf8_len(lx->p, lx->end, NULL);

			if (!n)
				return lex_fail(lx, PFX "invalid UTF-8 sequence in string");
			mre_wbuf_put(&lx->out, lx->p, n);
			lx->p += n;
			continue;
		}
		if (c == '"') {
			/* only reachable inside a single-quoted string */
			mre_wbuf_put(&lx->out, "\\\"", 2);
			lx->p++;
			continue;
		}
		if (c != '\\') {
			mre_wbuf_u8(&lx->out, c);
			lx->p++;
			continue;
		}
		if (lx->p + 1 >= lx->end)
			return lex_fail(lx, PFX "unterminated string");
		c = lx->p[1];
		switch (c) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
			mre_wbuf_put(&lx->out, lx->p, 2);
			lx->p += 2;
			break;
		case '\'':
			mre_wbuf_u8(&lx->out, '\'');
			lx->p += 2;
			break;
		case 'u': {
			long hi = hex4(lx->p + 2, lx->end);

			if (hi < 0)
				return lex_fail(lx, PFX "\\u%s is not a valid Unicode character",
						show(lx->p + 2, (size_t)MRE_MIN(lx->end - lx->p - 2, 4), tmp,
						     sizeof(tmp)));
			if (hi == 0)
				return lex_fail(lx, PFX "\\u0000 is not supported");
			if (hi >= 0xdc00 && hi <= 0xdfff)
				return lex_fail(lx, PFX "\\u%04lx is not a valid Unicode character", hi);
			if (hi >= 0xd800 && hi <= 0xdbff) {
				long lo = -1;

				if (lx->end - lx->p >= 12 && lx->p[6] == '\\' && lx->p[7] == 'u')
					lo = hex4(lx->p + 8, lx->end);
				if (lo < 0xdc00 || lo > 0xdfff)
					return lex_fail(lx, PFX "\\u%04lx is not a valid Unicode character", hi);
				mre_wbuf_put(&lx->out, lx->p, 12);
				lx->p += 12;
			} else {
				mre_wbuf_put(&lx->out, lx->p, 6);
				lx->p += 6;
			}
			break;
		}
		default:
			return lex_fail(lx, PFX "invalid escape sequence in string");
		}
	}
	mre_wbuf_u8(&lx->out, '"');
	return 0;
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_tokchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '.' || c == '+' || c == '-' || c == '_' || c >= 0x80;
}

static int lex_number(struct lexer *lx)
{
	const unsigned char *s = lx->p, *q = s;
	bool integer = true;
	char tmp[48];

	if (*q == '-')
		q++;
	if (q < lx->end && *q == '0') {
		q++;
	} else if (q < lx->end && is_digit(*q)) {
		while (q < lx->end && is_digit(*q))
			q++;
	} else {
		goto bad;
	}
	if (q < lx->end && *q == '.') {
		integer = false;
		q++;
		if (q >= lx->end || !is_digit(*q))
			goto bad;
		while (q < lx->end && is_digit(*q))
			q++;
	}
	if (q < lx->end && (*q == 'e' || *q == 'E')) {
		integer = false;
		q++;
		if (q < lx->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= lx->end || !is_digit(*q))
			goto bad;
		while (q < lx->end && is_digit(*q))
			q++;
	}
	if (q < lx->end && is_tokchar(*q))
		goto bad;
	if (lx->nnums == lx->capnums) {
		size_t cap = lx->capnums ? lx->capnums * 2 : 16;
		struct numtok *n = realloc(lx->nums, cap * sizeof(*n));

		if (!n)
			return lex_fail(lx, "out of memory");
		lx->nums = n;
		lx->capnums = cap;
	}
	if (q - s > 40) {
		/* cJSON reads at most 63 characters of a number; such a long
		 * token can only be a double anyway, so hand it over rounded */
		char *copy = strndup((const char *)s, (size_t)(q - s));
		double d;

		if (!copy)
			return lex_fail(lx, "out of memory");
		d = strtod(copy, NULL);
		free(copy);
		lx->nums[lx->nnums++] = (struct numtok){ lx->out.len, 0, false };
		if (isfinite(d))
			mre_wbuf_printf(&lx->out, "%.17g", d);
		else
			mre_wbuf_printf(&lx->out, "%s1e999", d < 0 ? "-" : "");
		lx->p = q;
		return 0;
	}
	lx->nums[lx->nnums++] = (struct numtok){ lx->out.len, (size_t)(q - s), integer };
	mre_wbuf_put(&lx->out, s, (size_t)(q - s));
	lx->p = q;
	return 0;
bad:
	while (q < lx->end && is_tokchar(*q))
		q++;
	return lex_fail(lx, PFX "stray '%s'", show(s, (size_t)MRE_MIN(q - s, 32), tmp, sizeof(tmp)));
}

static int lex_keyword(struct lexer *lx)
{
	const unsigned char *s = lx->p, *q = s;
	size_t n;
	char tmp[48];

	while (q < lx->end && is_tokchar(*q))
		q++;
	n = (size_t)(q - s);
	if ((n == 4 && !memcmp(s, "true", 4)) || (n == 5 && !memcmp(s, "false", 5)) ||
	    (n == 4 && !memcmp(s, "null", 4))) {
		mre_wbuf_put(&lx->out, s, n);
		lx->p = q;
		return 0;
	}
	return lex_fail(lx, PFX "invalid keyword '%s'", show(s, MRE_MIN(n, 32), tmp, sizeof(tmp)));
}

static int lex_all(struct lexer *lx)
{
	char tmp[16];
	int r = 0;

	while (lx->p < lx->end && !r) {
		unsigned char c = *lx->p;

		switch (c) {
		case ' ': case '\t': case '\r': case '\n':
		case '{': case '}': case '[': case ']': case ',': case ':':
			mre_wbuf_u8(&lx->out, c);
			lx->p++;
			break;
		case '"': case '\'':
			r = lex_string(lx);
			break;
		case '-': case '0': case '1': case '2': case '3': case '4':
		case '5': case '6': case '7': case '8': case '9':
			r = lex_number(lx);
			break;
		default:
			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
				r = lex_keyword(lx);
			else
				r = lex_fail(lx, PFX "stray '%s'", show(lx->p, 1, tmp, sizeof(tmp)));
		}
	}
	if (!r && mre_wbuf_err(&lx->out))
		r = lex_fail(lx, "out of memory");
	return r;
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool has_duplicate_key(const cJSON *obj)
{
	const cJSON *a, *b;
	const char **keys;
	size_t n = 0, i;
	bool dup = false;

	for (a = obj->child; a; a = a->next)
		n++;
	if (n <= 8) {
		for (a = obj->child; a; a = a->next)
			for (b = a->next; b; b = b->next)
				if (!strcmp(a->string, b->string))
					return true;
		return false;
	}
	/* large objects: sort the keys, so a hostile message with many
	 * members costs n log n, not n^2 */
	keys = malloc(n * sizeof(*keys));
	if (!keys)
		return true;
	for (i = 0, a = obj->child; a; a = a->next)
		keys[i++] = a->string;
	qsort(keys, n, sizeof(*keys), cmp_keys);
	for (i = 1; i < n && !dup; i++)
		dup = !strcmp(keys[i - 1], keys[i]);
	free(keys);
	return dup;
}

/* Walk in document order: attach exact integer text, reject duplicate keys. */
static int fixup(cJSON *v, struct lexer *lx, size_t *ni)
{
	if (cJSON_IsNumber(v)) {
		const struct numtok *t;
		char text[32], *end;

		if (*ni >= lx->nnums)
			return lex_fail(lx, PFX "internal number mismatch");
		t = &lx->nums[(*ni)++];
		if (!t->integer || t->len >= sizeof(text))
			return 0;
		memcpy(text, lx->out.data + t->off, t->len);
		text[t->len] = 0;
		errno = 0;
		if (text[0] == '-') {
			long long x = strtoll(text, &end, 10);

			if (errno || *end)
				return 0; /* beyond int64: stays a double, as in QEMU */
			snprintf(text, sizeof(text), "%lld", x);
		} else {
			unsigned long long x = strtoull(text, &end, 10);

			if (errno || *end)
				return 0;
			snprintf(text, sizeof(text), "%llu", x);
		}
		v->valuestring = strdup(text);
		return v->valuestring ? 0 : lex_fail(lx, "out of memory");
	}
	if (cJSON_IsObject(v) && has_duplicate_key(v))
		return lex_fail(lx, PFX "duplicate key");
	for (cJSON *c = v->child; c; c = c->next) {
		int r = fixup(c, lx, ni);

		if (r)
			return r;
	}
	return 0;
}

int mre_qmp_json_parse(const char *buf, size_t len, cJSON **out, struct mre_err *err)
{
	struct lexer lx = { (const unsigned char *)buf, (const unsigned char *)buf + len,
			    { 0 }, NULL, 0, 0, err };
	const char *end = NULL;
	cJSON *v = NULL;
	size_t ni = 0;
	int r;

	*out = NULL;
	mre_wbuf_init(&lx.out);
	r = lex_all(&lx);
	if (r)
		goto done;
	if (!lx.out.len) {
		r = lex_fail(&lx, PFX "expecting value");
		goto done;
	}
	v = cJSON_ParseWithLengthOpts((const char *)lx.out.data, lx.out.len, &end, 0);
	if (!v) {
		size_t pos = end ? (size_t)(end - (const char *)lx.out.data) : lx.out.len;

		if (pos >= lx.out.len)
			r = lex_fail(&lx, PFX "unexpected end of input");
		else if (strchr("{}[],:", lx.out.data[pos]))
			r = lex_fail(&lx, PFX "unexpected '%c'", lx.out.data[pos]);
		else
			r = lex_fail(&lx, PFX "expecting value");
		goto done;
	}
	for (size_t i = (size_t)(end - (const char *)lx.out.data); i < lx.out.len; i++) {
		if (!strchr(" \t\r\n", lx.out.data[i])) {
			r = lex_fail(&lx, PFX "unexpected '%c' after the value", lx.out.data[i]);
			goto done;
		}
	}
	r = fixup(v, &lx, &ni);
	if (!r && ni != lx.nnums)
		r = lex_fail(&lx, PFX "internal number mismatch");
done:
	if (r) {
		cJSON_Delete(v);
		v = NULL;
	}
	free(lx.nums);
	mre_wbuf_free(&lx.out);
	*out = v;
	return r;
}

/* ---- output ------------------------------------------------------------ */

static void write_str(struct mre_wbuf *wb, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);

	mre_wbuf_u8(wb, '"');
	while (p < end) {
		unsigned char c = *p;
		uint32_t cp;
		size_t n;

		switch (c) {
		case '"': mre_wbuf_put(wb, "\\\"", 2); p++; continue;
		case '\\': mre_wbuf_put(wb, "\\\\", 2); p++; continue;
		case '\b': mre_wbuf_put(wb, "\\b", 2); p++; continue;
		case '\f': mre_wbuf_put(wb, "\\f", 2); p++; continue;
		case '\n': mre_wbuf_put(wb, "\\n", 2); p++; continue;
		case '\r': mre_wbuf_put(wb, "\\r", 2); p++; continue;
		case '\t': mre_wbuf_put(wb, "\\t", 2); p++; continue;
		}
		if (c >= 0x20 && c < 0x7f) {
			mre_wbuf_u8(wb, c);
			p++;
			continue;
		}
		if (c < 0x80) {
			mre_wbuf_printf(wb, "\\u%04X", c);
			p++;
			continue;
		}
		n = utf8_len(p, end, &cp);
		if (!n) {
			/* not UTF-8 (e.g. a file name from the system) */
			mre_wbuf_put(wb, "\\uFFFD", 6);
			p++;
			continue;
		}
		if (cp >= 0x10000) {
			cp -= 0x10000;
			mre_wbuf_printf(wb, "\\u%04X\\u%04X", 0xd800 | (cp >> 10), 0xdc00 | (cp & 0x3ff));
		} else {
			mre_wbuf_printf(wb, "\\u%04X", cp);
		}
		p += n;
	}
	mre_wbuf_u8(wb, '"');
}

void mre_qmp_json_write(struct mre_wbuf *wb, const cJSON *v)
{
	const cJSON *c;

	if (!v || cJSON_IsNull(v)) {
		mre_wbuf_put(wb, "null", 4);
	} else if (cJSON_IsTrue(v)) {
		mre_wbuf_put(wb, "true", 4);
	} else if (cJSON_IsFalse(v)) {
		mre_wbuf_put(wb, "false", 5);
	} else if (cJSON_IsNumber(v)) {
		if (v->valuestring)
			mre_wbuf_put(wb, v->valuestring, strlen(v->valuestring));
		else if (isfinite(v->valuedouble))
			mre_wbuf_printf(wb, "%.17g", v->valuedouble);
		else
			mre_wbuf_put(wb, "null", 4); /* JSON has no inf/nan */
	} else if (cJSON_IsString(v)) {
		write_str(wb, v->valuestring ? v->valuestring : "");
	} else if (cJSON_IsArray(v)) {
		mre_wbuf_u8(wb, '[');
		for (c = v->child; c; c = c->next) {
			if (c != v->child)
				mre_wbuf_put(wb, ", ", 2);
			mre_qmp_json_write(wb, c);
		}
		mre_wbuf_u8(wb, ']');
	} else if (cJSON_IsObject(v)) {
		mre_wbuf_u8(wb, '{');
		for (c = v->child; c; c = c->next) {
			if (c != v->child)
				mre_wbuf_put(wb, ", ", 2);
			write_str(wb, c->string ? c->string : "");
			mre_wbuf_put(wb, ": ", 2);
			mre_qmp_json_write(wb, c);
		}
		mre_wbuf_u8(wb, '}');
	} else {
		mre_wbuf_put(wb, "null", 4);
	}
}

/* ---- numbers and builders ---------------------------------------------- */

static cJSON *int_node(double d, const char *text)
{
	cJSON *n = cJSON_CreateNumber(d);

	if (n) {
		n->valuestring = strdup(text);
		if (!n->valuestring) {
			cJSON_Delete(n);
			n = NULL;
		}
	}
	return n;
}

cJSON *mre_qmp_json_i64(int64_t v)
{
	char t[32];

	snprintf(t, sizeof(t), "%" PRId64, v);
	return int_node((double)v, t);
}

cJSON *mre_qmp_json_u64(uint64_t v)
{
	char t[32];

	snprintf(t, sizeof(t), "%" PRIu64, v);
	return int_node((double)v, t);
}

bool mre_qmp_json_is_int(const cJSON *v)
{
	return cJSON_IsNumber(v) && v->valuestring;
}

int mre_qmp_json_get_i64(const cJSON *v, int64_t *out)
{
	long long x;
	char *end;

	if (!mre_qmp_json_is_int(v))
		return -EINVAL;
	errno = 0;
	x = strtoll(v->valuestring, &end, 10);
	if (errno || *end)
		return -ERANGE;
	*out = x;
	return 0;
}

int mre_qmp_json_get_u64(const cJSON *v, uint64_t *out)
{
	unsigned long long x;
	char *end;

	if (!mre_qmp_json_is_int(v))
		return -EINVAL;
	if (v->valuestring[0] == '-')
		return -ERANGE;
	errno = 0;
	x = strtoull(v->valuestring, &end, 10);
	if (errno || *end)
		return -ERANGE;
	*out = x;
	return 0;
}

void mre_qmp_add(cJSON *o, const char *key, cJSON *item)
{
	if (!item)
		return;
	if (!o || !cJSON_AddItemToObject(o, key, item))
		cJSON_Delete(item);
}

void mre_qmp_append(cJSON *arr, cJSON *item)
{
	if (!item)
		return;
	if (!arr || !cJSON_AddItemToArray(arr, item))
		cJSON_Delete(item);
}

void mre_qmp_add_str(cJSON *o, const char *key, const char *v)
{
	mre_qmp_add(o, key, cJSON_CreateString(v ? v : ""));
}

void mre_qmp_add_i64(cJSON *o, const char *key, int64_t v)
{
	mre_qmp_add(o, key, mre_qmp_json_i64(v));
}

void mre_qmp_add_u64(cJSON *o, const char *key, uint64_t v)
{
	mre_qmp_add(o, key, mre_qmp_json_u64(v));
}

void mre_qmp_add_bool(cJSON *o, const char *key, bool v)
{
	mre_qmp_add(o, key, cJSON_CreateBool(v));
}

void mre_qmp_add_double(cJSON *o, const char *key, double v)
{
	mre_qmp_add(o, key, cJSON_CreateNumber(v));
}
