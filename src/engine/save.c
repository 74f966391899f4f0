/* SPDX-License-Identifier: MIT */
/*
 * save.c: VM RAM -> image. The writer lays the file out; the channels each
 * claim units (8 MiB of pages, or one compression chunk), find the pages
 * that hold data, and hand them to the writer straight from the RAM
 * mapping (page-aligned, so O_DIRECT needs no copy). Zero pages cost
 * nothing: their bits stay clear and their slots stay holes, and holes of
 * a sparse backing are not even read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/job_int.h"
#include "engine/writer.h"
#include "format/config.h"
#include "io/file.h"
#include "util/bytes.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/zero.h"

/* QEMU 10 gives "ram" section id 1 on pc machines; the loader only needs
 * the id to be consistent within the ram section. */
#define SAVE_RAM_SECTION_ID 1u
#define MAX_DEVICE_STATE (256u << 20)
/* Sparse backings are probed in chunks of this many bytes. */
#define SPARSE_CHUNK (1u << 20)

struct save_ctx {
	struct mre_job *job;
	struct mre_writer *w;
	struct mre_unit *units;
	uint64_t nunits;
	uint64_t page_size;
	uint64_t chunk_pages;     /* compressed: pages per unit (one chunk) */
	uint8_t *device_state;
	size_t device_state_len;
	uint64_t **scan;          /* pre-flight: pages with data, per block (or NULL) */
	atomic_uint_fast64_t scanned_data;
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

/* Metadata for an mrengine header: who, what, how, when. */
static char *build_meta(const struct mre_job *job)
{
	const struct mre_vm *vm = job->vm;
	struct mre_wbuf wb;
	struct mre_jsonw j;

	mre_writer_meta_begin(&j, &wb);
	mre_jsonw_key(&j, "vm");
	mre_jsonw_obj_begin(&j);
	mre_jsonw_kstr(&j, "name", vm->name ? vm->name : "");
	if (vm->has_uuid) {
		char u[40];
		const uint8_t *x = vm->uuid;

		snprintf(u, sizeof(u), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], x[9], x[10], x[11], x[12], x[13],
			 x[14], x[15]);
		mre_jsonw_kstr(&j, "uuid", u);
	}
	mre_jsonw_kstr(&j, "machine", vm->machine ? vm->machine : MRE_VM_DEFAULT_MACHINE);
	mre_jsonw_key(&j, "labels");
	mre_jsonw_obj_begin(&j);
	for (unsigned i = 0; i < vm->nlabels; i++)
		mre_jsonw_kstr(&j, vm->labels[i].key, vm->labels[i].value);
	mre_jsonw_obj_end(&j);
	mre_jsonw_obj_end(&j);
	if (job->plan.policy)
		mre_jsonw_kstr(&j, "policy", job->plan.policy);
	return mre_writer_meta_end(&j, &wb, &job->plan);
}

static int for_data(const struct mre_ramblock *rb, uint64_t pos, uint64_t end, uint64_t ps,
		    int (*fn)(void *arg, uint64_t first, uint64_t end), void *arg);
static int plan_units(struct save_ctx *c, uint64_t per, struct mre_err *err);

struct scan_arg {
	struct save_ctx *c;
	unsigned block;
	uint64_t n;
};

static int scan_range(void *arg, uint64_t first, uint64_t end)
{
	struct scan_arg *a = arg;
	const struct mre_ramblock *rb = a->c->job->vm->blocks[a->block];
	uint64_t ps = a->c->page_size;

	for (uint64_t p = first; p < end; p++)
		if (!mre_is_zero(rb->host + p * ps, ps)) {
			mre_bit_set(a->c->scan[a->block], p);
			a->n++;
		}
	return 0;
}

