/* SPDX-License-Identifier: MIT */
/*
 * view.c: what crosses the policy boundary. Facts go in as read-only Lua
 * tables (proxies built by the sandbox; struct-like views refuse unknown
 * fields so a typo is an error, not a silent nil); plans come out as plain
 * C values, read raw from the returned table with size and depth limits
 * and checked field by field, each complaint naming the field, the value
 * and what is allowed. Runs inside the sandbox's protected call: a memory
 * error may unwind through here, so every C allocation made on the way
 * hangs off a caller-owned struct (the plan, the scratch buffer).
 */
#include "policy/sbx.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "policy/facts.h"
#include "policy/plan.h"
#include "util/jsonw.h"

/* ---- facts -> views -------------------------------------------------- */

static void set_str(lua_State *L, const char *k, const char *v)
{
	lua_pushstring(L, v ? v : "");
	lua_setfield(L, -2, k);
}

static void set_u64(lua_State *L, const char *k, uint64_t v)
{
	lua_pushinteger(L, v > (uint64_t)LUA_MAXINTEGER ? LUA_MAXINTEGER : (lua_Integer)v);
	lua_setfield(L, -2, k);
}

static void set_num(lua_State *L, const char *k, double v)
{
	lua_pushnumber(L, v);
	lua_setfield(L, -2, k);
}

static void set_bool(lua_State *L, const char *k, bool v)
{
	lua_pushboolean(L, v);
	lua_setfield(L, -2, k);
}

static void push_blocks(lua_State *L, unsigned n, const struct mre_facts_block *b)
{
	lua_createtable(L, (int)n, 0);
	for (unsigned i = 0; i < n && b; i++) {
		lua_createtable(L, 0, 4);
		set_str(L, "id", b[i].id);
		set_u64(L, "size", b[i].size);
		set_u64(L, "page_size", b[i].page_size);
		set_str(L, "backing", b[i].backing);
		mre_sbx_proxy(L, MRE_VIEW_BLOCK);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	mre_sbx_proxy(L, MRE_VIEW_BLOCKS);
}

void mre_view_vm(lua_State *L, const struct mre_facts_vm *vm)
{
	static const struct mre_facts_vm none;

	if (!vm)
		vm = &none;
	lua_createtable(L, 0, 9);
	set_str(L, "name", vm->name);
	set_str(L, "uuid", vm->uuid);
	lua_createtable(L, 0, (int)vm->nlabels);
	for (unsigned i = 0; i < vm->nlabels; i++) {
		if (!vm->label_keys || !vm->label_keys[i])
			continue;
		set_str(L, vm->label_keys[i], vm->label_values ? vm->label_values[i] : "");
	}
	mre_sbx_proxy(L, MRE_VIEW_LABELS);
	lua_setfield(L, -2, "labels");
	set_u64(L, "ram_bytes", vm->ram_bytes);
	push_blocks(L, vm->nblocks, vm->blocks);
	lua_setfield(L, -2, "blocks");
	set_bool(L, "running", vm->running);
	set_num(L, "zero_ratio", vm->zero_ratio);
	set_num(L, "sample_compress_ratio", vm->sample_compress_ratio);
	mre_sbx_proxy(L, MRE_VIEW_VM);
}

void mre_view_target(lua_State *L, const struct mre_facts_target *t)
{
	static const struct mre_facts_target none;

	if (!t)
		t = &none;
	lua_createtable(L, 0, 7);
	set_str(L, "kind", t->kind);
	set_str(L, "path", t->path);
	set_str(L, "fs_type", t->fs_type);
	set_bool(L, "direct_io", t->direct_io);
	set_u64(L, "dio_align", t->dio_align);
	set_u64(L, "free_bytes", t->free_bytes);
	set_bool(L, "rotational", t->rotational);
	mre_sbx_proxy(L, MRE_VIEW_TARGET);
}

void mre_view_host(lua_State *L, const struct mre_facts_host *h)
{
	static const struct mre_facts_host none = { .cpus = 1 };

	if (!h)
		h = &none;
	lua_createtable(L, 0, 3);
	set_u64(L, "cpus", h->cpus);
	set_u64(L, "mem_free", h->mem_free);
	set_bool(L, "io_uring", h->io_uring);
	mre_sbx_proxy(L, MRE_VIEW_HOST);
}

void mre_view_params(lua_State *L, const struct mre_facts_params *p)
{
	unsigned n = p ? p->n : 0, nset = 0;

	for (unsigned i = 0; i < n; i++)
		nset += p->p[i].set;
	lua_createtable(L, 0, (int)n + 2);            /* params */
	lua_createtable(L, 0, 4);                     /* capabilities */
	lua_createtable(L, (int)nset, (int)nset);     /* set */
	nset = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct mre_param *q = &p->p[i];

		if (!q->name)
			continue;
		switch (q->type) {
		case MRE_PARAM_BOOL:
			lua_pushboolean(L, q->b);
			break;
		case MRE_PARAM_INT:
			lua_pushinteger(L, (lua_Integer)q->i);
			break;
		default:
			lua_pushstring(L, q->s ? q->s : "");
		}
		lua_setfield(L, q->capability ? -3 : -4, q->name);
		if (q->set) {
			lua_pushstring(L, q->name);
			lua_rawseti(L, -2, (lua_Integer)++nset);
			lua_pushboolean(L, 1);
			lua_setfield(L, -2, q->name);
		}
	}
	mre_sbx_proxy(L, MRE_VIEW_SET);
	lua_setfield(L, -3, "set");
	mre_sbx_proxy(L, MRE_VIEW_CAPS);
	lua_setfield(L, -2, "capabilities");
	mre_sbx_proxy(L, MRE_VIEW_PARAMS);
}

