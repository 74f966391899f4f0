/* SPDX-License-Identifier: MIT */
/* file.c: retrying read/write loops and the fd-backed struct mre_src. */
#include "io/file.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

int mre_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t r = pwrite(fd, p, len, (off_t)off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;
		p += r;
		off += (uint64_t)r;
		len -= (size_t)r;
	}
	return 0;
}

int mre_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t r = pread(fd, p, len, (off_t)off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;
		p += r;
		off += (uint64_t)r;
		len -= (size_t)r;
	}
	return 0;
}

int mre_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t r = write(fd, p, len);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

ssize_t mre_read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t r = read(fd, p + done, len - done);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

static ssize_t fd_pread(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct mre_fdsrc *s = ctx;
	ssize_t r = pread(s->fd, buf, len, (off_t)off);

	return r < 0 ? -errno : r;
}

static ssize_t fd_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct mre_fdsrc *s = ctx;
	ssize_t r;

	if (off != s->next)
		return -ESPIPE;
	r = read(s->fd, buf, len);
	if (r < 0)
		return -errno;
	s->next += (uint64_t)r;
	return r;
}

int mre_fd_size(int fd, uint64_t *size, struct mre_err *err)
{
	struct stat st;

	if (fstat(fd, &st))
		return mre_err_sys(err, -errno, "fstat");
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size))
			return mre_err_sys(err, -errno, "BLKGETSIZE64");
		return 0;
	}
	return mre_err_set(err, -EINVAL, "not a regular file or block device");
}

int mre_src_fd(struct mre_src *src, struct mre_fdsrc *ctx, int fd, struct mre_err *err)
{
	struct stat st;

	if (fstat(fd, &st))
		return mre_err_sys(err, -errno, "fstat");
	ctx->fd = fd;
	ctx->next = 0;
	src->ctx = ctx;
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
		int r = mre_fd_size(fd, &src->size, err);

		if (r)
			return r;
		src->read = fd_pread;
		src->seekable = true;
	} else {
		src->read = fd_read;
		src->size = MRE_SIZE_UNKNOWN;
		src->seekable = false;
	}
	return 0;
}

int mre_open_ro(const char *path, struct mre_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return mre_err_sys(err, -errno, "cannot open '%s'", path);
	return fd;
}
