/* SPDX-License-Identifier: MIT */
/*
 * dio.h: direct I/O (O_DIRECT) support: finding out whether a filesystem
 * accepts it and with which alignment, and opening descriptors for it.
 *
 * QEMU's rule, kept here: page data goes through an O_DIRECT descriptor
 * opened separately (never a dup: O_DIRECT lives in the open file
 * description) from the buffered one that carries the unaligned stream.
 */
#ifndef MRE_IO_DIO_H
#define MRE_IO_DIO_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

struct mre_dio_info {
	bool supported;        /* O_DIRECT open + an aligned write/read worked */
	uint32_t mem_align;    /* buffer alignment (statx STATX_DIOALIGN, or 4096) */
	uint32_t offset_align; /* file offset/length alignment */
	char fs_type[32];      /* "ext4", "tmpfs", "xfs", ... (from statfs) */
};

/*
 * Probe the filesystem that holds @path (a file, or a directory where a
 * file would be created). Never fails because O_DIRECT is unsupported:
 * that is reported in @info; fails only if @path cannot be examined.
 */
int mre_dio_probe(const char *path, struct mre_dio_info *info, struct mre_err *err);

/* Same for an open descriptor (e.g. from an fdset). */
int mre_dio_probe_fd(int fd, struct mre_dio_info *info, struct mre_err *err);

/*
 * Open @path again with O_DIRECT added to @flags (O_WRONLY or O_RDONLY...).
 * EINVAL from the filesystem becomes "filesystem does not support O_DIRECT".
 */
int mre_dio_open(const char *path, int flags, struct mre_err *err);

/* Filesystem type name of @fd ("ext4", "tmpfs", ...; "unknown" otherwise). */
const char *mre_fs_type_name(long f_type);

#endif
