/* SPDX-License-Identifier: MIT */
/*
 * policy.c: the policy API of policy.h on top of the sandbox: finding a
 * policy file, loading it (the chunk must return a table of known keys
 * whose hooks are functions), calling hooks with read-only views of the
 * facts and turning their results into validated plans, and rebuilding a
 * state from the source kept in memory after a kill or a memory error
 * tainted it. Every error reads "policy NAME: HOOK: message (file:line)".
 * The engine decides what a failure means for the job; nothing here logs
 * an error on its own.
 */
#include "policy/policy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

#include "policy/sbx.h"
#include "util/log.h"
#include "util/wbuf.h"

#ifndef MRE_POLICYDIR
#define MRE_POLICYDIR "/usr/local/share/mrengine/policies"
#endif

#define POLICY_FILE_MAX (1u << 20)
#define NAME_MAX_LEN 64

struct mre_policy {
	struct mre_sbx sbx;
	struct mre_sbx_limits limits;
	char *path;
	char *src;
	size_t srclen;
	char stem[NAME_MAX_LEN + 1];
	char name[NAME_MAX_LEN + 1];
	char chunkname[80];
	int hooks[MRE_HOOK__COUNT];      /* registry refs, LUA_NOREF when absent */
	int hook_line[MRE_HOOK__COUNT];  /* where each hook is defined */
	bool tainted;
	unsigned rebuilds;
	struct {
		uint64_t insn, usec;
	} cost[MRE_HOOK__COUNT];
};

static const char *const hook_names[MRE_HOOK__COUNT] = {
	[MRE_HOOK_SAVE] = "on_save",
	[MRE_HOOK_RESTORE] = "on_restore",
	[MRE_HOOK_PROGRESS] = "on_progress",
	[MRE_HOOK_COMPLETE] = "on_complete",
};

const char *mre_hook_name(enum mre_hook h)
{
	return (unsigned)h < MRE_HOOK__COUNT ? hook_names[h] : "?";
}

/* ---- finding and reading --------------------------------------------- */

static bool readable(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, R_OK);
}

int mre_policy_find(const char *name_or_path, char *out, size_t outlen, struct mre_err *err)
{
	const char *dirs[] = { "policies", MRE_POLICYDIR };
	size_t n = strlen(name_or_path);
	char buf[4096];

	if (!n)
		return mre_err_set(err, -EINVAL, "policy: empty name");
	if (strchr(name_or_path, '/') || (n > 4 && !strcmp(name_or_path + n - 4, ".lua"))) {
		if (!readable(name_or_path))
			return mre_err_set(err, -ENOENT, "policy %s: no such readable file", name_or_path);
		if ((size_t)snprintf(out, outlen, "%s", name_or_path) >= outlen)
			return mre_err_set(err, -ENAMETOOLONG, "policy %s: path too long", name_or_path);
		return 0;
	}
	for (unsigned i = 0; i < 2; i++) {
		if ((size_t)snprintf(buf, sizeof(buf), "%s/%s.lua", dirs[i], name_or_path) >= sizeof(buf))
			continue;
		if (readable(buf)) {
			if ((size_t)snprintf(out, outlen, "%s", buf) >= outlen)
				return mre_err_set(err, -ENAMETOOLONG, "policy %s: path too long", buf);
			return 0;
		}
	}
	return mre_err_set(err, -ENOENT, "policy '%s' not found (looked for %s.lua in ./policies and %s)",
			   name_or_path, name_or_path, MRE_POLICYDIR);
}

static int read_source(const char *path, char **out, size_t *outlen, struct mre_err *err)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return mre_err_sys(err, -errno, "policy %s: open", path);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return mre_err_set(err, -EINVAL, "policy %s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > POLICY_FILE_MAX) {
		close(fd);
		return mre_err_set(err, -EFBIG, "policy %s: %lld bytes is too large (at most %u)", path,
				   (long long)st.st_size, POLICY_FILE_MAX);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return mre_err_set(err, -ENOMEM, "policy %s: out of memory", path);
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r < 0 ? -errno : -EIO;

			free(buf);
			close(fd);
			return mre_err_sys(err, e, "policy %s: read", path);
		}
		got += (size_t)r;
	}
	close(fd);
	buf[got] = 0;
	*out = buf;
	*outlen = got;
	return 0;
}

