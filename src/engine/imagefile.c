/* SPDX-License-Identifier: MIT */
/* imagefile.c: open + locate the stream + parse, with errors naming the file. */
#include "engine/imagefile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/check.h"
#include "format/header.h"
#include "util/bytes.h"

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

int mre_imagefile_read_pages(const struct mre_imagefile *f, unsigned bi, uint64_t first, uint64_t n,
			     uint8_t *buf, uint8_t *chunkbuf, struct mre_err *err)
{
	const struct mre_image_block *ib = &f->img->blocks[bi];
	uint64_t ps = f->img->page_size, s, e, from = first, end = first + n;
	int r;

	if (ib->b.ignored)
		return mre_err_set(err, -ENODATA, "RAM block '%s' is not stored in the image", ib->b.id);
	if (ib->b.chunked) {
		uint64_t cs = ib->b.chunk_size, pos = first * ps, stop = end * ps;

		while (pos < stop) {
			uint64_t ci = pos / cs, cstart = ci * cs, k = MRE_MIN(cstart + cs, stop) - pos;
			const struct mre_chunk *c = &ib->chunks[ci];

			if (c->flags == MRE_CHUNK_F_ZERO) {
				memset(buf + (pos - first * ps), 0, k);
			} else {
				uint8_t *stored = chunkbuf + cs;

				if ((r = mre_pread_all(f->fd, stored, c->len, c->offset)))
					return mre_err_sys(err, r, "reading chunk %llu of '%s'", (unsigned long long)ci,
							   ib->b.id);
				if ((r = mre_chunk_unpack(f->img, bi, ci, stored, chunkbuf, err)))
					return r;
				memcpy(buf + (pos - first * ps), chunkbuf + (pos - cstart), k);
			}
			pos += k;
		}
		return 0;
	}
	while (from < end) {
		if (!mre_bitmap_next_run(ib->bitmap, end, from, &s, &e))
			s = e = end;
		memset(buf + (from - first) * ps, 0, (s - from) * ps);
		if (s < e && (r = mre_pread_all(f->fd, buf + (s - first) * ps, (e - s) * ps,
						ib->b.pages_offset + s * ps)))
			return mre_err_sys(err, r, "reading pages %llu..%llu of '%s'", (unsigned long long)s,
					   (unsigned long long)e - 1, ib->b.id);
		from = e;
	}
	return 0;
}

int mre_imagefile_read_range(const struct mre_imagefile *f, uint64_t off, uint64_t len, uint8_t **out,
			     struct mre_err *err)
{
	uint8_t *buf;
	int r;

	if (len > (256u << 20))
		return mre_err_set(err, MRE_ELIMIT, "%s: %llu bytes of stream metadata is more than supported",
				   f->path, (unsigned long long)len);
	buf = malloc(len ? len : 1);
	if (!buf)
		return mre_err_set(err, -ENOMEM, "out of memory");
	if ((r = mre_pread_all(f->fd, buf, len, off))) {
		free(buf);
		return mre_err_sys(err, r, "%s: reading 0x%llx..0x%llx", f->path, (unsigned long long)off,
				   (unsigned long long)(off + len));
	}
	*out = buf;
	return 0;
}
