/* SPDX-License-Identifier: MIT */
/*
 * engine.h: the state a front end drives (CLI command or QMP daemon): the
 * VM, the fdsets, the loaded policy and the current job; and the one entry
 * that turns a request into a running job: gather facts, build the plan
 * (defaults, then the client's explicit parameters, then the policy's
 * hook), validate it, start the job. The CLI and QMP both go through
 * mre_engine_start(), so there is one path per job.
 *
 * Used from one control thread; the job runs in its own threads.
 */
#ifndef MRE_ENGINE_ENGINE_H
#define MRE_ENGINE_ENGINE_H

#include "engine/job.h"
#include "io/fdset.h"
#include "policy/facts.h"
#include "policy/plan.h"
#include "vm/vm.h"

struct mre_policy;

struct mre_engine {
	struct mre_vm vm;
	struct mre_fdsets *fdsets;
	struct mre_policy *policy;  /* NULL: mrengine's built-in defaults */
	struct mre_job *job;        /* the running or last finished job, or NULL */
	struct mre_plan last_plan;  /* plan of the last job started */
	bool has_last_plan;
	uint64_t last_tick_ns;      /* last on_progress call */
	bool done_reported;         /* on_complete called for e->job */
};

int mre_engine_init(struct mre_engine *e, struct mre_err *err);
/* Cancels and waits for a running job, then frees everything. */
void mre_engine_destroy(struct mre_engine *e);

/* True while e->job exists and has not reached a final status. Once it
 * has, its thread is joined, which releases the RAM blocks it pinned. */
bool mre_engine_busy(struct mre_engine *e);

/*
 * Build the plan for a @kind job on @target with the client's @params
 * (may be NULL) and start it. Refuses while a job runs (-EBUSY, "a
 * migration is already in progress"). The previous finished job is freed.
 */
int mre_engine_start(struct mre_engine *e, enum mre_job_kind kind,
		     const struct mre_job_target *target, const struct mre_facts_params *params,
		     struct mre_err *err);

/* The plan mre_engine_start would use now, without starting anything. */
int mre_engine_plan(struct mre_engine *e, enum mre_job_kind kind,
		    const struct mre_job_target *target, const struct mre_facts_params *params,
		    struct mre_plan *plan, struct mre_err *err);

/* Attach a policy (the engine owns it from now on; NULL for none). The
 * previous one is freed. */
void mre_engine_set_policy(struct mre_engine *e, struct mre_policy *p);

/*
 * The controller's heartbeat while e->job runs: calls the policy's
 * on_progress at most every 250 ms and applies a bandwidth cap it returns.
 * A policy error is logged; it never stops the job.
 */
void mre_engine_tick(struct mre_engine *e);

/* Once e->job has reached a final status: on_complete, once per job. */
void mre_engine_job_done(struct mre_engine *e);

/* Look up a parameter by name in @params (NULL if absent). */
const struct mre_param *mre_params_find(const struct mre_facts_params *params, const char *name);

#endif
