/* SPDX-License-Identifier: MIT */
/*
 * test_qmp.c: the QMP module's pure parts: the streaming splitter (values
 * split or packed across reads, strings, limits, resets), the JSON layer
 * (QEMU's lexical rules, exact integers, ASCII output), the argument
 * validator, and the command table (sorted, complete, and in agreement
 * with the parameter set). As the module's own test it may see cJSON.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qmp/qmp_int.h"
#include "tap.h"
#include "util/bytes.h"

/* Feed @s in chunks of @chunk bytes; collect values as "v1|v2|..." and
 * errors as "!" markers. */
static void split_all(const char *s, size_t len, size_t chunk, char *out, size_t cap)
{
	struct mre_qmp_split sp;
	size_t pos = 0;

	mre_qmp_split_init(&sp);
	out[0] = 0;
	while (pos < len) {
		size_t n = MRE_MIN(chunk, len - pos), off = 0;

		while (off < n) {
			const char *emsg;
			size_t used = 0;
			enum mre_qmp_split_result r = mre_qmp_split_feed(&sp, s + pos + off, n - off, &used, &emsg);

			off += used;
			if (r == MRE_SPLIT_MSG) {
				strncat(out, (const char *)sp.msg.data, MRE_MIN(sp.msg.len, cap - strlen(out) - 2));
				strncat(out, "|", cap - strlen(out) - 1);
			} else if (r == MRE_SPLIT_ERROR) {
				strncat(out, "!|", cap - strlen(out) - 1);
			}
		}
		pos += n;
	}
	if (mre_qmp_split_finish(&sp)) {
		strncat(out, (const char *)sp.msg.data, MRE_MIN(sp.msg.len, cap - strlen(out) - 2));
		strncat(out, "|", cap - strlen(out) - 1);
	}
	mre_qmp_split_free(&sp);
}

static void test_split(void)
{
	static const char in[] = " {\"a\": \"}\\\"{\"}{'b': '}\\'\"'}\n[1,[2]] 12 \"x{\" true\n";
	static const char want[] = "{\"a\": \"}\\\"{\"}|{'b': '}\\'\"'}|[1,[2]]|12|\"x{\"|true|";
	char out[4096];

	for (size_t chunk = 1; chunk <= sizeof(in); chunk *= 2) {
		split_all(in, strlen(in), chunk, out, sizeof(out));
		is_str(out, want, "values split correctly in chunks of %zu", chunk);
	}
	split_all("{\"a\":\x01 {\"b\":1}", 14, 64, out, sizeof(out));
	is_str(out, "!|{\"b\":1}|", "a control character resets and reports once");
	split_all("{\"a\":\"x\ny\"}{}", 13, 64, out, sizeof(out));
	is_str(out, "!|y|", "a raw newline inside a string is an error and resets");
	split_all("] {}", 4, 64, out, sizeof(out));
	is_str(out, "!|{}|", "a stray closing bracket is an error, the next value parses");
	split_all("\t\r\n {}", 6, 64, out, sizeof(out));
	is_str(out, "{}|", "TAB, CR and LF are whitespace, not resets");
	split_all("123", 3, 64, out, sizeof(out));
	is_str(out, "123|", "a bare token completes at the end of input");

	/* nesting: 1000 levels pass, 1001 are refused and skipped */
	{
		size_t n = 1001, len = 2 * n + 2;
		char *deep = malloc(len + 1);

		memset(deep, '[', n);
		memset(deep + n, ']', n);
		memcpy(deep + 2 * n, "{}", 3);
		split_all(deep, len, 4096, out, sizeof(out));
		is_str(out, "!|{}|", "nesting 1001 refused once, then skipped to its end");
		memset(deep, '[', 1000);
		memset(deep + 1000, ']', 1000);
		split_all(deep, 2000, 4096, out, sizeof(out));
		ok(out[0] == '[' && !strchr(out, '!'), "nesting 1000 accepted");
		free(deep);
	}
	/* size: a value above 1 MiB is refused once and skipped, even with
	 * newlines and brackets inside its strings */
	{
		size_t big = MRE_QMP_MAX_MSG + 100, len = big + 40;
		char *m = malloc(len);
		size_t o = 0;

		o += (size_t)sprintf(m, "{\"id\": \"");
		for (size_t i = 0; i < big; i++)
			m[o++] = i % 1000 == 999 ? '}' : 'a';
		o += (size_t)sprintf(m + o, "\"} {\"x\": 1}");
		split_all(m, o, 65536, out, sizeof(out));
		is_str(out, "!|{\"x\": 1}|", "oversize value refused once, the next one parses");
		free(m);
	}
}

