/* SPDX-License-Identifier: MIT */
/* extract.c: block content to a sparse raw file. */
#include "engine/extract.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/check.h"
#include "format/ram.h"
#include "format/stream.h"
#include "util/bytes.h"
#include "util/sbitmap.h"

#define COPY_CHUNK (4u << 20)

/* Copy [off, off+len) of @in to @out at @dst; copy_file_range where it works. */
static int copy_range(int in, uint64_t off, int out, uint64_t dst, uint64_t len, uint8_t *buf)
{
	bool cfr = true;

	while (len) {
		size_t n = (size_t)MRE_MIN(len, (uint64_t)COPY_CHUNK);
		int r;

		if (cfr) {
			loff_t ioff = (loff_t)off, ooff = (loff_t)dst;
			ssize_t c = copy_file_range(in, &ioff, out, &ooff, n, 0);

			if (c > 0) {
				off += (uint64_t)c;
				dst += (uint64_t)c;
				len -= (uint64_t)c;
				continue;
			}
			if (c < 0 && errno == EINTR)
				continue;
			if (c == 0)
				return -EIO;
			cfr = false; /* EXDEV, EINVAL, ENOSYS...: fall back to read/write */
		}
		if ((r = mre_pread_all(in, buf, n, off)) || (r = mre_pwrite_all(out, buf, n, dst)))
			return r;
		off += n;
		dst += n;
		len -= n;
	}
	return 0;
}

static int extract_mapped(struct mre_imagefile *f, const struct mre_image_block *ib, int out,
			  struct mre_err *err)
{
	uint64_t ps = f->img->page_size, s, e, from = 0;
	uint8_t *buf = malloc(COPY_CHUNK);
	int r = 0;

	if (!buf)
		return mre_err_set(err, -ENOMEM, "out of memory");
	while (mre_bitmap_next_run(ib->bitmap, ib->npages, from, &s, &e)) {
		r = copy_range(f->fd, ib->b.pages_offset + s * ps, out, s * ps, (e - s) * ps, buf);
		if (r) {
			mre_err_sys(err, r, "copying pages %llu..%llu of block '%s'", (unsigned long long)s,
				    (unsigned long long)e - 1, ib->b.id);
			break;
		}
		from = e;
	}
	free(buf);
	return r;
}

