/* SPDX-License-Identifier: MIT */
/*
 * ingest.c: QEMU stream -> mapped-ram image.
 *
 * One thread parses the stream (the format's walker) and copies page data
 * into batches; channel threads take whole batches from a queue and write
 * each run of pages to its slot through the image writer. Order matters
 * only between copies of the same page, so every page queued since the
 * last drain is marked in an in-flight bitmap: a record for such a page
 * (sent again, turned zero, or an XBZRLE delta on it) first waits until
 * the queue is empty. Within one pass over RAM a page is sent once, so
 * this costs about one drain per pass.
 *
 * Device sections and commands are captured as they are read (a "tee" of
 * the bytes since the last element) and kept verbatim; page data never
 * goes through the tee.
 */
#include "engine/ingest.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/emit.h"
#include "engine/imagefile.h"
#include "engine/job_int.h"
#include "engine/transcode.h"
#include "engine/writer.h"
#include "io/file.h"
#include "io/outfile.h"
#include "io/pipehold.h"
#include "format/chunked.h"
#include "format/header.h"
#include "format/qemu.h"
#include "format/stream.h"
#include "util/bytes.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/zero.h"

#define BATCH_PAGES 1024u            /* 4 MiB of 4 KiB pages per batch */
/*
 * The pipe QEMU writes into. While the bulk of the pages flows it is
 * large: QEMU writes pages in big writev()s, and a 32 KiB pipe halves the
 * throughput (measured: 2 GiB in 1.9 s with 256 KiB, 4.1 s with 32 KiB).
 * Near the end of the first pass (every page sent once) it is held
 * (io/pipehold.h): QEMU may then write at most HOLD_WINDOW beyond what
 * the parser has read, so it is still writing its device state (~110 KiB
 * for a pc machine) when the ram section ends -- and a failure to make
 * the pages durable there fails QEMU's migration.
 *
 * When the hold starts, QEMU may be ahead of the parser by the reader's
 * buffer and a full pipe (2 x 256 KiB); the pages still to come must take
 * more stream than that even if they are all zero (a ZERO record is 9
 * bytes): 65536 pages are 576 KiB at least.
 */
#define BULK_PIPE_SIZE (256u * 1024)
#define HOLD_WINDOW (32u * 1024)
#define HOLD_MARGIN_PAGES 65536u
#define PROGRESS_NS 200000000ull
#define OFF(x) ((unsigned long long)(x))

struct ext {
	unsigned bi;
	uint32_t at;       /* index of the first page in the batch */
	uint32_t n;
	uint64_t first;    /* page index in the block */
};

struct batch {
	uint8_t *data;
	struct ext *ext;
	unsigned next;     /* extents used */
	uint32_t npages;
	struct batch *link;
};

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;         /* any change */
	struct batch *free;
	struct batch *head, *tail;   /* submitted, oldest first */
	unsigned busy;               /* taken by a channel, not done */
	bool closed;
	bool failed;
};

struct blk {
	uint64_t npages;
	uint64_t records;
	uint64_t *inflight;          /* queued since the last drain */
	uint64_t *seen;              /* a record arrived for the page */
	struct mre_ramblock *shared; /* read from its backing (--ram), or NULL */
};

struct ingest {
	const struct mre_ingest_opts *o;
	struct mre_ingest_result *res;
	struct mre_err *err;
	uint64_t ps;
	/* the stream */
	struct mre_src src;
	struct mre_rd rd;
	struct mre_walk walk;
	bool rd_init;
	bool is_pipe;
	bool hold_wanted;            /* hold the pipe from the next read on */
	bool holding;
	struct mre_pipehold hold;
	uint64_t pages_total, pages_seen, hold_at;
	uint64_t pos;
	uint64_t last_progress;
	struct mre_ingest_progress prog;
	/* bytes of the elements that are kept */
	struct mre_wbuf tee;
	uint64_t tee_base;
	bool tee_on;
	struct mre_wbuf pre, post;
	char *vmdesc;
	size_t vmdesc_len;
	bool ram_ended;
	/* the image */
	struct mre_plan plan;        /* what the writer writes (plain when compressing after) */
	bool plan_init;
	char *tmp_path;              /* the plain image to compress, or NULL */
	char *meta;
	struct mre_config cfg;
	struct mre_outfile out;      /* opened at once, taken over by the writer */
	bool out_open;
	struct mre_writer *w;
	struct blk *blocks;
	struct mre_vm vm;            /* shared backings */
	/* the pipeline */
	struct queue q;
	struct batch *batches;
	unsigned nbatches;
	struct batch *cur;
	struct mre_chan_cfg cc;
	pthread_t thread;
	bool thread_running;
	int chan_result;
	struct mre_err chan_err;
	uint8_t *scratch;            /* one aligned page */
	/* shared-memory fill */
	struct mre_unit *units;
	uint64_t nunits;
	atomic_uint_fast64_t shared_pages;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void progress(struct ingest *g, const char *phase, bool force)
{
	uint64_t t;

	if (!g->o->progress)
		return;
	t = now_ns();
	if (!force && t - g->last_progress < PROGRESS_NS)
		return;
	g->last_progress = t;
	g->prog.stream_bytes = g->pos;
	g->prog.ram_total = g->walk.ram_total;
	g->prog.phase = phase;
	g->o->progress(g->o->progress_ctx, &g->prog);
}

/* ---- the source: the stream's descriptor, teed ------------------------- */

/* Hold the pipe from here on: QEMU stays at most HOLD_WINDOW ahead. */
static void hold_pipe(struct ingest *g)
{
	int r = mre_pipehold_start(&g->hold, g->o->fd, HOLD_WINDOW);

	g->hold_wanted = false;
	g->holding = r == 0;
	if (r)
		mre_debug("ingest: cannot hold the input pipe: %s", strerror(-r));
	else
		mre_debug("ingest: input pipe held from byte %llu", OFF(g->pos));
}

static ssize_t src_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct ingest *g = ctx;
	ssize_t r;