void mre_view_image(lua_State *L, const struct mre_facts_image *img)
{
	static const struct mre_facts_image none;

	if (!img)
		img = &none;
	lua_createtable(L, 0, 10);
	set_str(L, "path", img->path);
	set_str(L, "format", img->format);
	set_str(L, "compression", img->compression ? img->compression : "none");
	set_str(L, "header", img->header ? img->header : "none");
	set_bool(L, "checksums", img->checksums);
	set_u64(L, "page_size", img->page_size);
	set_u64(L, "ram_bytes", img->ram_bytes);
	set_u64(L, "present_bytes", img->present_bytes);
	push_blocks(L, img->nblocks, img->blocks);
	lua_setfield(L, -2, "blocks");
	mre_sbx_proxy(L, MRE_VIEW_IMAGE);
}

void mre_view_stats(lua_State *L, const struct mre_facts_stats *st)
{
	static const struct mre_facts_stats none;

	if (!st)
		st = &none;
	lua_createtable(L, 0, 8);
	set_str(L, "status", st->status);
	set_u64(L, "total", st->total);
	set_u64(L, "transferred", st->transferred);
	set_u64(L, "remaining", st->remaining);
	set_u64(L, "elapsed_ms", st->elapsed_ms);
	set_num(L, "mbps", st->mbps);
	set_u64(L, "normal_pages", st->normal_pages);
	set_u64(L, "zero_pages", st->zero_pages);
	mre_sbx_proxy(L, MRE_VIEW_STATS);
}

void mre_view_result(lua_State *L, const struct mre_facts_result *res)
{
	static const struct mre_facts_result none;

	if (!res)
		res = &none;
	lua_createtable(L, 0, 6);
	set_str(L, "status", res->status);
	set_str(L, "error", res->error);
	set_str(L, "kind", res->kind);
	set_u64(L, "bytes", res->bytes);
	set_u64(L, "duration_ms", res->duration_ms);
	set_num(L, "mbps", res->mbps);
	mre_sbx_proxy(L, MRE_VIEW_RESULT);
}

/* ---- plan tables -> struct mre_plan ----------------------------------- */

#define HEADER_MAX (1u << 20)      /* raw bytes or XML */
#define JSON_MAX (64u * 1024)      /* serialised header data */
#define JSON_DEPTH 16
#define JSON_VALUES 4096