/* ---- errors ----------------------------------------------------------- */

static int policy_fail(struct mre_policy *p, const char *phase, const struct mre_sbx_result *r,
		       int fallback_line, struct mre_err *err)
{
	const char *src = r->src[0] ? r->src : p->sbx.chunk;
	int line = r->line ? r->line : fallback_line;

	if (r->taint) {
		p->tainted = true;
		mre_debug("policy %s: state tainted by %s; it will be rebuilt before its next use",
			  p->name, phase);
	}
	if (line > 0)
		return mre_err_set(err, MRE_EPOLICY, "policy %s: %s: %s (%s:%d)", p->name, phase, r->msg,
				   src, line);
	return mre_err_set(err, MRE_EPOLICY, "policy %s: %s: %s (%s)", p->name, phase, r->msg, src);
}

/* ---- loading ---------------------------------------------------------- */

static const char *const top_keys = "name, description, on_save, on_restore, on_progress, on_complete";

/* Line of the last statement of the chunk at @idx (its `return`), for
 * complaints about the returned table. */
static int last_line(lua_State *L, int idx)
{
	lua_Debug ar;
	int max = 0;

	lua_pushvalue(L, idx);
	if (!lua_getinfo(L, ">L", &ar))
		return 0;
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		if (lua_isinteger(L, -2) && lua_tointeger(L, -2) > max)
			max = (int)lua_tointeger(L, -2);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return max;
}

__attribute__((format(printf, 3, 4))) static int load_error(lua_State *L, int line,
							    const char *fmt, ...)
{
	struct mre_sbx *s = mre_sbx_of(L);
	va_list ap;

	va_start(ap, fmt);
	lua_pushfstring(L, "%s:%d: ", s->chunk, line);
	lua_pushvfstring(L, fmt, ap);
	va_end(ap);
	lua_concat(L, 2);
	return lua_error(L);
}

static int load_cb(lua_State *L)
{
	struct mre_policy *p = lua_touserdata(L, 1);
	int chunk, t;

	mre_sbx_loadchunk(L, p->src, p->srclen, p->chunkname);
	chunk = lua_gettop(L);
	lua_pushvalue(L, chunk);
	lua_call(L, 0, 1);
	t = lua_gettop(L);
	if (lua_type(L, t) != LUA_TTABLE)
		return load_error(L, last_line(L, chunk),
				  "the policy must return a table of hooks (got %s); e.g. return { on_save = function(vm, target, host, params) ... end }",
				  luaL_typename(L, t));
	lua_pushnil(L);
	while (lua_next(L, t)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
		int h = -1;

		if (!k)
			return load_error(L, last_line(L, chunk),
					  "the policy table has a %s key (allowed: %s)",
					  luaL_typename(L, -2), top_keys);
		for (int i = 0; i < MRE_HOOK__COUNT; i++)
			if (!strcmp(k, hook_names[i]))
				h = i;
		if (h >= 0) {
			lua_Debug ar;

			if (lua_type(L, -1) != LUA_TFUNCTION)
				return load_error(L, last_line(L, chunk),
						  "'%s' must be a function (got %s)", k,
						  luaL_typename(L, -1));
			lua_pushvalue(L, -1);
			lua_getinfo(L, ">S", &ar);
			p->hook_line[h] = ar.linedefined;
			lua_pushvalue(L, -1);
			p->hooks[h] = luaL_ref(L, LUA_REGISTRYINDEX);
		} else if (!strcmp(k, "name") || !strcmp(k, "description")) {
			size_t n = 0;
			const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;

			if (!v)
				return load_error(L, last_line(L, chunk), "'%s' must be a string (got %s)",
						  k, luaL_typename(L, -1));
			if (!strcmp(k, "name")) {
				if (!n || n > NAME_MAX_LEN)
					return load_error(L, last_line(L, chunk),
							  "'name' must be 1 to %d characters", NAME_MAX_LEN);
				for (size_t i = 0; i < n; i++)
					if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
					      (v[i] >= '0' && v[i] <= '9') || strchr("._-", v[i])))
						return load_error(L, last_line(L, chunk),
								  "'name' may only hold letters, digits, '.', '_' and '-' (got \"%s\")",
								  v);
				memcpy(p->name, v, n + 1);
			}
		} else {
			return load_error(L, last_line(L, chunk),
					  "unknown key '%s' in the policy table (allowed: %s)", k, top_keys);
		}
		lua_pop(L, 1);
	}
	return 0;
}

