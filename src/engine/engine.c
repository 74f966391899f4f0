/* SPDX-License-Identifier: MIT */
/*
 * engine.c: from a request to a running job. The plan is built in three
 * layers: mrengine's defaults, then the parameters a client set explicitly
 * (QMP migrate-set-parameters or CLI flags), then the policy's hook (which
 * sees those parameters and may override them). C validates the result
 * before anything is opened.
 */
#include "engine/engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/facts.h"
#include "io/chan.h"
#include "io/fdset.h"
#include "policy/policy.h"
#include "util/log.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int mre_engine_init(struct mre_engine *e, struct mre_err *err)
{
	memset(e, 0, sizeof(*e));
	mre_vm_init(&e->vm);
	e->fdsets = mre_fdsets_new();
	if (!e->fdsets)
		return mre_err_set(err, -ENOMEM, "out of memory");
	return 0;
}

void mre_engine_destroy(struct mre_engine *e)
{
	if (e->job) {
		mre_job_cancel(e->job);
		mre_job_free(e->job);
	}
	if (e->has_last_plan)
		mre_plan_free(&e->last_plan);
	mre_policy_free(e->policy);
	mre_vm_destroy(&e->vm);
	mre_fdsets_free(e->fdsets);
	memset(e, 0, sizeof(*e));
}

bool mre_engine_busy(struct mre_engine *e)
{
	struct mre_job_stats st;

	if (!e->job)
		return false;
	mre_job_get_stats(e->job, &st);
	if (!mre_job_status_final(st.status))
		return true;
	/* ended: join its thread, which unpins the blocks (object-del may follow) */
	mre_job_wait(e->job, NULL);
	return false;
}

const struct mre_param *mre_params_find(const struct mre_facts_params *params, const char *name)
{
	for (unsigned i = 0; params && i < params->n; i++)
		if (!strcmp(params->p[i].name, name))
			return &params->p[i];
	return NULL;
}

static const struct mre_param *explicit(const struct mre_facts_params *params, const char *name)
{
	const struct mre_param *p = mre_params_find(params, name);

	return p && p->set ? p : NULL;
}

/* Layer 2: what the client asked for explicitly. */
static int apply_params(struct mre_plan *plan, const struct mre_facts_params *params,
			struct mre_err *err)
{
	const struct mre_param *p;

	/* as in QEMU, the channel count only matters with multifd on */
	if ((p = explicit(params, "multifd")) && !p->b)
		plan->channels = 1;
	else if ((p = explicit(params, "multifd-channels")))
		plan->channels = (unsigned)p->i;
	if ((p = explicit(params, "direct-io")))
		plan->direct_io = p->b;
	if ((p = explicit(params, "max-bandwidth")))
		plan->max_bandwidth = (uint64_t)p->i;
	if ((p = explicit(params, "x-io"))) {
		enum mre_io_backend b;

		if (!p->s || mre_io_backend_parse(p->s, &b))
			return mre_err_set(err, -EINVAL, "parameter 'x-io': '%s' is not one of auto, threads, uring",
					   p->s ? p->s : "");
		plan->io = b == MRE_IO_THREADS ? MRE_PLAN_IO_THREADS
			   : b == MRE_IO_URING ? MRE_PLAN_IO_URING : MRE_PLAN_IO_AUTO;
	}
	if ((p = explicit(params, "x-compression")) &&
	    mre_compression_parse(p->s ? p->s : "", &plan->compression, &plan->level))
		return mre_err_set(err, -EINVAL,
				   "parameter 'x-compression': '%s' is not one of none, zstd, zstd:1..zstd:19, lz4",
				   p->s ? p->s : "");
	if ((p = explicit(params, "x-chunk-size")))
		plan->chunk_size = (uint64_t)p->i;
	if ((p = explicit(params, "x-checksum"))) {
		if (!p->s || (strcmp(p->s, "none") && strcmp(p->s, "crc32c")))
			return mre_err_set(err, -EINVAL, "parameter 'x-checksum': '%s' is not one of none, crc32c",
					   p->s ? p->s : "");
		plan->checksum = strcmp(p->s, "none") ? MRE_CSUM_CRC32C : MRE_CSUM_NONE;
	}
	if ((p = explicit(params, "x-header"))) {
		if (!p->s || (strcmp(p->s, "none") && strcmp(p->s, "mrengine")))
			return mre_err_set(err, -EINVAL, "parameter 'x-header': '%s' is not one of none, mrengine",
					   p->s ? p->s : "");
		plan->header = strcmp(p->s, "none") ? MRE_PLAN_HEADER_MRENGINE : MRE_PLAN_HEADER_NONE;
		if (plan->header == MRE_PLAN_HEADER_MRENGINE && !plan->header_json &&
		    !(plan->header_json = strdup("{}")))
			return mre_err_set(err, -ENOMEM, "out of memory");
	}
	if ((p = explicit(params, "x-sync")))
		plan->sync = p->b ? MRE_SYNC_FDATASYNC : MRE_SYNC_NONE;
	if ((p = explicit(params, "x-prealloc")))
		plan->prealloc = p->b;
	if ((p = explicit(params, "x-verify")))
		plan->verify = p->b;
	return 0;
}

/* A descriptor of fdset @path for facts (the fd matching @flags), or -1. */
static int fdset_probe_fd(struct mre_engine *e, const char *path, int flags)
{
	int64_t set;

	if (mre_fdset_path_id(path, &set) != 1 || !e->fdsets)
		return -1;
	return mre_fdsets_dup(e->fdsets, set, flags, NULL);
}