	(void)off; /* always g->pos: the walker reads a non-seekable source in order */
	if (g->hold_wanted && !g->holding)
		hold_pipe(g);
	if (g->holding) {
		if ((r = mre_pipehold_read(&g->hold, buf, len)) < 0)
			return r;
	} else {
		do
			r = read(g->o->fd, buf, len);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			return -errno;
	}
	if (r > 0 && g->tee_on)
		mre_wbuf_put(&g->tee, buf, (size_t)r);
	g->pos += (uint64_t)r;
	progress(g, "stream", false);
	return r;
}

/* Capture from the walker's position on (what it has read ahead, then
 * whatever the source reads next). */
static void tee_start(struct ingest *g)
{
	mre_wbuf_reset(&g->tee);
	g->tee_base = mre_rd_pos(&g->rd);
	mre_wbuf_put(&g->tee, mre_rd_ptr(&g->rd), mre_rd_avail(&g->rd));
	g->tee_on = true;
}

static void tee_stop(struct ingest *g)
{
	if (g->tee_on) {
		g->tee_on = false;
		mre_wbuf_reset(&g->tee);
	}
}

/* Append the bytes of element @el to @out. */
static int keep_elem(struct ingest *g, const struct mre_elem *el, struct mre_wbuf *out)
{
	if (!g->tee_on || el->offset < g->tee_base || el->end - g->tee_base > g->tee.len)
		return mre_err_set(g->err, -EPROTO, "offset 0x%llx: the bytes of this %s element were not captured",
				   OFF(el->offset), mre_elem_type_name(el->type));
	if (mre_wbuf_err(&g->tee))
		return mre_err_set(g->err, -ENOMEM, "out of memory");
	mre_wbuf_put(out, g->tee.data + (el->offset - g->tee_base), el->end - el->offset);
	return mre_wbuf_err(out) ? mre_err_set(g->err, -ENOMEM, "out of memory") : 0;
}

/* ---- the queue of batches ---------------------------------------------------- */

static int q_init(struct queue *q)
{
	memset(q, 0, sizeof(*q));
	if (pthread_mutex_init(&q->lock, NULL))
		return -ENOMEM;
	if (pthread_cond_init(&q->cond, NULL)) {
		pthread_mutex_destroy(&q->lock);
		return -ENOMEM;
	}
	return 0;
}

/* A free batch (waits for one), or NULL if the channels failed. */
static struct batch *q_get_free(struct queue *q)
{
	struct batch *b;

	pthread_mutex_lock(&q->lock);
	while (!q->free && !q->failed)
		pthread_cond_wait(&q->cond, &q->lock);
	b = q->failed ? NULL : q->free;
	if (b)
		q->free = b->link;
	pthread_mutex_unlock(&q->lock);
	return b;
}

