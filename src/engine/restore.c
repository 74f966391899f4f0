/* SPDX-License-Identifier: MIT */
/*
 * restore.c: image -> VM RAM.
 *
 * The image is parsed (bitmaps, chunk tables, trailer), held to verify's
 * whole-file rules (a completed header, the VM description, the metadata
 * checksum: mre_verify_structure) and matched block by block with the VM: every stored block must exist with the same length
 * (unless the restore is partial: then blocks the VM lacks are left out),
 * and every VM block must be in the image. Plain images: each channel
 * claims 8 MiB units and reads every run of present pages straight into the
 * block's mapping (O_DIRECT when asked: the mapping is page-aligned), then,
 * if the image has checksums, checks them on the bytes now in RAM. Compressed
 * images: a unit is a chunk, read into the channel's buffer and decompressed
 * straight into the mapping, its CRC checked. Pages without data are zeroed
 * only when the target may hold old data (a fresh memfd or new file reads as
 * zeros), by punching holes where the backing allows, which also gives the
 * memory back. If anything fails, the target is left clearly unusable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine/check.h"
#include "engine/imagefile.h"
#include "engine/job_int.h"
#include "engine/verify.h"
#include "format/ram.h"
#include "util/bytes.h"

struct restore_block {
	struct mre_ramblock *rb;
	const struct mre_image_block *ib;
	unsigned bi;                /* index in the image */
	bool fresh;
};

struct restore_ctx {
	struct mre_job *job;
	struct mre_imagefile img;
	int page_fd;
	struct restore_block *blocks;
	unsigned nblocks;
	struct mre_unit *units;
	uint64_t nunits;
	uint64_t page_size;
	bool verify;                /* check trailer page checksums while reading */
	uint8_t **bufs;             /* compressed: one read buffer per channel */
	unsigned nbufs;
};

/* Parse the image the job opened (mre_job_start): descriptors taken over. */
static int open_input(struct restore_ctx *c, struct mre_err *err)
{
	struct mre_job *job = c->job;
	uint64_t offset = job->offset_given ? job->offset : MRE_OFFSET_AUTO;
	int fd = job->in_fd, r;

	c->page_fd = job->in_page_fd;
	job->in_fd = job->in_page_fd = -1;
	r = mre_imagefile_open(&c->img, job->path, fd, offset, 0, err);
	if (r)
		return r;
	/* a cut, unfinished or tampered file is refused before RAM is touched */
	if ((r = mre_verify_structure(&c->img, err)))
		return r;
	job->direct_io = c->page_fd != c->img.fd && (fcntl(c->page_fd, F_GETFL) & O_DIRECT);
	return 0;
}

/* Pair every image block with a VM block of the same id and length. */
static int match_blocks(struct restore_ctx *c, struct mre_err *err)
{
	const struct mre_image *img = c->img.img;
	struct mre_vm *vm = c->job->vm;
	uint64_t nunits = 0;

	if (!img->mapped_ram)
		return mre_err_set(err, MRE_EUNSUPP,
				   "%s is a sequential stream, not a mapped-ram image: convert it first (mrengine convert)",
				   c->img.path);
	if (img->page_size != c->page_size)
		return mre_err_set(err, MRE_EUNSUPP, "%s uses %llu-byte pages; the VM uses %llu", c->img.path,
				   (unsigned long long)img->page_size, (unsigned long long)c->page_size);
	c->blocks = calloc(img->nblocks + 1, sizeof(*c->blocks));
	if (!c->blocks)
		return mre_err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < img->nblocks; i++) {
		const struct mre_image_block *ib = &img->blocks[i];
		struct mre_ramblock *rb = mre_vm_find(vm, ib->b.id);
		uint64_t per = ib->b.chunked ? 1 : MRE_JOB_UNIT_PAGES;
		uint64_t n = ib->b.chunked ? ib->b.nchunks : ib->npages;

		if (!rb && c->job->partial)
			continue;
		if (!rb)
			return mre_err_set(err, -ENOENT, "the image has RAM block '%s' (%llu bytes) but the VM has no such block",
					   ib->b.id, (unsigned long long)ib->b.used_length);
		if (rb->size != ib->b.used_length)
			return mre_err_set(err, -EINVAL,
					   "RAM block '%s' is %llu bytes in the image but %llu bytes in the VM",
					   ib->b.id, (unsigned long long)ib->b.used_length, (unsigned long long)rb->size);
		if (ib->b.ignored)
			continue; /* shared memory the image does not hold */
		c->blocks[c->nblocks++] = (struct restore_block){ .rb = rb, .ib = ib, .bi = i, .fresh = rb->created };
		nunits += (n + per - 1) / per;
	}
	for (unsigned i = 0; i < vm->nblocks; i++)
		if (mre_image_find_block(img, vm->blocks[i]->id) < 0)
			return mre_err_set(err, -ENOENT, "the VM's RAM block '%s' is not in the image",
					   vm->blocks[i]->id);
	c->units = calloc(nunits ? nunits : 1, sizeof(*c->units));
	if (!c->units)
		return mre_err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < c->nblocks; i++) {
		const struct mre_image_block *ib = c->blocks[i].ib;

		if (ib->b.chunked) {
			for (uint64_t k = 0; k < ib->b.nchunks; k++)
				c->units[c->nunits++] = (struct mre_unit){ .block = i, .first = k, .npages = 1 };
		} else {
			for (uint64_t p = 0; p < ib->npages; p += MRE_JOB_UNIT_PAGES)
				c->units[c->nunits++] = (struct mre_unit){
					.block = i, .first = p,
					.npages = MRE_MIN((uint64_t)MRE_JOB_UNIT_PAGES, ib->npages - p) };
		}
	}
	return 0;
}

