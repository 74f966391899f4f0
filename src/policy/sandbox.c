/* SPDX-License-Identifier: MIT */
/*
 * sandbox.c: the Lua state a policy runs in, and the one way into it.
 *
 * A policy is untrusted code. Its state gets a capped allocator, only the
 * base/string/table/math/utf8/coroutine libraries (without anything that
 * loads code, touches files or the collector), library tables behind
 * read-only proxies, a locked string metatable, and an environment in
 * which every global read of an undeclared name and every global write is
 * an error. mre_sbx_pcall() is the single protected call: a C message
 * handler finds the policy's file and line, and a count hook enforces an
 * instruction budget and a deadline. Once tripped, the hook fires on every
 * instruction and the pcall/xpcall/coroutine.resume that policies see
 * re-raise, so policy code cannot swallow a kill or a memory error.
 * Nothing here knows about plans or facts (see view.c and policy.c).
 */
#include "policy/sbx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lualib.h>

#include "util/log.h"

/* The __metatable value of every protected table: what getmetatable()
 * returns to policy code, and how rawset recognises a protected table. */
#define LOCK "read-only"

static const unsigned char prelude_src[] = {
#include "policy/prelude.inc"
};

static const char *const view_names[MRE_VIEW__COUNT] = {
	[MRE_VIEW_VM] = "vm",
	[MRE_VIEW_BLOCK] = "block",
	[MRE_VIEW_TARGET] = "target",
	[MRE_VIEW_HOST] = "host",
	[MRE_VIEW_IMAGE] = "image",
	[MRE_VIEW_STATS] = "stats",
	[MRE_VIEW_RESULT] = "result",
	[MRE_VIEW_LABELS] = "labels",
	[MRE_VIEW_BLOCKS] = "blocks",
	[MRE_VIEW_PARAMS] = "params",
	[MRE_VIEW_CAPS] = "capabilities",
	[MRE_VIEW_SET] = "set",
	[MRE_VIEW_LIB] = "library",
};

const char *mre_sbx_view_name(enum mre_view kind)
{
	return (unsigned)kind < MRE_VIEW__COUNT ? view_names[kind] : "?";
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct mre_sbx *mre_sbx_of(lua_State *L)
{
	void *ud;

	lua_getallocf(L, &ud);
	return ud;
}

static void find_position(lua_State *L, struct mre_sbx *s, int level, char *src, size_t srclen,
			  int *line);

/* ---- allocator ------------------------------------------------------- */

/*
 * Refuses only growth past the cap (the lua_Alloc contract: frees and
 * shrinks must succeed). When ptr is NULL, osize is a type tag, not a size.
 */
static void *sbx_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct mre_sbx *s = ud;
	size_t old = ptr ? osize : 0;
	void *np;

	if (nsize == 0) {
		free(ptr);
		s->mem_used -= old;
		return NULL;
	}
	if (nsize > old && s->mem_used - old + nsize > s->mem_limit) {
		/* A memory error unwinds without the message handler, so note the
		 * position now. Only for a new object (ptr == NULL): the call stack
		 * is consistent then, which it is not while the stack itself is
		 * being reallocated. */
		if (!ptr && s->in_call && !s->refusals)
			find_position(s->L, s, 0, s->oom_src, sizeof(s->oom_src), &s->oom_line);
		s->refusals++;
		return NULL;
	}
	np = realloc(ptr, nsize);
	if (!np)
		return NULL;
	s->mem_used = s->mem_used - old + nsize;
	if (s->mem_used > s->mem_peak)
		s->mem_peak = s->mem_used;
	return np;
}

/* ---- budget ---------------------------------------------------------- */

static void kill_text(struct mre_sbx *s, char *buf, size_t len)
{
	switch (s->killed) {
	case MRE_SBX_KILL_INSN:
		snprintf(buf, len, "instruction budget exceeded (%llu instructions)",
			 (unsigned long long)s->insn_budget);
		break;
	case MRE_SBX_KILL_TIME:
		snprintf(buf, len, "time budget exceeded (%llu ms)",
			 (unsigned long long)(s->time_budget_ns / 1000000u));
		break;
	case MRE_SBX_KILL_MEM:
		snprintf(buf, len, "memory limit exceeded (%llu bytes)",
			 (unsigned long long)s->mem_limit);
		break;
	default:
		snprintf(buf, len, "policy stopped");
	}
}

/* Position of the innermost frame of the policy's own chunk (else the
 * innermost Lua frame) starting at @level. */