static void q_push(struct queue *q, struct batch *b)
{
	pthread_mutex_lock(&q->lock);
	b->link = NULL;
	if (q->tail)
		q->tail->link = b;
	else
		q->head = b;
	q->tail = b;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

/* The oldest submitted batch (waits), or NULL once closed and empty. */
static struct batch *q_take(struct queue *q)
{
	struct batch *b;

	pthread_mutex_lock(&q->lock);
	while (!q->head && !q->closed && !q->failed)
		pthread_cond_wait(&q->cond, &q->lock);
	b = q->failed ? NULL : q->head;
	if (b) {
		q->head = b->link;
		if (!q->head)
			q->tail = NULL;
		q->busy++;
	}
	pthread_mutex_unlock(&q->lock);
	return b;
}

static void q_done(struct queue *q, struct batch *b, int r)
{
	pthread_mutex_lock(&q->lock);
	q->busy--;
	b->next = 0;
	b->npages = 0;
	b->link = q->free;
	q->free = b;
	if (r)
		q->failed = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

/* Wait until every submitted batch is written; false if the channels failed. */
static bool q_wait_idle(struct queue *q)
{
	bool ok;

	pthread_mutex_lock(&q->lock);
	while ((q->head || q->busy) && !q->failed)
		pthread_cond_wait(&q->cond, &q->lock);
	ok = !q->failed;
	pthread_mutex_unlock(&q->lock);
	return ok;
}

static void q_close(struct queue *q, bool fail)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	if (fail)
		q->failed = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

/* ---- channels ------------------------------------------------------------------ */

static int write_unit(void *ctx, struct mre_chan *ch, uint64_t u, struct mre_err *err)
{
	struct ingest *g = ctx;
	struct batch *b = q_take(&g->q);
	int r = 0;

	(void)u;
	(void)err;
	if (!b)
		return MRE_CHAN_NO_MORE;
	for (unsigned i = 0; i < b->next && !r; i++) {
		const struct ext *e = &b->ext[i];

		r = mre_writer_put_pages(g->w, ch, e->bi, e->first, e->n, b->data + (uint64_t)e->at * g->ps);
	}
	if (!r)
		r = mre_chan_flush(ch);
	q_done(&g->q, b, r);
	return r;
}

static void *chan_thread(void *arg)
{
	struct ingest *g = arg;

	g->chan_result = mre_chan_run(&g->cc, UINT64_MAX, write_unit, g, &g->res->backend, &g->chan_err);
	if (g->chan_result)
		q_close(&g->q, true);
	return NULL;
}

/* End the channel run (after the last batch, or at once with @abort) and
 * report its error. */
static int pipeline_stop(struct ingest *g, bool abort)
{
	if (!g->thread_running)
		return 0;
	q_close(&g->q, abort);
	pthread_join(g->thread, NULL);
	g->thread_running = false;
	if (g->chan_result && !abort) {
		*g->err = g->chan_err;
		if (!g->err->code)
			mre_err_set(g->err, g->chan_result, "writing pages failed");
		return g->chan_result;
	}
	return 0;
}

/* The channels failed while the parser waited: their error is the one to report. */
static int channel_failure(struct ingest *g)
{
	int r;

	mre_err_clear(g->err);
	r = pipeline_stop(g, false);
	return r ? r : mre_err_set(g->err, -EIO, "writing pages failed");
}

static void submit(struct ingest *g)
{
	if (g->cur && g->cur->npages) {
		q_push(&g->q, g->cur);
		g->cur = NULL;
	}
}

/* Every queued page is written: the in-flight marks can go. */
static int drain(struct ingest *g)
{
	submit(g);
	if (!q_wait_idle(&g->q))
		return channel_failure(g);
	for (unsigned i = 0; i < g->walk.nblocks; i++)
		memset(g->blocks[i].inflight, 0, mre_bitmap_bytes(g->blocks[i].npages));
	return 0;
}

static int add_page(struct ingest *g, unsigned bi, uint64_t page, const uint8_t *data)
{
	struct blk *b = &g->blocks[bi];
	struct batch *cur;
	struct ext *e;
	int r;

	if (mre_bit_test(b->inflight, page) && (r = drain(g)))
		return r;
	if (!g->cur && !(g->cur = q_get_free(&g->q)))
		return channel_failure(g);
	cur = g->cur;
	memcpy(cur->data + (uint64_t)cur->npages * g->ps, data, g->ps);
	e = cur->next ? &cur->ext[cur->next - 1] : NULL;
	if (e && e->bi == bi && e->first + e->n == page && e->at + e->n == cur->npages)
		e->n++;
	else
		cur->ext[cur->next++] = (struct ext){ .bi = bi, .at = cur->npages, .n = 1, .first = page };
	cur->npages++;
	mre_bit_set(b->inflight, page);
	if (cur->npages == BATCH_PAGES)
		submit(g);
	return 0;
}

static int zero_page(struct ingest *g, unsigned bi, uint64_t page)
{
	int r;

	if (mre_bit_test(g->blocks[bi].inflight, page) && (r = drain(g)))
		return r;
	if (mre_writer_page_present(g->w, bi, page))
		mre_writer_clear_pages(g->w, bi, page, 1);
	return 0;
}

/* ---- the image --------------------------------------------------------------- */

static char *build_meta(const struct ingest *g)
{
	struct mre_wbuf wb;
	struct mre_jsonw j;

	mre_writer_meta_begin(&j, &wb);
	mre_jsonw_key(&j, "source");
	mre_jsonw_obj_begin(&j);
	mre_jsonw_kstr(&j, "kind", "qemu-stream");
	mre_jsonw_kstr(&j, "input", g->o->source ? g->o->source : "");
	mre_jsonw_kstr(&j, "machine", g->walk.cfg.machine);
	mre_jsonw_key(&j, "capabilities");
	mre_jsonw_arr_begin(&j);
	for (unsigned i = 0; i < g->walk.cfg.ncaps; i++)
		mre_jsonw_str(&j, g->walk.cfg.caps[i]);
	mre_jsonw_arr_end(&j);
	mre_jsonw_obj_end(&j);
	return mre_writer_meta_end(&j, &wb, g->o->plan);
}

/* The shared backings named by --ram, checked against the stream's blocks. */
static int open_shared(struct ingest *g)
{
	struct mre_err *err = g->err;
	int r;

	for (unsigned i = 0; i < g->o->nram; i++) {
		const struct mre_ingest_ram *m = &g->o->ram[i];
		const struct mre_block *b = NULL;
		struct mre_ramblock *rb;
		struct stat st;
		unsigned bi;

		for (bi = 0; bi < g->walk.nblocks && !b; bi++)
			if (!strcmp(g->walk.blocks[bi].id, m->id))
				b = &g->walk.blocks[bi];
		if (!b)
			return mre_err_set(err, -ENOENT, "--ram %s: the stream has no RAM block '%s'", m->id, m->id);
		bi--;
		if (stat(m->path, &st))
			return mre_err_sys(err, -errno, "--ram %s=%s", m->id, m->path);
		if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < b->used_length)
			return mre_err_set(err, -EINVAL,
					   "--ram %s=%s: not a regular file of at least %llu bytes (the block's length)",
					   m->id, m->path, OFF(b->used_length));
		r = mre_vm_add_object(&g->vm, &(struct mre_object_props){
						      .qom_type = "memory-backend-file", .id = m->id,
						      .size = b->used_length, .mem_path = m->path,
						      .share = true, .has_share = true },
				      NULL, err);
		if (r)
			return mre_err_prefix(err, "--ram %s", m->id);
		rb = mre_vm_find(&g->vm, m->id);
		if ((r = mre_ramblock_map(rb, false, err)))
			return mre_err_prefix(err, "--ram %s", m->id);
		g->blocks[bi].shared = rb;
	}
	return 0;
}

/* Open the image once the block list is known (the ram START section). */
static int open_writer(struct ingest *g)
{
	struct mre_err *err = g->err;
	struct mre_writer_block *wb;
	int r;

	if (g->w)
		return 0;
	g->blocks = calloc(g->walk.nblocks + 1, sizeof(*g->blocks));
	wb = calloc(g->walk.nblocks + 1, sizeof(*wb));
	if (!g->blocks || !wb) {
		free(wb);
		return mre_err_set(err, -ENOMEM, "out of memory");
	}
	for (unsigned i = 0; i < g->walk.nblocks; i++) {
		const struct mre_block *b = &g->walk.blocks[i];
		struct blk *k = &g->blocks[i];

		k->npages = b->used_length / g->ps;
		k->inflight = calloc(1, mre_bitmap_bytes(k->npages) + 8);
		k->seen = calloc(1, mre_bitmap_bytes(k->npages) + 8);
		if (!k->inflight || !k->seen) {
			free(wb);
			return mre_err_set(err, -ENOMEM, "out of memory for the page maps of '%s'", b->id);
		}
		wb[i] = (struct mre_writer_block){ .id = b->id, .used_length = b->used_length,
						   .has_gpa = b->has_gpa && mre_config_has_cap(&g->cfg, "x-ignore-shared"),
						   .gpa = b->gpa };
	}
	g->res->nblocks = g->walk.nblocks;
	g->res->ram_total = g->walk.ram_total;
	g->pages_total = g->walk.ram_total / g->ps;
	g->hold_at = g->pages_total > HOLD_MARGIN_PAGES ? g->pages_total - HOLD_MARGIN_PAGES : 1;
	if ((r = open_shared(g))) {
		free(wb);
		return r;
	}
	r = mre_writer_open(&(struct mre_writer_opts){
				    .plan = &g->plan,
				    .cfg = &g->cfg,
				    .ram_section_id = g->walk.ram_section_id,
				    .page_size = g->ps,
				    .blocks = wb,
				    .nblocks = g->walk.nblocks,
				    .pre = g->pre.data,
				    .pre_len = g->pre.len,
				    .meta = g->meta,
				    .out = &g->out,
				    .offset = g->tmp_path ? 0 : g->o->offset,
			    },
			    &g->w, err);
	g->out_open = false; /* the writer has it, or closed it */
	free(wb);
	if (r)
		return r;
	g->res->direct_io = mre_writer_direct_io(g->w);

	/* the pipeline: 2 batches per channel in flight or being filled, plus one */
	g->nbatches = 2 * g->plan.channels + 1;
	g->batches = calloc(g->nbatches, sizeof(*g->batches));
	if (!g->batches)
		return mre_err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < g->nbatches; i++) {
		struct batch *b = &g->batches[i];

		if (posix_memalign((void **)&b->data, 4096, BATCH_PAGES * g->ps) ||
		    !(b->ext = calloc(BATCH_PAGES, sizeof(*b->ext))))
			return mre_err_set(err, -ENOMEM, "out of memory for page batches");
		b->link = g->q.free;
		g->q.free = b;
	}
	memset(&g->cc, 0, sizeof(g->cc));
	g->cc.backend = g->plan.io == MRE_PLAN_IO_THREADS ? MRE_IO_THREADS
			: g->plan.io == MRE_PLAN_IO_URING ? MRE_IO_URING : MRE_IO_AUTO;
	g->cc.nchan = g->plan.channels;
	g->cc.fd = mre_writer_page_fd(g->w);
	if ((r = pthread_create(&g->thread, NULL, chan_thread, g)))
		return mre_err_sys(err, -r, "cannot start the channel thread");
	g->thread_running = true;
	return 0;
}