/* Compressed block: unpack each chunk (checking its CRC) and write its data pages. */
static int extract_chunked(struct mre_imagefile *f, int bi, int out, struct mre_err *err)
{
	const struct mre_image_block *ib = &f->img->blocks[bi];
	uint64_t ps = f->img->page_size, cs = ib->b.chunk_size;
	uint8_t *stored = malloc(cs + 4096), *data = malloc(cs);
	int r = 0;

	if (!stored || !data) {
		r = mre_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (uint64_t ci = 0; ci < ib->b.nchunks && !r; ci++) {
		const struct mre_chunk *c = &ib->chunks[ci];
		uint64_t off = ci * cs, bytes = MRE_MIN(cs, ib->b.used_length - off);

		if (c->flags == MRE_CHUNK_F_ZERO)
			continue;
		if ((r = mre_pread_all(f->fd, stored, c->len, c->offset))) {
			mre_err_sys(err, r, "reading chunk %llu at 0x%llx", (unsigned long long)ci,
				    (unsigned long long)c->offset);
			break;
		}
		if ((r = mre_chunk_unpack(f->img, (unsigned)bi, ci, stored, data, err)))
			break;
		for (uint64_t p = 0; p < bytes / ps && !r; p++)
			if (mre_bit_test(ib->bitmap, off / ps + p) &&
			    (r = mre_pwrite_all(out, data + p * ps, ps, off + p * ps)))
				mre_err_sys(err, r, "writing page %llu", (unsigned long long)(off / ps + p));
	}
out:
	free(stored);
	free(data);
	return r;
}

struct seq_ctx {
	int out;
	int block;
	uint64_t page_size;
	struct mre_sbitmap written;  /* pages that hold data in the output */
	uint8_t *page;
};

static int seq_page(void *u, unsigned bi, uint64_t offset, enum mre_page_kind kind,
		    const uint8_t *data, size_t len, uint8_t fill, struct mre_err *err)
{
	struct seq_ctx *c = u;
	uint64_t pg = offset / c->page_size;
	bool had;
	int r = 0;

	/* c->written covers the extracted block only */
	if ((int)bi != c->block)
		return 0;
	had = mre_sbitmap_test(&c->written, pg);
	switch (kind) {
	case MRE_PAGE_ZERO:
		if (!fill) {
			if (had && fallocate(c->out, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					     (off_t)offset, (off_t)c->page_size)) {
				memset(c->page, 0, c->page_size);
				r = mre_pwrite_all(c->out, c->page, c->page_size, offset);
			}
			mre_sbitmap_clear(&c->written, pg);
			break;
		}
		memset(c->page, fill, c->page_size);
		r = mre_pwrite_all(c->out, c->page, c->page_size, offset);
		if (mre_sbitmap_set(&c->written, pg))
			return mre_err_set(err, -ENOMEM, "out of memory");
		break;
	case MRE_PAGE_DATA:
		r = mre_pwrite_all(c->out, data, len, offset);
		if (mre_sbitmap_set(&c->written, pg))
			return mre_err_set(err, -ENOMEM, "out of memory");
		break;
	case MRE_PAGE_XBZRLE:
		if (had)
			r = mre_pread_all(c->out, c->page, c->page_size, offset);
		else
			memset(c->page, 0, c->page_size);
		if (!r && (r = mre_xbzrle_apply(c->page, c->page_size, data, len, err)))
			return r;
		if (!r)
			r = mre_pwrite_all(c->out, c->page, c->page_size, offset);
		if (mre_sbitmap_set(&c->written, pg))
			return mre_err_set(err, -ENOMEM, "out of memory");
		break;
	}
	if (r)
		return mre_err_sys(err, r, "writing page at 0x%llx", (unsigned long long)offset);
	return 0;
}

static int extract_sequential(struct mre_imagefile *f, int bi, int out, struct mre_err *err)
{
	static const struct mre_walk_ops ops = { .page = seq_page };
	const struct mre_image_block *ib = &f->img->blocks[bi];
	struct seq_ctx c = { .out = out, .block = bi, .page_size = f->img->page_size };
	struct mre_walk w;
	struct mre_rd rd;
	int r;

	c.page = malloc(c.page_size);
	if (!c.page || mre_sbitmap_init(&c.written, ib->npages)) {
		free(c.page);
		return mre_err_set(err, -ENOMEM, "out of memory");
	}
	mre_walk_init(&w);
	r = mre_rd_init(&rd, &f->src, f->stream_offset, err);
	if (!r)
		r = mre_walk_run(&w, &rd, &ops, &c, err);
	mre_rd_free(&rd);
	mre_walk_free(&w);
	mre_sbitmap_free(&c.written);
	free(c.page);
	return r;
}

int mre_extract_block(struct mre_imagefile *f, const char *id, const char *out_path,
		      struct mre_err *err)
{
	int bi = mre_image_find_block(f->img, id);
	const struct mre_image_block *ib;
	int out, r;

	if (bi < 0) {
		mre_err_set(err, -ENOENT, "%s: no RAM block '%s' (blocks:", f->path, id);
		for (unsigned i = 0; i < f->img->nblocks; i++) {
			size_t n = strlen(err->msg);

			snprintf(err->msg + n, sizeof(err->msg) - n, " %s", f->img->blocks[i].b.id);
		}
		strncat(err->msg, ")", sizeof(err->msg) - strlen(err->msg) - 1);
		return -ENOENT;
	}
	ib = &f->img->blocks[bi];
	if (ib->b.ignored)
		return mre_err_set(err, -ENODATA,
				   "%s: block '%s' is shared memory skipped by x-ignore-shared: the image holds no pages for it",
				   f->path, id);
	/* guest memory: private, like the images and backings mrengine creates */
	out = open(out_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		return mre_err_sys(err, -errno, "cannot create '%s'", out_path);
	if (ftruncate(out, (off_t)ib->b.used_length)) {
		r = mre_err_sys(err, -errno, "cannot size '%s'", out_path);
	} else if (ib->b.chunked) {
		r = extract_chunked(f, bi, out, err);
	} else if (f->img->mapped_ram) {
		r = extract_mapped(f, ib, out, err);
	} else {
		r = extract_sequential(f, bi, out, err);
	}
	if (close(out) && !r)
		r = mre_err_sys(err, -errno, "closing '%s'", out_path);
	if (r)
		unlink(out_path);
	return r;
}
