/* SPDX-License-Identifier: MIT */
/*
 * chan.h: parallel positioned I/O over N channels.
 *
 * mre_chan_run() starts one thread per channel. Each thread repeatedly
 * claims the next unit of work (an index in 0..nunits-1, handed out in
 * order through one atomic counter, so faster channels take more units) and
 * calls unit_fn(ctx, ch, index). The unit function does its CPU work (e.g.
 * finding non-zero pages) and queues I/O with mre_chan_write() /
 * mre_chan_read(). Two backends share this interface:
 *
 *  - threads: mre_chan_write/read perform pwrite/pread immediately;
 *  - uring:   each channel owns an io_uring of `depth` entries; requests are
 *             queued as SQEs, submitted in batches, and completions reaped
 *             when the ring is full or on mre_chan_flush(). The buffer must
 *             stay valid until the request completes (flush or run end).
 *
 * Both backends complete short transfers by resubmitting the remainder,
 * retry EINTR/EAGAIN, and report the first error; after an error or a
 * cancel no new units are handed out and mre_chan_run() returns once every
 * channel has drained. There is no Lua and no JSON on this path.
 */
#ifndef MRE_IO_CHAN_H
#define MRE_IO_CHAN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

enum mre_io_backend {
	MRE_IO_AUTO,     /* uring when the kernel allows it, else threads */
	MRE_IO_THREADS,
	MRE_IO_URING,
};

const char *mre_io_backend_name(enum mre_io_backend b);
/* "auto", "threads", "uring" -> enum; -EINVAL otherwise. */
int mre_io_backend_parse(const char *s, enum mre_io_backend *out);

/* True if an io_uring can be set up here (cached after the first call). */
bool mre_io_uring_available(void);

struct mre_chan;

struct mre_chan_cfg {
	enum mre_io_backend backend; /* AUTO is resolved by mre_chan_run() */
	unsigned nchan;              /* 1..256 threads */
	unsigned depth;              /* uring: entries per ring (power of two, default 16) */
	int fd;                      /* the descriptor all requests go to */
	/* Optional shared cancel flag, polled between requests. */
	const atomic_bool *cancel;
	/* Optional bandwidth cap in bytes/s over all channels (0 = none),
	 * read before every request so it can change while the run goes on. */
	const atomic_uint_fast64_t *max_bandwidth;
};

/*
 * Called for each unit. Return 0 to continue, a negative code to stop the
 * run (that code, with @err filled, is what mre_chan_run returns). @err is
 * the channel's own error struct. A producer-fed run (units come from a
 * queue whose length is not known in advance: pass UINT64_MAX as nunits)
 * returns MRE_CHAN_NO_MORE once its queue is closed and empty: that channel
 * stops claiming units, without an error, and the others stop the same way.
 */
#define MRE_CHAN_NO_MORE 1

typedef int (*mre_chan_unit_fn)(void *ctx, struct mre_chan *ch, uint64_t unit,
				struct mre_err *err);

/*
 * Run @nunits units over cfg->nchan channels. Returns 0, the first error, or
 * MRE_ECANCELED if the cancel flag was raised. @backend_used (optional)
 * reports which backend ran.
 */
int mre_chan_run(const struct mre_chan_cfg *cfg, uint64_t nunits, mre_chan_unit_fn fn, void *ctx,
		 enum mre_io_backend *backend_used, struct mre_err *err);

/* Queue (uring) or perform (threads) a write/read of [buf, buf+len) at @off.
 * Returns 0 or a negative code (also recorded as the channel's error). */
int mre_chan_write(struct mre_chan *ch, const void *buf, size_t len, uint64_t off);
int mre_chan_read(struct mre_chan *ch, void *buf, size_t len, uint64_t off);
/* Wait until every queued request of this channel has completed. */
int mre_chan_flush(struct mre_chan *ch);

/* Index of this channel (0..nchan-1) and bytes it has completed so far. */
unsigned mre_chan_index(const struct mre_chan *ch);
uint64_t mre_chan_bytes(const struct mre_chan *ch);

#endif