static void unref_hooks(struct mre_policy *p)
{
	for (int i = 0; i < MRE_HOOK__COUNT; i++) {
		p->hooks[i] = LUA_NOREF;
		p->hook_line[i] = 0;
	}
}

/* Build the state from p->src: sandbox, chunk, hook table. */
static int build(struct mre_policy *p, struct mre_err *err)
{
	struct mre_sbx_result r;

	unref_hooks(p);
	if (mre_sbx_open(&p->sbx, &p->limits, p->name, err))
		return err ? err->code : MRE_EPOLICY;
	snprintf(p->sbx.chunk, sizeof(p->sbx.chunk), "%s", p->chunkname + 1);
	if (mre_sbx_pcall(&p->sbx, load_cb, p, 0, &r)) {
		policy_fail(p, "load", &r, 0, err);
		mre_sbx_close(&p->sbx);
		unref_hooks(p);
		return MRE_EPOLICY;
	}
	p->tainted = false;
	return 0;
}

int mre_policy_load(const char *name_or_path, const struct mre_policy_limits *limits,
		    struct mre_policy **out, struct mre_err *err)
{
	struct mre_policy *p;
	char path[4096];
	const char *base, *dot;
	size_t n;
	int rc;

	*out = NULL;
	if ((rc = mre_policy_find(name_or_path, path, sizeof(path), err)))
		return rc;
	p = calloc(1, sizeof(*p));
	if (!p)
		return mre_err_set(err, -ENOMEM, "policy %s: out of memory", path);
	p->limits.mem_bytes = limits && limits->mem_bytes ? limits->mem_bytes : 16u << 20;
	p->limits.instructions = limits && limits->instructions ? limits->instructions : 10000000u;
	p->limits.time_ms = limits && limits->time_ms ? limits->time_ms : 1000u;
	p->path = strdup(path);
	if (!p->path) {
		free(p);
		return mre_err_set(err, -ENOMEM, "policy %s: out of memory", path);
	}
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
	if (n > NAME_MAX_LEN)
		n = NAME_MAX_LEN;
	memcpy(p->stem, base, n);
	p->stem[n] = 0;
	memcpy(p->name, p->stem, n + 1);
	snprintf(p->chunkname, sizeof(p->chunkname), "@%.60s", base);
	if ((rc = read_source(path, &p->src, &p->srclen, err)) || (rc = build(p, err))) {
		free(p->src);
		free(p->path);
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void mre_policy_free(struct mre_policy *p)
{
	if (!p)
		return;
	mre_sbx_close(&p->sbx);
	free(p->src);
	free(p->path);
	free(p);
}

const char *mre_policy_name(const struct mre_policy *p)
{
	return p->name;
}

const char *mre_policy_path(const struct mre_policy *p)
{
	return p->path;
}

bool mre_policy_has_hook(const struct mre_policy *p, enum mre_hook h)
{
	return (unsigned)h < MRE_HOOK__COUNT && p->hooks[h] != LUA_NOREF;
}

void mre_policy_last_cost(const struct mre_policy *p, enum mre_hook h, uint64_t *instructions,
			  uint64_t *usec)
{
	uint64_t i = 0, u = 0;

	if ((unsigned)h < MRE_HOOK__COUNT) {
		i = p->cost[h].insn;
		u = p->cost[h].usec;
	}
	if (instructions)
		*instructions = i;
	if (usec)
		*usec = u;
}

/* ---- calling hooks ---------------------------------------------------- */

struct call {
	struct mre_policy *p;
	enum mre_hook hook;
	const struct mre_facts_vm *vm;
	const struct mre_facts_target *target;
	const struct mre_facts_host *host;
	const struct mre_facts_params *params;
	const struct mre_facts_image *image;
	const struct mre_facts_stats *stats;
	const struct mre_facts_result *result;
	/* out */
	struct mre_plan plan;        /* a copy of the caller's plan, then the hook's fields */
	struct mre_wbuf scratch;
	unsigned set;                /* MRE_PF_* the hook returned */
	bool have;                   /* the hook returned something (not nil) */
	uint64_t bw;
	char msg[MRE_ERR_MSG_MAX - 128];
};

static int hook_cb(lua_State *L)
{
	struct call *c = lua_touserdata(L, 1);
	int nargs = 0, rc = 0;

	lua_rawgeti(L, LUA_REGISTRYINDEX, c->p->hooks[c->hook]);
	switch (c->hook) {
	case MRE_HOOK_SAVE:
		mre_view_vm(L, c->vm);
		mre_view_target(L, c->target);
		mre_view_host(L, c->host);
		mre_view_params(L, c->params);
		nargs = 4;
		break;
	case MRE_HOOK_RESTORE:
		mre_view_image(L, c->image);
		mre_view_vm(L, c->vm);
		mre_view_host(L, c->host);
		mre_view_params(L, c->params);
		nargs = 4;
		break;
	case MRE_HOOK_PROGRESS:
		mre_view_stats(L, c->stats);
		nargs = 1;
		break;
	case MRE_HOOK_COMPLETE:
		mre_view_result(L, c->result);
		nargs = 1;
		break;
	default:
		break;
	}
	lua_call(L, nargs, 1);
	c->have = lua_type(L, -1) != LUA_TNIL;
	if (!c->have)
		return 0;
	switch (c->hook) {
	case MRE_HOOK_SAVE:
	case MRE_HOOK_RESTORE:
		rc = mre_view_to_plan(L, -1,
				      c->hook == MRE_HOOK_SAVE ? MRE_PLAN_SAVE : MRE_PLAN_RESTORE,
				      &c->plan, &c->scratch, &c->set, c->msg, sizeof(c->msg));
		break;
	case MRE_HOOK_PROGRESS:
		rc = mre_view_to_bandwidth(L, -1, &c->have, &c->bw, c->msg, sizeof(c->msg));
		break;
	case MRE_HOOK_COMPLETE:
		snprintf(c->msg, sizeof(c->msg), "the hook returned a %s (allowed: nothing)",
			 luaL_typename(L, -1));
		rc = -1;
		break;
	default:
		break;
	}
	if (rc) {
		/* no Lua frame is left: the position falls back to the hook's definition */
		lua_pushstring(L, c->msg);
		return lua_error(L);
	}
	return 0;
}

static int run_hook(struct call *c, struct mre_err *err)
{
	struct mre_policy *p = c->p;
	struct mre_sbx_result r;
	struct mre_err rerr = MRE_ERR_INIT;
	int rc;

	p->cost[c->hook].insn = 0;
	p->cost[c->hook].usec = 0;
	if (p->tainted) {
		mre_sbx_close(&p->sbx);
		p->rebuilds++;
		if (build(p, &rerr)) {
			p->tainted = true;
			return mre_err_set(err, MRE_EPOLICY, "policy %s: %s: cannot rebuild the policy: %s",
					   p->name, hook_names[c->hook], rerr.msg);
		}
	}
	rc = mre_sbx_pcall(&p->sbx, hook_cb, c, 0, &r);
	p->cost[c->hook].insn = r.insn;
	p->cost[c->hook].usec = r.usec;
	if (rc)
		return policy_fail(p, hook_names[c->hook], &r, p->hook_line[c->hook], err);
	return 0;
}

static int plan_hook(struct call *c, struct mre_plan *plan, struct mre_err *err)
{
	struct mre_policy *p = c->p;
	int rc;

	if (!mre_policy_has_hook(p, c->hook))
		return 0;
	if (mre_plan_copy(&c->plan, plan, err))
		return err ? err->code : -ENOMEM;
	mre_wbuf_init(&c->scratch);
	rc = run_hook(c, err);
	mre_wbuf_free(&c->scratch);
	if (rc)
		goto out;
	if (!c->have)
		goto out;  /* nil: no opinion */
	if (c->hook == MRE_HOOK_SAVE && c->target && c->target->kind) {
		const struct mre_facts_target *t = c->target;

		if ((c->set & MRE_PF_DIRECT_IO) && c->plan.direct_io && !t->direct_io &&
		    !c->plan.direct_io_fallback) {
			rc = mre_err_set(err, MRE_EPOLICY,
					 "policy %s: on_save: plan field 'direct_io': true, but the target %s (%s) does not support O_DIRECT (allowed: direct_io = target.direct_io, or direct_io_fallback = true) (%s:%d)",
					 p->name, t->path ? t->path : "", t->fs_type ? t->fs_type : "?",
					 p->sbx.chunk, p->hook_line[c->hook]);
			goto out;
		}
		if ((c->set & (MRE_PF_DIRECT_IO | MRE_PF_ALIGNMENT)) && c->plan.direct_io &&
		    t->direct_io && t->dio_align && c->plan.alignment % t->dio_align) {
			rc = mre_err_set(err, MRE_EPOLICY,
					 "policy %s: on_save: plan field 'alignment': %llu is not a multiple of the target's direct-io alignment %u (%s:%d)",
					 p->name, (unsigned long long)c->plan.alignment, t->dio_align,
					 p->sbx.chunk, p->hook_line[c->hook]);
			goto out;
		}
	}
	{
		struct mre_err verr = MRE_ERR_INIT;

		if (mre_plan_validate(&c->plan, &verr)) {
			rc = mre_err_set(err, MRE_EPOLICY, "policy %s: %s: %s (%s:%d)", p->name,
					 hook_names[c->hook], verr.msg, p->sbx.chunk,
					 p->hook_line[c->hook]);
			goto out;
		}
	}
	free(c->plan.policy);
	c->plan.policy = strdup(p->name);
	if (!c->plan.policy) {
		rc = mre_err_set(err, -ENOMEM, "policy %s: out of memory", p->name);
		goto out;
	}
	mre_plan_free(plan);
	*plan = c->plan;
	return 0;
out:
	mre_plan_free(&c->plan);
	return rc;
}

int mre_policy_on_save(struct mre_policy *p, const struct mre_facts_vm *vm,
		       const struct mre_facts_target *target, const struct mre_facts_host *host,
		       const struct mre_facts_params *params, struct mre_plan *plan,
		       struct mre_err *err)
{
	struct call c = {
		.p = p, .hook = MRE_HOOK_SAVE, .vm = vm, .target = target, .host = host,
		.params = params,
	};

	return plan_hook(&c, plan, err);
}

int mre_policy_on_restore(struct mre_policy *p, const struct mre_facts_image *image,
			  const struct mre_facts_vm *vm, const struct mre_facts_host *host,
			  const struct mre_facts_params *params, struct mre_plan *plan,
			  struct mre_err *err)
{
	struct call c = {
		.p = p, .hook = MRE_HOOK_RESTORE, .image = image, .vm = vm, .host = host,
		.params = params,
	};

	return plan_hook(&c, plan, err);
}

int mre_policy_on_progress(struct mre_policy *p, const struct mre_facts_stats *stats,
			   uint64_t *max_bw, struct mre_err *err)
{
	struct call c = { .p = p, .hook = MRE_HOOK_PROGRESS, .stats = stats };
	int rc;

	if (!mre_policy_has_hook(p, MRE_HOOK_PROGRESS))
		return 0;
	if ((rc = run_hook(&c, err)))
		return rc;
	if (!c.have)
		return 0;
	*max_bw = c.bw;
	return 1;
}

int mre_policy_on_complete(struct mre_policy *p, const struct mre_facts_result *result,
			   struct mre_err *err)
{
	struct call c = { .p = p, .hook = MRE_HOOK_COMPLETE, .result = result };

	if (!mre_policy_has_hook(p, MRE_HOOK_COMPLETE))
		return 0;
	return run_hook(&c, err);
}
