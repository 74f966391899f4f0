/* SPDX-License-Identifier: MIT */
/*
 * verify.c: whole-file validity. Page data is read through the channel
 * layer in units of whole checksum chunks (8 MiB), into one buffer per
 * channel, so a verify runs at the speed of a restore without touching any
 * RAM block.
 */
#include "engine/verify.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/check.h"
#include "format/header.h"
#include "format/mrheader.h"
#include "io/chan.h"
#include "io/file.h"
#include "util/bytes.h"

#define VERIFY_UNIT_CHUNKS 8u

struct vunit {
	unsigned block;
	uint64_t first;   /* plain: trailer chunk index; compressed: chunk index */
	uint64_t n;
};

struct vctx {
	struct mre_imagefile *f;
	const struct mre_image *img;
	struct vunit *units;
	uint64_t nunits;
	uint8_t **bufs;   /* one per channel */
	uint8_t **outs;   /* compressed: decompression buffers */
	unsigned nbufs;
	size_t buf_size;
	atomic_uint_fast64_t pages;
	atomic_uint_fast64_t bytes;
};

static int check_header(struct mre_imagefile *f, struct mre_err *err)
{
	const struct mre_image *img = f->img;
	struct mre_header_info hi;
	uint8_t fixed[MRE_MRHEADER_FIXED];
	struct mre_mrheader mh;
	int r;

	if ((r = mre_header_detect(&f->src, &hi, err)))
		return r;
	if (hi.stream_offset != f->stream_offset)
		return 0; /* --offset chose another stream: the header is not ours to judge */
	if ((hi.kind == MRE_HEADER_MRENGINE || hi.kind == MRE_HEADER_LIBVIRT) && !hi.complete)
		return mre_err_set(err, MRE_EFORMAT, "%s: the %s header says the save never completed (in progress)",
				   f->path, mre_header_kind_name(hi.kind));
	if (hi.kind != MRE_HEADER_MRENGINE)
		return 0;
	if ((r = mre_pread_all(f->fd, fixed, sizeof(fixed), 0)))
		return mre_err_sys(err, r, "%s: reading the header", f->path);
	mre_mrheader_decode(fixed, sizeof(fixed), &mh, NULL);
	if (mh.stream_end != img->stream_end ||
	    (img->has_trailer && (mh.trailer_offset != img->trailer_offset || mh.trailer_length != img->trailer_length)))
		return mre_err_set(err, MRE_EFORMAT,
				   "%s: the header's stream end / trailer position do not match the file", f->path);
	return 0;
}

/* What lies after the stream must be exactly: [data area] [trailer]. */
static int check_tail(struct mre_imagefile *f, struct mre_err *err)
{
	const struct mre_image *img = f->img;
	uint64_t expect_end = img->has_trailer ? img->trailer_offset : f->size;

	if (img->compressed && !img->has_trailer)
		return mre_err_set(err, MRE_EFORMAT, "%s: compressed image without its trailer: the save did not complete",
				   f->path);
	if (!img->compressed && img->stream_end != expect_end)
		return mre_err_set(err, MRE_EFORMAT,
				   "%s: offset 0x%llx: %llu unexpected bytes after the end of the stream%s",
				   f->path, (unsigned long long)img->stream_end,
				   (unsigned long long)(expect_end - img->stream_end),
				   img->has_trailer ? "" : " (an incomplete trailer?)");
	return 0;
}

static int verify_unit(void *ctx, struct mre_chan *ch, uint64_t u, struct mre_err *err)
{
	struct vctx *c = ctx;
	const struct vunit *vu = &c->units[u];
	const struct mre_image_block *ib = &c->img->blocks[vu->block];
	uint8_t *buf = c->bufs[mre_chan_index(ch)];
	uint64_t ps = c->img->page_size;
	int r;

	if (ib->b.chunked) {
		uint8_t *out = c->outs[mre_chan_index(ch)];

		for (uint64_t ci = vu->first; ci < vu->first + vu->n; ci++) {
			const struct mre_chunk *e = &ib->chunks[ci];
			uint64_t padded = (e->len + 4095) & ~(uint64_t)4095;

			if (e->len) {
				if ((r = mre_chan_read(ch, buf, (size_t)MRE_MIN(padded, c->img->data_end - e->offset),
						       e->offset)) ||
				    (r = mre_chan_flush(ch)))
					return r;
				atomic_fetch_add(&c->bytes, e->len);
			}
			if ((r = mre_chunk_unpack(c->img, vu->block, ci, e->len ? buf : NULL, out, err)))
				return r;
		}
		atomic_fetch_add(&c->pages, vu->n * ib->b.chunk_size / ps);
		return 0;
	}
	/* plain: read the present pages of whole checksum chunks, then check */
	{
		uint64_t cp = c->img->trailer.chunk_pages, p0 = vu->first * cp;
		uint64_t p1 = MRE_MIN((vu->first + vu->n) * cp, ib->npages), s, e, from = p0, n = 0;

		while (mre_bitmap_next_run(ib->bitmap, p1, from, &s, &e)) {
			uint64_t len = (e - s) * ps, done = 0;

			while (done < len) {
				size_t k = (size_t)MRE_MIN(len - done, (uint64_t)(2u << 20));

				if ((r = mre_chan_read(ch, buf + (s - p0) * ps + done, k,
						       ib->b.pages_offset + s * ps + done)))
					return r;
				done += k;
			}
			n += e - s;
			from = e;
		}
		if ((r = mre_chan_flush(ch)))
			return r;
		atomic_fetch_add(&c->pages, n);
		atomic_fetch_add(&c->bytes, n * ps);
		return mre_check_chunks(c->img, vu->block, vu->first, vu->first + vu->n, buf, err);
	}
}

