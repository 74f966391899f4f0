/* SPDX-License-Identifier: MIT */
/* imagefile.c: open + locate the stream + parse, with errors naming the file. */
#include "engine/imagefile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/header.h"

int mre_imagefile_open(struct mre_imagefile *f, const char *path, int fd, uint64_t offset,
		       unsigned load_flags, struct mre_err *err)
{
	int r;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->path = strdup(path ? path : "(fd)");
	if (!f->path)
		return mre_err_set(err, -ENOMEM, "out of memory");
	if (fd < 0) {
		fd = mre_open_ro(path, err);
		if (fd < 0)
			goto fail_noprefix;
	}
	f->fd = fd;
	r = mre_src_fd(&f->src, &f->fdsrc, fd, err);
	if (r)
		goto fail;
	f->size = f->src.size;
	if (offset == MRE_OFFSET_AUTO) {
		r = mre_header_detect(&f->src, &f->header, err);
		if (r)
			goto fail;
		offset = f->header.stream_offset;
	} else {
		f->header.stream_offset = offset;
		f->header.kind = offset ? MRE_HEADER_FOREIGN : MRE_HEADER_NONE;
	}
	f->stream_offset = offset;
	r = mre_image_load(&f->src, offset, load_flags, &f->img, err);
	if (r)
		goto fail;
	return 0;
fail:
	mre_err_prefix(err, "%s", f->path);
fail_noprefix:
	r = err && err->code ? err->code : -EIO;
	mre_imagefile_close(f);
	return r;
}

void mre_imagefile_close(struct mre_imagefile *f)
{
	mre_image_free(f->img);
	f->img = NULL;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	free(f->path);
	f->path = NULL;
}
