/* SPDX-License-Identifier: MIT */
/*
 * test_job.c: how a job ends. Whatever the transfer returns, and whenever
 * a cancel arrives, the job reaches a final status: a cancel that comes
 * after the transfer's last check (while the file is being finished) must
 * not leave it "cancelling" for ever, which would make the daemon refuse
 * every later migration as "in progress".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/job_int.h"
#include "tap.h"

static struct mre_job *new_job(void)
{
	struct mre_job *job = calloc(1, sizeof(*job));

	pthread_mutex_init(&job->lock, NULL);
	if (pipe2(job->notify, O_CLOEXEC | O_NONBLOCK))
		abort();
	mre_job_set_status(job, MRE_JOB_SETUP);
	mre_job_set_status(job, MRE_JOB_ACTIVE);
	return job;
}

static void free_job(struct mre_job *job)
{
	close(job->notify[0]);
	close(job->notify[1]);
	pthread_mutex_destroy(&job->lock);
	free(job);
}

static enum mre_job_status status(struct mre_job *job)
{
	struct mre_job_stats s;

	mre_job_get_stats(job, &s);
	return s.status;
}

static void ends(bool cancel, int r, enum mre_job_status want, const char *what)
{
	struct mre_job *job = new_job();

	if (cancel)
		mre_job_cancel(job);
	mre_job_end(job, r);
	is_str(mre_job_status_name(status(job)), mre_job_status_name(want), "%s", what);
	free_job(job);
}

int main(void)
{
	ends(false, 0, MRE_JOB_COMPLETED, "a transfer that succeeds completes");
	ends(false, -EIO, MRE_JOB_FAILED, "a transfer that fails fails");
	ends(true, MRE_ECANCELED, MRE_JOB_CANCELLED, "a transfer stopped by a cancel is cancelled");
	ends(true, 0, MRE_JOB_CANCELLED,
	     "a cancel after the transfer's last check still ends the job (cancelled, as QEMU)");
	ends(true, -EIO, MRE_JOB_CANCELLED, "a cancelled job that then fails ends cancelled");
	{
		struct mre_job *job = new_job();

		mre_job_end(job, 0);
		mre_job_cancel(job);
		is_str(mre_job_status_name(status(job)), "completed", "a cancel after completion changes nothing");
		free_job(job);
	}
	return tap_done();
}