static void find_position(lua_State *L, struct mre_sbx *s, int level, char *src, size_t srclen,
			  int *line)
{
	lua_Debug ar;
	bool have = false;

	for (; lua_getstack(L, level, &ar); level++) {
		if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0)
			continue;
		if (!strcmp(ar.short_src, s->chunk)) {
			snprintf(src, srclen, "%s", ar.short_src);
			*line = ar.currentline;
			return;
		}
		if (!have) {
			snprintf(src, srclen, "%s", ar.short_src);
			*line = ar.currentline;
			have = true;
		}
	}
}

static void budget_hook(lua_State *L, lua_Debug *ar);

static void trip(lua_State *L, struct mre_sbx *s, enum mre_sbx_kill why)
{
	s->killed = why;
	s->err_src[0] = 0;
	s->err_line = 0;
	find_position(L, s, 0, s->err_src, sizeof(s->err_src), &s->err_line);
	if (!s->err_line && s->last_line) {
		snprintf(s->err_src, sizeof(s->err_src), "%s", s->last_src);
		s->err_line = s->last_line;
	}
}

/* Raise the kill as an error on @L; re-arm so every later instruction
 * (including those of a policy's own pcall or error handler) raises too. */
static int raise_kill(lua_State *L, struct mre_sbx *s)
{
	char msg[128];

	if (lua_gethookcount(L) != 1 || lua_gethook(L) != budget_hook)
		lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
	kill_text(s, msg, sizeof(msg));
	lua_pushstring(L, msg);
	return lua_error(L);
}

static void budget_hook(lua_State *L, lua_Debug *ar)
{
	struct mre_sbx *s = mre_sbx_of(L);

	if (!s->killed) {
		bool sample = (++s->fires & 31) == 0;

		s->insn += MRE_SBX_STEP;
		/* where the policy is, for errors that carry no position (a memory
		 * error unwinds without the message handler): sampled, and on every
		 * step once the state holds half its cap */
		if ((sample || s->mem_used > s->mem_limit / 2) && lua_getinfo(L, "Sl", ar) &&
		    ar->currentline > 0 &&
		    !strcmp(ar->short_src, s->chunk)) {
			memcpy(s->last_src, ar->short_src, sizeof(s->last_src));
			s->last_src[sizeof(s->last_src) - 1] = 0;
			s->last_line = ar->currentline;
		}
		if (s->insn > s->insn_budget)
			trip(L, s, MRE_SBX_KILL_INSN);
		else if (sample && now_ns() > s->deadline_ns)
			trip(L, s, MRE_SBX_KILL_TIME);
		else
			return;
	}
	raise_kill(L, s);
}

/* ---- message handler ------------------------------------------------- */

