/* SPDX-License-Identifier: MIT */
/*
 * job.c: job lifecycle. The worker thread runs the transfer; status changes
 * go through a small queue plus a pipe so the control thread can poll()
 * for them and see every transition in order. Statistics are atomics read
 * without locks; only the rate window lives on the control thread.
 */
#include "engine/job_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/writer.h"
#include "io/dio.h"
#include "io/fdset.h"
#include "io/file.h"
#include "util/bytes.h"

const char *mre_job_status_name(enum mre_job_status s)
{
	switch (s) {
	case MRE_JOB_NONE: return "none";
	case MRE_JOB_SETUP: return "setup";
	case MRE_JOB_ACTIVE: return "active";
	case MRE_JOB_DEVICE: return "device";
	case MRE_JOB_COMPLETED: return "completed";
	case MRE_JOB_FAILED: return "failed";
	case MRE_JOB_CANCELLING: return "cancelling";
	case MRE_JOB_CANCELLED: return "cancelled";
	}
	return "unknown";
}

uint64_t mre_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

enum mre_io_backend mre_job_backend(const struct mre_job *job)
{
	switch (job->plan.io) {
	case MRE_PLAN_IO_THREADS: return MRE_IO_THREADS;
	case MRE_PLAN_IO_URING: return MRE_IO_URING;
	default: return MRE_IO_AUTO;
	}
}

void mre_job_set_status(struct mre_job *job, enum mre_job_status st)
{
	char c = 1;

	pthread_mutex_lock(&job->lock);
	if (job->status == st || mre_job_status_final(job->status)) {
		pthread_mutex_unlock(&job->lock);
		return;
	}
	/* once cancelling, only "cancelled" may follow */
	if (job->status == MRE_JOB_CANCELLING && st != MRE_JOB_CANCELLED) {
		pthread_mutex_unlock(&job->lock);
		return;
	}
	job->status = st;
	if (job->qlen < MRE_JOB_STATUS_QUEUE) {
		job->queue[(job->qhead + job->qlen) % MRE_JOB_STATUS_QUEUE] = st;
		job->qlen++;
	} else {
		/* never happens with our few states; keep the newest */
		job->queue[(job->qhead + job->qlen - 1) % MRE_JOB_STATUS_QUEUE] = st;
	}
	pthread_mutex_unlock(&job->lock);
	if (write(job->notify[1], &c, 1) < 0) {
		/* the pipe is non-blocking and only full if nobody reads: the
		 * queue still holds the state */
	}
}

void mre_job_end(struct mre_job *job, int r)
{
	job->end_ns = mre_now_ns();
	if (!job->setup_ns)
		job->setup_ns = job->end_ns;
	if (!r)
		mre_job_set_status(job, MRE_JOB_COMPLETED);
	else if (r == MRE_ECANCELED || atomic_load(&job->cancel))
		mre_job_set_status(job, MRE_JOB_CANCELLED);
	else
		mre_job_set_status(job, MRE_JOB_FAILED);
	/*
	 * A cancel that arrived after the transfer's last check left the job
	 * "cancelling", which refuses every status but "cancelled" (QEMU's
	 * rule): end there, or the job would look busy forever.
	 */
	mre_job_set_status(job, MRE_JOB_CANCELLED);
}

static void *job_main(void *arg)
{
	struct mre_job *job = arg;
	int r;

	mre_job_set_status(job, MRE_JOB_SETUP);
	r = job->kind == MRE_JOB_SAVE ? mre_save_run(job, &job->err) : mre_restore_run(job, &job->err);
	mre_job_end(job, r);
	return NULL;
}

/*
 * Open what the job reads or writes, here on the control thread: open and
 * fdset errors reach the caller (QMP puts them in the migrate reply, as QEMU
 * does) and the fdset registry is only ever used from this thread.
 */