/* ---- shared memory --------------------------------------------------------------- */

static int shared_unit(void *ctx, struct mre_chan *ch, uint64_t u, struct mre_err *err)
{
	struct ingest *g = ctx;
	const struct mre_unit *un = &g->units[u];
	uint64_t normal = 0;
	int r;

	(void)err;
	r = mre_save_pages(g->w, ch, un->block, g->blocks[un->block].shared, un->first, un->npages, &normal);
	atomic_fetch_add(&g->shared_pages, normal);
	return r;
}

/* Read the blocks that QEMU skipped (x-ignore-shared) from their backings. */
static int fill_shared(struct ingest *g)
{
	uint64_t n = 0;
	int r;

	for (unsigned i = 0; i < g->walk.nblocks; i++)
		if (g->blocks[i].shared)
			n += (g->blocks[i].npages + MRE_JOB_UNIT_PAGES - 1) / MRE_JOB_UNIT_PAGES;
	if (!n)
		return 0;
	g->units = calloc(n, sizeof(*g->units));
	if (!g->units)
		return mre_err_set(g->err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < g->walk.nblocks; i++)
		for (uint64_t p = 0; g->blocks[i].shared && p < g->blocks[i].npages; p += MRE_JOB_UNIT_PAGES)
			g->units[g->nunits++] = (struct mre_unit){
				.block = i, .first = p, .npages = MRE_MIN((uint64_t)MRE_JOB_UNIT_PAGES, g->blocks[i].npages - p) };
	progress(g, "shared memory", true);
	r = mre_chan_run(&g->cc, g->nunits, shared_unit, g, NULL, g->err);
	g->res->shared_pages = atomic_load(&g->shared_pages);
	return r;
}

