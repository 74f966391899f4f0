/* SPDX-License-Identifier: MIT */
/*
 * policy.h: Lua policies. A policy is a Lua 5.4 file that returns a table of
 * hooks; it runs sandboxed (allow-listed libraries, its own environment, a
 * memory cap and an instruction/time budget per call that pcall cannot
 * swallow). This header is the whole interface: no Lua type escapes it, and
 * src/policy/ is the only code that includes Lua headers.
 *
 * Threads: a policy is used from one thread at a time (the control thread).
 * Errors: MRE_EPOLICY with "policy NAME: HOOK: message (file:line)".
 */
#ifndef MRE_POLICY_POLICY_H
#define MRE_POLICY_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/facts.h"
#include "policy/plan.h"
#include "util/err.h"

struct mre_policy;

enum mre_hook {
	MRE_HOOK_SAVE,
	MRE_HOOK_RESTORE,
	MRE_HOOK_PROGRESS,
	MRE_HOOK_COMPLETE,
	MRE_HOOK__COUNT,
};

struct mre_policy_limits {
	uint64_t mem_bytes;        /* allocator cap per policy state (default 16 MiB) */
	uint64_t instructions;     /* per hook call (default 10,000,000) */
	uint64_t time_ms;          /* per hook call (default 1000) */
};

/*
 * Resolve @name_or_path: a path (contains '/' or ends in ".lua") is used as
 * given; a bare name is looked up as NAME.lua in ./policies and then in the
 * installed policies directory. Writes the path found into @out.
 */
int mre_policy_find(const char *name_or_path, char *out, size_t outlen, struct mre_err *err);

/* Load and validate a policy (limits may be NULL for defaults). */
int mre_policy_load(const char *name_or_path, const struct mre_policy_limits *limits,
		    struct mre_policy **out, struct mre_err *err);
void mre_policy_free(struct mre_policy *p);

const char *mre_policy_name(const struct mre_policy *p);  /* the table's `name`, or the file stem */
const char *mre_policy_path(const struct mre_policy *p);
bool mre_policy_has_hook(const struct mre_policy *p, enum mre_hook h);
const char *mre_hook_name(enum mre_hook h);              /* "on_save", ... */
/* Cost of the last call of @h: instructions executed and wall time. */
void mre_policy_last_cost(const struct mre_policy *p, enum mre_hook h, uint64_t *instructions,
			  uint64_t *usec);

/*
 * on_save(vm, target, host, params): @plan holds the defaults (already
 * adjusted for explicit client parameters) on entry; fields the hook returns
 * replace them. A missing hook or nil result leaves @plan unchanged. The
 * result is validated; on any error @plan is unchanged.
 */
int mre_policy_on_save(struct mre_policy *p, const struct mre_facts_vm *vm,
		       const struct mre_facts_target *target, const struct mre_facts_host *host,
		       const struct mre_facts_params *params, struct mre_plan *plan,
		       struct mre_err *err);

/* on_restore(image, vm, host, params): same contract; only channels, io,
 * direct_io and verify are meaningful in a restore plan. */
int mre_policy_on_restore(struct mre_policy *p, const struct mre_facts_image *image,
			  const struct mre_facts_vm *vm, const struct mre_facts_host *host,
			  const struct mre_facts_params *params, struct mre_plan *plan,
			  struct mre_err *err);

/* on_progress(stats): may return { max_bandwidth = N }; *max_bw is set
 * (and 1 returned) only when it does. */
int mre_policy_on_progress(struct mre_policy *p, const struct mre_facts_stats *stats,
			   uint64_t *max_bw, struct mre_err *err);

/* on_complete(result): for logging through mre.log; errors are returned
 * but never change the outcome of the job. */
int mre_policy_on_complete(struct mre_policy *p, const struct mre_facts_result *result,
			   struct mre_err *err);

#endif
