/* SPDX-License-Identifier: MIT */
/* outfile.c: temporary file + rename, prefix carry-over, the O_DIRECT twin. */
#include "io/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/dio.h"
#include "io/file.h"
#include "util/testpoint.h"

static void outfile_reset(struct mre_outfile *o)
{
	memset(o, 0, sizeof(*o));
	o->fd = o->page_fd = -1;
}

static void outfile_close(struct mre_outfile *o)
{
	if (o->page_fd >= 0 && o->page_fd != o->fd)
		close(o->page_fd);
	if (o->fd >= 0)
		close(o->fd);
	free(o->path);
	free(o->tmp_path);
	outfile_reset(o);
}

/* Copy the first @len bytes of @path (if it exists) into @fd. */
static int carry_prefix(const char *path, int fd, uint64_t len, struct mre_err *err)
{
	uint8_t buf[65536];
	uint64_t done = 0;
	int in;

	if (!len)
		return 0;
	if (ftruncate(fd, (off_t)len))
		return mre_err_sys(err, -errno, "cannot size the new file to offset %llu", (unsigned long long)len);
	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return errno == ENOENT ? 0 : mre_err_sys(err, -errno, "cannot read '%s'", path);
	while (done < len) {
		ssize_t r = pread(in, buf, (size_t)(len - done < sizeof(buf) ? len - done : sizeof(buf)),
				  (off_t)done);
		int w;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(in);
			return mre_err_sys(err, -errno, "cannot read '%s'", path);
		}
		if (r == 0)
			break; /* shorter than the offset: the rest stays zero, as with QEMU's ftruncate */
		if ((w = mre_pwrite_all(fd, buf, (size_t)r, done))) {
			close(in);
			return mre_err_sys(err, w, "cannot copy the header of '%s'", path);
		}
		done += (uint64_t)r;
	}
	close(in);
	return 0;
}

int mre_outfile_open_path(struct mre_outfile *o, const char *path, uint64_t offset,
			  bool direct_io, struct mre_err *err)
{
	char *dcopy = NULL, *bcopy = NULL;
	struct stat st;
	int r;

	outfile_reset(o);
	o->direct_io = direct_io;
	o->path = strdup(path);
	dcopy = strdup(path);
	bcopy = strdup(path);
	if (!o->path || !dcopy || !bcopy) {
		r = mre_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		r = mre_err_set(err, -EINVAL, "'%s' exists and is not a regular file", path);
		goto fail;
	}
	if (asprintf(&o->tmp_path, "%s/.%s.mrengine-XXXXXX", dirname(dcopy), basename(bcopy)) < 0) {
		o->tmp_path = NULL;
		r = mre_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	o->fd = mkostemp(o->tmp_path, O_CLOEXEC);
	if (o->fd < 0) {
		r = mre_err_sys(err, -errno, "Could not create '%s'", path);
		free(o->tmp_path);
		o->tmp_path = NULL;
		goto fail;
	}
	mre_testpoint("temporary file created");
	if ((r = carry_prefix(path, o->fd, offset, err)))
		goto fail;
	if (direct_io) {
		o->page_fd = mre_dio_open(o->tmp_path, O_WRONLY, err);
		if (o->page_fd < 0) {
			r = o->page_fd;
			o->page_fd = -1;
			mre_err_prefix(err, "%s", path);
			goto fail;
		}
	} else {
		o->page_fd = o->fd;
	}
	free(dcopy);
	free(bcopy);
	return 0;
fail:
	free(dcopy);
	free(bcopy);
	mre_outfile_abort(o);
	return r;
}

int mre_outfile_open_fds(struct mre_outfile *o, int fd, int page_fd, uint64_t offset,
			 struct mre_err *err)
{
	outfile_reset(o);
	o->fd = fd;
	o->page_fd = page_fd;
	o->direct_io = page_fd != fd && (fcntl(page_fd, F_GETFL) & O_DIRECT);
	if (ftruncate(fd, (off_t)offset)) {
		int r = mre_err_sys(err, -errno, "failed to truncate migration file to offset %llx",
				    (unsigned long long)offset);

		outfile_close(o);
		return r;
	}
	return 0;
}

int mre_outfile_sync(struct mre_outfile *o, struct mre_err *err)
{
	if (o->page_fd != o->fd && fdatasync(o->page_fd))
		return mre_err_sys(err, -errno, "fdatasync");
	if (fdatasync(o->fd))
		return mre_err_sys(err, -errno, "fdatasync");
	return 0;
}

int mre_outfile_commit(struct mre_outfile *o, struct mre_err *err)
{
	int r = 0;

	if (o->tmp_path) {
		char *dcopy = strdup(o->path);
		int dfd;

		if (rename(o->tmp_path, o->path)) {
			r = mre_err_sys(err, -errno, "cannot rename the new file to '%s'", o->path);
			free(dcopy);
			mre_outfile_abort(o);
			return r;
		}
		free(o->tmp_path);
		o->tmp_path = NULL;
		mre_testpoint("directory sync");
		/* make the rename itself durable */
		dfd = dcopy ? open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
		if (dfd >= 0) {
			if (fsync(dfd))
				r = mre_err_sys(err, -errno, "fsync of the directory of '%s'", o->path);
			close(dfd);
		}
		free(dcopy);
	}
	outfile_close(o);
	return r;
}

void mre_outfile_abort(struct mre_outfile *o)
{
	if (o->tmp_path)
		unlink(o->tmp_path);
	outfile_close(o);
}
