/* SPDX-License-Identifier: MIT */
/*
 * transcode.c: image -> image. Each channel claims a unit (8 MiB of pages
 * for a plain output, one chunk for a compressed one), reads its pages from
 * the input (decompressing and checking chunks when needed) into the
 * channel's buffer, and hands them to the writer.
 */
#include "engine/transcode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/job_int.h"
#include "engine/writer.h"
#include "format/qemu.h"
#include "util/bytes.h"
#include "util/zero.h"

struct tc_buf {
	uint8_t *pages;
	uint8_t *chunk;     /* compressed input: one chunk + 4 KiB + room for the stored bytes */
};

struct tc_ctx {
	const struct mre_imagefile *in;
	struct mre_writer *w;
	struct mre_unit *units;
	uint64_t nunits;
	uint64_t ps;
	bool out_chunked;
	struct tc_buf *bufs;
	unsigned nbufs;
	atomic_uint_fast64_t pages;
	atomic_uint_fast64_t nonzero;
};

/* The stream's own bytes around the ram section, carried over verbatim. */
struct tc_stream {
	uint8_t *pre, *post, *vmdesc_raw;
	size_t pre_len, post_len;
	struct mre_wbuf vmdesc;
};

static int stream_parts(const struct mre_imagefile *in, const struct mre_config *cfg, struct tc_stream *s,
			struct mre_err *err)
{
	const struct mre_image *img = in->img;
	uint64_t ram_start = 0, ram_end = 0;
	int r;

	for (size_t i = 0; i < img->nelems; i++) {
		const struct mre_elem *el = &img->elems[i];
		bool ram = el->section_id == img->ram_section_id &&
			   (el->type == MRE_VM_SECTION_START || el->type == MRE_VM_SECTION_PART ||
			    el->type == MRE_VM_SECTION_END);

		if (ram && el->type == MRE_VM_SECTION_START)
			ram_start = el->offset;
		if (ram && el->type == MRE_VM_SECTION_END)
			ram_end = el->end;
	}
	if (!ram_start || !ram_end)
		return mre_err_set(err, MRE_EFORMAT, "%s: no complete ram section", in->path);
	if ((r = mre_imagefile_read_range(in, img->config_end, ram_start - img->config_end, &s->pre, err)) ||
	    (r = mre_imagefile_read_range(in, ram_end, img->eof_offset - ram_end, &s->post, err)))
		return r;
	s->pre_len = ram_start - img->config_end;
	s->post_len = img->eof_offset - ram_end;
	mre_wbuf_init(&s->vmdesc);
	if (!img->has_vmdesc)
		return 0;
	if ((r = mre_imagefile_read_range(in, img->vmdesc_offset + 5, img->vmdesc_len, &s->vmdesc_raw, err)))
		return r;
	if (mre_vmdesc_set_config((const char *)s->vmdesc_raw, img->vmdesc_len, cfg, &s->vmdesc))
		mre_wbuf_reset(&s->vmdesc); /* not the JSON we know: let the writer make a new one */
	return 0;
}

static int tc_unit(void *ctx, struct mre_chan *ch, uint64_t u, struct mre_err *err)
{
	struct tc_ctx *c = ctx;
	const struct mre_unit *un = &c->units[u];
	struct tc_buf *b = &c->bufs[mre_chan_index(ch) % c->nbufs];
	uint64_t run = UINT64_MAX, nz = 0, ps = c->ps;
	int r;

	/* the previous unit's writes may still read from this buffer */
	if ((r = mre_chan_flush(ch)) ||
	    (r = mre_imagefile_read_pages(c->in, un->block, un->first, un->npages, b->pages, b->chunk, err)))
		return r;
	for (uint64_t i = 0; i <= un->npages; i++) {
		bool data = i < un->npages && !mre_is_zero(b->pages + i * ps, ps);

		nz += data;
		if (c->out_chunked)
			continue;
		if (data && run == UINT64_MAX)
			run = i;
		if (!data && run != UINT64_MAX) {
			if ((r = mre_writer_put_pages(c->w, ch, un->block, un->first + run, i - run,
						      b->pages + run * ps)))
				return r;
			run = UINT64_MAX;
		}
	}
	if (c->out_chunked &&
	    (r = mre_writer_put_chunk(c->w, ch, un->block, un->first * ps / mre_writer_chunk_size(c->w),
				      nz ? b->pages : NULL, err)))
		return r;
	atomic_fetch_add(&c->pages, un->npages);
	atomic_fetch_add(&c->nonzero, nz);
	return 0;
}

