/* SPDX-License-Identifier: MIT */
/*
 * pipehold.h: read a pipe while keeping the writer close behind.
 *
 * A pipe's writer is done as soon as its last byte is in the pipe, so a
 * reader that wants its failure to reach the writer must keep it from
 * getting far ahead. Shrinking the pipe (F_SETPIPE_SZ) cannot do that
 * reliably: the kernel refuses while the pipe holds more than the new
 * size, and a writer blocked on a full pipe refills it the moment it is
 * drained, before the shrink can run.
 *
 * A hold reads without emptying the pipe instead: the bytes in the pipe
 * are duplicated with tee(2) into a private pipe and read from there, and
 * the ones already read stay in the pipe until it holds more than
 * capacity - window of them. The writer can so add at most about @window
 * bytes beyond what was read, whatever the timing.
 * While it lasts the writer moves in steps of at most @window bytes.
 *
 * The writer must write (write, writev), not splice pages in: written
 * bytes fill a pipe's pages one after the other, so the bytes kept fill
 * all but the last page they touch and cannot take every slot. (A
 * packet-mode writer, O_DIRECT, breaks any stream reader anyway:
 * a short read drops the rest of its packet.)
 */
#ifndef MRE_IO_PIPEHOLD_H
#define MRE_IO_PIPEHOLD_H

#include <stddef.h>
#include <sys/types.h>

struct mre_pipehold {
	int fd;          /* the pipe being read (not owned) */
	int peek[2];     /* the private pipe the bytes are teed into */
	int null_fd;     /* /dev/null, where discarded bytes are spliced */
	size_t seen;     /* bytes at the front of @fd already returned */
	size_t keep;     /* read bytes left in @fd: its capacity - window */
};

/* Start holding @fd (a pipe) with the writer at most @window bytes ahead.
 * 0, or -errno (not a pipe, no tee): read @fd plainly then. */
int mre_pipehold_start(struct mre_pipehold *h, int fd, size_t window);

/* Like read(2): the next bytes, blocking until there are some; 0 at the
 * end of the stream (no writer left); -errno on failure. */
ssize_t mre_pipehold_read(struct mre_pipehold *h, void *buf, size_t len);

/* Close what the hold opened (@fd stays open, its read bytes unread). */
void mre_pipehold_end(struct mre_pipehold *h);

#endif
