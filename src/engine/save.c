/* SPDX-License-Identifier: MIT */
/*
 * save.c: VM RAM -> mapped-ram file.
 *
 * Layout first (every offset is known before a byte is written), then the
 * file is sized to its final length so unwritten regions are holes and an
 * interrupted file reads as zeros where its end should be. The channels
 * each claim 8 MiB units, find the non-zero pages, set their bits and write
 * each run of present pages with one request per up to 2 MiB, straight from
 * the RAM mapping (page-aligned, so O_DIRECT needs no copy). Zero pages
 * cost nothing: their bits stay clear and their slots stay holes. Then the
 * bitmaps, the end of the stream and the device state go through the
 * buffered descriptor, everything is synced, and the file is renamed into
 * place.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/job_int.h"
#include "format/config.h"
#include "format/qemu.h"
#include "format/ram.h"
#include "format/stream.h"
#include "io/dio.h"
#include "io/fdset.h"
#include "io/file.h"
#include "io/outfile.h"
#include "util/bytes.h"
#include "util/log.h"
#include "util/zero.h"

/* QEMU 10 gives "ram" section id 1 on pc machines; the loader only needs
 * the id to be consistent within the ram section. */
#define SAVE_RAM_SECTION_ID 1u
#define MAX_DEVICE_STATE (256u << 20)

struct save_block {
	struct mre_ramblock *rb;
	uint64_t npages;
	uint64_t *bitmap;
	struct mre_mr_layout lay;
};

struct save_ctx {
	struct mre_job *job;
	struct save_block *blocks;
	unsigned nblocks;
	struct mre_unit *units;
	uint64_t nunits;
	uint64_t page_size;
	struct mre_outfile out;
	struct mre_config cfg;
	struct mre_wbuf head;    /* header .. MEM_SIZE word */
	struct mre_wbuf tail;    /* EOS .. vmdesc */
	uint64_t tail_offset;
	uint64_t file_end;
	uint8_t *device_state;
	size_t device_state_len;
};

static int load_device_state(struct save_ctx *c, struct mre_err *err)
{
	const char *path = c->job->vm->device_state;
	struct stat st;
	ssize_t got;
	int fd;

	if (!path)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mre_err_sys(err, -errno, "cannot open device state '%s'", path);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_DEVICE_STATE) {
		close(fd);
		return mre_err_set(err, -EINVAL, "device state '%s' is not a regular file of at most 256 MiB", path);
	}
	c->device_state = malloc((size_t)st.st_size + 1);
	if (!c->device_state) {
		close(fd);
		return mre_err_set(err, -ENOMEM, "out of memory");
	}
	got = mre_read_full(fd, c->device_state, (size_t)st.st_size);
	close(fd);
	if (got != st.st_size)
		return mre_err_sys(err, got < 0 ? (int)got : -EIO, "cannot read device state '%s'", path);
	c->device_state_len = (size_t)got;
	return 0;
}

/* Compute every offset, and the bytes of the head and the tail. */
static int plan_layout(struct save_ctx *c, struct mre_err *err)
{
	struct mre_job *job = c->job;
	struct mre_vm *vm = job->vm;
	struct mre_wbuf vmdesc;
	uint64_t pos, total = 0, nunits = 0;
	int r;

	memset(&c->cfg, 0, sizeof(c->cfg));
	snprintf(c->cfg.machine, sizeof(c->cfg.machine), "%s", vm->machine ? vm->machine : MRE_VM_DEFAULT_MACHINE);
	mre_config_set_cap(&c->cfg, "mapped-ram", true);

	c->blocks = calloc(vm->nblocks, sizeof(*c->blocks));
	if (!c->blocks)
		return mre_err_set(err, -ENOMEM, "out of memory");
	c->nblocks = vm->nblocks;
	for (unsigned i = 0; i < vm->nblocks; i++) {
		struct save_block *b = &c->blocks[i];

		b->rb = vm->blocks[i];
		b->npages = b->rb->size / c->page_size;
		b->bitmap = calloc(1, mre_bitmap_bytes(b->npages) + 8);
		if (!b->bitmap)
			return mre_err_set(err, -ENOMEM, "out of memory for the bitmap of '%s'", b->rb->id);
		total += b->rb->size;
		nunits += (b->npages + MRE_JOB_UNIT_PAGES - 1) / MRE_JOB_UNIT_PAGES;
	}

	mre_wbuf_init(&c->head);
	mre_emit_file_header(&c->head);
	mre_config_emit(&c->head, &c->cfg);
	mre_emit_ram_start(&c->head, SAVE_RAM_SECTION_ID, total);
	pos = job->offset + c->head.len;
	for (unsigned i = 0; i < c->nblocks; i++) {
		struct save_block *b = &c->blocks[i];

		r = mre_mr_layout_block(pos, b->rb->id, b->rb->size, c->page_size, job->plan.alignment, false,
					&b->lay);
		if (r)
			return mre_err_set(err, r, "block '%s' does not fit in a file", b->rb->id);
		pos = b->lay.end_offset;
	}
	c->tail_offset = pos;

	mre_wbuf_init(&c->tail);
	mre_emit_ram_end(&c->tail, SAVE_RAM_SECTION_ID);
	mre_wbuf_put(&c->tail, c->device_state, c->device_state_len);
	mre_wbuf_init(&vmdesc);
	mre_vmdesc_build(&vmdesc, &c->cfg, c->page_size, NULL);
	mre_emit_eof(&c->tail, (const char *)vmdesc.data, vmdesc.len);
	r = mre_wbuf_err(&vmdesc);
	mre_wbuf_free(&vmdesc);
	if (r || mre_wbuf_err(&c->head) || mre_wbuf_err(&c->tail))
		return mre_err_set(err, -ENOMEM, "out of memory");
	c->file_end = c->tail_offset + c->tail.len;

	c->units = calloc(nunits ? nunits : 1, sizeof(*c->units));
	if (!c->units)
		return mre_err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < c->nblocks; i++)
		for (uint64_t p = 0; p < c->blocks[i].npages; p += MRE_JOB_UNIT_PAGES)
			c->units[c->nunits++] = (struct mre_unit){
				.block = i,
				.first = p,
				.npages = MRE_MIN((uint64_t)MRE_JOB_UNIT_PAGES, c->blocks[i].npages - p),
			};
	return 0;
}