/*
 * The ram END section: the guest is stopped and every page is known.
 * Write what remains, read the shared blocks, make it all durable -- while
 * QEMU still waits to write its device state.
 */
static int ram_end(struct ingest *g)
{
	const struct mre_walk *wk = &g->walk;
	uint64_t reserve = 1u << 20;
	int r;

	submit(g);
	if ((r = pipeline_stop(g, false)))
		return r;
	if (wk->ignore_shared) {
		char missing[512] = "";
		size_t len = 0;

		for (unsigned i = 0; i < wk->nblocks; i++)
			if (!g->blocks[i].records && !g->blocks[i].shared && len < sizeof(missing) - 1)
				len += (size_t)snprintf(missing + len, sizeof(missing) - len, "%s'%s'", len ? ", " : "",
							wk->blocks[i].id);
		if (len && g->o->nram)
			return mre_err_set(g->err, -EINVAL,
					   "the stream carries no page of %s (shared memory skipped by x-ignore-shared): give --ram ID=PATH for each, or none to keep x-ignore-shared",
					   missing);
		if (len)
			mre_warn("ingest: the stream carries no page of %s (shared memory skipped by x-ignore-shared); "
				 "the image keeps x-ignore-shared and loads only where that memory is shared again "
				 "(--ram ID=PATH reads it into the image)", missing);
	}
	if ((r = fill_shared(g)))
		return r;
	for (unsigned i = 0; i < wk->nblocks; i++) {
		for (uint64_t p = 0; p < g->blocks[i].npages; p++)
			g->res->present += mre_writer_page_present(g->w, i, p);
		reserve += g->blocks[i].npages / 64 + 64;
	}
	progress(g, "finishing", true);
	return mre_writer_sync_pages(g->w, reserve, g->err);
}

/* ---- walker callbacks ----------------------------------------------------------- */

static int on_config(void *u, const struct mre_config *cfg, struct mre_err *err)
{
	struct ingest *g = u;

	if (mre_config_has_cap(cfg, "mapped-ram") || mre_config_has_cap(cfg, MRE_CAP_COMPRESSED))
		return mre_err_set(err, MRE_EUNSUPP,
				   "this is already a mapped-ram stream (QEMU writes those to files only): use the file itself");
	snprintf(g->res->machine, sizeof(g->res->machine), "%s", cfg->machine);
	g->res->source_ignore_shared = mre_config_has_cap(cfg, "x-ignore-shared");
	if (g->o->nram && !g->res->source_ignore_shared)
		return mre_err_set(err, -EINVAL,
				   "--ram was given, but the stream was not migrated with x-ignore-shared: it carries every page itself");
	g->ps = mre_config_page_size(cfg);
	g->cfg = *cfg;
	/* with the shared blocks read in, the image no longer depends on shared memory */
	g->res->kept_ignore_shared = g->res->source_ignore_shared && !g->o->nram;
	/* shared blocks send no page: nothing to count, and little to carry */
	g->hold_wanted = g->is_pipe && g->res->source_ignore_shared;
	mre_config_set_cap(&g->cfg, "x-ignore-shared", g->res->kept_ignore_shared);
	if (!(g->scratch = aligned_alloc(4096, MRE_MAX(g->ps, (uint64_t)4096))))
		return mre_err_set(err, -ENOMEM, "out of memory");
	if (g->plan.header == MRE_PLAN_HEADER_MRENGINE || g->o->plan->header == MRE_PLAN_HEADER_MRENGINE) {
		if (!(g->meta = build_meta(g)))
			return mre_err_set(err, -ENOMEM, "out of memory");
	}
	tee_start(g);
	return 0;
}

static int on_block(void *u, unsigned idx, const struct mre_block *b, struct mre_err *err)
{
	struct ingest *g = u;

	(void)idx;
	(void)b;
	(void)err;
	tee_stop(g);
	return 0;
}