/* Bytes [off, off+len) of a target that may hold old data: make them zero. */
static void zero_bytes(struct restore_block *b, uint64_t off, uint64_t len)
{
	if (fallocate(b->rb->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len))
		memset(b->rb->host + off, 0, len);
}

static int read_run(struct mre_chan *ch, struct restore_ctx *c, struct restore_block *b,
		    uint64_t first, uint64_t end)
{
	uint64_t off = first * c->page_size, len = (end - first) * c->page_size;

	/*
	 * Buffered reads copy into the mapping and would trap once per page;
	 * fault the run in with one call. (O_DIRECT pins the pages in the
	 * kernel, which faults them in batch already.)
	 */
	if (!c->job->direct_io)
		madvise(b->rb->host + off, len, MADV_POPULATE_WRITE);
	while (len) {
		size_t n = (size_t)MRE_MIN(len, (uint64_t)MRE_JOB_MAX_IO);
		int r = mre_chan_read(ch, b->rb->host + off, n, b->ib->b.pages_offset + off);

		if (r)
			return r;
		atomic_fetch_add_explicit(&c->job->transferred, n, memory_order_relaxed);
		off += n;
		len -= n;
	}
	return 0;
}

static int restore_plain(struct restore_ctx *c, struct mre_chan *ch, const struct mre_unit *un,
			 uint64_t *normal, struct mre_err *err)
{
	struct restore_block *b = &c->blocks[un->block];
	const uint64_t *bm = b->ib->bitmap;
	uint64_t p = un->first, end = un->first + un->npages, s, e, ps = c->page_size;
	int r;

	while (p < end) {
		if (!mre_bitmap_next_run(bm, end, p, &s, &e))
			s = e = end;
		if (s > p && !b->fresh)
			zero_bytes(b, p * ps, (s - p) * ps);
		if (s < e) {
			if ((r = read_run(ch, c, b, s, e)))
				return r;
			*normal += e - s;
		}
		p = e;
	}
	if (c->verify) {
		uint64_t cp = c->img.img->trailer.chunk_pages;

		/* the data must have arrived before it can be checked */
		if ((r = mre_chan_flush(ch)))
			return r;
		return mre_check_chunks(c->img.img, b->bi, un->first / cp, (end + cp - 1) / cp,
					b->rb->host + un->first * ps, err);
	}
	return 0;
}