/* A short, quoted description of the value at @idx for messages. */
static const char *describe(lua_State *L, int idx, char *buf, size_t len)
{
	size_t n;
	const char *s;

	switch (lua_type(L, idx)) {
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &n);
		if (n > 40)
			snprintf(buf, len, "\"%.37s...\"", s);
		else
			snprintf(buf, len, "\"%s\"", s);
		break;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			snprintf(buf, len, "%lld", (long long)lua_tointeger(L, idx));
		else
			snprintf(buf, len, "%.14g", (double)lua_tonumber(L, idx));
		break;
	case LUA_TBOOLEAN:
		snprintf(buf, len, "%s", lua_toboolean(L, idx) ? "true" : "false");
		break;
	case LUA_TNIL:
		snprintf(buf, len, "nil");
		break;
	default:
		snprintf(buf, len, "a %s", lua_typename(L, lua_type(L, idx)));
	}
	return buf;
}

struct conv {
	lua_State *L;
	char *msg;
	size_t msglen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct conv *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->msg, c->msglen, fmt, ap);
	va_end(ap);
	return -1;
}

static int get_int(struct conv *c, int idx, const char *field, const char *allowed,
		   long long lo, long long hi, bool pow2, long long *out)
{
	char d[64];
	lua_Integer v;
	int isnum = 0;

	if (lua_type(c->L, idx) != LUA_TNUMBER)
		return fail(c, "plan field '%s': %s is not a number (allowed: %s)", field,
			    describe(c->L, idx, d, sizeof(d)), allowed);
	v = lua_tointegerx(c->L, idx, &isnum);
	if (!isnum)
		return fail(c, "plan field '%s': %s is not an integer (allowed: %s)", field,
			    describe(c->L, idx, d, sizeof(d)), allowed);
	if (v < lo || v > hi || (pow2 && (v & (v - 1))))
		return fail(c, "plan field '%s': %s is not allowed (allowed: %s)", field,
			    describe(c->L, idx, d, sizeof(d)), allowed);
	*out = v;
	return 0;
}

static int get_bool(struct conv *c, int idx, const char *field, bool *out)
{
	char d[64];

	if (lua_type(c->L, idx) != LUA_TBOOLEAN)
		return fail(c, "plan field '%s': %s is not a boolean (allowed: true, false)", field,
			    describe(c->L, idx, d, sizeof(d)));
	*out = lua_toboolean(c->L, idx);
	return 0;
}

/* One of @names (NULL-terminated); returns its index. */
static int get_enum(struct conv *c, int idx, const char *field, const char *const *names)
{
	char d[64], allowed[128] = "";
	const char *s = lua_type(c->L, idx) == LUA_TSTRING ? lua_tostring(c->L, idx) : NULL;

	for (int i = 0; names[i]; i++) {
		if (s && !strcmp(s, names[i]))
			return i;
		snprintf(allowed + strlen(allowed), sizeof(allowed) - strlen(allowed), "%s\"%s\"",
			 i ? ", " : "", names[i]);
	}
	return fail(c, "plan field '%s': %s is not allowed (allowed: %s)", field,
		    describe(c->L, idx, d, sizeof(d)), allowed);
}