static cJSON *parse(const char *s, struct mre_err *err)
{
	cJSON *v = NULL;

	mre_err_clear(err);
	mre_qmp_json_parse(s, strlen(s), &v, err);
	return v;
}

static char *write_str(const cJSON *v)
{
	struct mre_wbuf wb;

	mre_wbuf_init(&wb);
	mre_qmp_json_write(&wb, v);
	mre_wbuf_u8(&wb, 0);
	return (char *)wb.data;
}

static void roundtrip(const char *in, const char *want, const char *what)
{
	struct mre_err err = MRE_ERR_INIT;
	cJSON *v = parse(in, &err);
	char *s = v ? write_str(v) : NULL;

	if (!v)
		diag("parse error: %s", err.msg);
	is_str(s, want, "%s", what);
	free(s);
	cJSON_Delete(v);
}

static void parse_fails(const char *in, const char *msg, const char *what)
{
	struct mre_err err = MRE_ERR_INIT;
	cJSON *v = parse(in, &err);

	ok(!v, "%s: refused", what);
	is_str(err.msg, msg, "%s: message", what);
	cJSON_Delete(v);
}

static void test_json(void)
{
	struct mre_err err = MRE_ERR_INIT;
	int64_t i;
	uint64_t u;
	cJSON *v;

	roundtrip("{\"a\":1,\"b\":[true,false,null,\"x\"],\"c\":{}}",
		  "{\"a\": 1, \"b\": [true, false, null, \"x\"], \"c\": {}}", "QEMU's separators");
	roundtrip("[18446744073709551615, -9223372036854775808, -0]",
		  "[18446744073709551615, -9223372036854775808, 0]", "exact 64-bit integers");
	roundtrip("[2.5e3, 0.1, 1.0, 12345678901234567890123]",
		  "[2500, 0.10000000000000001, 1, 1.2345678901234568e+22]", "doubles as %.17g");
	roundtrip("[1e400]", "[null]", "infinity becomes null");
	roundtrip("\"\\u00e9\xc3\xa9\\ud83d\\ude00\xf0\x9f\x98\x80\\u0001\\n/\\/\x7f\"",
		  "\"\\u00E9\\u00E9\\uD83D\\uDE00\\uD83D\\uDE00\\u0001\\n//\\u007F\"", "ASCII-only output");
	roundtrip("{'a': 'it\\'s \"q\"'}", "{\"a\": \"it's \\\"q\\\"\"}", "single-quoted strings");
	roundtrip("[1, 2.0, 1e2]", "[1, 2, 100]", "numbers");
	{
		char num[200];

		memset(num, '9', 150);
		num[150] = 0;
		roundtrip(num, "9.9999999999999998e+149", "a 150-digit number is a double");
	}

	v = parse("[5, 5.0, 18446744073709551616, -1]", &err);
	ok(v && mre_qmp_json_is_int(v->child), "5 is an integer");
	ok(v && !mre_qmp_json_is_int(v->child->next), "5.0 is not");
	ok(v && !mre_qmp_json_is_int(v->child->next->next), "2^64 is not (a double, as in QEMU)");
	is_int(mre_qmp_json_get_u64(v->child->next->next->next, &u), -ERANGE, "-1 is not a uint64");
	is_int(mre_qmp_json_get_i64(v->child->next->next->next, &i), 0, "-1 is an int64");
	is_int(i, -1, "value -1");
	cJSON_Delete(v);

	parse_fails("{\"a\":1,\"a\":2}", "JSON parse error, duplicate key", "duplicate key");
	parse_fails("[\"\xc3\"]", "JSON parse error, invalid UTF-8 sequence in string", "truncated UTF-8");
	parse_fails("[\"\xed\xa0\x80\"]", "JSON parse error, invalid UTF-8 sequence in string",
		    "UTF-8 surrogate");
	parse_fails("[\"\xc0\x80\"]", "JSON parse error, invalid UTF-8 sequence in string", "overlong");
	parse_fails("[\"\\ud800\"]", "JSON parse error, \\ud800 is not a valid Unicode character",
		    "lone high surrogate");
	parse_fails("[\"\\udc00\"]", "JSON parse error, \\udc00 is not a valid Unicode character",
		    "lone low surrogate");
	parse_fails("[\"\\u12g4\"]", "JSON parse error, \\u12g4 is not a valid Unicode character",
		    "bad hex");
	parse_fails("[\"\\u0000\"]", "JSON parse error, \\u0000 is not supported", "NUL");
	parse_fails("[\"\\x\"]", "JSON parse error, invalid escape sequence in string", "bad escape");
	parse_fails("[tru]", "JSON parse error, invalid keyword 'tru'", "bad keyword");
	parse_fails("[01]", "JSON parse error, stray '01'", "leading zero");
	parse_fails("[1.]", "JSON parse error, stray '1.'", "no fraction digits");
	parse_fails("[+1]", "JSON parse error, stray '+'", "plus sign");
	parse_fails("{\"a\" 1}", "JSON parse error, expecting value", "missing colon");
	parse_fails("[1,]", "JSON parse error, unexpected ']'", "trailing comma");
	parse_fails("{1:2}", "JSON parse error, unexpected ':'", "non-string key");
	v = parse("{\"a\" 1}", &err);
	ok(!v, "no value on error");
}