/* Layer 3: the policy's hook, shown the real facts. */
static int policy_layer(struct mre_engine *e, enum mre_job_kind kind, const struct mre_job_target *target,
			const struct mre_facts_params *params, struct mre_plan *plan, struct mre_err *err)
{
	static const struct mre_facts_params none = { 0, NULL };
	const char *path = target && target->path ? target->path : ".";
	struct mre_host_facts host;
	struct mre_vm_facts vm;
	int r, fd;

	mre_facts_host(&host);
	/*
	 * The content sample reads the blocks' mappings, which a running
	 * restore unmaps from its own thread if it fails: while a job runs
	 * (only x-plan gets here then), plan without a sample.
	 */
	if ((r = mre_facts_vm(&vm, &e->vm, kind == MRE_JOB_SAVE && !mre_engine_busy(e), err)))
		return r;
	if (!params)
		params = &none;
	if (kind == MRE_JOB_SAVE) {
		struct mre_target_facts t;

		fd = fdset_probe_fd(e, path, O_WRONLY);
		r = fd >= 0 ? mre_facts_target_fd(&t, fd, path, err) : mre_facts_target_path(&t, path, err);
		if (!r)
			r = mre_policy_on_save(e->policy, &vm.f, &t.f, &host.f, params, plan, err);
	} else {
		struct mre_image_facts img;
		char proc[64];

		fd = fdset_probe_fd(e, path, O_RDONLY);
		if (fd >= 0)
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		r = mre_facts_image(&img, fd >= 0 ? proc : path, err);
		if (!r) {
			r = mre_policy_on_restore(e->policy, &img.f, &vm.f, &host.f, params, plan, err);
			mre_facts_image_free(&img);
		}
	}
	if (fd >= 0)
		close(fd);
	mre_facts_vm_free(&vm);
	if (r)
		return r;
	/* a hook that returned a plan has named the policy already */
	free(plan->policy);
	if (!(plan->policy = strdup(mre_policy_name(e->policy))))
		r = mre_err_set(err, -ENOMEM, "out of memory");
	return r;
}

int mre_engine_plan(struct mre_engine *e, enum mre_job_kind kind,
		    const struct mre_job_target *target, const struct mre_facts_params *params,
		    struct mre_plan *plan, struct mre_err *err)
{
	int r;

	mre_plan_defaults(plan);
	/* restores check checksums unless the client says otherwise */
	plan->verify = kind == MRE_JOB_RESTORE;
	if ((r = apply_params(plan, params, err)) ||
	    (e->policy && (r = policy_layer(e, kind, target, params, plan, err))) ||
	    (r = mre_plan_validate(plan, err))) {
		mre_plan_free(plan);
		return r;
	}
	return 0;
}

int mre_engine_start(struct mre_engine *e, enum mre_job_kind kind,
		     const struct mre_job_target *target, const struct mre_facts_params *params,
		     struct mre_err *err)
{
	struct mre_plan plan;
	struct mre_job *job;
	int r;

	if (mre_engine_busy(e))
		return mre_err_set(err, -EBUSY, "There's a migration process in progress");
	if ((r = mre_engine_plan(e, kind, target, params, &plan, err)))
		return r;
	r = mre_job_start(kind, &e->vm, e->fdsets, target, &plan, &job, err);
	if (r) {
		mre_plan_free(&plan);
		return r;
	}
	if (e->job) {
		mre_engine_job_done(e);
		mre_job_free(e->job);
	}
	e->job = job;
	e->done_reported = false;
	e->last_tick_ns = 0;
	if (e->has_last_plan)
		mre_plan_free(&e->last_plan);
	e->last_plan = plan;
	e->has_last_plan = true;
	return 0;
}

void mre_engine_set_policy(struct mre_engine *e, struct mre_policy *p)
{
	mre_policy_free(e->policy);
	e->policy = p;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void mre_engine_tick(struct mre_engine *e)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_job_stats s;
	struct mre_facts_stats fs;
	uint64_t now = mono_ns(), bw;

	if (!e->job || !e->policy || !mre_policy_has_hook(e->policy, MRE_HOOK_PROGRESS) ||
	    now - e->last_tick_ns < 250000000u)
		return;
	e->last_tick_ns = now;
	mre_job_get_stats(e->job, &s);
	if (s.status != MRE_JOB_ACTIVE)
		return;
	fs = (struct mre_facts_stats){
		.status = mre_job_status_name(s.status), .total = s.total, .transferred = s.transferred,
		.remaining = s.remaining, .elapsed_ms = s.total_ms, .mbps = s.mbps,
		.normal_pages = s.normal, .zero_pages = s.duplicate,
	};
	switch (mre_policy_on_progress(e->policy, &fs, &bw, &err)) {
	case 1:
		mre_job_set_max_bandwidth(e->job, bw);
		break;
	case 0:
		break;
	default:
		mre_warn("%s", err.msg);
	}
}

void mre_engine_job_done(struct mre_engine *e)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_job_stats s;
	struct mre_facts_result res;

	if (!e->job || e->done_reported)
		return;
	mre_job_get_stats(e->job, &s);
	if (!mre_job_status_final(s.status))
		return;
	e->done_reported = true;
	if (!e->policy)
		return;
	res = (struct mre_facts_result){
		.status = mre_job_status_name(s.status), .error = s.error,
		.kind = s.kind == MRE_JOB_SAVE ? "save" : "restore", .bytes = s.transferred,
		.duration_ms = s.total_ms, .mbps = s.total_ms ? (double)s.transferred * 8 / 1000.0 / (double)s.total_ms : 0,
	};
	if (mre_policy_on_complete(e->policy, &res, &err) < 0)
		mre_warn("%s", err.msg);
}
