/* SPDX-License-Identifier: MIT */
/*
 * chan_int.h: what chan.c (runner, threads backend, throttle) and
 * chan_uring.c (io_uring backend) share. Private to src/io/.
 */
#ifndef MRE_IO_CHAN_INT_H
#define MRE_IO_CHAN_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "io/chan.h"

struct chan_uring;

struct chan_run {
	const struct mre_chan_cfg *cfg;
	enum mre_io_backend backend;
	uint64_t nunits;
	mre_chan_unit_fn fn;
	void *ctx;
	atomic_uint_fast64_t next_unit;
	atomic_bool stop;            /* an error happened somewhere: stop claiming units */
	/* bandwidth cap */
	pthread_mutex_t bw_lock;
	uint64_t bw_rate;            /* bytes/s, 0 = none */
	uint64_t bw_start_ns;
	uint64_t bw_bytes;           /* reserved since bw_start_ns */
};

struct mre_chan {
	struct chan_run *run;
	unsigned index;
	pthread_t thread;
	int error;                   /* first error of this channel */
	struct mre_err err;
	atomic_uint_fast64_t bytes;  /* completed */
	struct chan_uring *uring;    /* NULL for the threads backend */
};

/* Record @code as the channel's error (first wins) and stop the run. */
int mre_chan_fail(struct mre_chan *ch, int code, const char *op, size_t len, uint64_t off);
/* Sleep as needed to keep the run under its bandwidth cap. */
int mre_chan_throttle(struct mre_chan *ch, size_t len);
bool mre_chan_cancelled(const struct mre_chan *ch);

int mre_chan_uring_setup(struct mre_chan *ch, struct mre_err *err);
void mre_chan_uring_teardown(struct mre_chan *ch);
int mre_chan_uring_queue(struct mre_chan *ch, bool write, void *buf, size_t len, uint64_t off);
int mre_chan_uring_flush(struct mre_chan *ch);
bool mre_chan_uring_probe(void);

#endif