static int restore_chunk(struct restore_ctx *c, struct mre_chan *ch, const struct mre_unit *un,
			 uint64_t *normal, struct mre_err *err)
{
	struct restore_block *b = &c->blocks[un->block];
	const struct mre_image_block *ib = b->ib;
	const struct mre_chunk *e = &ib->chunks[un->first];
	uint64_t off = un->first * ib->b.chunk_size, bytes = MRE_MIN(ib->b.chunk_size, ib->b.used_length - off);
	uint8_t *buf = c->bufs[mre_chan_index(ch) % c->nbufs];
	uint64_t ps = c->page_size;
	int r;

	if (e->flags == MRE_CHUNK_F_ZERO) {
		if (!b->fresh)
			zero_bytes(b, off, bytes);
		return 0;
	}
	if ((r = mre_chan_read(ch, buf, (size_t)MRE_MIN((e->len + 4095) & ~(uint64_t)4095,
							  c->img.img->data_end - e->offset), e->offset)) ||
	    (r = mre_chan_flush(ch)))
		return r;
	atomic_fetch_add_explicit(&c->job->transferred, e->len, memory_order_relaxed);
	/* fault the chunk's pages in with one call instead of one trap per page */
	madvise(b->rb->host + off, bytes, MADV_POPULATE_WRITE);
	if ((r = mre_chunk_unpack(c->img.img, b->bi, un->first, buf, b->rb->host + off, err)))
		return r;
	for (uint64_t p = off / ps; p < (off + bytes) / ps; p++)
		*normal += mre_bit_test(ib->bitmap, p);
	return 0;
}

static int restore_unit(void *ctx, struct mre_chan *ch, uint64_t u, struct mre_err *err)
{
	struct restore_ctx *c = ctx;
	const struct mre_unit *un = &c->units[u];
	const struct mre_image_block *ib = c->blocks[un->block].ib;
	uint64_t normal = 0, pages;
	int r;

	if (ib->b.chunked) {
		pages = MRE_MIN(ib->b.chunk_size, ib->b.used_length - un->first * ib->b.chunk_size) / c->page_size;
		r = restore_chunk(c, ch, un, &normal, err);
	} else {
		pages = un->npages;
		r = restore_plain(c, ch, un, &normal, err);
	}
	if (r)
		return r;
	atomic_fetch_add_explicit(&c->job->normal, normal, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->job->duplicate, pages - normal, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->job->done_bytes, pages * c->page_size, memory_order_relaxed);
	return 0;
}

static int alloc_bufs(struct restore_ctx *c, struct mre_err *err)
{
	uint64_t size = 0;

	for (unsigned i = 0; i < c->nblocks; i++)
		if (c->blocks[i].ib->b.chunked)
			size = MRE_MAX(size, c->blocks[i].ib->b.chunk_size + 4096);
	if (!size)
		return 0;
	c->nbufs = c->job->plan.channels;
	c->bufs = calloc(c->nbufs, sizeof(*c->bufs));
	if (!c->bufs)
		return mre_err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < c->nbufs; i++)
		if (posix_memalign((void **)&c->bufs[i], 4096, size))
			return mre_err_set(err, -ENOMEM, "out of memory");
	return 0;
}

int mre_restore_run(struct mre_job *job, struct mre_err *err)
{
	struct restore_ctx c = { .job = job, .page_fd = -1, .page_size = job->page_size };
	enum mre_io_backend used = MRE_IO_AUTO;
	struct mre_chan_cfg cc;
	bool touched = false;
	int r;

	c.img.fd = -1;
	if ((r = open_input(&c, err)) || (r = match_blocks(&c, err)) || (r = alloc_bufs(&c, err)))
		goto out;
	c.verify = job->plan.verify && c.img.img->has_trailer &&
		   (c.img.img->trailer.flags & MRE_TRAILER_F_PAGES);
	job->verified = c.verify || c.img.img->compressed;
	memset(&cc, 0, sizeof(cc));
	cc.backend = mre_job_backend(job);
	cc.nchan = job->plan.channels;
	cc.fd = c.page_fd;
	cc.cancel = &job->cancel;
	cc.max_bandwidth = &job->max_bandwidth;
	job->setup_ns = mre_now_ns();
	mre_job_set_status(job, MRE_JOB_ACTIVE);
	/* from here on the target holds a mix of old and new data */
	touched = true;
	for (unsigned i = 0; i < c.nblocks; i++)
		c.blocks[i].rb->created = false;
	r = mre_chan_run(&cc, c.nunits, restore_unit, &c, &used, err);
	job->backend = mre_io_backend_name(used);
out:
	if (r && touched)
		for (unsigned i = 0; i < c.nblocks; i++)
			mre_ramblock_invalidate(c.blocks[i].rb);
	if (c.page_fd >= 0 && c.page_fd != c.img.fd)
		close(c.page_fd);
	if (c.img.path)
		mre_imagefile_close(&c.img);
	for (unsigned i = 0; c.bufs && i < c.nbufs; i++)
		free(c.bufs[i]);
	free(c.bufs);
	free(c.blocks);
	free(c.units);
	return r;
}
