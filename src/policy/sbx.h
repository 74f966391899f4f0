/* SPDX-License-Identifier: MIT */
/*
 * sbx.h: private to src/policy/ (the only directory that may include Lua
 * headers). The sandboxed Lua state behind one policy: capped allocator,
 * allow-listed libraries behind read-only proxies, a frozen per-policy
 * environment, the trusted prelude, and the single protected-call wrapper
 * with its instruction/time budget. policy.c drives it; view.c builds the
 * read-only views and reads hook results through it.
 */
#ifndef MRE_POLICY_SBX_H
#define MRE_POLICY_SBX_H

#include <stdbool.h>
#include <stdint.h>

#include <lua.h>

#include "util/err.h"

/* The count hook fires every MRE_SBX_STEP instructions; instruction counts
 * are reported with this granularity. */
#define MRE_SBX_STEP 10

/* What ended a call abnormally (also why a state is tainted). */
enum mre_sbx_kill {
	MRE_SBX_OK,
	MRE_SBX_KILL_INSN,   /* instruction budget */
	MRE_SBX_KILL_TIME,   /* deadline */
	MRE_SBX_KILL_MEM,    /* allocator cap */
};

/* View kinds: each has a name (for messages) and, when strict, a field list. */
enum mre_view {
	MRE_VIEW_VM,
	MRE_VIEW_BLOCK,
	MRE_VIEW_TARGET,
	MRE_VIEW_HOST,
	MRE_VIEW_IMAGE,
	MRE_VIEW_STATS,
	MRE_VIEW_RESULT,
	MRE_VIEW__STRICT,      /* kinds below are plain maps: a missing key reads nil */
	MRE_VIEW_LABELS = MRE_VIEW__STRICT,
	MRE_VIEW_BLOCKS,
	MRE_VIEW_PARAMS,
	MRE_VIEW_CAPS,
	MRE_VIEW_SET,
	MRE_VIEW_LIB,
	MRE_VIEW__COUNT,
};

struct mre_sbx {
	lua_State *L;
	const char *name;            /* policy name, for log lines (not owned) */
	char chunk[64];              /* short source name of the policy chunk ("x.lua") */

	/* allocator */
	uint64_t mem_used, mem_limit, mem_peak;
	unsigned refusals;           /* growth requests refused during this call */
	bool in_call;                /* inside mre_sbx_pcall */
	char oom_src[64];            /* where the first refusal of this call happened */
	int oom_line;

	/* budget of the current call */
	uint64_t insn_budget, insn;
	uint64_t time_budget_ns, start_ns, deadline_ns;
	unsigned fires;
	enum mre_sbx_kill killed;
	bool oom;                    /* a memory error reached policy code */
	char last_src[64];           /* last position seen by the count hook */
	int last_line;

	/* where the error of the last failed call happened */
	char err_src[64];
	int err_line;

	/* registry references */
	int ref_msgh;
	int ref_proxy_mt[MRE_VIEW__COUNT];  /* unused slots are LUA_NOREF */
	int ref_strict_mt[MRE_VIEW__STRICT];
	int ref_newindex, ref_pairs, ref_len;

	/* mre.log rate limit: token bucket */
	double log_tokens;
	uint64_t log_refill_ns;
	unsigned log_dropped;
};

struct mre_sbx_limits {
	uint64_t mem_bytes;
	uint64_t instructions;
	uint64_t time_ms;
};

/* Outcome of one protected call. */
struct mre_sbx_result {
	int status;                  /* LUA_OK or a LUA_ERR* code */
	enum mre_sbx_kill kill;
	char msg[MRE_ERR_MSG_MAX];   /* without position */
	char src[64];                /* "" if unknown */
	int line;                    /* 0 if unknown */
	uint64_t insn, usec;
	bool taint;                  /* the state must be rebuilt before further use */
};

/* Create the state: libraries, proxies, frozen globals, prelude. */
int mre_sbx_open(struct mre_sbx *s, const struct mre_sbx_limits *lim, const char *name,
		 struct mre_err *err);