static int open_output(struct save_ctx *c, struct mre_err *err)
{
	struct mre_job *job = c->job;
	int64_t set;
	int r = mre_fdset_path_id(job->path, &set);

	if (r < 0)
		return mre_err_set(err, -EINVAL, "Could not parse fdset %s", job->path);
	if (r == 1) {
		int fd, page_fd;

		if (!job->fdsets)
			return mre_err_set(err, -ENOENT, "Failed to find fdset %s", job->path);
		r = mre_fdsets_open_pair(job->fdsets, set, true, job->plan.direct_io, &fd, &page_fd, err);
		if (r)
			return r;
		return mre_outfile_open_fds(&c->out, fd, page_fd, job->offset, err);
	}
	return mre_outfile_open_path(&c->out, job->path, job->offset, job->plan.direct_io, err);
}

static int write_meta(struct save_ctx *c, const void *buf, size_t len, uint64_t off, const char *what,
		      struct mre_err *err)
{
	int r = mre_pwrite_all(c->out.fd, buf, len, off);

	if (r)
		return mre_err_sys(err, r, "writing %s at offset 0x%llx", what, (unsigned long long)off);
	atomic_fetch_add(&c->job->transferred, len);
	return 0;
}

/* The stream up to the first page region, and each block's entry + header. */
static int write_head(struct save_ctx *c, struct mre_err *err)
{
	struct mre_wbuf wb;
	int r;

	if (ftruncate(c->out.fd, (off_t)c->file_end))
		return mre_err_sys(err, -errno, "cannot size the file to %llu bytes",
				   (unsigned long long)c->file_end);
	if ((r = write_meta(c, c->head.data, c->head.len, c->job->offset, "the stream header", err)))
		return r;
	mre_wbuf_init(&wb);
	for (unsigned i = 0; i < c->nblocks && !r; i++) {
		struct save_block *b = &c->blocks[i];

		mre_wbuf_reset(&wb);
		mre_mem_entry_emit(&wb, b->rb->id, b->rb->size, false, 0);
		mre_mr_header_emit(&wb, MRE_MR_VERSION, c->page_size, b->lay.bitmap_offset, b->lay.pages_offset);
		r = mre_wbuf_err(&wb) ? mre_err_set(err, -ENOMEM, "out of memory")
				      : write_meta(c, wb.data, wb.len, b->lay.entry_offset, "a block header", err);
	}
	mre_wbuf_free(&wb);
	return r;
}

static int write_run(struct mre_chan *ch, struct save_ctx *c, struct save_block *b, uint64_t first,
		     uint64_t end)
{
	uint64_t off = first * c->page_size, len = (end - first) * c->page_size;

	while (len) {
		size_t n = (size_t)MRE_MIN(len, (uint64_t)MRE_JOB_MAX_IO);
		int r = mre_chan_write(ch, b->rb->host + off, n, b->lay.pages_offset + off);

		if (r)
			return r;
		atomic_fetch_add_explicit(&c->job->transferred, n, memory_order_relaxed);
		off += n;
		len -= n;
	}
	return 0;
}

/* Sparse backings are probed in chunks of this many bytes. */
#define SPARSE_CHUNK (1u << 20)

/*
 * Where the next data of @rb's backing is at or after byte @off: the offset,
 * or @end when only holes remain before @end. Holes of a sparse backing
 * (never-touched memfd or shm pages) read as zeros, and skipping them saves
 * both the scan and the page allocation a read through the mapping would
 * cause. Only SEEK_DATA is used: it answers at once where data is, whereas
 * SEEK_HOLE walks every page of a dense region.
 */
static uint64_t next_data(const struct mre_ramblock *rb, uint64_t off, uint64_t end)
{
	off_t d = lseek(rb->fd, (off_t)off, SEEK_DATA);

	if (d < 0)
		return errno == ENXIO ? end : off; /* ENXIO: holes to the end; else unknown: scan */
	return (uint64_t)d < end ? (uint64_t)d : end;
}

