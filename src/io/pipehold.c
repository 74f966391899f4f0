/* SPDX-License-Identifier: MIT */
/*
 * pipehold.c: tee(2) the pipe into a private one, read from that, and let
 * the pipe itself drain only down to what keeps the writer close behind.
 */
#include "io/pipehold.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "util/bytes.h"

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void mre_pipehold_end(struct mre_pipehold *h)
{
	/* leave @fd where the reader is: after the bytes returned */
	while (h->seen && h->null_fd >= 0) {
		ssize_t r = splice(h->fd, NULL, h->null_fd, NULL, h->seen, SPLICE_F_NONBLOCK);

		if (r <= 0 && errno != EINTR)
			break;
		if (r > 0)
			h->seen -= (size_t)r;
	}
	close_fd(&h->peek[0]);
	close_fd(&h->peek[1]);
	close_fd(&h->null_fd);
	h->seen = 0;
}

int mre_pipehold_start(struct mre_pipehold *h, int fd, size_t window)
{
	struct stat st;
	int cap, r;

	*h = (struct mre_pipehold){ .fd = fd, .peek = { -1, -1 }, .null_fd = -1 };
	if (fstat(fd, &st) || !S_ISFIFO(st.st_mode))
		return -ENOTSUP;
	if ((cap = fcntl(fd, F_GETPIPE_SZ)) < 0)
		return -errno;
	h->keep = (size_t)cap > window ? (size_t)cap - window : 0;
	if (pipe2(h->peek, O_CLOEXEC))
		return -errno;
	/* the private pipe takes a copy of everything @fd can hold */
	if (fcntl(h->peek[1], F_SETPIPE_SZ, cap) < 0 ||
	    (h->null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0) {
		r = -errno;
		mre_pipehold_end(h);
		return r;
	}
	return 0;
}

/* Splice @n bytes from @fd to /dev/null: they are present, so it does not block. */
static int discard(struct mre_pipehold *h, int fd, size_t n)
{
	while (n) {
		ssize_t r = splice(fd, NULL, h->null_fd, NULL, n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r ? -errno : -EIO;
		n -= (size_t)r;
	}
	return 0;
}

/*
 * Wait until @fd holds bytes not yet returned: their count, or 0 at the
 * end. A writer wakes its readers only when the pipe was empty, which a
 * held pipe never is, so this polls: a few yields (the writer is
 * usually copying its next bytes in already), then sleeps growing to 1 ms.
 */
static ssize_t wait_new(struct mre_pipehold *h)
{
	long nap_ns = 16000;

	for (unsigned idle = 0;; idle++) {
		struct pollfd p = { .fd = h->fd, .events = POLLIN };
		int avail = 0;

		if (ioctl(h->fd, FIONREAD, &avail))
			return -errno;
		if ((size_t)avail > h->seen)
			return avail;
		if (poll(&p, 1, 0) < 0 && errno != EINTR)
			return -errno;
		if (p.revents & POLLHUP) {
			/* no writer left: recheck, a last write may have come in between */
			if (ioctl(h->fd, FIONREAD, &avail))
				return -errno;
			return (size_t)avail > h->seen ? avail : 0;
		}
		if (idle < 32) {
			sched_yield();
		} else {
			struct timespec ts = { .tv_sec = 0, .tv_nsec = nap_ns };

			nanosleep(&ts, NULL);
			nap_ns = nap_ns * 2 < 1000000 ? nap_ns * 2 : 1000000;
		}
	}
}

ssize_t mre_pipehold_read(struct mre_pipehold *h, void *buf, size_t len)
{
	ssize_t avail, t, r;
	size_t rest;
	int e;

	if (!len)
		return 0;
	if ((avail = wait_new(h)) <= 0)
		return avail;
	/* a copy of all @fd holds; the first h->seen bytes were returned before */
	t = tee(h->fd, h->peek[1], (size_t)avail, SPLICE_F_NONBLOCK);
	if (t < 0)
		return -errno;
	if ((size_t)t <= h->seen) {
		discard(h, h->peek[0], (size_t)t);
		return -EIO;
	}
	if ((e = discard(h, h->peek[0], h->seen)))
		return e;
	do
		r = read(h->peek[0], buf, MRE_MIN(len, (size_t)t - h->seen));
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return r ? -errno : -EIO;
	rest = (size_t)t - h->seen - (size_t)r;
	if ((e = discard(h, h->peek[0], rest)))
		return e;
	h->seen += (size_t)r;
	if (h->seen > h->keep) {
		if ((e = discard(h, h->fd, h->seen - h->keep)))
			return e;
		h->seen = h->keep;
	}
	return r;
}