/* Pre-flight scan of one unit: which pages hold data (no I/O). */
static int scan_unit(void *ctx, struct mre_chan *ch, uint64_t u, struct mre_err *err)
{
	struct save_ctx *c = ctx;
	const struct mre_unit *un = &c->units[u];
	const struct mre_ramblock *rb = c->job->vm->blocks[un->block];
	uint64_t ps = c->page_size, pos = un->first * ps, end = (un->first + un->npages) * ps;
	struct scan_arg a = { c, un->block, 0 };

	while (pos < end) {
		uint64_t chunk_end = MRE_MIN((pos / SPARSE_CHUNK + 1) * SPARSE_CHUNK, end);

		for_data(rb, pos, chunk_end, ps, scan_range, &a);
		pos = chunk_end;
	}
	atomic_fetch_add(&c->scanned_data, a.n * ps);
	return 0;
}

/*
 * The writer asks, before writing anything, how many page bytes will be
 * written. With plenty of room the worst case will do; otherwise (or when
 * space is to be reserved exactly) the RAM is scanned for zero pages.
 * A compressed image's size is not known before compressing: only the
 * metadata is checked, and a full disk is caught when it happens.
 */
static int save_preflight(void *ctx, uint64_t free_bytes, uint64_t worst, uint64_t *data,
			  struct mre_err *err)
{
	struct save_ctx *c = ctx;
	struct mre_vm *vm = c->job->vm;
	struct mre_chan_cfg cc = { .backend = MRE_IO_THREADS, .nchan = c->job->plan.channels, .fd = -1,
				   .cancel = &c->job->cancel };
	int r;

	if (c->job->plan.compression != MRE_COMP_NONE) {
		*data = 0;
		return 0;
	}
	if (!c->job->plan.prealloc && free_bytes / 101 * 100 > worst + (64u << 20))
		return 0;
	c->scan = calloc(vm->nblocks, sizeof(*c->scan));
	if (!c->scan)
		return mre_err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < vm->nblocks; i++)
		if (!(c->scan[i] = calloc(1, mre_bitmap_bytes(vm->blocks[i]->size / c->page_size) + 8)))
			return mre_err_set(err, -ENOMEM, "out of memory");
	if ((r = plan_units(c, MRE_JOB_UNIT_PAGES, err)))
		return r;
	r = mre_chan_run(&cc, c->nunits, scan_unit, c, NULL, err);

	free(c->units);
	c->units = NULL;
	c->nunits = 0;
	*data = atomic_load(&c->scanned_data);
	return r;
}

/* Reserve exactly the ranges the pre-flight scan found (holes stay holes). */
static int prealloc(struct save_ctx *c, struct mre_err *err)
{
	struct mre_vm *vm = c->job->vm;

	for (unsigned i = 0; c->scan && i < vm->nblocks; i++) {
		uint64_t np = vm->blocks[i]->size / c->page_size, s, e, from = 0;
		int r;

		while (mre_bitmap_next_run(c->scan[i], np, from, &s, &e)) {
			if ((r = mre_writer_prealloc(c->w, i, s, e - s, err)))
				return r;
			from = e;
		}
	}
	return 0;
}

static int open_writer(struct save_ctx *c, struct mre_err *err)
{
	struct mre_job *job = c->job;
	struct mre_vm *vm = job->vm;
	struct mre_writer_block *wb = calloc(vm->nblocks, sizeof(*wb));
	struct mre_config cfg;
	char *meta = NULL;
	int r;

	if (!wb)
		return mre_err_set(err, -ENOMEM, "out of memory");
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.machine, sizeof(cfg.machine), "%s", vm->machine ? vm->machine : MRE_VM_DEFAULT_MACHINE);
	for (unsigned i = 0; i < vm->nblocks; i++)
		wb[i] = (struct mre_writer_block){ .id = vm->blocks[i]->id, .used_length = vm->blocks[i]->size };
	if (job->plan.header == MRE_PLAN_HEADER_MRENGINE && !(meta = build_meta(job))) {
		free(wb);
		return mre_err_set(err, -ENOMEM, "out of memory");
	}
	r = mre_writer_open(&(struct mre_writer_opts){
				    .plan = &job->plan,
				    .cfg = &cfg,
				    .ram_section_id = SAVE_RAM_SECTION_ID,
				    .page_size = c->page_size,
				    .blocks = wb,
				    .nblocks = vm->nblocks,
				    .post = c->device_state,
				    .post_len = c->device_state_len,
				    .meta = meta,
				    .was_running = vm->running,
				    .out = &job->out,
				    .offset = job->offset,
				    .transferred = &job->transferred,
				    .preflight = save_preflight,
				    .preflight_ctx = c,
			    },
			    &c->w, err);
	free(meta);
	free(wb);
	return r;
}