static int dup_lstr(struct conv *c, int idx, const char *what, char **out, size_t *outlen,
		    bool nul_ok)
{
	size_t n;
	const char *s = lua_tolstring(c->L, idx, &n);
	char *p;

	if (!n)
		return fail(c, "plan field 'header': %s is empty", what);
	if (n > HEADER_MAX)
		return fail(c, "plan field 'header': %s is %zu bytes (allowed: at most %u)", what, n,
			    HEADER_MAX);
	if (!nul_ok && memchr(s, 0, n))
		return fail(c, "plan field 'header': %s contains a NUL byte", what);
	p = malloc(n + 1);
	if (!p)
		return fail(c, "plan field 'header': out of memory");
	memcpy(p, s, n);
	p[n] = 0;
	*out = p;
	if (outlen)
		*outlen = n;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct json_ctx {
	struct conv *c;
	struct mre_jsonw j;
	unsigned values;
};

static int json_value(struct json_ctx *x, int idx, int depth, const char *path);

static int json_table(struct json_ctx *x, int idx, int depth, const char *path)
{
	lua_State *L = x->c->L;
	size_t n = lua_rawlen(L, idx), count = 0, nstr = 0;
	bool array = true;
	const char **keys;
	char sub[128];

	if (depth > JSON_DEPTH)
		return fail(x->c, "plan field 'header': data nested deeper than %d levels (at %s)",
			    JSON_DEPTH, path);
	if (!lua_checkstack(L, 4))
		return fail(x->c, "plan field 'header': out of stack space");
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		count++;
		if (lua_type(L, -2) == LUA_TSTRING) {
			nstr++;
			array = false;
		} else if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1 ||
			   (size_t)lua_tointeger(L, -2) > n) {
			char d[64];

			describe(L, -2, d, sizeof(d));
			lua_pop(L, 2);
			return fail(x->c,
				    "plan field 'header': data key %s at %s is neither a name nor an array index",
				    d, path);
		}
		lua_pop(L, 1);
		if (count > JSON_VALUES) {
			lua_pop(L, 1);
			return fail(x->c, "plan field 'header': data has more than %u values",
				    JSON_VALUES);
		}
	}
	if (array && count == n && n > 0) {
		mre_jsonw_arr_begin(&x->j);
		for (size_t i = 1; i <= n; i++) {
			lua_rawgeti(L, idx, (lua_Integer)i);
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			if (json_value(x, lua_gettop(L), depth + 1, sub)) {
				lua_pop(L, 1);
				return -1;
			}
			lua_pop(L, 1);
		}
		mre_jsonw_arr_end(&x->j);
		return 0;
	}
	if (nstr != count)
		return fail(x->c, "plan field 'header': data at %s mixes names and array indexes", path);
	/* keys sorted so the same data always gives the same bytes; the key
	 * array is a userdata, so a memory error here leaks nothing */
	keys = lua_newuserdatauv(L, (count ? count : 1) * sizeof(*keys), 0);
	count = 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		keys[count++] = lua_tostring(L, -2);  /* anchored by the table */
		lua_pop(L, 1);
	}
	qsort(keys, count, sizeof(*keys), cmp_str);
	mre_jsonw_obj_begin(&x->j);
	for (size_t i = 0; i < count; i++) {
		mre_jsonw_key(&x->j, keys[i]);
		lua_pushstring(L, keys[i]);
		lua_rawget(L, idx);
		snprintf(sub, sizeof(sub), "%s.%s", path, keys[i]);
		if (json_value(x, lua_gettop(L), depth + 1, sub)) {
			lua_pop(L, 2);
			return -1;
		}
		lua_pop(L, 1);
	}
	mre_jsonw_obj_end(&x->j);
	lua_pop(L, 1);  /* keys */
	if (x->j.wb->len > JSON_MAX)
		return fail(x->c, "plan field 'header': data is more than %u bytes as JSON", JSON_MAX);
	return 0;
}

static int json_value(struct json_ctx *x, int idx, int depth, const char *path)
{
	lua_State *L = x->c->L;

	if (++x->values > JSON_VALUES)
		return fail(x->c, "plan field 'header': data has more than %u values", JSON_VALUES);
	switch (lua_type(L, idx)) {
	case LUA_TSTRING:
		mre_jsonw_str(&x->j, lua_tostring(L, idx));
		return 0;
	case LUA_TBOOLEAN:
		mre_jsonw_bool(&x->j, lua_toboolean(L, idx));
		return 0;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx)) {
			mre_jsonw_i64(&x->j, (int64_t)lua_tointeger(L, idx));
		} else {
			double v = (double)lua_tonumber(L, idx);

			if (v != v || v > 1.7976931348623157e308 || v < -1.7976931348623157e308)
				return fail(x->c, "plan field 'header': data at %s is not a finite number",
					    path);
			mre_jsonw_double(&x->j, v);
		}
		return 0;
	case LUA_TTABLE:
		return json_table(x, idx, depth, path);
	default:
		return fail(x->c, "plan field 'header': data at %s is a %s (allowed: strings, numbers, booleans and tables of them)",
			    path, luaL_typename(L, idx));
	}
}

