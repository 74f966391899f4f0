/* SPDX-License-Identifier: MIT */
/*
 * outfile.h: a file being written by a job.
 *
 * For a path, everything goes to a temporary file in the same directory,
 * renamed over the path only by mre_outfile_commit() after the data is
 * durable, so an older file at that path survives any failure or crash.
 * Bytes [0, offset) of an existing file are carried over (QEMU's
 * file:PATH,offset=N keeps them). For descriptors from an fdset no rename
 * is possible: the file is truncated to the offset, as QEMU does.
 *
 * With direct-io, page data goes through page_fd, opened separately with
 * O_DIRECT (never a dup: O_DIRECT belongs to the open file description).
 */
#ifndef MRE_IO_OUTFILE_H
#define MRE_IO_OUTFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

struct mre_outfile {
	char *path;      /* final path, or NULL for descriptors */
	char *tmp_path;  /* the file being written, or NULL */
	int fd;          /* buffered descriptor for the stream and metadata */
	int page_fd;     /* descriptor for page data (== fd without direct-io) */
	bool direct_io;
};

/* Create the temporary file for @path and carry [0, @offset) over. */
int mre_outfile_open_path(struct mre_outfile *o, const char *path, uint64_t offset,
			  bool direct_io, struct mre_err *err);
/* Take ownership of descriptors (from an fdset) and truncate to @offset. */
int mre_outfile_open_fds(struct mre_outfile *o, int fd, int page_fd, uint64_t offset,
			 struct mre_err *err);

/* fdatasync both descriptions. */
int mre_outfile_sync(struct mre_outfile *o, struct mre_err *err);
/* Rename the temporary file into place and sync the directory; closes. */
int mre_outfile_commit(struct mre_outfile *o, struct mre_err *err);
/* Give up: remove the temporary file (nothing at the path changes); closes. */
void mre_outfile_abort(struct mre_outfile *o);

#endif