static const char *const colors[] = { "red", "green", NULL };
static const struct mre_qmp_arg inner[] = {
	MRE_ARG_ENUM("color", true, colors),
	MRE_ARG("n", MRE_QT_U8, false),
	MRE_ARG_END
};
static const struct mre_qmp_arg schema[] = {
	MRE_ARG("name", MRE_QT_STR, true),
	MRE_ARG("i", MRE_QT_INT, false),
	MRE_ARG("size", MRE_QT_U64, false),
	MRE_ARG("flag", MRE_QT_BOOL, false),
	MRE_ARG("maybe", MRE_QT_STR_OR_NULL, false),
	MRE_ARG_ARR("list", false, MRE_QT_OBJ, inner, NULL),
	MRE_ARG_END
};

static void check(const char *json, const char *want, const char *what)
{
	struct mre_err err = MRE_ERR_INIT;
	cJSON *v = parse(json, &err);

	mre_err_clear(&err);
	mre_qmp_check_args(v, schema, false, "", &err);
	is_str(err.msg, want, "%s", what);
	cJSON_Delete(v);
}

static void test_args(void)
{
	check("{\"name\": \"x\", \"i\": -5, \"size\": 18446744073709551615, \"flag\": true, \"maybe\": null,"
	      " \"list\": [{\"color\": \"red\", \"n\": 255}]}", "", "valid arguments");
	check("{}", "Parameter 'name' is missing", "missing");
	check("{\"name\": \"x\", \"zz\": 1}", "Parameter 'zz' is unexpected", "unexpected");
	check("{\"zz\": 1}", "Parameter 'name' is missing", "missing reported before unexpected");
	check("{\"name\": 1}", "Invalid parameter type for 'name', expected: string", "string type");
	check("{\"name\": \"x\", \"i\": 1.5}", "Invalid parameter type for 'i', expected: integer", "integer type");
	check("{\"name\": \"x\", \"i\": \"1\"}", "Invalid parameter type for 'i', expected: integer", "integer type (string)");
	check("{\"name\": \"x\", \"size\": -1}", "Parameter 'size' expects uint64", "negative size");
	check("{\"name\": \"x\", \"size\": \"1M\"}", "Parameter 'size' expects uint64", "size as a string");
	check("{\"name\": \"x\", \"flag\": 1}", "Invalid parameter type for 'flag', expected: boolean", "boolean type");
	check("{\"name\": \"x\", \"maybe\": 5}", "Invalid parameter type for 'maybe', expected: StrOrNull", "StrOrNull");
	check("{\"name\": \"x\", \"list\": {}}", "Invalid parameter type for 'list', expected: array", "array type");
	check("{\"name\": \"x\", \"list\": [1]}", "Invalid parameter type for 'list[0]', expected: object", "element type");
	check("{\"name\": \"x\", \"list\": [{\"color\": \"red\"}, {}]}", "Parameter 'list[1].color' is missing",
	      "nested missing has a path");
	check("{\"name\": \"x\", \"list\": [{\"color\": \"blue\"}]}",
	      "Parameter 'color' does not accept value 'blue'", "enum value (QEMU names the member only)");
	check("{\"name\": \"x\", \"list\": [{\"color\": \"red\", \"n\": 256}]}",
	      "Parameter 'list[0].n' expects uint8_t", "uint8 range");
	check("{\"name\": \"x\", \"list\": [{\"color\": \"red\", \"q\": 1}]}",
	      "Parameter 'list[0].q' is unexpected", "nested unexpected");
}