static int get_header(struct conv *c, int idx, struct mre_plan *plan, struct mre_wbuf *scratch)
{
	lua_State *L = c->L;
	static const char *const formats[] = { "json", "libvirt", "raw", "none", NULL };
	char d[64];
	int f;

	idx = lua_absindex(L, idx);
	plan->header = MRE_PLAN_HEADER_NONE;
	switch (lua_type(L, idx)) {
	case LUA_TBOOLEAN:
		if (!lua_toboolean(L, idx))
			return 0;
		break;
	case LUA_TSTRING:
		if (dup_lstr(c, idx, "the raw header", (char **)&plan->header_raw, &plan->header_raw_len,
			     true))
			return -1;
		plan->header = MRE_PLAN_HEADER_RAW;
		return 0;
	case LUA_TTABLE:
		goto table;
	default:
		break;
	}
	return fail(c,
		    "plan field 'header': %s is not a header (allowed: a string of raw bytes, false, "
		    "or a table { format = \"json\", data = {...} } / { format = \"libvirt\", xml = \"...\" } "
		    "/ { format = \"raw\", data = \"...\" })",
		    describe(L, idx, d, sizeof(d)));
table:
	/* only format, data, xml; which of data/xml depends on format */
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;

		lua_pop(L, 1);
		if (!k || (strcmp(k, "format") && strcmp(k, "data") && strcmp(k, "xml"))) {
			describe(L, -1, d, sizeof(d));
			lua_pop(L, 1);
			return fail(c, "plan field 'header': unknown key %s (allowed: format, data, xml)", d);
		}
	}
	lua_getfield(L, idx, "format");
	if (lua_type(L, -1) == LUA_TNIL) {
		lua_pop(L, 1);
		return fail(c, "plan field 'header': the table has no 'format' (allowed: \"json\", "
			       "\"libvirt\", \"raw\", \"none\")");
	}
	f = get_enum(c, -1, "header.format", formats);
	lua_pop(L, 1);
	if (f < 0)
		return -1;
	lua_getfield(L, idx, f == 1 ? "data" : "xml");
	if (lua_type(L, -1) != LUA_TNIL) {
		lua_pop(L, 1);
		return fail(c, "plan field 'header': format \"%s\" takes no '%s'", formats[f],
			    f == 1 ? "data" : "xml");
	}
	lua_pop(L, 1);
	switch (f) {
	case 0: {  /* json */
		struct json_ctx x = { .c = c };

		lua_getfield(L, idx, "data");
		if (lua_type(L, -1) != LUA_TTABLE) {
			describe(L, -1, d, sizeof(d));
			lua_pop(L, 1);
			return fail(c, "plan field 'header': json data is %s (allowed: a table)", d);
		}
		mre_wbuf_reset(scratch);
		mre_jsonw_init(&x.j, scratch);
		if (json_table(&x, lua_gettop(L), 1, "data")) {
			lua_pop(L, 1);
			return -1;
		}
		lua_pop(L, 1);
		if (scratch->len && scratch->data[0] == '[')
			return fail(c, "plan field 'header': json data must be a table of named fields, "
				       "not a list");
		mre_wbuf_u8(scratch, 0);
		if (mre_wbuf_err(scratch))
			return fail(c, "plan field 'header': out of memory");
		plan->header_json = strdup((const char *)scratch->data);
		if (!plan->header_json)
			return fail(c, "plan field 'header': out of memory");
		plan->header = MRE_PLAN_HEADER_MRENGINE;
		return 0;
	}
	case 1:  /* libvirt */
		lua_getfield(L, idx, "xml");
		if (lua_type(L, -1) != LUA_TSTRING) {
			describe(L, -1, d, sizeof(d));
			lua_pop(L, 1);
			return fail(c, "plan field 'header': libvirt xml is %s (allowed: a string)", d);
		}
		if (dup_lstr(c, -1, "the libvirt xml", &plan->header_xml, NULL, false)) {
			lua_pop(L, 1);
			return -1;
		}
		lua_pop(L, 1);
		plan->header = MRE_PLAN_HEADER_LIBVIRT;
		return 0;
	case 2:  /* raw */
		lua_getfield(L, idx, "data");
		if (lua_type(L, -1) != LUA_TSTRING) {
			describe(L, -1, d, sizeof(d));
			lua_pop(L, 1);
			return fail(c, "plan field 'header': raw data is %s (allowed: a string)", d);
		}
		if (dup_lstr(c, -1, "the raw header", (char **)&plan->header_raw,
			     &plan->header_raw_len, true)) {
			lua_pop(L, 1);
			return -1;
		}
		lua_pop(L, 1);
		plan->header = MRE_PLAN_HEADER_RAW;
		return 0;
	default:  /* none */
		return 0;
	}
}