int mre_transcode(const struct mre_imagefile *in, const struct mre_transcode_opts *o,
		  struct mre_transcode_result *res, struct mre_err *err)
{
	const struct mre_image *img = in->img;
	const struct mre_plan *p = o->plan;
	struct tc_ctx c = { .in = in, .ps = img->page_size, .out_chunked = p->compression != MRE_COMP_NONE };
	struct tc_stream s;
	struct mre_writer_block *wb;
	struct mre_config cfg = img->cfg;
	struct mre_chan_cfg cc;
	uint64_t per, n = 0, bufsize, chunkbuf = 0;
	int r;

	memset(&s, 0, sizeof(s));
	memset(res, 0, sizeof(*res));
	if (!img->mapped_ram)
		return mre_err_set(err, MRE_EUNSUPP, "%s is a sequential stream: use mrengine convert", in->path);
	mre_config_set_cap(&cfg, "mapped-ram", true);
	mre_config_set_cap(&cfg, MRE_CAP_COMPRESSED, c.out_chunked);
	wb = calloc(img->nblocks + 1, sizeof(*wb));
	if (!wb)
		return mre_err_set(err, -ENOMEM, "out of memory");
	if ((r = stream_parts(in, &cfg, &s, err)))
		goto out;
	per = c.out_chunked ? p->chunk_size / c.ps : MRE_JOB_UNIT_PAGES;
	for (unsigned i = 0; i < img->nblocks; i++) {
		const struct mre_image_block *ib = &img->blocks[i];

		wb[i] = (struct mre_writer_block){ .id = ib->b.id, .used_length = ib->b.used_length,
						   .has_gpa = ib->b.has_gpa, .gpa = ib->b.gpa,
						   .ignored = ib->b.ignored };
		if (!ib->b.ignored)
			n += (ib->npages + per - 1) / per;
		if (ib->b.chunked)
			chunkbuf = MRE_MAX(chunkbuf, 2 * ib->b.chunk_size + 8192);
	}
	c.units = calloc(n + 1, sizeof(*c.units));
	c.nbufs = p->channels;
	c.bufs = calloc(c.nbufs, sizeof(*c.bufs));
	bufsize = per * c.ps;
	if (!c.units || !c.bufs) {
		r = mre_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (unsigned i = 0; i < c.nbufs; i++)
		if (posix_memalign((void **)&c.bufs[i].pages, 4096, bufsize) ||
		    (chunkbuf && !(c.bufs[i].chunk = malloc(chunkbuf)))) {
			r = mre_err_set(err, -ENOMEM, "out of memory");
			goto out;
		}
	for (unsigned i = 0; i < img->nblocks; i++)
		for (uint64_t q = 0; !img->blocks[i].b.ignored && q < img->blocks[i].npages; q += per)
			c.units[c.nunits++] = (struct mre_unit){ .block = i, .first = q,
								 .npages = MRE_MIN(per, img->blocks[i].npages - q) };

	{
		struct mre_outfile out;

		r = mre_writer_target_open(&out, o->path, o->offset, p->direct_io, o->fdsets, err);
		if (r)
			goto out;
		r = mre_writer_open(&(struct mre_writer_opts){
				    .plan = p,
				    .cfg = &cfg,
				    .ram_section_id = img->ram_section_id,
				    .page_size = c.ps,
				    .blocks = wb,
				    .nblocks = img->nblocks,
				    .pre = s.pre,
				    .pre_len = s.pre_len,
				    .post = s.post,
				    .post_len = s.post_len,
				    .vmdesc = s.vmdesc.len ? (const char *)s.vmdesc.data : NULL,
				    .vmdesc_len = s.vmdesc.len,
				    .meta = o->meta,
				    .out = &out,
				    .offset = o->offset,
				    .transferred = o->transferred,
			    },
			    &c.w, err);
	}
	if (r)
		goto out;
	memset(&cc, 0, sizeof(cc));
	cc.backend = p->io == MRE_PLAN_IO_THREADS ? MRE_IO_THREADS
		     : p->io == MRE_PLAN_IO_URING ? MRE_IO_URING : MRE_IO_AUTO;
	cc.nchan = p->channels;
	cc.fd = mre_writer_page_fd(c.w);
	cc.cancel = o->cancel;
	r = mre_chan_run(&cc, c.nunits, tc_unit, &c, &res->backend, err);
	if (!r && o->cancel && atomic_load(o->cancel))
		r = mre_err_set(err, MRE_ECANCELED, "cancelled");
	if (r)
		mre_writer_abort(c.w);
	else
		r = mre_writer_finish(c.w, err);
	res->pages = atomic_load(&c.pages);
	res->nonzero = atomic_load(&c.nonzero);
out:
	for (unsigned i = 0; c.bufs && i < c.nbufs; i++) {
		free(c.bufs[i].pages);
		free(c.bufs[i].chunk);
	}
	free(c.bufs);
	free(c.units);
	free(wb);
	free(s.pre);
	free(s.post);
	free(s.vmdesc_raw);
	mre_wbuf_free(&s.vmdesc);
	return r;
}