/* Units of @per pages over every block. */
static int plan_units(struct save_ctx *c, uint64_t per, struct mre_err *err)
{
	struct mre_vm *vm = c->job->vm;
	uint64_t n = 0;

	for (unsigned i = 0; i < vm->nblocks; i++)
		n += (vm->blocks[i]->size / c->page_size + per - 1) / per;
	c->units = calloc(n ? n : 1, sizeof(*c->units));
	if (!c->units)
		return mre_err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < vm->nblocks; i++) {
		uint64_t np = vm->blocks[i]->size / c->page_size;

		for (uint64_t p = 0; p < np; p += per)
			c->units[c->nunits++] = (struct mre_unit){ .block = i, .first = p, .npages = MRE_MIN(per, np - p) };
	}
	return 0;
}

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

/*
 * Call @fn on each range of [pos, end) (bytes of @rb, within one sparse
 * chunk) that may hold data. For shared-memory backings, mincore() tells
 * which pages of the chunk are allocated, so the holes between data pages
 * are not read (reading them would allocate them); a page mincore calls
 * absent is only skipped once SEEK_DATA confirms it is a hole, because a
 * swapped-out page is absent from memory too.
 */
static int for_data(const struct mre_ramblock *rb, uint64_t pos, uint64_t end, uint64_t ps,
		    int (*fn)(void *arg, uint64_t first, uint64_t end), void *arg)
{
	unsigned char vec[SPARSE_CHUNK / 4096];
	uint64_t base = pos;
	int r;

	if (!rb->shmem || ps != 4096 || mincore(rb->host + pos, end - pos, vec)) {
		uint64_t d = next_data(rb, pos, end) / ps * ps;

		return d < end ? fn(arg, d / ps, end / ps) : 0;
	}
	while (pos < end) {
		uint64_t d = next_data(rb, pos, end) / ps * ps, e;

		if (d >= end)
			break;
		/* from d, take pages while they are resident (d itself is data) */
		for (e = d + ps; e < end && (vec[(e - base) / ps] & 1); e += ps)
			;
		if ((r = fn(arg, d / ps, e / ps)))
			return r;
		pos = e;
	}
	return 0;
}

/* Scan pages [first, end) and hand each run of non-zero pages to the writer. */
static int save_range(struct mre_writer *w, struct mre_chan *ch, unsigned bi, const uint8_t *host,
		      uint64_t ps, uint64_t first, uint64_t end, uint64_t *normal)
{
	uint64_t run = UINT64_MAX;
	int r;

	for (uint64_t p = first; p < end; p++) {
		if (!mre_is_zero(host + p * ps, ps)) {
			(*normal)++;
			if (run == UINT64_MAX)
				run = p;
		} else if (run != UINT64_MAX) {
			if ((r = mre_writer_put_pages(w, ch, bi, run, p - run, host + run * ps)))
				return r;
			run = UINT64_MAX;
		}
	}
	return run != UINT64_MAX ? mre_writer_put_pages(w, ch, bi, run, end - run, host + run * ps) : 0;
}

struct range_arg {
	struct mre_writer *w;
	struct mre_chan *ch;
	const struct mre_ramblock *rb;
	unsigned block;
	uint64_t normal;
};