static int on_page(void *u, unsigned bi, uint64_t offset, enum mre_page_kind kind, const uint8_t *data,
		   size_t len, uint8_t fill, struct mre_err *err)
{
	struct ingest *g = u;
	uint64_t page = offset / g->ps;
	struct blk *b;
	int r;

	tee_stop(g);
	if (!g->w && (r = open_writer(g)))
		return r;
	b = &g->blocks[bi];
	if (b->shared)
		return mre_err_set(err, -EINVAL,
				   "offset 0x%llx: the stream carries pages of block '%s', given with --ram: it is not memory that x-ignore-shared skipped",
				   OFF(mre_rd_pos(&g->rd)), g->walk.blocks[bi].id);
	b->records++;
	g->prog.records++;
	if (mre_bit_test(b->seen, page)) {
		g->res->rewrites++;
	} else {
		mre_bit_set(b->seen, page);
		if (++g->pages_seen == g->hold_at)
			g->hold_wanted = g->is_pipe;
	}
	switch (kind) {
	case MRE_PAGE_DATA:
		g->res->page_records++;
		if (mre_is_zero(data, g->ps))
			return zero_page(g, bi, page);
		return add_page(g, bi, page, data);
	case MRE_PAGE_ZERO:
		g->res->zero_records++;
		if (!fill)
			return zero_page(g, bi, page);
		/* QEMU <= 8.1 accepted a fill byte; no QEMU ever sent one */
		memset(g->scratch, fill, g->ps);
		return add_page(g, bi, page, g->scratch);
	case MRE_PAGE_XBZRLE:
		g->res->xbzrle_records++;
		/* the delta applies to what the page holds now: it must be on disk */
		if (mre_bit_test(b->inflight, page) && (r = drain(g)))
			return r;
		if ((r = mre_writer_read_page(g->w, bi, page, g->scratch, err)))
			return r;
		if ((r = mre_xbzrle_apply(g->scratch, g->ps, data, len, err)))
			return mre_err_prefix(err, "offset 0x%llx: block '%s' page %llu", OFF(mre_rd_pos(&g->rd)),
					      g->walk.blocks[bi].id, OFF(page));
		if (mre_is_zero(g->scratch, g->ps))
			return zero_page(g, bi, page);
		return add_page(g, bi, page, g->scratch);
	}
	return 0;
}

static bool is_ram(const struct ingest *g, const struct mre_elem *el)
{
	return (el->type == MRE_VM_SECTION_START || el->type == MRE_VM_SECTION_PART ||
		el->type == MRE_VM_SECTION_END) && g->walk.ram_seen && el->section_id == g->walk.ram_section_id;
}

static int on_elem(void *u, const struct mre_elem *el, struct mre_err *err)
{
	struct ingest *g = u;
	struct mre_wbuf *out = g->walk.ram_seen ? &g->post : &g->pre;
	int r = 0;

	if (is_ram(g, el)) {
		g->res->sections++;
		if (el->type == MRE_VM_SECTION_START && !g->w)
			r = open_writer(g);
		else if (el->type == MRE_VM_SECTION_END) {
			r = ram_end(g);
			g->ram_ended = true;
		}
	} else {
		switch (el->type) {
		case MRE_VM_COMMAND:
			switch (el->cmd) {
			case MRE_CMD_OPEN_RETURN_PATH:
			case MRE_CMD_PING:
			case MRE_CMD_POSTCOPY_ADVISE:
				break; /* a file has no return path and cannot do postcopy */
			case MRE_CMD_SWITCHOVER_START:
				r = keep_elem(g, el, out);
				break;
			default:
				return mre_err_set(err, MRE_EUNSUPP,
						   "offset 0x%llx: command %s: postcopy and COLO streams cannot be ingested (migrate without them)",
						   OFF(el->offset), mre_cmd_name(el->cmd));
			}
			break;
		case MRE_VM_SECTION_FULL:
			r = keep_elem(g, el, out);
			break;
		case MRE_VM_EOF:
			if (!g->ram_ended)
				return mre_err_set(err, MRE_EFORMAT, "offset 0x%llx: EOF before the end of the ram section",
						   OFF(el->offset));
			tee_stop(g);
			return 0;
		case MRE_VM_VMDESCRIPTION:
			return 0;
		default:
			return mre_err_set(err, MRE_EUNSUPP, "offset 0x%llx: unexpected %s element",
					   OFF(el->offset), mre_elem_type_name(el->type));
		}
	}
	if (r)
		return r;
	tee_start(g);
	return 0;
}

static int on_vmdesc(void *u, const char *json, size_t len, struct mre_err *err)
{
	struct ingest *g = u;

	free(g->vmdesc);
	g->vmdesc = malloc(len + 1);
	if (!g->vmdesc)
		return mre_err_set(err, -ENOMEM, "out of memory for the vmdesc");
	memcpy(g->vmdesc, json, len);
	g->vmdesc[len] = 0;
	g->vmdesc_len = len;
	return 0;
}

/* ---- the end ----------------------------------------------------------------------- */

