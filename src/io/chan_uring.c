/* SPDX-License-Identifier: MIT */
/*
 * chan_uring.c: the io_uring backend. One ring per channel thread (never
 * shared), a fixed array of request slots bounded by the ring depth so an
 * SQE is always available, the target registered as a fixed file, batched
 * submission, and completion handling that resubmits the rest of a short
 * transfer and retries EAGAIN/EINTR. Setup tries the cheapest task-run
 * modes first and falls back when the kernel refuses a flag.
 */
#include "io/chan_int.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define DEFAULT_DEPTH 16u
#define SUBMIT_BATCH 4u
#define SUBMIT_BYTES (256u * 1024)

struct uring_req {
	uint8_t *buf;
	size_t len;
	size_t done;
	uint64_t off;
	bool write;
};

struct chan_uring {
	struct io_uring ring;
	unsigned depth;
	struct uring_req *reqs;
	unsigned *free_slots;
	unsigned nfree;
	unsigned inflight;
	unsigned unsubmitted;
	size_t unsubmitted_bytes;
	bool fixed_file;
};

static int ring_init(struct io_uring *ring, unsigned depth)
{
	static const unsigned ladder[] = {
#ifdef IORING_SETUP_DEFER_TASKRUN
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
#endif
#ifdef IORING_SETUP_COOP_TASKRUN
		IORING_SETUP_COOP_TASKRUN,
#endif
		0,
	};
	int r = -EINVAL;

	for (size_t i = 0; i < sizeof(ladder) / sizeof(ladder[0]); i++) {
		struct io_uring_params p;

		memset(&p, 0, sizeof(p));
		p.flags = ladder[i];
		r = io_uring_queue_init_params(depth, ring, &p);
		if (r != -EINVAL)
			break;
	}
	return r;
}

bool mre_chan_uring_probe(void)
{
	struct io_uring ring;

	if (ring_init(&ring, 4))
		return false;
	io_uring_queue_exit(&ring);
	return true;
}

int mre_chan_uring_setup(struct mre_chan *ch, struct mre_err *err)
{
	unsigned depth = ch->run->cfg->depth ? ch->run->cfg->depth : DEFAULT_DEPTH;
	struct chan_uring *u;
	int r;

	if (depth & (depth - 1) || depth > 4096)
		return mre_err_set(err, -EINVAL, "io_uring depth %u is not a power of two up to 4096", depth);
	u = calloc(1, sizeof(*u));
	if (!u)
		return mre_err_set(err, -ENOMEM, "out of memory");
	u->depth = depth;
	u->reqs = calloc(depth, sizeof(*u->reqs));
	u->free_slots = calloc(depth, sizeof(*u->free_slots));
	if (!u->reqs || !u->free_slots) {
		r = mre_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	r = ring_init(&u->ring, depth);
	if (r) {
		mre_err_sys(err, r, "channel %u: io_uring setup failed", ch->index);
		goto fail;
	}
	u->fixed_file = io_uring_register_files(&u->ring, &ch->run->cfg->fd, 1) == 0;
	for (unsigned i = 0; i < depth; i++)
		u->free_slots[i] = depth - 1 - i;
	u->nfree = depth;
	ch->uring = u;
	return 0;
fail:
	free(u->reqs);
	free(u->free_slots);
	free(u);
	return r;
}

void mre_chan_uring_teardown(struct mre_chan *ch)
{
	struct chan_uring *u = ch->uring;

	if (!u)
		return;
	/* unregistering waits for the kernel's references to the file; after a
	 * plain queue_exit they are dropped later, asynchronously, which keeps
	 * a removed file's space allocated (and its mount busy) for a moment */
	if (u->fixed_file)
		io_uring_unregister_files(&u->ring);
	io_uring_queue_exit(&u->ring);
	free(u->reqs);
	free(u->free_slots);
	free(u);
	ch->uring = NULL;
}

static void prep(struct mre_chan *ch, unsigned slot)
{
	struct chan_uring *u = ch->uring;
	struct uring_req *q = &u->reqs[slot];
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	int fd = u->fixed_file ? 0 : ch->run->cfg->fd;
	size_t left = q->len - q->done;

	/* cannot fail: in-flight requests never exceed the SQ size */
	if (q->write)
		io_uring_prep_write(sqe, fd, q->buf + q->done, (unsigned)left, q->off + q->done);
	else
		io_uring_prep_read(sqe, fd, q->buf + q->done, (unsigned)left, q->off + q->done);
	if (u->fixed_file)
		sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, slot);
	u->unsubmitted++;
	u->unsubmitted_bytes += left;
}

static int submit(struct mre_chan *ch, unsigned wait)
{
	struct chan_uring *u = ch->uring;
	int r;

	do {
		r = wait ? io_uring_submit_and_wait(&u->ring, wait) : io_uring_submit(&u->ring);
	} while (r == -EINTR || r == -EAGAIN);
	if (r < 0)
		return r;
	u->unsubmitted = 0;
	u->unsubmitted_bytes = 0;
	return 0;
}

/* Handle every completion that is ready. */
static void reap(struct mre_chan *ch)
{
	struct chan_uring *u = ch->uring;
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;

	io_uring_for_each_cqe(&u->ring, head, cqe) {
		unsigned slot = (unsigned)io_uring_cqe_get_data64(cqe);
		struct uring_req *q = &u->reqs[slot];
		int res = cqe->res;

		seen++;
		if (res == -EAGAIN || res == -EINTR) {
			prep(ch, slot);
			continue;
		}
		if (res > 0) {
			q->done += (size_t)res;
			atomic_fetch_add_explicit(&ch->bytes, (uint64_t)res, memory_order_relaxed);
			if (q->done < q->len) {
				/* short transfer: the rest goes again */
				prep(ch, slot);
				continue;
			}
		} else if (res == 0) {
			mre_chan_fail(ch, q->write ? -EIO : -ENODATA,
				      q->write ? "write" : "read (end of file)", q->len, q->off);
		} else {
			mre_chan_fail(ch, res, q->write ? "write" : "read", q->len, q->off);
		}
		u->free_slots[u->nfree++] = slot;
		u->inflight--;
	}
	io_uring_cq_advance(&u->ring, seen);
}

int mre_chan_uring_queue(struct mre_chan *ch, bool write, void *buf, size_t len, uint64_t off)
{
	struct chan_uring *u = ch->uring;
	unsigned slot;
	int r;

	if (len > (1u << 30))
		return mre_chan_fail(ch, -EINVAL, "oversized request", len, off);
	while (!u->nfree) {
		r = submit(ch, 1);
		if (r)
			return mre_chan_fail(ch, r, "io_uring submit", len, off);
		reap(ch);
		if (ch->error)
			return ch->error;
	}
	slot = u->free_slots[--u->nfree];
	u->reqs[slot] = (struct uring_req){ .buf = buf, .len = len, .off = off, .write = write };
	u->inflight++;
	prep(ch, slot);
	if (u->unsubmitted >= SUBMIT_BATCH || u->unsubmitted_bytes >= SUBMIT_BYTES) {
		r = submit(ch, 0);
		if (r)
			return mre_chan_fail(ch, r, "io_uring submit", len, off);
		reap(ch);
	}
	return ch->error;
}

int mre_chan_uring_flush(struct mre_chan *ch)
{
	struct chan_uring *u = ch->uring;

	while (u->inflight) {
		int r = submit(ch, 1);

		if (r) {
			/* cannot wait any more: nothing sensible is left but to report */
			mre_chan_fail(ch, r, "io_uring wait", 0, 0);
			return r;
		}
		reap(ch);
	}
	return ch->error;
}
