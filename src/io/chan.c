/* SPDX-License-Identifier: MIT */
/*
 * chan.c: the channel runner and the threads backend.
 *
 * Units are handed out through one atomic counter, in order, so that I/O
 * stays roughly sequential on disk while faster channels naturally take
 * more units. A failing or cancelled channel raises `stop`; the others
 * finish their current unit, drain, and the runner reports the first error.
 */
#include "io/chan_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

const char *mre_io_backend_name(enum mre_io_backend b)
{
	switch (b) {
	case MRE_IO_AUTO: return "auto";
	case MRE_IO_THREADS: return "threads";
	case MRE_IO_URING: return "uring";
	}
	return "?";
}

int mre_io_backend_parse(const char *s, enum mre_io_backend *out)
{
	if (!strcmp(s, "auto"))
		*out = MRE_IO_AUTO;
	else if (!strcmp(s, "threads"))
		*out = MRE_IO_THREADS;
	else if (!strcmp(s, "uring") || !strcmp(s, "io_uring"))
		*out = MRE_IO_URING;
	else
		return -EINVAL;
	return 0;
}

bool mre_io_uring_available(void)
{
	static int cached = -1;

	if (cached < 0)
		cached = mre_chan_uring_probe();
	return cached;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool mre_chan_cancelled(const struct mre_chan *ch)
{
	const atomic_bool *c = ch->run->cfg->cancel;

	return atomic_load_explicit(&ch->run->stop, memory_order_relaxed) ||
	       (c && atomic_load_explicit(c, memory_order_relaxed));
}

int mre_chan_fail(struct mre_chan *ch, int code, const char *op, size_t len, uint64_t off)
{
	if (!ch->error) {
		ch->error = code;
		if (code == MRE_ECANCELED)
			mre_err_set(&ch->err, code, "cancelled");
		else
			mre_err_sys(&ch->err, code, "channel %u: %s of %zu bytes at offset 0x%llx failed",
				    ch->index, op, len, (unsigned long long)off);
	}
	atomic_store(&ch->run->stop, true);
	return ch->error;
}

int mre_chan_throttle(struct mre_chan *ch, size_t len)
{
	struct chan_run *run = ch->run;
	uint64_t due, now, rate;

	if (!run->cfg->max_bandwidth)
		return 0;
	rate = atomic_load_explicit(run->cfg->max_bandwidth, memory_order_relaxed);
	if (!rate && !run->bw_rate)
		return 0;
	pthread_mutex_lock(&run->bw_lock);
	if (rate != run->bw_rate) {
		/* a new cap starts a new accounting period */
		run->bw_rate = rate;
		run->bw_start_ns = now_ns();
		run->bw_bytes = 0;
	}
	if (!rate) {
		pthread_mutex_unlock(&run->bw_lock);
		return 0;
	}
	due = run->bw_start_ns + (uint64_t)((double)run->bw_bytes * 1e9 / (double)run->bw_rate);
	run->bw_bytes += len;
	pthread_mutex_unlock(&run->bw_lock);
	/* sleep in short steps so a cancel is noticed promptly */
	while ((now = now_ns()) < due) {
		uint64_t step = due - now > 50000000u ? 50000000u : due - now;
		struct timespec ts = { 0, (long)step };

		if (mre_chan_cancelled(ch))
			return mre_chan_fail(ch, MRE_ECANCELED, "throttle", len, 0);
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* ---- threads backend: the request is done when the call returns ---- */

static int sync_io(struct mre_chan *ch, bool write, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t r = write ? pwrite(ch->run->cfg->fd, p + done, len - done, (off_t)(off + done))
				  : pread(ch->run->cfg->fd, p + done, len - done, (off_t)(off + done));

		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return mre_chan_fail(ch, -errno, write ? "write" : "read", len, off);
		}
		if (r == 0)
			return mre_chan_fail(ch, write ? -EIO : -ENODATA, write ? "write" : "read (end of file)",
					     len, off);
		done += (size_t)r;
		atomic_fetch_add_explicit(&ch->bytes, (uint64_t)r, memory_order_relaxed);
	}
	return 0;
}

static int chan_io(struct mre_chan *ch, bool write, void *buf, size_t len, uint64_t off)
{
	int r;

	if (ch->error)
		return ch->error;
	if (mre_chan_cancelled(ch))
		return mre_chan_fail(ch, MRE_ECANCELED, "cancel", len, off);
	if (len == 0)
		return 0;
	if ((r = mre_chan_throttle(ch, len)))
		return r;
	if (ch->uring)
		return mre_chan_uring_queue(ch, write, buf, len, off);
	return sync_io(ch, write, buf, len, off);
}

int mre_chan_write(struct mre_chan *ch, const void *buf, size_t len, uint64_t off)
{
	return chan_io(ch, true, (void *)buf, len, off);
}

int mre_chan_read(struct mre_chan *ch, void *buf, size_t len, uint64_t off)
{
	return chan_io(ch, false, buf, len, off);
}

int mre_chan_flush(struct mre_chan *ch)
{
	if (ch->uring) {
		int r = mre_chan_uring_flush(ch);

		if (r && !ch->error)
			ch->error = r;
	}
	return ch->error;
}

unsigned mre_chan_index(const struct mre_chan *ch)
{
	return ch->index;
}

uint64_t mre_chan_bytes(const struct mre_chan *ch)
{
	return atomic_load_explicit(&ch->bytes, memory_order_relaxed);
}

/* ---- the runner ---- */

static void *chan_main(void *arg)
{
	struct mre_chan *ch = arg;
	struct chan_run *run = ch->run;

	if (run->backend == MRE_IO_URING) {
		int r = mre_chan_uring_setup(ch, &ch->err);

		if (r) {
			ch->error = r;
			atomic_store(&run->stop, true);
			return NULL;
		}
	}
	while (!ch->error && !mre_chan_cancelled(ch)) {
		uint64_t u = atomic_fetch_add(&run->next_unit, 1);
		int r;

		if (u >= run->nunits)
			break;
		r = run->fn(run->ctx, ch, u, &ch->err);
		if (r == MRE_CHAN_NO_MORE)
			break;
		if (r) {
			if (!ch->error)
				ch->error = r;
			atomic_store(&run->stop, true);
		}
	}
	mre_chan_flush(ch);
	if (!ch->error && run->cfg->cancel && atomic_load(run->cfg->cancel))
		mre_chan_fail(ch, MRE_ECANCELED, "cancel", 0, 0);
	if (ch->uring)
		mre_chan_uring_teardown(ch);
	return NULL;
}

int mre_chan_run(const struct mre_chan_cfg *cfg, uint64_t nunits, mre_chan_unit_fn fn, void *ctx,
		 enum mre_io_backend *backend_used, struct mre_err *err)
{
	struct chan_run run;
	struct mre_chan *chans;
	unsigned n = cfg->nchan ? cfg->nchan : 1, started = 0;
	int result = 0;

	if (n > 256)
		return mre_err_set(err, -EINVAL, "%u channels requested, at most 256 are supported", n);
	memset(&run, 0, sizeof(run));
	run.cfg = cfg;
	run.nunits = nunits;
	run.fn = fn;
	run.ctx = ctx;
	run.backend = cfg->backend;
	if (run.backend == MRE_IO_AUTO)
		run.backend = mre_io_uring_available() ? MRE_IO_URING : MRE_IO_THREADS;
	else if (run.backend == MRE_IO_URING && !mre_io_uring_available())
		return mre_err_set(err, -ENOSYS,
				   "io_uring is not available on this system (disabled by sysctl or seccomp?); use the threads backend");
	if (backend_used)
		*backend_used = run.backend;
	pthread_mutex_init(&run.bw_lock, NULL);
	chans = calloc(n, sizeof(*chans));
	if (!chans) {
		pthread_mutex_destroy(&run.bw_lock);
		return mre_err_set(err, -ENOMEM, "out of memory");
	}
	for (unsigned i = 0; i < n; i++) {
		chans[i].run = &run;
		chans[i].index = i;
	}
	if (n == 1) {
		chan_main(&chans[0]);
		started = 1;
	} else {
		for (; started < n; started++) {
			int r = pthread_create(&chans[started].thread, NULL, chan_main, &chans[started]);

			if (r) {
				atomic_store(&run.stop, true);
				result = mre_err_sys(err, -r, "cannot start channel thread %u", started);
				break;
			}
		}
		for (unsigned i = 0; i < started; i++)
			pthread_join(chans[i].thread, NULL);
	}
	/* report the first real error; a cancel only if nothing else failed */
	for (unsigned i = 0; i < started && !result; i++)
		if (chans[i].error && chans[i].error != MRE_ECANCELED) {
			result = chans[i].error;
			if (err && !err->code)
				*err = chans[i].err;
		}
	for (unsigned i = 0; i < started && !result; i++)
		if (chans[i].error) {
			result = chans[i].error;
			if (err && !err->code)
				*err = chans[i].err;
		}
	if (!result && run.next_unit < nunits && cfg->cancel && atomic_load(cfg->cancel))
		result = mre_err_set(err, MRE_ECANCELED, "cancelled");
	free(chans);
	pthread_mutex_destroy(&run.bw_lock);
	return result;
}