/*
 * The vmdesc of the image: the stream's (or a new one), its configuration
 * member describing the image, and -- when x-ignore-shared is dropped --
 * the GPAs of the blocks, so that emit can bring them back.
 */
static int build_vmdesc(struct ingest *g, struct mre_wbuf *out)
{
	struct mre_config cfg = g->cfg;
	struct mre_wbuf gpa;
	size_t end;
	int r = 0;

	mre_config_set_cap(&cfg, "mapped-ram", true);
	if (!g->vmdesc || mre_vmdesc_set_config(g->vmdesc, g->vmdesc_len, &cfg, out)) {
		if (g->vmdesc)
			mre_warn("ingest: the stream's vmdesc is not a JSON object; the image gets a new one");
		mre_wbuf_reset(out);
		mre_vmdesc_build(out, &cfg, g->ps, NULL);
	}
	if (!g->res->source_ignore_shared || g->res->kept_ignore_shared)
		return mre_wbuf_err(out) ? mre_err_set(g->err, -ENOMEM, "out of memory") : 0;
	mre_wbuf_init(&gpa);
	mre_emit_gpa_member(&gpa, g->walk.blocks, g->walk.nblocks);
	for (end = out->len; end && out->data[end - 1] != '}'; end--)
		;
	if (!end || mre_wbuf_err(&gpa) || mre_wbuf_err(out)) {
		r = mre_err_set(g->err, -ENOMEM, "out of memory");
	} else {
		/* insert ", <member>" before the object's closing brace */
		struct mre_wbuf tmp;

		size_t k = end - 1;

		while (k && (out->data[k - 1] == ' ' || out->data[k - 1] == '\n'))
			k--;
		mre_wbuf_init(&tmp);
		mre_wbuf_put(&tmp, out->data, end - 1);
		if (k && out->data[k - 1] != '{')
			mre_wbuf_put(&tmp, ", ", 2);
		mre_wbuf_put(&tmp, gpa.data, gpa.len);
		mre_wbuf_put(&tmp, out->data + end - 1, out->len - (end - 1));
		mre_wbuf_free(out);
		*out = tmp;
		if (mre_wbuf_err(out))
			r = mre_err_set(g->err, -ENOMEM, "out of memory");
	}
	mre_wbuf_free(&gpa);
	return r;
}

static int finish(struct ingest *g)
{
	struct mre_wbuf vmdesc;
	int r;

	if (!g->w || !g->ram_ended)
		return mre_err_set(g->err, MRE_EFORMAT, "the stream has no complete ram section");
	mre_wbuf_init(&vmdesc);
	r = build_vmdesc(g, &vmdesc);
	if (!r)
		r = mre_writer_set_tail(g->w, g->post.data, g->post.len, (const char *)vmdesc.data, vmdesc.len,
					g->err);
	mre_wbuf_free(&vmdesc);
	if (r)
		return r;
	r = mre_writer_finish(g->w, g->err);
	g->w = NULL;
	return r;
}

/* The compressed variant: the plain image just written, transcoded. */
static int compress(struct ingest *g)
{
	struct mre_transcode_result tres;
	struct mre_imagefile in;
	int r;

	progress(g, "compressing", true);
	if ((r = mre_imagefile_open(&in, g->tmp_path, -1, MRE_OFFSET_AUTO, 0, g->err)))
		return r;
	r = mre_transcode(&in, &(struct mre_transcode_opts){ .plan = g->o->plan, .path = g->o->path,
							      .offset = g->o->offset, .meta = g->meta },
			  &tres, g->err);
	mre_imagefile_close(&in);
	return r;
}

static int make_tmp_path(struct ingest *g)
{
	char *copy = strdup(g->o->path), *base;
	const char *dir;
	int n;

	if (!copy)
		return -ENOMEM;
	base = strrchr(copy, '/');
	if (base) {
		*base++ = 0;
		dir = *copy ? copy : "/";
	} else {
		dir = ".";
		base = copy;
	}
	n = asprintf(&g->tmp_path, "%s/.%s.plain-%ld", dir, base, (long)getpid());
	free(copy);
	if (n < 0) {
		g->tmp_path = NULL;
		return -ENOMEM;
	}
	return 0;
}

static void cleanup(struct ingest *g)
{
	if (g->holding)
		mre_pipehold_end(&g->hold);
	if (g->thread_running)
		pipeline_stop(g, true);
	if (g->w)
		mre_writer_abort(g->w);
	if (g->out_open)
		mre_outfile_abort(&g->out);
	if (g->tmp_path) {
		unlink(g->tmp_path);
		free(g->tmp_path);
	}
	for (unsigned i = 0; g->blocks && i < g->walk.nblocks; i++) {
		free(g->blocks[i].inflight);
		free(g->blocks[i].seen);
	}
	free(g->blocks);
	for (unsigned i = 0; g->batches && i < g->nbatches; i++) {
		free(g->batches[i].data);
		free(g->batches[i].ext);
	}
	free(g->batches);
	pthread_cond_destroy(&g->q.cond);
	pthread_mutex_destroy(&g->q.lock);
	free(g->units);
	free(g->scratch);
	free(g->vmdesc);
	free(g->meta);
	mre_wbuf_free(&g->tee);
	mre_wbuf_free(&g->pre);
	mre_wbuf_free(&g->post);
	mre_walk_free(&g->walk);
	if (g->rd_init)
		mre_rd_free(&g->rd);
	mre_vm_destroy(&g->vm);
	if (g->plan_init)
		mre_plan_free(&g->plan);
}