void mre_sbx_close(struct mre_sbx *s);

/*
 * The one protected-call wrapper. Runs fn(L) with @ud as its only argument
 * (a light userdata) under the message handler and the budget hook; @nres
 * results stay on the stack on success (the caller pops them). On failure
 * the stack is restored and @r describes what went wrong.
 */
int mre_sbx_pcall(struct mre_sbx *s, lua_CFunction fn, void *ud, int nres,
		  struct mre_sbx_result *r);

/*
 * Load the text chunk @src (refusing binary chunks) as @chunkname with a
 * fresh environment whose reads fall through to the frozen globals.
 * Called from inside mre_sbx_pcall; raises Lua errors. Leaves the function.
 */
void mre_sbx_loadchunk(lua_State *L, const char *src, size_t len, const char *chunkname);

/* The sandbox that owns @L (any thread of it). */
struct mre_sbx *mre_sbx_of(lua_State *L);

/* Wrap the table at the top of the stack into a read-only proxy of @kind
 * (replacing it). Strict kinds raise on reads of unknown fields. */
void mre_sbx_proxy(lua_State *L, enum mre_view kind);

/* Name of a view kind ("vm", "block", ...). */
const char *mre_sbx_view_name(enum mre_view kind);

/* ---- view.c: facts in, plans out ---- */
struct mre_facts_vm;
struct mre_facts_target;
struct mre_facts_host;
struct mre_facts_params;
struct mre_facts_image;
struct mre_facts_stats;
struct mre_facts_result;
struct mre_plan;

/* Push a read-only view of each fact struct (NULL pushes an all-zero one). */
void mre_view_vm(lua_State *L, const struct mre_facts_vm *vm);
void mre_view_target(lua_State *L, const struct mre_facts_target *t);
void mre_view_host(lua_State *L, const struct mre_facts_host *h);
void mre_view_params(lua_State *L, const struct mre_facts_params *p);
void mre_view_image(lua_State *L, const struct mre_facts_image *img);
void mre_view_stats(lua_State *L, const struct mre_facts_stats *st);
void mre_view_result(lua_State *L, const struct mre_facts_result *res);

/* Which plan fields a hook may return. */
enum mre_plan_kind { MRE_PLAN_SAVE, MRE_PLAN_RESTORE };

/* Plan fields the hook returned (bit per field), for checks against facts. */
enum {
	MRE_PF_CHANNELS = 1u << 0,
	MRE_PF_IO = 1u << 1,
	MRE_PF_DIRECT_IO = 1u << 2,
	MRE_PF_DIO_FALLBACK = 1u << 3,
	MRE_PF_ALIGNMENT = 1u << 4,
	MRE_PF_COMPRESSION = 1u << 5,
	MRE_PF_CHUNK_SIZE = 1u << 6,
	MRE_PF_MAX_BANDWIDTH = 1u << 7,
	MRE_PF_HEADER = 1u << 8,
	MRE_PF_CHECKSUM = 1u << 9,
	MRE_PF_SYNC = 1u << 10,
	MRE_PF_PREALLOC = 1u << 11,
	MRE_PF_VERIFY = 1u << 12,
};

/*
 * Apply the plan table at @idx to @plan (fields it names replace those in
 * @plan; strings are malloc'd into @plan; @scratch is a work buffer). Reads
 * the table raw (metatables are ignored). Returns 0, or -1 with a message
 * naming the field, the value and what is allowed in @msg; only a memory
 * error raises, and then everything allocated hangs off @plan/@scratch.
 * *@set gets the MRE_PF_* bits of the fields present.
 */
struct mre_wbuf;
int mre_view_to_plan(lua_State *L, int idx, enum mre_plan_kind kind, struct mre_plan *plan,
		     struct mre_wbuf *scratch, unsigned *set, char *msg, size_t msglen);

/* on_progress: nil or { max_bandwidth = N }; same error contract. */
int mre_view_to_bandwidth(lua_State *L, int idx, bool *have, uint64_t *bw, char *msg,
			  size_t msglen);

#endif