static int open_files(struct mre_job *job, struct mre_err *err)
{
	int64_t set;
	int r;

	if (job->kind == MRE_JOB_SAVE)
		return mre_writer_target_open(&job->out, job->path, job->offset, job->plan.direct_io, job->fdsets,
					      err);
	r = mre_fdset_path_id(job->path, &set);
	if (r < 0)
		return mre_err_set(err, -EINVAL, "Could not parse fdset %s", job->path);
	if (r == 1) {
		if (!job->fdsets)
			return mre_err_set(err, -ENOENT, "Failed to find fdset %s", job->path);
		return mre_fdsets_open_pair(job->fdsets, set, false, job->plan.direct_io, &job->in_fd,
					    &job->in_page_fd, err);
	}
	if ((job->in_fd = mre_open_ro(job->path, err)) < 0)
		return job->in_fd;
	if (!job->plan.direct_io) {
		job->in_page_fd = job->in_fd;
		return 0;
	}
	job->in_page_fd = mre_dio_open(job->path, O_RDONLY, err);
	if (job->in_page_fd < 0) {
		r = job->in_page_fd;
		close(job->in_fd);
		job->in_fd = job->in_page_fd = -1;
		return r;
	}
	return 0;
}

/* Whatever the worker did not take over. */
static void close_files(struct mre_job *job)
{
	mre_outfile_abort(&job->out);
	if (job->in_page_fd >= 0 && job->in_page_fd != job->in_fd)
		close(job->in_page_fd);
	if (job->in_fd >= 0)
		close(job->in_fd);
	job->in_fd = job->in_page_fd = -1;
}

static void pin(struct mre_vm *vm, int delta)
{
	for (unsigned i = 0; i < vm->nblocks; i++)
		vm->blocks[i]->busy += (unsigned)delta;
}

int mre_job_start(enum mre_job_kind kind, struct mre_vm *vm, struct mre_fdsets *fdsets,
		  const struct mre_job_target *target, const struct mre_plan *plan,
		  struct mre_job **out, struct mre_err *err)
{
	struct mre_job *job;
	int r;

	*out = NULL;
	if (!target->path || !*target->path)
		return mre_err_set(err, -EINVAL, "no file given");
	if (!vm->nblocks)
		return mre_err_set(err, -EINVAL, "the VM has no RAM blocks: define them with -object or object-add");
	if ((r = mre_plan_validate(plan, err)))
		return r;
	job = calloc(1, sizeof(*job));
	if (!job)
		return mre_err_set(err, -ENOMEM, "out of memory");
	job->notify[0] = job->notify[1] = -1;
	job->out.fd = job->out.page_fd = -1;
	job->in_fd = job->in_page_fd = -1;
	job->kind = kind;
	job->vm = vm;
	job->fdsets = fdsets;
	job->offset = target->offset;
	job->offset_given = target->offset_given;
	job->partial = target->partial;
	job->page_size = 4096;
	job->path = strdup(target->path);
	if (!job->path || (r = mre_plan_copy(&job->plan, plan, err))) {
		free(job->path);
		free(job);
		return r ? r : mre_err_set(err, -ENOMEM, "out of memory");
	}
	atomic_store(&job->max_bandwidth, plan->max_bandwidth);
	pthread_mutex_init(&job->lock, NULL);
	if (pipe2(job->notify, O_CLOEXEC | O_NONBLOCK)) {
		r = mre_err_sys(err, -errno, "pipe");
		goto fail;
	}
	/* map every block now so mapping errors are reported to the caller */
	for (unsigned i = 0; i < vm->nblocks; i++) {
		r = mre_ramblock_map(vm->blocks[i], kind == MRE_JOB_RESTORE, err);
		if (r)
			goto fail;
		job->total += vm->blocks[i]->size;
	}
	if ((r = open_files(job, err)))
		goto fail;
	job->start_ns = job->win_ns = mre_now_ns();
	pin(vm, 1);
	r = pthread_create(&job->thread, NULL, job_main, job);
	if (r) {
		pin(vm, -1);
		r = mre_err_sys(err, -r, "cannot start the job thread");
		goto fail;
	}
	job->thread_started = true;
	*out = job;
	return 0;
fail:
	close_files(job);
	if (job->notify[0] >= 0) {
		close(job->notify[0]);
		close(job->notify[1]);
	}
	pthread_mutex_destroy(&job->lock);
	mre_plan_free(&job->plan);
	free(job->path);
	free(job);
	return r;
}