/* Scan pages [first, end) and write each run of non-zero pages. */
static int save_range(struct mre_chan *ch, struct save_ctx *c, struct save_block *b,
		      uint64_t first, uint64_t end, uint64_t *normal)
{
	const uint8_t *host = b->rb->host;
	uint64_t ps = c->page_size, run = UINT64_MAX;
	int r;

	for (uint64_t p = first; p < end; p++) {
		if (!mre_is_zero(host + p * ps, ps)) {
			mre_bit_set(b->bitmap, p);
			(*normal)++;
			if (run == UINT64_MAX)
				run = p;
		} else if (run != UINT64_MAX) {
			if ((r = write_run(ch, c, b, run, p)))
				return r;
			run = UINT64_MAX;
		}
	}
	return run != UINT64_MAX ? write_run(ch, c, b, run, end) : 0;
}

static int save_unit(void *ctx, struct mre_chan *ch, uint64_t u, struct mre_err *err)
{
	struct save_ctx *c = ctx;
	const struct mre_unit *un = &c->units[u];
	struct save_block *b = &c->blocks[un->block];
	uint64_t ps = c->page_size, pos = un->first * ps, end = (un->first + un->npages) * ps;
	uint64_t normal = 0;
	int r;

	while (pos < end) {
		uint64_t chunk_end = MRE_MIN((pos / SPARSE_CHUNK + 1) * SPARSE_CHUNK, end);
		uint64_t d = next_data(b->rb, pos, chunk_end) / ps * ps;

		if (d < chunk_end && (r = save_range(ch, c, b, d / ps, chunk_end / ps, &normal)))
			return r;
		pos = chunk_end;
	}
	atomic_fetch_add_explicit(&c->job->normal, normal, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->job->duplicate, un->npages - normal, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->job->done_bytes, un->npages * ps, memory_order_relaxed);
	return 0;
}

static int write_bitmaps_and_tail(struct save_ctx *c, struct mre_err *err)
{
	int r;

	for (unsigned i = 0; i < c->nblocks; i++) {
		struct save_block *b = &c->blocks[i];

		mre_bitmap_to_le(b->bitmap, b->lay.bitmap_bytes / 8);
		r = write_meta(c, b->bitmap, b->lay.bitmap_bytes, b->lay.bitmap_offset, "a bitmap", err);
		mre_bitmap_from_le(b->bitmap, b->lay.bitmap_bytes / 8);
		if (r)
			return r;
	}
	return write_meta(c, c->tail.data, c->tail.len, c->tail_offset, "the end of the stream", err);
}

static void save_ctx_free(struct save_ctx *c)
{
	for (unsigned i = 0; c->blocks && i < c->nblocks; i++)
		free(c->blocks[i].bitmap);
	free(c->blocks);
	free(c->units);
	free(c->device_state);
	mre_wbuf_free(&c->head);
	mre_wbuf_free(&c->tail);
}

int mre_save_run(struct mre_job *job, struct mre_err *err)
{
	struct save_ctx c = { .job = job, .page_size = job->page_size };
	struct mre_chan_cfg cc;
	enum mre_io_backend used = MRE_IO_AUTO;
	uint64_t t_pages;
	int r;

	c.out.fd = c.out.page_fd = -1;
	if ((r = load_device_state(&c, err)) || (r = plan_layout(&c, err)))
		goto out;
	if ((r = open_output(&c, err)))
		goto out;
	job->direct_io = c.out.direct_io;
	if ((r = write_head(&c, err)))
		goto fail;

	memset(&cc, 0, sizeof(cc));
	cc.backend = mre_job_backend(job);
	cc.nchan = job->plan.channels;
	cc.fd = c.out.page_fd;
	cc.cancel = &job->cancel;
	cc.max_bandwidth = &job->max_bandwidth;
	job->setup_ns = mre_now_ns();
	mre_job_set_status(job, MRE_JOB_ACTIVE);
	r = mre_chan_run(&cc, c.nunits, save_unit, &c, &used, err);
	job->backend = mre_io_backend_name(used);
	if (r)
		goto fail;
	t_pages = mre_now_ns();
	mre_job_set_status(job, MRE_JOB_DEVICE);
	if ((r = write_bitmaps_and_tail(&c, err)))
		goto fail;
	if (job->plan.sync == MRE_SYNC_FDATASYNC && (r = mre_outfile_sync(&c.out, err)))
		goto fail;
	mre_debug("save: setup %.3f s, pages %.3f s, metadata + sync %.3f s",
		  (double)(job->setup_ns - job->start_ns) / 1e9, (double)(t_pages - job->setup_ns) / 1e9,
		  (double)(mre_now_ns() - t_pages) / 1e9);
	if (atomic_load(&job->cancel)) {
		r = mre_err_set(err, MRE_ECANCELED, "cancelled");
		goto fail;
	}
	r = mre_outfile_commit(&c.out, err);
	goto out;
fail:
	mre_outfile_abort(&c.out);
out:
	save_ctx_free(&c);
	return r;
}
