/* SPDX-License-Identifier: MIT */
/*
 * file.h: plain file I/O helpers: complete reads and writes that retry
 * short transfers and EINTR, a struct mre_src over a file descriptor, and
 * opening with clear errors.
 */
#ifndef MRE_IO_FILE_H
#define MRE_IO_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "format/rd.h"
#include "util/err.h"

/* Whole-buffer positioned I/O: 0 or -errno (-EIO for an unexpected EOF). */
int mre_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);
int mre_pread_all(int fd, void *buf, size_t len, uint64_t off);
/* Sequential I/O on pipes and sockets. mre_read_full returns bytes read
 * (< len only at EOF) or -errno. */
int mre_write_all(int fd, const void *buf, size_t len);
ssize_t mre_read_full(int fd, void *buf, size_t len);

/*
 * A source over @fd. Regular files and block devices are seekable (read
 * with pread); anything else (pipes, sockets, terminals) is read in order.
 * @ctx must outlive the source.
 */
struct mre_fdsrc {
	int fd;
	uint64_t next;   /* sequential sources: offset of the next byte */
};
int mre_src_fd(struct mre_src *src, struct mre_fdsrc *ctx, int fd, struct mre_err *err);

/* open(2) for reading an image; the error names the path. */
int mre_open_ro(const char *path, struct mre_err *err);

/* Size of what @fd refers to (regular file or block device). */
int mre_fd_size(int fd, uint64_t *size, struct mre_err *err);

#endif