void mre_job_cancel(struct mre_job *job)
{
	pthread_mutex_lock(&job->lock);
	if (mre_job_status_final(job->status) || job->status == MRE_JOB_CANCELLING) {
		pthread_mutex_unlock(&job->lock);
		return;
	}
	pthread_mutex_unlock(&job->lock);
	atomic_store(&job->cancel, true);
	mre_job_set_status(job, MRE_JOB_CANCELLING);
}

void mre_job_set_max_bandwidth(struct mre_job *job, uint64_t bytes_per_sec)
{
	atomic_store(&job->max_bandwidth, bytes_per_sec);
}

void mre_job_get_stats(struct mre_job *job, struct mre_job_stats *s)
{
	uint64_t now = mre_now_ns(), end;

	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&job->lock);
	s->status = job->status;
	if (job->status == MRE_JOB_FAILED || job->status == MRE_JOB_CANCELLED)
		memcpy(s->error, job->err.msg, sizeof(s->error));
	pthread_mutex_unlock(&job->lock);
	s->kind = job->kind;
	s->page_size = job->page_size;
	s->total = job->total;
	s->transferred = atomic_load(&job->transferred);
	s->normal = atomic_load(&job->normal);
	s->duplicate = atomic_load(&job->duplicate);
	s->remaining = s->status == MRE_JOB_COMPLETED ? 0 : job->total - MRE_MIN(atomic_load(&job->done_bytes), job->total);
	s->channels = job->plan.channels;
	s->backend = job->backend;
	s->direct_io = job->direct_io;
	s->verified = job->verified;
	end = mre_job_status_final(s->status) && job->end_ns ? job->end_ns : now;
	s->total_ms = (end - job->start_ns) / 1000000u;
	s->setup_ms = job->setup_ns ? (job->setup_ns - job->start_ns) / 1000000u : 0;
	/* rate over the window since the previous snapshot (at least 100 ms) */
	if (now - job->win_ns >= 100000000u || mre_job_status_final(s->status)) {
		uint64_t pages = s->normal + s->duplicate;
		uint64_t t = (mre_job_status_final(s->status) ? end : now);
		double dt = (double)(t - job->win_ns) / 1e9;

		if (dt > 0 && t > job->win_ns) {
			job->win_mbps = (double)(s->transferred - job->win_bytes) * 8 / 1e6 / dt;
			job->win_pps = (uint64_t)((double)(pages - job->win_pages) / dt);
		}
		job->win_ns = t;
		job->win_bytes = s->transferred;
		job->win_pages = pages;
	}
	s->mbps = job->win_mbps;
	s->pages_per_second = job->win_pps;
}

int mre_job_notify_fd(const struct mre_job *job)
{
	return job->notify[0];
}

int mre_job_next_status(struct mre_job *job, enum mre_job_status *st)
{
	char buf[64];
	int got = 0;

	while (read(job->notify[0], buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&job->lock);
	if (job->qlen) {
		*st = job->queue[job->qhead];
		job->qhead = (job->qhead + 1) % MRE_JOB_STATUS_QUEUE;
		job->qlen--;
		got = 1;
	}
	pthread_mutex_unlock(&job->lock);
	return got;
}

int mre_job_wait(struct mre_job *job, struct mre_err *err)
{
	enum mre_job_status st;

	if (job->thread_started) {
		pthread_join(job->thread, NULL);
		job->thread_started = false;
		pin(job->vm, -1);
	}
	pthread_mutex_lock(&job->lock);
	st = job->status;
	pthread_mutex_unlock(&job->lock);
	if (st == MRE_JOB_COMPLETED)
		return 0;
	if (err && !err->code)
		*err = job->err;
	return job->err.code ? job->err.code : MRE_ECANCELED;
}

void mre_job_free(struct mre_job *job)
{
	if (!job)
		return;
	mre_job_wait(job, NULL);
	close_files(job);
	close(job->notify[0]);
	close(job->notify[1]);
	pthread_mutex_destroy(&job->lock);
	mre_plan_free(&job->plan);
	free(job->path);
	free(job);
}