static int save_range_cb(void *arg, uint64_t first, uint64_t end)
{
	struct range_arg *a = arg;

	return save_range(a->w, a->ch, a->block, a->rb->host, a->rb->page_size, first, end, &a->normal);
}

int mre_save_pages(struct mre_writer *w, struct mre_chan *ch, unsigned bi, const struct mre_ramblock *rb,
		   uint64_t first, uint64_t npages, uint64_t *normal)
{
	uint64_t ps = rb->page_size, pos = first * ps, end = (first + npages) * ps;
	struct range_arg a = { w, ch, rb, bi, 0 };
	int r = 0;

	while (pos < end && !r) {
		uint64_t chunk_end = MRE_MIN((pos / SPARSE_CHUNK + 1) * SPARSE_CHUNK, end);

		r = for_data(rb, pos, chunk_end, ps, save_range_cb, &a);
		pos = chunk_end;
	}
	*normal += a.normal;
	return r;
}

static int save_unit(void *ctx, struct mre_chan *ch, uint64_t u, struct mre_err *err)
{
	struct save_ctx *c = ctx;
	const struct mre_unit *un = &c->units[u];
	const struct mre_ramblock *rb = c->job->vm->blocks[un->block];
	uint64_t ps = c->page_size, pos = un->first * ps, end = (un->first + un->npages) * ps;
	uint64_t normal = 0;
	int r;

	if (c->chunk_pages) {
		/* compressed: one chunk; a chunk of holes is not even read */
		bool data = next_data(rb, pos, end) < end;

		if ((r = mre_writer_put_chunk(c->w, ch, un->block, un->first / c->chunk_pages,
					      data ? rb->host + pos : NULL, err)))
			return r;
		for (uint64_t p = un->first; data && p < un->first + un->npages; p++)
			normal += !mre_is_zero(rb->host + p * ps, ps);
	} else if ((r = mre_save_pages(c->w, ch, un->block, rb, un->first, un->npages, &normal))) {
		return r;
	}
	atomic_fetch_add_explicit(&c->job->normal, normal, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->job->duplicate, un->npages - normal, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->job->done_bytes, un->npages * ps, memory_order_relaxed);
	return 0;
}

int mre_save_run(struct mre_job *job, struct mre_err *err)
{
	struct save_ctx c = { .job = job, .page_size = job->page_size };
	enum mre_io_backend used = MRE_IO_AUTO;
	struct mre_chan_cfg cc;
	uint64_t t_pages;
	int r;

	if ((r = load_device_state(&c, err)) || (r = open_writer(&c, err)))
		goto out;
	if (mre_writer_compressed(c.w))
		c.chunk_pages = mre_writer_chunk_size(c.w) / c.page_size;
	if ((r = plan_units(&c, c.chunk_pages ? c.chunk_pages : MRE_JOB_UNIT_PAGES, err)))
		goto fail;
	if (job->plan.prealloc && (r = prealloc(&c, err)))
		goto fail;
	job->direct_io = mre_writer_direct_io(c.w);
	memset(&cc, 0, sizeof(cc));
	cc.backend = mre_job_backend(job);
	cc.nchan = job->plan.channels;
	cc.fd = mre_writer_page_fd(c.w);
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
	if (atomic_load(&job->cancel)) {
		r = mre_err_set(err, MRE_ECANCELED, "cancelled");
		goto fail;
	}
	r = mre_writer_finish(c.w, err);
	c.w = NULL;
	mre_debug("save: setup %.3f s, pages %.3f s, finish %.3f s", (double)(job->setup_ns - job->start_ns) / 1e9,
		  (double)(t_pages - job->setup_ns) / 1e9, (double)(mre_now_ns() - t_pages) / 1e9);
	goto out;
fail:
	mre_writer_abort(c.w);
out:
	for (unsigned i = 0; c.scan && i < job->vm->nblocks; i++)
		free(c.scan[i]);
	free(c.scan);
	free(c.units);
	free(c.device_state);
	return r;
}