int mre_ingest_probe(int fd, const char *name, uint64_t *stream_offset, bool *mapped_ram,
		     struct mre_err *err)
{
	struct mre_header_info hi;
	struct mre_fdsrc fsrc;
	struct mre_config cfg;
	struct mre_src src;
	struct mre_rd rd;
	uint32_t magic = 0, version = 0;
	uint8_t marker = 0;
	int r;

	if ((r = mre_src_fd(&src, &fsrc, fd, err)) || (r = mre_header_detect(&src, &hi, err)) ||
	    (r = mre_rd_init(&rd, &src, hi.stream_offset, err)))
		return mre_err_prefix(err, "%s", name);
	if (!(r = mre_rd_be32(&rd, &magic, "stream magic", err)) &&
	    !(r = mre_rd_be32(&rd, &version, "stream version", err)) &&
	    !(r = mre_rd_u8(&rd, &marker, "configuration marker", err))) {
		if (marker != MRE_VM_CONFIGURATION)
			r = mre_err_set(err, MRE_EFORMAT, "offset 0x%llx: expected the configuration section (0x07), found 0x%02x",
					OFF(hi.stream_offset + 8), marker);
		else
			r = mre_config_parse(&rd, &cfg, err);
	}
	mre_rd_free(&rd);
	if (r)
		return mre_err_prefix(err, "%s", name);
	*stream_offset = hi.stream_offset;
	*mapped_ram = mre_config_has_cap(&cfg, "mapped-ram");
	return 0;
}

int mre_ingest(const struct mre_ingest_opts *o, struct mre_ingest_result *res, struct mre_err *err)
{
	static const struct mre_walk_ops ops = {
		.config = on_config,
		.elem = on_elem,
		.block = on_block,
		.page = on_page,
		.vmdesc = on_vmdesc,
	};
	struct ingest g;
	struct stat st;
	int r;

	memset(res, 0, sizeof(*res));
	memset(&g, 0, sizeof(g));
	g.o = o;
	g.res = res;
	g.err = err;
	g.ps = MRE_PAGE_SIZE_DEFAULT;
	mre_vm_init(&g.vm);
	mre_walk_init(&g.walk);
	g.walk.want_vmdesc = true;
	mre_wbuf_init(&g.tee);
	mre_wbuf_init(&g.pre);
	mre_wbuf_init(&g.post);
	if (q_init(&g.q)) {
		mre_vm_destroy(&g.vm);
		return mre_err_set(err, -ENOMEM, "out of memory");
	}
	for (unsigned i = 0; i < o->nram; i++)
		for (unsigned k = 0; k < i; k++)
			if (!strcmp(o->ram[i].id, o->ram[k].id)) {
				r = mre_err_set(err, -EINVAL, "--ram %s is given twice", o->ram[i].id);
				goto out;
			}
	if ((r = mre_plan_copy(&g.plan, o->plan, err)))
		goto out;
	g.plan_init = true;
	if (o->plan->compression != MRE_COMP_NONE) {
		/* pages arrive in any order: a plain image first, compressed at the end */
		if ((r = make_tmp_path(&g))) {
			r = mre_err_set(err, r, "out of memory");
			goto out;
		}
		g.plan.compression = MRE_COMP_NONE;
		g.plan.header = MRE_PLAN_HEADER_NONE;
		g.plan.checksum = MRE_CSUM_NONE;
		g.plan.sync = MRE_SYNC_NONE;
		g.plan.prealloc = false;
	}
	/* the target is opened before reading anything: QEMU learns at once
	 * that it cannot be written */
	if ((r = mre_writer_target_open(&g.out, g.tmp_path ? g.tmp_path : o->path, g.tmp_path ? 0 : o->offset,
					g.plan.direct_io, NULL, err)))
		goto out;
	g.out_open = true;
	if (!fstat(o->fd, &st) && S_ISFIFO(st.st_mode)) {
		g.is_pipe = true;
		if (fcntl(o->fd, F_SETPIPE_SZ, BULK_PIPE_SIZE) < 0)
			mre_debug("ingest: cannot enlarge the input pipe: %s", strerror(errno));
	}
	g.src = (struct mre_src){ .read = src_read, .ctx = &g, .size = MRE_SIZE_UNKNOWN, .seekable = false };
	if ((r = mre_rd_init(&g.rd, &g.src, 0, err)))
		goto out;
	g.rd_init = true;
	r = mre_walk_run(&g.walk, &g.rd, &ops, &g, err);
	res->stream_bytes = g.pos;
	if (r) {
		if (err->code && o->source)
			mre_err_prefix(err, "%s", o->source);
		goto out;
	}
	if ((r = finish(&g)))
		goto out;
	if (g.tmp_path && (r = compress(&g)))
		goto out;
	if (!stat(o->path, &st))
		res->image_bytes = (uint64_t)st.st_blocks * 512;
out:
	cleanup(&g);
	return r;
}