static int msgh(lua_State *L)
{
	struct mre_sbx *s = mre_sbx_of(L);
	const char *msg = lua_tostring(L, 1);

	if (!msg)
		msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	if (!s->killed) {
		s->err_src[0] = 0;
		s->err_line = 0;
		find_position(L, s, 1, s->err_src, sizeof(s->err_src), &s->err_line);
	}
	if (mre_log_get_level() >= MRE_LOG_DEBUG) {
		luaL_traceback(L, L, msg, 1);
		mre_debug("policy %s: %s", s->name ? s->name : "?", lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	lua_pushstring(L, msg);
	return 1;
}

/*
 * "x.lua:12: boom" -> "boom" with the position taken from the text, when
 * the prefix names the policy's chunk; repeated prefixes (errors passed
 * through coroutine.wrap) leave the innermost position.
 */
static const char *strip_position(struct mre_sbx *s, const char *msg, char *src, size_t srclen,
				  int *line)
{
	size_t cl = strlen(s->chunk);

	while (cl && !strncmp(msg, s->chunk, cl) && msg[cl] == ':' && msg[cl + 1] >= '0' &&
	       msg[cl + 1] <= '9') {
		const char *p = msg + cl + 1;
		long v = 0;

		while (*p >= '0' && *p <= '9' && v < 100000000)
			v = v * 10 + (*p++ - '0');
		if (p[0] != ':' || p[1] != ' ')
			break;
		snprintf(src, srclen, "%s", s->chunk);
		*line = (int)v;
		msg = p + 2;
	}
	return msg;
}

/* ---- protective replacements for base functions ---------------------- */

static bool is_protected(lua_State *L, int idx)
{
	bool prot = false;

	if (!lua_getmetatable(L, idx))
		return false;
	lua_pushliteral(L, "__metatable");
	lua_rawget(L, -2);
	if (lua_type(L, -1) == LUA_TSTRING && !strcmp(lua_tostring(L, -1), LOCK))
		prot = true;
	lua_pop(L, 2);
	return prot;
}

static int l_rawset(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checkany(L, 2);
	luaL_checkany(L, 3);
	if (is_protected(L, 1))
		return luaL_error(L, "rawset: the table is read-only");
	lua_settop(L, 3);
	lua_rawset(L, 1);
	return 1;
}

static int l_setmetatable(lua_State *L)
{
	int t = lua_type(L, 2);

	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
	if (is_protected(L, 1))
		return luaL_error(L, "setmetatable: the table is read-only");
	if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
		return luaL_error(L, "cannot change a protected metatable");
	if (t == LUA_TTABLE) {
		lua_pushliteral(L, "__gc");
		if (lua_rawget(L, 2) != LUA_TNIL)
			return luaL_error(L, "setmetatable: __gc metamethods are not allowed in a policy");
		lua_pop(L, 1);
	}
	lua_settop(L, 2);
	lua_setmetatable(L, 1);
	return 1;
}

static int l_collectgarbage(lua_State *L)
{
	const char *opt = luaL_optstring(L, 1, "count");

	if (strcmp(opt, "count"))
		return luaL_error(L, "collectgarbage: only \"count\" is allowed in a policy (got \"%s\")",
				  opt);
	lua_pushnumber(L, (lua_Number)lua_gc(L, LUA_GCCOUNT, 0) +
				  (lua_Number)lua_gc(L, LUA_GCCOUNTB, 0) / 1024);
	return 1;
}

/*
 * pcall, xpcall and coroutine.resume as policies see them: the original,
 * then a check of its outcome. A kill or a memory error is raised again
 * instead of being returned as `false, msg`.
 */
static int guard_finish(lua_State *L, int status, lua_KContext ctx)
{
	struct mre_sbx *s = mre_sbx_of(L);

	(void)status;
	(void)ctx;
	if (s->killed)
		return raise_kill(L, s);
	if (lua_gettop(L) >= 2 && lua_type(L, 1) == LUA_TBOOLEAN && !lua_toboolean(L, 1) &&
	    s->refusals && lua_type(L, 2) == LUA_TSTRING) {
		const char *m = lua_tostring(L, 2);
		size_t n = strlen(m), k = strlen("not enough memory");

		if (n >= k && !strcmp(m + n - k, "not enough memory")) {
			s->oom = true;
			trip(L, s, MRE_SBX_KILL_MEM);
			return raise_kill(L, s);
		}
	}
	return lua_gettop(L);
}

static int guarded(lua_State *L)
{
	int n = lua_gettop(L);

	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_callk(L, n, LUA_MULTRET, 0, guard_finish);
	return guard_finish(L, LUA_OK, 0);
}

/*
 * xpcall's message handler, wrapped. An error raised by the budget hook is
 * delivered while Lua still has hooks disabled, so a policy's handler
 * would run unbudgeted: after a kill it is skipped and the error passes
 * through unchanged.
 */
static int xpcall_handler(lua_State *L)
{
	struct mre_sbx *s = mre_sbx_of(L);

	if (s->killed)
		return 1;
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

static int xpcall_finish(lua_State *L, int status, lua_KContext ctx)
{
	(void)status;
	(void)ctx;
	return lua_gettop(L);
}

static int l_xpcall(lua_State *L)
{
	int n = lua_gettop(L);

	luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_pushvalue(L, 2);
	lua_pushcclosure(L, xpcall_handler, 1);
	lua_replace(L, 2);
	lua_pushvalue(L, lua_upvalueindex(1));  /* the guarded original */
	lua_insert(L, 1);
	lua_callk(L, n, LUA_MULTRET, 0, xpcall_finish);
	return lua_gettop(L);
}

/* Replace t[name] (t at @idx) by a guarded version of itself. */
static void guard_field(lua_State *L, int idx, const char *name)
{
	idx = lua_absindex(L, idx);
	lua_getfield(L, idx, name);
	lua_pushcclosure(L, guarded, 1);
	lua_setfield(L, idx, name);
}

/*
 * Lua patterns backtrack inside one C call, where the count hook never
 * fires: "a*a*a*a*b" against a few hundred a's runs for hours. Before
 * find/match/gmatch/gsub run, estimate the worst case as
 * len^quantifiers (times 2 per '?') and refuse above ~2^27 steps. Plain
 * finds and patterns without quantifiers are never refused.
 */
#define PATTERN_LOG2_MAX 27.0

static double log2_len(size_t n)
{
	double l = 0;

	while (n > 1) {
		n >>= 1;
		l += 1;
	}
	return l + 1;
}

static void check_pattern(lua_State *L, const char *fn, int plain_arg)
{
	size_t n, plen;
	const char *p = luaL_checklstring(L, 2, &plen);
	unsigned q = 0, opt = 0;

	luaL_checklstring(L, 1, &n);
	if (plain_arg && lua_toboolean(L, plain_arg))
		return;
	for (size_t i = 0; i < plen; i++) {
		if (p[i] == '%') {
			if (i + 1 < plen && (p[i + 1] == 'b' || p[i + 1] == 'f'))
				i += p[i + 1] == 'b' ? 3 : 1;
			else
				i++;
			continue;
		}
		if (p[i] == '[') {
			for (i++; i < plen && p[i] != ']'; i++)
				if (p[i] == '%')
					i++;
			continue;
		}
		if (i > 0 && (p[i] == '*' || p[i] == '+' || p[i] == '-'))
			q++;
		else if (i > 0 && p[i] == '?')
			opt++;
	}
	if (q * log2_len(n) + opt > PATTERN_LOG2_MAX) {
		char msg[160];

		snprintf(msg, sizeof(msg),
			 "string.%s: a pattern with %u repetitions is too costly on a %zu-byte string in a policy",
			 fn, q + opt, n);
		luaL_error(L, "%s", msg);
	}
}

static int pattern_guard(lua_State *L)
{
	const char *fn = lua_tostring(L, lua_upvalueindex(2));

	check_pattern(L, fn, !strcmp(fn, "find") ? 4 : 0);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

static void guard_pattern(lua_State *L, int idx, const char *name)
{
	idx = lua_absindex(L, idx);
	lua_getfield(L, idx, name);
	lua_pushstring(L, name);
	lua_pushcclosure(L, pattern_guard, 2);
	lua_setfield(L, idx, name);
}

/* ---- proxies and the environment ------------------------------------- */

static int ro_newindex(lua_State *L)
{
	const char *name = "table";

	if (lua_getmetatable(L, 1)) {
		lua_pushliteral(L, "__name");
		if (lua_rawget(L, -2) == LUA_TSTRING)
			name = lua_tostring(L, -1);
	}
	if (lua_type(L, 2) == LUA_TSTRING)
		return luaL_error(L, "cannot assign to '%s.%s': %s is read-only", name,
				  lua_tostring(L, 2), name);
	return luaL_error(L, "cannot modify %s: it is read-only", name);
}

/* The proxied table: the __index of the proxy's own metatable. */
static void push_data(lua_State *L, int idx)
{
	if (!lua_getmetatable(L, idx)) {
		lua_pushnil(L);
		return;
	}
	lua_pushliteral(L, "__index");
	lua_rawget(L, -2);
	lua_remove(L, -2);
}

static int pairs_iter(lua_State *L)
{
	lua_settop(L, 2);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_pushvalue(L, 2);
	if (lua_next(L, 3))
		return 2;
	lua_pushnil(L);
	return 1;
}

/* __pairs hands out an iterator that holds the data table as an upvalue,
 * never the table itself (which would be writable). */
static int ro_pairs(lua_State *L)
{
	push_data(L, 1);
	if (!lua_istable(L, -1))
		return luaL_error(L, "pairs: not a proxy");
	lua_pushcclosure(L, pairs_iter, 1);
	lua_pushvalue(L, 1);
	lua_pushnil(L);
	return 3;
}

static int ro_len(lua_State *L)
{
	push_data(L, 1);
	lua_pushinteger(L, lua_istable(L, -1) ? (lua_Integer)lua_rawlen(L, -1) : 0);
	return 1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* __index of a strict view's data table: an unknown field is an error that
 * lists the fields there are. */
static int strict_index(lua_State *L)
{
	const char *view = lua_tostring(L, lua_upvalueindex(1));
	const char *names[64];
	luaL_Buffer b;
	unsigned n = 0;

	lua_pushnil(L);
	while (lua_next(L, 1)) {
		if (lua_type(L, -2) == LUA_TSTRING && n < 64)
			names[n++] = lua_tostring(L, -2);
		lua_pop(L, 1);
	}
	qsort(names, n, sizeof(names[0]), cmp_str);
	luaL_buffinit(L, &b);
	for (unsigned i = 0; i < n; i++) {
		if (i)
			luaL_addstring(&b, ", ");
		luaL_addstring(&b, names[i]);
	}
	luaL_pushresult(&b);
	if (lua_type(L, 2) == LUA_TSTRING)
		return luaL_error(L, "%s has no field '%s' (fields: %s)", view, lua_tostring(L, 2),
				  lua_tostring(L, -1));
	return luaL_error(L, "%s has no field %s (fields: %s)", view, luaL_tolstring(L, 2, NULL),
			  lua_tostring(L, -2));
}

void mre_sbx_proxy(lua_State *L, enum mre_view kind)
{
	struct mre_sbx *s = mre_sbx_of(L);

	/* stack: data */
	if (kind < MRE_VIEW__STRICT) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, s->ref_strict_mt[kind]);
		lua_setmetatable(L, -2);
	}
	lua_createtable(L, 0, 0);                /* data proxy */
	lua_createtable(L, 0, 6);                /* data proxy mt */
	lua_pushvalue(L, -3);
	lua_setfield(L, -2, "__index");
	lua_rawgeti(L, LUA_REGISTRYINDEX, s->ref_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_rawgeti(L, LUA_REGISTRYINDEX, s->ref_pairs);
	lua_setfield(L, -2, "__pairs");
	lua_rawgeti(L, LUA_REGISTRYINDEX, s->ref_len);
	lua_setfield(L, -2, "__len");
	lua_pushliteral(L, LOCK);
	lua_setfield(L, -2, "__metatable");
	lua_pushstring(L, view_names[kind]);
	lua_setfield(L, -2, "__name");
	lua_setmetatable(L, -2);                 /* data proxy */
	lua_remove(L, -2);                       /* proxy */
}

/* Proxy for a library table, named after it; nested tables (mre.header)
 * are frozen first. */
static void freeze(lua_State *L, const char *name)
{
	int t = lua_absindex(L, -1);

	lua_pushnil(L);
	while (lua_next(L, t)) {
		if (lua_type(L, -1) == LUA_TTABLE && lua_type(L, -2) == LUA_TSTRING &&
		    !lua_getmetatable(L, -1)) {
			char sub[64];

			snprintf(sub, sizeof(sub), "%s.%s", name, lua_tostring(L, -2));
			freeze(L, sub);
			lua_pushvalue(L, -2);
			lua_insert(L, -2);
			lua_rawset(L, t);  /* replacing an existing key is allowed during next */
		} else {
			lua_pop(L, 1);
		}
	}
	mre_sbx_proxy(L, MRE_VIEW_LIB);
	lua_getmetatable(L, -1);
	lua_pushstring(L, name);
	lua_setfield(L, -2, "__name");
	lua_pop(L, 1);
}

static const char *const unavailable[] = {
	"io", "os", "package", "debug", "require", "load", "loadfile", "dofile", "loadstring",
	"module", "warn", NULL,
};

static int undeclared_read(lua_State *L)
{
	const char *k = lua_tostring(L, 2);

	if (!k || lua_type(L, 2) != LUA_TSTRING)
		return luaL_error(L, "read of an undeclared global");
	if (!strcmp(k, "print"))
		return luaL_error(L, "'print' is not available in a policy; use mre.log(level, msg)");
	for (unsigned i = 0; unavailable[i]; i++)
		if (!strcmp(k, unavailable[i]))
			return luaL_error(L, "'%s' is not available in a policy", k);
	return luaL_error(L, "read of undeclared global '%s'", k);
}

static int env_newindex(lua_State *L)
{
	const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;

	if (!k)
		return luaL_error(L, "assignment to the global environment: globals are read-only");
	lua_getmetatable(L, 1);
	lua_pushliteral(L, "__index");
	lua_rawget(L, -2);
	lua_pushvalue(L, 2);
	if (lua_rawget(L, -2) != LUA_TNIL)
		return luaL_error(L, "cannot assign to global '%s': globals are read-only", k);
	return luaL_error(L, "assignment to undeclared global '%s' (use 'local %s')", k, k);
}

/* ---- the mre module (C part; lua/prelude.lua adds the rest) ----------- */

static int l_log(lua_State *L)
{
	static const char *const levels[] = { "debug", "info", "warn", "error", NULL };
	static const enum mre_log_level map[] = { MRE_LOG_DEBUG, MRE_LOG_INFO, MRE_LOG_WARN,
						  MRE_LOG_ERROR };
	struct mre_sbx *s = mre_sbx_of(L);
	const char *lv = luaL_checkstring(L, 1);
	char line[400];
	const char *msg;
	size_t len, o = 0;
	uint64_t t;
	int i;

	for (i = 0; levels[i]; i++)
		if (!strcmp(lv, levels[i]))
			break;
	if (!levels[i])
		return luaL_error(L, "mre.log: level \"%s\" is not one of debug, info, warn, error", lv);
	if (lua_type(L, 2) != LUA_TSTRING && lua_type(L, 2) != LUA_TNUMBER)
		return luaL_error(L, "mre.log: the message must be a string (got %s)",
				  luaL_typename(L, 2));
	msg = lua_tolstring(L, 2, &len);

	/* token bucket: 20 messages at once, then 10 per second */
	t = now_ns();
	s->log_tokens += (double)(t - s->log_refill_ns) / 1e8;
	s->log_refill_ns = t;
	if (s->log_tokens > 20)
		s->log_tokens = 20;
	if (s->log_tokens < 1) {
		s->log_dropped++;
		return 0;
	}
	s->log_tokens -= 1;

	/* one line, printable ASCII */
	for (size_t k = 0; k < len && o + 5 < sizeof(line); k++) {
		unsigned char c = (unsigned char)msg[k];

		if (c >= 0x20 && c < 0x7f) {
			line[o++] = (char)c;
		} else {
			o += (size_t)snprintf(line + o, sizeof(line) - o, "\\x%02x", c);
		}
	}
	line[o] = 0;
	if (o + 5 >= sizeof(line) && o < len)
		memcpy(line + sizeof(line) - 4, "...", 4);
	if (s->log_dropped) {
		mre_log(map[i], "policy %s: %s (%u earlier messages dropped by the rate limit)",
			s->name ? s->name : "?", line, s->log_dropped);
		s->log_dropped = 0;
	} else {
		mre_log(map[i], "policy %s: %s", s->name ? s->name : "?", line);
	}
	return 0;
}

static int l_now(lua_State *L)
{
	lua_pushnumber(L, (lua_Number)now_ns() / 1e9);
	return 1;
}

/* ---- setup ----------------------------------------------------------- */

static int make_ref(lua_State *L, lua_CFunction f)
{
	lua_pushcfunction(L, f);
	return luaL_ref(L, LUA_REGISTRYINDEX);
}

static void open_lib(lua_State *L, const char *name, lua_CFunction open)
{
	luaL_requiref(L, name, open, 1);
	lua_pop(L, 1);
}

static const char *const base_allowed[] = {
	"assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "rawequal",
	"rawget", "rawlen", "rawset", "select", "setmetatable", "tonumber", "tostring", "type",
	"xpcall", "_VERSION", "collectgarbage", NULL,
};

static const char *const libs_allowed[] = {
	"string", "table", "math", "utf8", "coroutine", "mre", NULL,
};

static int setup(lua_State *L)
{
	struct mre_sbx *s = lua_touserdata(L, 1);
	int G, R;

	open_lib(L, LUA_GNAME, luaopen_base);
	open_lib(L, LUA_STRLIBNAME, luaopen_string);
	open_lib(L, LUA_TABLIBNAME, luaopen_table);
	open_lib(L, LUA_MATHLIBNAME, luaopen_math);
	open_lib(L, LUA_UTF8LIBNAME, luaopen_utf8);
	open_lib(L, LUA_COLIBNAME, luaopen_coroutine);

	lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
	R = lua_gettop(L);

	/* the real globals: trusted prelude only, never reachable from a policy */
	lua_getfield(L, R, "string");
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	guard_pattern(L, -1, "find");
	guard_pattern(L, -1, "match");
	guard_pattern(L, -1, "gmatch");
	guard_pattern(L, -1, "gsub");
	lua_pop(L, 1);
	lua_pushcfunction(L, l_rawset);
	lua_setfield(L, R, "rawset");
	lua_pushcfunction(L, l_setmetatable);
	lua_setfield(L, R, "setmetatable");
	lua_pushcfunction(L, l_collectgarbage);
	lua_setfield(L, R, "collectgarbage");
	guard_field(L, R, "pcall");
	guard_field(L, R, "xpcall");
	lua_getfield(L, R, "xpcall");
	lua_pushcclosure(L, l_xpcall, 1);
	lua_setfield(L, R, "xpcall");
	lua_getfield(L, R, "coroutine");
	guard_field(L, -1, "resume");
	lua_pop(L, 1);
	for (unsigned i = 0; unavailable[i]; i++) {
		lua_pushnil(L);
		lua_setfield(L, R, unavailable[i]);
	}
	lua_pushnil(L);
	lua_setfield(L, R, "print");

	/* shared metamethods and per-kind strict metatables */
	s->ref_msgh = make_ref(L, msgh);
	s->ref_newindex = make_ref(L, ro_newindex);
	s->ref_pairs = make_ref(L, ro_pairs);
	s->ref_len = make_ref(L, ro_len);
	for (int k = 0; k < MRE_VIEW__STRICT; k++) {
		lua_createtable(L, 0, 2);
		lua_pushstring(L, view_names[k]);
		lua_pushcclosure(L, strict_index, 1);
		lua_setfield(L, -2, "__index");
		lua_pushliteral(L, LOCK);
		lua_setfield(L, -2, "__metatable");
		s->ref_strict_mt[k] = luaL_ref(L, LUA_REGISTRYINDEX);
	}

	/* mre: C part, then the prelude (run with the real globals) */
	lua_createtable(L, 0, 32);
	lua_pushinteger(L, 1024);
	lua_setfield(L, -2, "KiB");
	lua_pushinteger(L, 1024 * 1024);
	lua_setfield(L, -2, "MiB");
	lua_pushinteger(L, 1024 * 1024 * 1024);
	lua_setfield(L, -2, "GiB");
	lua_pushinteger(L, (lua_Integer)1 << 40);
	lua_setfield(L, -2, "TiB");
	lua_pushcfunction(L, l_log);
	lua_setfield(L, -2, "log");
	lua_pushcfunction(L, l_now);
	lua_setfield(L, -2, "now");
	lua_setfield(L, R, "mre");
	if (luaL_loadbufferx(L, (const char *)prelude_src, sizeof(prelude_src), "=[mre prelude]", "t"))
		return lua_error(L);
	lua_call(L, 0, 0);

	/* the frozen globals every policy environment reads through */
	lua_createtable(L, 0, 32);
	G = lua_gettop(L);
	for (unsigned i = 0; base_allowed[i]; i++) {
		lua_getfield(L, R, base_allowed[i]);
		lua_setfield(L, G, base_allowed[i]);
	}
	for (unsigned i = 0; libs_allowed[i]; i++) {
		lua_getfield(L, R, libs_allowed[i]);
		freeze(L, libs_allowed[i]);
		lua_setfield(L, G, libs_allowed[i]);
	}
	lua_createtable(L, 0, 2);
	lua_pushcfunction(L, undeclared_read);
	lua_setfield(L, -2, "__index");
	lua_pushliteral(L, LOCK);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, G);
	lua_setfield(L, LUA_REGISTRYINDEX, "mre.globals");

	/* lock the string metatable: getmetatable("") must not reach string */
	lua_pushliteral(L, "");
	if (lua_getmetatable(L, -1)) {
		lua_pushliteral(L, LOCK);
		lua_setfield(L, -2, "__metatable");
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return 0;
}

void mre_sbx_loadchunk(lua_State *L, const char *src, size_t len, const char *chunkname)
{
	/* like luaL_loadfilex: skip a BOM and a first line starting with '#',
	 * keeping its newline so line numbers stay right */
	if (len >= 3 && !memcmp(src, "\xEF\xBB\xBF", 3)) {
		src += 3;
		len -= 3;
	}
	if (len && src[0] == '#') {
		while (len && src[0] != '\n') {
			src++;
			len--;
		}
	}
	if (len && (src[0] == LUA_SIGNATURE[0] || (src[0] == '\n' && len > 1 && src[1] == LUA_SIGNATURE[0]))) {
		lua_pushfstring(L, "%s:1: binary chunks are refused: a policy must be Lua source text",
				chunkname[0] == '@' ? chunkname + 1 : chunkname);
		lua_error(L);
	}
	if (luaL_loadbufferx(L, src, len, chunkname, "t") != LUA_OK)
		lua_error(L);
	/* _ENV: empty, reads fall through to the frozen globals */
	lua_createtable(L, 0, 0);
	lua_createtable(L, 0, 3);
	lua_getfield(L, LUA_REGISTRYINDEX, "mre.globals");
	lua_pushvalue(L, -3);
	lua_setfield(L, -2, "_G");  /* one chunk per state: _G is this environment */
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, env_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushliteral(L, LOCK);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	if (!lua_setupvalue(L, -2, 1))
		lua_pop(L, 1);
}

int mre_sbx_open(struct mre_sbx *s, const struct mre_sbx_limits *lim, const char *name,
		 struct mre_err *err)
{
	struct mre_sbx_result r;

	memset(s, 0, sizeof(*s));
	s->name = name;
	s->mem_limit = lim->mem_bytes;
	s->insn_budget = lim->instructions;
	s->time_budget_ns = lim->time_ms * 1000000u;
	s->log_tokens = 20;
	s->log_refill_ns = now_ns();
	s->ref_msgh = LUA_NOREF;
	s->L = lua_newstate(sbx_alloc, s);
	if (!s->L)
		return mre_err_set(err, -ENOMEM, "policy %s: cannot create a Lua state", name);
	/* setup runs before the message handler exists: plain pcall */
	lua_pushcfunction(s->L, setup);
	lua_pushlightuserdata(s->L, s);
	if (lua_pcall(s->L, 1, 0, 0) != LUA_OK) {
		snprintf(r.msg, sizeof(r.msg), "%s",
			 lua_type(s->L, -1) == LUA_TSTRING ? lua_tostring(s->L, -1) : "not enough memory");
		mre_sbx_close(s);
		return mre_err_set(err, MRE_EPOLICY, "policy %s: cannot set up the sandbox: %s", name,
				   r.msg);
	}
	/* the sandbox itself must not count against a policy's first call */
	lua_gc(s->L, LUA_GCCOLLECT);
	return 0;
}

void mre_sbx_close(struct mre_sbx *s)
{
	if (s->L)
		lua_close(s->L);
	s->L = NULL;
}

int mre_sbx_pcall(struct mre_sbx *s, lua_CFunction fn, void *ud, int nres,
		  struct mre_sbx_result *r)
{
	lua_State *L = s->L;
	int top = lua_gettop(L);
	const char *m;
	uint64_t end;
	int status;

	s->insn = 0;
	s->fires = 0;
	s->killed = MRE_SBX_OK;
	s->oom = false;
	s->refusals = 0;
	s->oom_src[0] = 0;
	s->oom_line = 0;
	s->last_src[0] = 0;
	s->last_line = 0;
	s->err_src[0] = 0;
	s->err_line = 0;
	s->start_ns = now_ns();
	s->deadline_ns = s->start_ns + s->time_budget_ns;

	lua_rawgeti(L, LUA_REGISTRYINDEX, s->ref_msgh);
	lua_pushcfunction(L, fn);
	lua_pushlightuserdata(L, ud);
	lua_sethook(L, budget_hook, LUA_MASKCOUNT, MRE_SBX_STEP);
	s->in_call = true;
	status = lua_pcall(L, 1, nres, top + 1);
	s->in_call = false;
	lua_sethook(L, NULL, 0, 0);
	end = now_ns();

	r->status = status;
	r->insn = s->insn;
	r->usec = (end - s->start_ns) / 1000;
	r->kill = s->killed;
	r->taint = false;
	r->msg[0] = 0;
	r->src[0] = 0;
	r->line = 0;
	if (status == LUA_OK && !s->killed && !s->oom) {
		lua_remove(L, top + 1);
		return 0;
	}

	if (status == LUA_ERRMEM && !s->killed) {
		s->killed = MRE_SBX_KILL_MEM;
		r->kill = MRE_SBX_KILL_MEM;
		if (s->oom_line) {
			snprintf(s->err_src, sizeof(s->err_src), "%s", s->oom_src);
			s->err_line = s->oom_line;
		} else if (s->last_line) {
			snprintf(s->err_src, sizeof(s->err_src), "%s", s->last_src);
			s->err_line = s->last_line;
		}
	}
	if (s->killed) {
		kill_text(s, r->msg, sizeof(r->msg));
		snprintf(r->src, sizeof(r->src), "%s", s->err_src);
		r->line = s->err_line;
		r->taint = true;
	} else {
		m = status != LUA_OK && lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
								     : "unknown error";
		snprintf(r->src, sizeof(r->src), "%s", s->err_src);
		r->line = s->err_line;
		m = strip_position(s, m, r->src, sizeof(r->src), &r->line);
		snprintf(r->msg, sizeof(r->msg), "%s", m);
		r->taint = status == LUA_ERRERR;
	}
	lua_settop(L, top);
	/* a state that nears its cap collects now rather than inside the next call */
	if (!r->taint && s->mem_used > s->mem_limit / 2)
		lua_gc(L, LUA_GCCOLLECT);
	return MRE_EPOLICY;
}