static int verify_data(struct mre_imagefile *f, unsigned channels, struct mre_verify_result *res,
		       struct mre_err *err)
{
	const struct mre_image *img = f->img;
	struct vctx c = { .f = f, .img = img, .nbufs = channels };
	struct mre_chan_cfg cc = { .backend = MRE_IO_AUTO, .nchan = channels, .fd = f->fd };
	uint64_t cap = 0;
	int r = 0;

	for (unsigned i = 0; i < img->nblocks; i++) {
		const struct mre_image_block *ib = &img->blocks[i];

		if (ib->b.chunked)
			cap += (ib->b.nchunks + VERIFY_UNIT_CHUNKS - 1) / VERIFY_UNIT_CHUNKS;
		else if (!ib->b.ignored && (img->trailer.flags & MRE_TRAILER_F_PAGES))
			cap += (img->trailer.blocks[i].nchunks + VERIFY_UNIT_CHUNKS - 1) / VERIFY_UNIT_CHUNKS;
	}
	c.units = calloc(cap + 1, sizeof(*c.units));
	c.bufs = calloc(channels, sizeof(*c.bufs));
	c.outs = calloc(channels, sizeof(*c.outs));
	if (!c.units || !c.bufs || !c.outs) {
		r = mre_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	c.buf_size = (size_t)VERIFY_UNIT_CHUNKS * img->trailer.chunk_pages * img->page_size;
	for (unsigned i = 0; i < img->nblocks; i++) {
		const struct mre_image_block *ib = &img->blocks[i];
		uint64_t n = ib->b.chunked ? ib->b.nchunks : img->trailer.blocks[i].nchunks;

		if (ib->b.ignored || (!ib->b.chunked && !(img->trailer.flags & MRE_TRAILER_F_PAGES)))
			continue;
		if (ib->b.chunked)
			c.buf_size = MRE_MAX(c.buf_size, (size_t)ib->b.chunk_size + 8192);
		for (uint64_t k = 0; k < n; k += VERIFY_UNIT_CHUNKS)
			c.units[c.nunits++] = (struct vunit){ .block = i, .first = k,
							     .n = MRE_MIN((uint64_t)VERIFY_UNIT_CHUNKS, n - k) };
	}
	for (unsigned i = 0; i < channels; i++)
		if (posix_memalign((void **)&c.bufs[i], 4096, c.buf_size) ||
		    posix_memalign((void **)&c.outs[i], 4096, c.buf_size)) {
			r = mre_err_set(err, -ENOMEM, "out of memory");
			goto out;
		}
	r = mre_chan_run(&cc, c.nunits, verify_unit, &c, NULL, err);
	if (r)
		mre_err_prefix(err, "%s", f->path);
	res->pages_checked = atomic_load(&c.pages);
	res->bytes_read = atomic_load(&c.bytes);
out:
	for (unsigned i = 0; c.bufs && i < channels; i++) {
		free(c.bufs[i]);
		free(c.outs[i]);
	}
	free(c.bufs);
	free(c.outs);
	free(c.units);
	return r;
}

int mre_verify_structure(struct mre_imagefile *f, struct mre_err *err)
{
	const struct mre_image *img = f->img;
	int r;

	if (!img->ram_seen)
		return mre_err_set(err, MRE_EFORMAT, "%s: the stream has no ram section", f->path);
	/* QEMU writes the VM description after EOF except for Xen machines; a
	 * stream that stops at EOF is far more likely cut short */
	if (!img->has_vmdesc)
		return mre_err_set(err, MRE_EFORMAT,
				   "%s: offset 0x%llx: the stream ends after EOF without the VM description (truncated?)",
				   f->path, (unsigned long long)img->stream_end);
	if ((r = check_header(f, err)) || (r = check_tail(f, err)))
		return r;
	if (img->has_trailer && (r = mre_check_meta(img, f->fd, err)))
		return mre_err_prefix(err, "%s", f->path);
	return 0;
}

int mre_verify(struct mre_imagefile *f, const struct mre_verify_opts *opts,
	       struct mre_verify_result *res, struct mre_err *err)
{
	unsigned channels = opts && opts->channels ? opts->channels : 2;
	int r;

	memset(res, 0, sizeof(*res));
	if ((r = mre_verify_structure(f, err)))
		return r;
	if (!f->img->has_trailer)
		return 0; /* e.g. written by QEMU: structure only, no checksums */
	res->has_checksums = true;
	if (opts && opts->structure_only)
		return 0;
	return verify_data(f, channels, res, err);
}
