/* SPDX-License-Identifier: MIT */
/*
 * fdset.h: descriptors handed in by a management layer (QMP add-fd with
 * SCM_RIGHTS, or -add-fd), grouped in numbered sets, and the rules for
 * picking one for a transfer, as QEMU applies them:
 *
 *  - a descriptor matches a request when its access mode (O_ACCMODE) and
 *    its O_DIRECT flag equal the request's;
 *  - with direct-io the set must hold two independently opened
 *    descriptors (not dups of each other), exactly one with O_DIRECT;
 *  - write-only for saving, read-only for restoring.
 *
 * Every descriptor taken from a set is dup()ed: the caller owns and closes
 * it, and removing the set never invalidates a running transfer. Also holds
 * the getfd/closefd named descriptors. Not thread-safe: used from the
 * control thread only.
 */
#ifndef MRE_IO_FDSET_H
#define MRE_IO_FDSET_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

struct mre_fdsets;

struct mre_fdset_fd {
	int fd;
	const char *opaque; /* NULL if none */
};

struct mre_fdsets *mre_fdsets_new(void);
/* Closes every descriptor still held. */
void mre_fdsets_free(struct mre_fdsets *s);

/*
 * Add @fd (ownership passes to the registry, also on failure) to set
 * @set_id, creating the set; with @set_id < 0 a new set with the lowest
 * unused id is created. Returns 0 and the set id / registry fd number.
 * Refuses descriptors that are neither regular files nor block devices.
 */
int mre_fdsets_add(struct mre_fdsets *s, int fd, int64_t set_id, const char *opaque,
		   int64_t *out_set, int *out_fd, struct mre_err *err);
/* Remove one descriptor (@fd >= 0) or the whole set (@fd < 0). */
int mre_fdsets_remove(struct mre_fdsets *s, int64_t set_id, int fd, struct mre_err *err);

/* For query-fdsets: set ids in descending order, fds in the order added. */
unsigned mre_fdsets_nsets(const struct mre_fdsets *s);
int64_t mre_fdsets_set_id(const struct mre_fdsets *s, unsigned i);
unsigned mre_fdsets_set_nfds(const struct mre_fdsets *s, unsigned i);
struct mre_fdset_fd mre_fdsets_set_fd(const struct mre_fdsets *s, unsigned i, unsigned j);

/*
 * "/dev/fdset/N": 1 and *id = N; 0 when @path is not an fdset path;
 * -EINVAL when it is one but N is not a plain non-negative decimal int.
 */
int mre_fdset_path_id(const char *path, int64_t *id);

/*
 * dup() the descriptor of set @set_id that matches @flags on O_ACCMODE and
 * O_DIRECT (newest first). Errors follow QEMU's texts ("Failed to find
 * fdset /dev/fdset/N", "Failed to find file descriptor with matching
 * flags=0x..") plus a sentence saying which rule was broken.
 */
int mre_fdsets_dup(struct mre_fdsets *s, int64_t set_id, int flags, struct mre_err *err);

/*
 * The two descriptors of a transfer: *main_fd (buffered, for the stream)
 * and *page_fd (O_DIRECT when @direct_io, for page data). @write selects
 * O_WRONLY vs O_RDONLY. Checks the rules above and names the one broken.
 * Without direct-io one descriptor is enough and *page_fd is a dup of it.
 */
int mre_fdsets_open_pair(struct mre_fdsets *s, int64_t set_id, bool write, bool direct_io,
			 int *main_fd, int *page_fd, struct mre_err *err);

/* getfd / closefd: named descriptors (names must not start with a digit;
 * the same name replaces and closes the old descriptor). */
int mre_fdsets_getfd(struct mre_fdsets *s, const char *name, int fd, struct mre_err *err);
int mre_fdsets_closefd(struct mre_fdsets *s, const char *name, struct mre_err *err);
/* Borrow a named descriptor (still owned by the registry), or -ENOENT. */
int mre_fdsets_named(const struct mre_fdsets *s, const char *name);

#endif