struct field {
	const char *name;
	unsigned bit;
	bool save, restore;
};

static const struct field fields[] = {
	{ "alignment", MRE_PF_ALIGNMENT, true, false },
	{ "channels", MRE_PF_CHANNELS, true, true },
	{ "checksum", MRE_PF_CHECKSUM, true, false },
	{ "chunk_size", MRE_PF_CHUNK_SIZE, true, false },
	{ "compression", MRE_PF_COMPRESSION, true, false },
	{ "direct_io", MRE_PF_DIRECT_IO, true, true },
	{ "direct_io_fallback", MRE_PF_DIO_FALLBACK, true, true },
	{ "header", MRE_PF_HEADER, true, false },
	{ "io", MRE_PF_IO, true, true },
	{ "max_bandwidth", MRE_PF_MAX_BANDWIDTH, true, false },
	{ "prealloc", MRE_PF_PREALLOC, true, false },
	{ "sync", MRE_PF_SYNC, true, false },
	{ "verify", MRE_PF_VERIFY, false, true },
	{ NULL, 0, false, false },
};

static const char *field_list(enum mre_plan_kind kind, char *buf, size_t len)
{
	buf[0] = 0;
	for (const struct field *f = fields; f->name; f++)
		if (kind == MRE_PLAN_SAVE ? f->save : f->restore)
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? ", " : "",
				 f->name);
	return buf;
}

static int one_field(struct conv *c, const struct field *f, int v, struct mre_plan *plan,
		     struct mre_wbuf *scratch)
{
	static const char *const io_names[] = { "auto", "threads", "uring", NULL };
	static const char *const csum_names[] = { "none", "crc32c", NULL };
	static const char *const sync_names[] = { "fdatasync", "none", NULL };
	lua_State *L = c->L;
	long long x;
	int e;
	char d[64];

	switch (f->bit) {
	case MRE_PF_CHANNELS:
		if (get_int(c, v, f->name, "an integer from 1 to 256", 1, MRE_PLAN_MAX_CHANNELS, false, &x))
			return -1;
		plan->channels = (unsigned)x;
		return 0;
	case MRE_PF_IO:
		if ((e = get_enum(c, v, f->name, io_names)) < 0)
			return -1;
		plan->io = e == 0 ? MRE_PLAN_IO_AUTO : e == 1 ? MRE_PLAN_IO_THREADS : MRE_PLAN_IO_URING;
		return 0;
	case MRE_PF_DIRECT_IO:
		return get_bool(c, v, f->name, &plan->direct_io);
	case MRE_PF_DIO_FALLBACK:
		return get_bool(c, v, f->name, &plan->direct_io_fallback);
	case MRE_PF_PREALLOC:
		return get_bool(c, v, f->name, &plan->prealloc);
	case MRE_PF_VERIFY:
		return get_bool(c, v, f->name, &plan->verify);
	case MRE_PF_ALIGNMENT:
		if (get_int(c, v, f->name, "a power of two from 4096 (4 KiB) to 1073741824 (1 GiB)",
			    MRE_PLAN_MIN_ALIGN, MRE_PLAN_MAX_ALIGN, true, &x))
			return -1;
		plan->alignment = (uint64_t)x;
		return 0;
	case MRE_PF_CHUNK_SIZE:
		if (get_int(c, v, f->name, "a power of two from 65536 (64 KiB) to 16777216 (16 MiB)",
			    MRE_PLAN_MIN_CHUNK, MRE_PLAN_MAX_CHUNK, true, &x))
			return -1;
		plan->chunk_size = (uint64_t)x;
		return 0;
	case MRE_PF_MAX_BANDWIDTH:
		if (get_int(c, v, f->name, "an integer >= 0 (bytes/s; 0 = unlimited)", 0, LLONG_MAX,
			    false, &x))
			return -1;
		plan->max_bandwidth = (uint64_t)x;
		return 0;
	case MRE_PF_COMPRESSION:
		if (lua_type(L, v) != LUA_TSTRING ||
		    mre_compression_parse(lua_tostring(L, v), &plan->compression, &plan->level))
			return fail(c, "plan field 'compression': %s is not allowed (allowed: \"none\", "
				       "\"zstd\", \"zstd:1\"..\"zstd:19\", \"lz4\")",
				    describe(L, v, d, sizeof(d)));
		return 0;
	case MRE_PF_CHECKSUM:
		if ((e = get_enum(c, v, f->name, csum_names)) < 0)
			return -1;
		plan->checksum = e == 0 ? MRE_CSUM_NONE : MRE_CSUM_CRC32C;
		return 0;
	case MRE_PF_SYNC:
		if ((e = get_enum(c, v, f->name, sync_names)) < 0)
			return -1;
		plan->sync = e == 0 ? MRE_SYNC_FDATASYNC : MRE_SYNC_NONE;
		return 0;
	case MRE_PF_HEADER:
		free(plan->header_json);
		free(plan->header_xml);
		free(plan->header_raw);
		plan->header_json = plan->header_xml = NULL;
		plan->header_raw = NULL;
		plan->header_raw_len = 0;
		return get_header(c, v, plan, scratch);
	}
	return fail(c, "plan field '%s': not handled", f->name);
}

