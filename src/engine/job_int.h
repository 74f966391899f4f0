/* SPDX-License-Identifier: MIT */
/*
 * job_int.h: the job structure shared by job.c (lifecycle, status queue,
 * statistics) and the transfers in save.c and restore.c. Private to
 * src/engine/.
 */
#ifndef MRE_ENGINE_JOB_INT_H
#define MRE_ENGINE_JOB_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "engine/job.h"
#include "io/chan.h"
#include "io/outfile.h"
#include "vm/vm.h"

#define MRE_JOB_UNIT_PAGES 2048u        /* 8 MiB of 4 KiB pages per unit of work */
#define MRE_JOB_MAX_IO (2u << 20)       /* largest single read/write */
#define MRE_JOB_STATUS_QUEUE 16u

/* A unit of work: a run of pages of one block, starting on a bitmap word. */
struct mre_unit {
	unsigned block;
	uint64_t first;   /* page index */
	uint64_t npages;
};

struct mre_job {
	enum mre_job_kind kind;
	struct mre_vm *vm;
	struct mre_fdsets *fdsets;
	char *path;
	uint64_t offset;
	bool offset_given;
	bool partial;
	struct mre_plan plan;
	/* opened by mre_job_start on the control thread, used by the worker */
	struct mre_outfile out;         /* save */
	int in_fd;                      /* restore: the image */
	int in_page_fd;                 /* restore: page data (O_DIRECT when asked; may equal in_fd) */
	pthread_t thread;
	bool thread_started;

	atomic_bool cancel;
	atomic_uint_fast64_t max_bandwidth;

	/* status, and the queue of transitions for the control thread */
	pthread_mutex_t lock;
	enum mre_job_status status;
	enum mre_job_status queue[MRE_JOB_STATUS_QUEUE];
	unsigned qhead, qlen;
	int notify[2];                  /* pipe: a byte per queued transition */
	struct mre_err err;             /* why it failed */

	/* progress, updated by the workers */
	atomic_uint_fast64_t transferred;
	atomic_uint_fast64_t done_bytes;  /* RAM bytes processed */
	atomic_uint_fast64_t normal;
	atomic_uint_fast64_t duplicate;
	uint64_t total;
	uint64_t page_size;
	uint64_t start_ns, setup_ns, end_ns;
	const char *backend;
	bool direct_io;
	bool verified;                  /* restore: checksums checked while reading */

	/* rate window of the control thread's last snapshot */
	uint64_t win_ns, win_bytes, win_pages;
	double win_mbps;
	uint64_t win_pps;
};

uint64_t mre_now_ns(void);
/* Move to @st (queued for the control thread). */
void mre_job_set_status(struct mre_job *job, enum mre_job_status st);
/* The final status, once the transfer returned @r (0 or an error). */
void mre_job_end(struct mre_job *job, int r);

/* The transfers, run on the job's thread; 0 or an error in @err. */
int mre_save_run(struct mre_job *job, struct mre_err *err);
int mre_restore_run(struct mre_job *job, struct mre_err *err);

/*
 * Write the pages with data among [first, first + npages) of @rb (block @bi
 * of @w) through @ch, straight from the block's mapping: holes of a sparse
 * backing are not read, zero pages are not written. Adds the pages written
 * to *normal. Shared by save and by ingest's shared-memory blocks.
 */
struct mre_writer;
int mre_save_pages(struct mre_writer *w, struct mre_chan *ch, unsigned bi, const struct mre_ramblock *rb,
		   uint64_t first, uint64_t npages, uint64_t *normal);

/* Plan values as the channel layer wants them. */
enum mre_io_backend mre_job_backend(const struct mre_job *job);

#endif