static void test_table(void)
{
	size_t n;
	const struct mre_qmp_cmd *t = mre_qmp_cmd_table(&n);
	bool sorted = true, found = true;

	for (size_t i = 1; i < n; i++)
		if (strcmp(t[i - 1].name, t[i].name) >= 0)
			sorted = false;
	ok(sorted, "command table sorted by name (%zu commands)", n);
	for (size_t i = 0; i < n; i++)
		if (mre_qmp_cmd_find(t[i].name) != &t[i] || !t[i].fn || !t[i].help)
			found = false;
	ok(found, "every command found by bsearch, with a handler and help");
	ok(!mre_qmp_cmd_find("nope") && !mre_qmp_cmd_find(""), "unknown names not found");
	ok(mre_qmp_cmd_find("qmp_capabilities")->flags & MRE_QMP_F_NEGOTIATION,
	   "qmp_capabilities allowed during negotiation");
	for (size_t i = 0; i < n; i++)
		if ((t[i].flags & MRE_QMP_F_NEGOTIATION) && strcmp(t[i].name, "qmp_capabilities"))
			ok(0, "%s allowed during negotiation", t[i].name);
}

/* query-migrate-parameters reports exactly what migrate-set-parameters
 * accepts (block-bitmap-mapping only once set). */
static void test_params(void)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_engine eng;
	struct mre_qmp *q;
	struct mre_qmp_req r = { 0 };
	const struct mre_qmp_arg *a;
	const cJSON *m;
	bool same = true;
	unsigned nargs = 0, nret = 0;

	if (mre_engine_init(&eng, &err) || mre_qmp_new(&eng, &q, &err)) {
		ok(0, "engine: %s", err.msg);
		return;
	}
	r.q = q;
	mre_qmp_cmd_query_migrate_parameters(&r);
	for (a = mre_qmp_args_set_parameters; a->name; a++) {
		if (!strcmp(a->name, "block-bitmap-mapping"))
			continue;
		nargs++;
		if (!cJSON_GetObjectItemCaseSensitive(r.ret, a->name)) {
			diag("not reported: %s", a->name);
			same = false;
		}
	}
	cJSON_ArrayForEach(m, r.ret)
		nret++;
	ok(same && nargs == nret, "query-migrate-parameters matches the settable set (%u)", nret);
	cJSON_Delete(r.ret);
	{
		struct mre_facts_params fp;
		const struct mre_param *p;

		mre_qmp_migcfg_facts(&q->cfg, &fp);
		is_int(fp.n, MRE_CAP__COUNT + nargs, "facts: every capability and parameter");
		p = mre_params_find(&fp, "multifd-channels");
		ok(p && p->type == MRE_PARAM_INT && p->i == 2 && !p->set, "multifd-channels default, not set");
		p = mre_params_find(&fp, "mapped-ram");
		ok(p && p->capability && p->type == MRE_PARAM_BOOL && !p->b, "mapped-ram is a capability");
		p = mre_params_find(&fp, "x-io");
		ok(p && p->type == MRE_PARAM_STR && !strcmp(p->s, "auto"), "x-io is a string");
		q->cfg.params[15].set = true;     /* multifd-channels */
		q->cfg.params[15].u = 4;
		mre_qmp_migcfg_facts(&q->cfg, &fp);
		p = mre_params_find(&fp, "multifd-channels");
		ok(p && p->set && p->i == 4, "an explicit multifd-channels is passed as set");
		q->cfg.caps_set[MRE_CAP_MULTIFD] = true;
		mre_qmp_migcfg_facts(&q->cfg, &fp);
		p = mre_params_find(&fp, "multifd-channels");
		ok(p && p->set && p->i == 4, "multifd-channels stays as the client set it");
		p = mre_params_find(&fp, "multifd");
		ok(p && p->set && !p->b, "and multifd as explicitly off (the engine then uses one channel)");
		p = mre_params_find(&fp, "multifd");
		ok(p && p->set && !p->b, "multifd: explicit off");
	}
	mre_qmp_free(q);
	mre_engine_destroy(&eng);
}

int main(void)
{
	test_split();
	test_json();
	test_args();
	test_table();
	test_params();
	return tap_done();
}