int mre_view_to_plan(lua_State *L, int idx, enum mre_plan_kind kind, struct mre_plan *plan,
		     struct mre_wbuf *scratch, unsigned *set, char *msg, size_t msglen)
{
	struct conv c = { L, msg, msglen };
	char d[64], list[256];

	*set = 0;
	idx = lua_absindex(L, idx);
	if (lua_type(L, idx) != LUA_TTABLE)
		return fail(&c, "the hook returned %s (allowed: a plan table, or nil for no opinion)",
			    describe(L, idx, d, sizeof(d)));
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		const struct field *f = NULL;
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;

		if (k)
			for (f = fields; f->name && strcmp(f->name, k); f++)
				;
		if (!k || !f->name) {
			describe(L, -2, d, sizeof(d));
			lua_pop(L, 2);
			return fail(&c, "unknown plan field %s (allowed: %s)", d,
				    field_list(kind, list, sizeof(list)));
		}
		if (kind == MRE_PLAN_SAVE ? !f->save : !f->restore) {
			lua_pop(L, 2);
			return fail(&c, "plan field '%s' does not apply to a %s (allowed: %s)", k,
				    kind == MRE_PLAN_SAVE ? "save" : "restore",
				    field_list(kind, list, sizeof(list)));
		}
		if (one_field(&c, f, lua_gettop(L), plan, scratch)) {
			lua_pop(L, 2);
			return -1;
		}
		*set |= f->bit;
		lua_pop(L, 1);
	}
	return 0;
}

int mre_view_to_bandwidth(lua_State *L, int idx, bool *have, uint64_t *bw, char *msg,
			  size_t msglen)
{
	struct conv c = { L, msg, msglen };
	char d[64];
	long long x;

	*have = false;
	idx = lua_absindex(L, idx);
	if (lua_type(L, idx) == LUA_TNIL)
		return 0;
	if (lua_type(L, idx) != LUA_TTABLE)
		return fail(&c, "the hook returned %s (allowed: nil, or { max_bandwidth = N })",
			    describe(L, idx, d, sizeof(d)));
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		if (lua_type(L, -2) != LUA_TSTRING || strcmp(lua_tostring(L, -2), "max_bandwidth")) {
			describe(L, -2, d, sizeof(d));
			lua_pop(L, 2);
			return fail(&c, "unknown field %s in the progress result (allowed: max_bandwidth)",
				    d);
		}
		if (get_int(&c, lua_gettop(L), "max_bandwidth", "an integer >= 0 (bytes/s; 0 = unlimited)",
			    0, LLONG_MAX, false, &x)) {
			lua_pop(L, 2);
			return -1;
		}
		*bw = (uint64_t)x;
		*have = true;
		lua_pop(L, 1);
	}
	return 0;
}
