/* SPDX-License-Identifier: MIT */
/*
 * dio.c: O_DIRECT probing. statx(STATX_DIOALIGN) gives the exact alignment
 * where the kernel and filesystem report it (a zero mem_align then means
 * "no direct I/O"); otherwise an O_DIRECT open decides and 4096 is assumed,
 * which covers 512-byte and 4 KiB logical blocks. A directory is probed
 * with an unnamed temporary file, so nothing is left behind.
 */
#include "io/dio.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define DIO_FALLBACK_ALIGN 4096u

const char *mre_fs_type_name(long f_type)
{
	switch ((unsigned long)f_type) {
	case EXT4_SUPER_MAGIC: return "ext4";
	case XFS_SUPER_MAGIC: return "xfs";
	case BTRFS_SUPER_MAGIC: return "btrfs";
	case TMPFS_MAGIC: return "tmpfs";
	case OVERLAYFS_SUPER_MAGIC: return "overlay";
	case NFS_SUPER_MAGIC: return "nfs";
	case 0x65735546: return "fuse";
	case 0x2fc12fc1: return "zfs";
	case 0xf2f52010: return "f2fs";
	case 0x01021997: return "9p";
	case 0x6a656a63: return "fakeowner";
	}
	return "unknown";
}

static void fill_fs(int fd, struct mre_dio_info *info)
{
	struct statfs sfs;

	snprintf(info->fs_type, sizeof(info->fs_type), "%s",
		 fstatfs(fd, &sfs) ? "unknown" : mre_fs_type_name((long)sfs.f_type));
}

/* STATX_DIOALIGN: 1 supported, 0 not supported, -1 not reported. */
static int statx_dio(int fd, struct mre_dio_info *info)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) || !(stx.stx_mask & STATX_DIOALIGN))
		return -1;
	if (!stx.stx_dio_mem_align)
		return 0;
	info->mem_align = stx.stx_dio_mem_align;
	info->offset_align = stx.stx_dio_offset_align;
	return 1;
}

/* Can @path (a regular file) be opened with O_DIRECT? */
static bool reopen_direct(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void probe_open_file(int fd, const char *reopen_path, struct mre_dio_info *info)
{
	int s = statx_dio(fd, info);

	fill_fs(fd, info);
	if (s >= 0) {
		info->supported = s == 1;
		if (s == 1)
			return;
	}
	if (fcntl(fd, F_GETFL) & O_DIRECT)
		info->supported = true;
	else
		info->supported = reopen_direct(reopen_path);
	if (info->supported && !info->mem_align)
		info->mem_align = info->offset_align = DIO_FALLBACK_ALIGN;
}

/* Probe a directory: write one aligned block into an unnamed O_DIRECT file. */
static int probe_dir(const char *dir, struct mre_dio_info *info, struct mre_err *err)
{
	void *buf = NULL;
	int fd;

	fd = open(dir, O_TMPFILE | O_RDWR | O_DIRECT | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EINVAL) {
		/* either O_TMPFILE or O_DIRECT is refused: tell them apart */
		int plain = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

		if (plain >= 0) {
			fill_fs(plain, info);
			close(plain);
			info->supported = false;
			return 0;
		}
	}
	if (fd < 0) {
		/* no O_TMPFILE here: fall back to the directory's filesystem facts */
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd < 0)
			return mre_err_sys(err, -errno, "cannot examine '%s'", dir);
		fill_fs(dfd, info);
		close(dfd);
		info->supported = false;
		return 0;
	}
	fill_fs(fd, info);
	if (statx_dio(fd, info) == 0) {
		info->supported = false;
		close(fd);
		return 0;
	}
	if (!info->mem_align)
		info->mem_align = info->offset_align = DIO_FALLBACK_ALIGN;
	info->supported = !posix_memalign(&buf, 4096, 4096) && memset(buf, 0, 4096) &&
			  pwrite(fd, buf, 4096, 0) == 4096;
	free(buf);
	close(fd);
	return 0;
}

int mre_dio_probe(const char *path, struct mre_dio_info *info, struct mre_err *err)
{
	struct stat st;

	memset(info, 0, sizeof(*info));
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return probe_dir(path, info, err);
		if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
			int fd = open(path, O_RDONLY | O_CLOEXEC);

			if (fd < 0)
				return mre_err_sys(err, -errno, "cannot examine '%s'", path);
			probe_open_file(fd, path, info);
			close(fd);
			return 0;
		}
		return mre_err_set(err, -EINVAL, "'%s' is not a regular file, block device or directory", path);
	}
	if (errno != ENOENT)
		return mre_err_sys(err, -errno, "cannot examine '%s'", path);
	/* a file still to be created: probe its directory */
	{
		char *dir = strdup(path), *slash;
		int r;

		if (!dir)
			return mre_err_set(err, -ENOMEM, "out of memory");
		slash = strrchr(dir, '/');
		if (!slash)
			strcpy(dir, ".");
		else if (slash == dir)
			dir[1] = 0;
		else
			*slash = 0;
		r = probe_dir(dir, info, err);
		free(dir);
		return r;
	}
}

int mre_dio_probe_fd(int fd, struct mre_dio_info *info, struct mre_err *err)
{
	char proc[64];
	struct stat st;

	memset(info, 0, sizeof(*info));
	if (fstat(fd, &st))
		return mre_err_sys(err, -errno, "fstat of fd %d", fd);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return mre_err_set(err, -EINVAL, "fd %d is not a regular file or block device", fd);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	probe_open_file(fd, proc, info);
	return 0;
}

int mre_dio_open(const char *path, int flags, struct mre_err *err)
{
	int fd = open(path, flags | O_DIRECT | O_CLOEXEC, 0600);

	if (fd >= 0)
		return fd;
	if (errno == EINVAL) {
		/* did the flags or O_DIRECT cause it? */
		int plain = open(path, flags | O_CLOEXEC, 0600);

		if (plain >= 0) {
			close(plain);
			return mre_err_set(err, -EINVAL, "Could not open '%s': filesystem does not support O_DIRECT",
					   path);
		}
	}
	return mre_err_sys(err, -errno, "Could not open '%s' for direct I/O", path);
}
