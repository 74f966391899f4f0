/* SPDX-License-Identifier: MIT */
/*
 * job.h: one save or restore running in the background.
 *
 * A job is started from the control thread with a resolved plan; a worker
 * thread does the setup, runs the channels and finishes the file. The
 * control thread polls status and statistics (thread-safe snapshots), may
 * cancel, and learns about status changes through a pollable descriptor:
 * every transition (setup, active, completed / failed / cancelling /
 * cancelled) is queued in order, so none is lost even when they follow each
 * other quickly.
 */
#ifndef MRE_ENGINE_JOB_H
#define MRE_ENGINE_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/plan.h"
#include "util/err.h"

struct mre_vm;
struct mre_fdsets;
struct mre_job;

enum mre_job_kind {
	MRE_JOB_SAVE,
	MRE_JOB_RESTORE,
};

/* QEMU's MigrationStatus values that mrengine uses. */
enum mre_job_status {
	MRE_JOB_NONE,
	MRE_JOB_SETUP,
	MRE_JOB_ACTIVE,
	MRE_JOB_DEVICE,
	MRE_JOB_COMPLETED,
	MRE_JOB_FAILED,
	MRE_JOB_CANCELLING,
	MRE_JOB_CANCELLED,
};

const char *mre_job_status_name(enum mre_job_status s);
static inline bool mre_job_status_final(enum mre_job_status s)
{
	return s == MRE_JOB_COMPLETED || s == MRE_JOB_FAILED || s == MRE_JOB_CANCELLED;
}

/* Where the file is: a path, or an fdset (path "/dev/fdset/N"). */
struct mre_job_target {
	const char *path;           /* required; "/dev/fdset/N" selects an fdset */
	uint64_t offset;            /* file:PATH,offset=N: the stream starts here */
	bool offset_given;          /* restore: otherwise found automatically */
	bool partial;               /* restore: the image may hold blocks the VM lacks;
				     * only the VM's blocks are restored */
};

struct mre_job_stats {
	enum mre_job_kind kind;
	enum mre_job_status status;
	uint64_t page_size;
	uint64_t total;             /* RAM bytes in scope */
	uint64_t transferred;       /* bytes written (save) or read (restore), metadata included */
	uint64_t remaining;         /* RAM bytes not yet processed */
	uint64_t normal;            /* pages with data */
	uint64_t duplicate;         /* zero pages */
	uint64_t setup_ms;
	uint64_t total_ms;          /* so far, or final */
	double mbps;                /* over the last window, Mbit/s (QEMU's unit) */
	uint64_t pages_per_second;
	unsigned channels;
	const char *backend;        /* "threads" / "uring" once known */
	bool direct_io;
	bool verified;              /* restore: data checked against checksums */
	char error[512];            /* failed: the reason */
};

/*
 * Start a job on @vm. @plan is copied. The blocks' backings are mapped and
 * pinned (busy) for the job's lifetime. Open errors are returned here;
 * later errors end the job in MRE_JOB_FAILED.
 */
int mre_job_start(enum mre_job_kind kind, struct mre_vm *vm, struct mre_fdsets *fdsets,
		  const struct mre_job_target *target, const struct mre_plan *plan,
		  struct mre_job **out, struct mre_err *err);

/* Ask the job to stop; returns at once. Completed jobs are unaffected. */
void mre_job_cancel(struct mre_job *job);
/* Change the bandwidth cap of a running job (bytes/s, 0 = none). */
void mre_job_set_max_bandwidth(struct mre_job *job, uint64_t bytes_per_sec);

void mre_job_get_stats(struct mre_job *job, struct mre_job_stats *out);

/* Readable when a status change is queued; drain with mre_job_next_status. */
int mre_job_notify_fd(const struct mre_job *job);
/* Pop the oldest queued status change: 1 and *st, or 0 when none. */
int mre_job_next_status(struct mre_job *job, enum mre_job_status *st);

/* Wait for the end; returns 0 if completed, else the error (in @err). */
int mre_job_wait(struct mre_job *job, struct mre_err *err);
/* Waits, then releases everything (and unpins the blocks). */
void mre_job_free(struct mre_job *job);

#endif
