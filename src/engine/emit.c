/* SPDX-License-Identifier: MIT */
/*
 * emit.c: mapped-ram image -> sequential QEMU stream.
 *
 * The page work is cut into windows of a block (4 MiB, or whole chunks of
 * a compressed image); only windows with pages to send become units. Unit
 * u may use ring slot u % nslots once the writer has released unit
 * u - nslots, so the readers stay at most a ring ahead and memory stays
 * bounded whatever the image's size. Units are handed out in order, so
 * they also finish nearly in order and the writer rarely waits.
 */
#include "engine/emit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "engine/check.h"
#include "format/chunked.h"
#include "format/qemu.h"
#include "format/stream.h"
#include "io/dio.h"
#include "io/outfile.h"
#include "util/bytes.h"
#include "util/jsonw.h"

#define WINDOW_PAGES 1024u           /* 4 MiB of 4 KiB pages */
#define OUT_PIPE_SIZE (1u << 20)
#define MAX_IOV 1024
#define OFF(x) ((unsigned long long)(x))

/* ---- the GPA member ------------------------------------------------------ */

void mre_emit_gpa_member(struct mre_wbuf *wb, const struct mre_block *blocks, unsigned n)
{
	struct mre_jsonw j;

	mre_jsonw_init(&j, wb);
	mre_jsonw_key(&j, MRE_BRIDGE_GPA_KEY);
	mre_jsonw_obj_begin(&j);
	for (unsigned i = 0; i < n; i++)
		if (blocks[i].has_gpa)
			mre_jsonw_ku64(&j, blocks[i].id, blocks[i].gpa);
	mre_jsonw_obj_end(&j);
}

/* A JSON string at json[*i] (the quote) -> @out (NUL-terminated); only the
 * escapes a block id can need. */
static int json_string(const char *json, size_t len, size_t *i, char *out, size_t cap)
{
	size_t k = 0;

	if (*i >= len || json[*i] != '"')
		return -EINVAL;
	for ((*i)++; *i < len && json[*i] != '"'; (*i)++) {
		char c = json[*i];

		if (c == '\\') {
			if (++*i >= len)
				return -EINVAL;
			c = json[*i];
			if (c != '"' && c != '\\' && c != '/')
				return -EINVAL;
		}
		if (k + 1 >= cap)
			return -EINVAL;
		out[k++] = c;
	}
	if (*i >= len)
		return -EINVAL;
	(*i)++;
	out[k] = 0;
	return 0;
}

static void skip_ws(const char *json, size_t len, size_t *i)
{
	while (*i < len && (json[*i] == ' ' || json[*i] == '\n' || json[*i] == '\t' || json[*i] == '\r'))
		(*i)++;
}

int mre_emit_gpa_lookup(const char *json, size_t len, const char *id, uint64_t *gpa)
{
	static const char key[] = "\"" MRE_BRIDGE_GPA_KEY "\"";
	const char *at = NULL;
	size_t i;

	for (i = 0; i + sizeof(key) - 1 <= len; i++)
		if (!memcmp(json + i, key, sizeof(key) - 1)) {
			at = json + i;
			break;
		}
	if (!at)
		return 0;
	i += sizeof(key) - 1;
	skip_ws(json, len, &i);
	if (i >= len || json[i++] != ':')
		return -EINVAL;
	skip_ws(json, len, &i);
	if (i >= len || json[i++] != '{')
		return -EINVAL;
	for (;;) {
		char name[256];
		uint64_t v = 0;
		bool digits = false;

		skip_ws(json, len, &i);
		if (i < len && json[i] == '}')
			return 0;
		if (json_string(json, len, &i, name, sizeof(name)))
			return -EINVAL;
		skip_ws(json, len, &i);
		if (i >= len || json[i++] != ':')
			return -EINVAL;
		skip_ws(json, len, &i);
		for (; i < len && json[i] >= '0' && json[i] <= '9'; i++) {
			uint64_t d = (uint64_t)(json[i] - '0');

			if (v > (UINT64_MAX - d) / 10)
				return -EINVAL;
			v = v * 10 + d;
			digits = true;
		}
		if (!digits)
			return -EINVAL;
		if (!strcmp(name, id)) {
			*gpa = v;
			return 1;
		}
		skip_ws(json, len, &i);
		if (i < len && json[i] == ',')
			i++;
		else if (i >= len || json[i] != '}')
			return -EINVAL;
	}
}

/* ---- output ----------------------------------------------------------------- */

struct out {
	int fd;
	struct iovec iov[MAX_IOV];
	int niov;
	uint64_t bytes;
	int error;
};

static int out_flush(struct out *o)
{
	struct iovec *v = o->iov;
	int n = o->niov;

	while (n && !o->error) {
		ssize_t r = writev(o->fd, v, n);

		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			o->error = -errno;
			break;
		}
		o->bytes += (uint64_t)r;
		while (n && (size_t)r >= v->iov_len) {
			r -= (ssize_t)v->iov_len;
			v++;
			n--;
		}
		if (n) {
			v->iov_base = (uint8_t *)v->iov_base + r;
			v->iov_len -= (size_t)r;
		}
	}
	o->niov = 0;
	return o->error;
}

/* Queue [p, p + len) (valid until the next flush). */
static int out_put(struct out *o, const void *p, size_t len)
{
	if (o->niov == MAX_IOV && out_flush(o))
		return o->error;
	o->iov[o->niov++] = (struct iovec){ .iov_base = (void *)p, .iov_len = len };
	return 0;
}

static int out_buf(struct out *o, struct mre_wbuf *wb)
{
	if (mre_wbuf_err(wb))
		return -ENOMEM;
	if (out_put(o, wb->data, wb->len) || out_flush(o))
		return o->error;
	mre_wbuf_reset(wb);
	return 0;
}

/* ---- the ring of windows ------------------------------------------------------ */

struct unit {
	unsigned bi;
	uint64_t first;
	uint64_t npages;
};

struct slot {
	uint8_t *buf;
	uint8_t *chunkbuf;      /* compressed input */
	uint64_t seq;           /* the unit that may use it next */
	bool ready;
};

struct emit {
	const struct mre_imagefile *in;
	const struct mre_image *img;
	const struct mre_emit_opts *o;
	struct mre_emit_result *res;
	uint64_t ps;
	bool *skip;             /* per block: no page is sent */
	struct unit *units;
	uint64_t nunits;
	uint64_t window;        /* pages */
	struct slot *slots;
	unsigned nslots;
	bool verify;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool failed;            /* a reader failed */
	atomic_bool stop;       /* the writer failed: readers stop */
	struct mre_chan_cfg cc;
	int page_fd;
	int chan_result;
	struct mre_err chan_err;
	enum mre_io_backend backend;
	struct out out;
	uint8_t *hdr;           /* record headers of one unit */
};

static int read_unit(void *ctx, struct mre_chan *ch, uint64_t u, struct mre_err *err)
{
	struct emit *e = ctx;
	const struct unit *un = &e->units[u];
	const struct mre_image_block *ib = &e->img->blocks[un->bi];
	struct slot *s = &e->slots[u % e->nslots];
	uint64_t p, end = un->first + un->npages, a, b;
	int r = 0;

	pthread_mutex_lock(&e->lock);
	while (s->seq != u && !atomic_load(&e->stop))
		pthread_cond_wait(&e->cond, &e->lock);
	pthread_mutex_unlock(&e->lock);
	if (atomic_load(&e->stop))
		return MRE_CHAN_NO_MORE;
	if (ib->b.chunked) {
		r = mre_imagefile_read_pages(e->in, un->bi, un->first, un->npages, s->buf, s->chunkbuf, err);
	} else {
		for (p = un->first; !r && mre_bitmap_next_run(ib->bitmap, end, p, &a, &b); p = b) {
			uint64_t off = (a - un->first) * e->ps, len = (b - a) * e->ps;

			while (!r && len) {
				size_t k = (size_t)MRE_MIN(len, (uint64_t)(2u << 20));

				r = mre_chan_read(ch, s->buf + off, k, ib->b.pages_offset + (off + un->first * e->ps));
				off += k;
				len -= k;
			}
		}
		if (!r)
			r = mre_chan_flush(ch);
		if (!r && e->verify) {
			uint64_t cp = e->img->trailer.chunk_pages;

			r = mre_check_chunks(e->img, un->bi, un->first / cp, (end + cp - 1) / cp, s->buf, err);
		}
	}
	pthread_mutex_lock(&e->lock);
	if (r)
		e->failed = true;
	else
		s->ready = true;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	return r;
}

static void *chan_thread(void *arg)
{
	struct emit *e = arg;

	e->chan_result = mre_chan_run(&e->cc, e->nunits, read_unit, e, &e->backend, &e->chan_err);
	pthread_mutex_lock(&e->lock);
	if (e->chan_result)
		e->failed = true;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

/* ---- the stream ------------------------------------------------------------------ */

static bool has_data(const struct emit *e, const struct unit *un)
{
	uint64_t a, b;

	return mre_bitmap_next_run(e->img->blocks[un->bi].bitmap, un->first + un->npages, un->first, &a, &b);
}

static int plan_units(struct emit *e, struct mre_err *err)
{
	const struct mre_image *img = e->img;
	uint64_t n = 0, w = WINDOW_PAGES;

	for (unsigned i = 0; i < img->nblocks; i++) {
		const struct mre_image_block *ib = &img->blocks[i];

		if (ib->b.chunked)
			w = MRE_MAX(w, ib->b.chunk_size / e->ps);
	}
	if (e->verify && w % img->trailer.chunk_pages)
		w = (w / img->trailer.chunk_pages + 1) * img->trailer.chunk_pages;
	/* chunk sizes are powers of two: a window of whole chunks of every block */
	e->window = w;
	for (unsigned i = 0; i < img->nblocks; i++)
		if (!e->skip[i])
			n += (img->blocks[i].npages + w - 1) / w;
	e->units = calloc(n + 1, sizeof(*e->units));
	if (!e->units)
		return mre_err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < img->nblocks; i++)
		for (uint64_t p = 0; !e->skip[i] && p < img->blocks[i].npages; p += w) {
			struct unit un = { i, p, MRE_MIN(w, img->blocks[i].npages - p) };

			if (e->o->zero_pages || has_data(e, &un))
				e->units[e->nunits++] = un;
		}
	return 0;
}

/* The records of one window: PAGE for each page with data, ZERO (if asked)
 * for the others; the block's first record names it, the rest CONTINUE. */
static int write_unit(struct emit *e, const struct unit *un, const uint8_t *buf, int *last_bi)
{
	const struct mre_image_block *ib = &e->img->blocks[un->bi];
	static const uint8_t zero_fill = 0;
	uint8_t *h = e->hdr;
	int r;

	for (uint64_t i = 0; i < un->npages; i++) {
		uint64_t p = un->first + i;
		bool data = mre_bit_test(ib->bitmap, p);
		uint8_t *start = h;
		uint64_t word;

		if (!data && !e->o->zero_pages)
			continue;
		word = p * e->ps | (data ? MRE_RAM_PAGE : MRE_RAM_ZERO);
		if (*last_bi == (int)un->bi)
			word |= MRE_RAM_CONTINUE;
		mre_put_be64(h, word);
		h += 8;
		if (*last_bi != (int)un->bi) {
			size_t len = strlen(ib->b.id);

			*h++ = (uint8_t)len;
			memcpy(h, ib->b.id, len);
			h += len;
			*last_bi = (int)un->bi;
		}
		if ((r = out_put(&e->out, start, (size_t)(h - start))))
			return r;
		if (data) {
			e->res->pages++;
			r = out_put(&e->out, buf + i * e->ps, e->ps);
		} else {
			e->res->zero_records++;
			r = out_put(&e->out, &zero_fill, 1);
		}
		if (r)
			return r;
	}
	return out_flush(&e->out);
}

/* Send every window in order as the readers fill the ring. */
static int write_pages(struct emit *e, struct mre_err *err)
{
	uint64_t total = 0;
	int last_bi = -1, r = 0;
	pthread_t thread;

	for (uint64_t u = 0; u < e->nunits; u++)
		total += e->units[u].npages * e->ps;
	if ((r = pthread_create(&thread, NULL, chan_thread, e)))
		return mre_err_sys(err, -r, "cannot start the reader thread");
	for (uint64_t u = 0; u < e->nunits && !r; u++) {
		struct slot *s = &e->slots[u % e->nslots];
		bool ok;

		pthread_mutex_lock(&e->lock);
		while (!(s->seq == u && s->ready) && !e->failed)
			pthread_cond_wait(&e->cond, &e->lock);
		ok = s->seq == u && s->ready;
		pthread_mutex_unlock(&e->lock);
		if (!ok) {
			r = -EIO;
			break;
		}
		r = write_unit(e, &e->units[u], s->buf, &last_bi);
		pthread_mutex_lock(&e->lock);
		s->ready = false;
		s->seq = u + e->nslots;
		pthread_cond_broadcast(&e->cond);
		pthread_mutex_unlock(&e->lock);
		if (e->o->progress)
			e->o->progress(e->o->progress_ctx, e->out.bytes, total);
	}
	if (r) {
		atomic_store(&e->stop, true);
		pthread_mutex_lock(&e->lock);
		pthread_cond_broadcast(&e->cond);
		pthread_mutex_unlock(&e->lock);
	}
	pthread_join(thread, NULL);
	if (e->chan_result && e->chan_result != MRE_ECANCELED) {
		*err = e->chan_err;
		if (!err->code)
			mre_err_set(err, e->chan_result, "reading pages failed");
		return e->chan_result;
	}
	if (r && e->out.error)
		return mre_err_sys(err, e->out.error, "writing the stream (after %llu bytes)", OFF(e->out.bytes));
	if (r)
		return mre_err_set(err, r, "emitting pages failed");
	return 0;
}

static bool is_ram(const struct mre_image *img, const struct mre_elem *el)
{
	return (el->type == MRE_VM_SECTION_START || el->type == MRE_VM_SECTION_PART ||
		el->type == MRE_VM_SECTION_END) && el->section_id == img->ram_section_id;
}

/* Copy bytes [a, b) of the image to the stream. */
static int copy_range(struct emit *e, uint64_t a, uint64_t b, struct mre_err *err)
{
	uint8_t *buf;
	int r;

	if (a == b)
		return 0;
	if ((r = mre_imagefile_read_range(e->in, a, b - a, &buf, err)))
		return r;
	r = out_put(&e->out, buf, b - a);
	if (!r)
		r = out_flush(&e->out);
	free(buf);
	return r ? mre_err_sys(err, r, "writing the stream") : 0;
}

static int find_shared(const struct emit *e, const char *id)
{
	for (unsigned i = 0; i < e->o->nshared; i++)
		if (!strcmp(e->o->shared[i].id, id))
			return (int)i;
	return -1;
}

/* The stream's block list entry of every block, with a GPA if asked. */
static int ram_start(struct emit *e, const struct mre_config *cfg, const char *vmdesc, size_t vmdesc_len,
		     struct mre_wbuf *wb, struct mre_err *err)
{
	const struct mre_image *img = e->img;
	bool gpa = mre_config_has_cap(cfg, "x-ignore-shared");

	mre_emit_section_start(wb, MRE_VM_SECTION_START, img->ram_section_id, "ram", 0, MRE_RAM_SECTION_VERSION);
	mre_wbuf_be64(wb, img->ram_total | MRE_RAM_MEM_SIZE);
	for (unsigned i = 0; i < img->nblocks; i++) {
		const struct mre_block *b = &img->blocks[i].b;
		int si = find_shared(e, b->id);
		uint64_t addr = 0;

		if (si >= 0 && e->o->shared[si].has_gpa) {
			addr = e->o->shared[si].gpa;
		} else if (b->has_gpa) {
			addr = b->gpa;
		} else if (gpa) {
			int r = vmdesc ? mre_emit_gpa_lookup(vmdesc, vmdesc_len, b->id, &addr) : 0;

			if (r < 0)
				return mre_err_set(err, MRE_EFORMAT, "the image's vmdesc has a malformed \"%s\" member",
						   MRE_BRIDGE_GPA_KEY);
			/* QEMU checks the GPA of shared blocks only */
			if (!r && si >= 0)
				return mre_err_set(err, -EINVAL,
						   "the image does not record the guest address of block '%s': give it as --ignore-shared %s=GPA",
						   b->id, b->id);
		}
		mre_mem_entry_emit(wb, b->id, b->used_length, gpa, addr);
	}
	mre_wbuf_be64(wb, MRE_RAM_EOS);
	mre_emit_footer(wb, img->ram_section_id);
	mre_emit_section_short(wb, MRE_VM_SECTION_PART, img->ram_section_id);
	return 0;
}

static int emit_stream(struct emit *e, struct mre_err *err)
{
	const struct mre_image *img = e->img;
	struct mre_config cfg = img->cfg;
	struct mre_wbuf wb;
	char *vmdesc = NULL;
	size_t vmdesc_len = 0;
	uint64_t copy_a = 0, copy_b = 0;
	int r = 0;

	mre_config_set_cap(&cfg, "mapped-ram", false);
	mre_config_set_cap(&cfg, MRE_CAP_COMPRESSED, false);
	if (e->o->nshared)
		mre_config_set_cap(&cfg, "x-ignore-shared", true);
	e->res->ignore_shared = mre_config_has_cap(&cfg, "x-ignore-shared");
	if (img->has_vmdesc) {
		if ((r = mre_imagefile_read_range(e->in, img->vmdesc_offset + 5, img->vmdesc_len, (uint8_t **)&vmdesc,
						  err)))
			return r;
		vmdesc_len = img->vmdesc_len;
	}
	mre_wbuf_init(&wb);
	mre_emit_file_header(&wb);
	mre_config_emit(&wb, &cfg);
	if ((r = out_buf(&e->out, &wb)))
		goto io;
	for (size_t i = 0; i < img->nelems && !r; i++) {
		const struct mre_elem *el = &img->elems[i];

		if (!is_ram(img, el) && el->type != MRE_VM_EOF && el->type != MRE_VM_VMDESCRIPTION) {
			/* device sections and commands: verbatim, contiguous ones at once */
			if (el->offset != copy_b) {
				if ((r = copy_range(e, copy_a, copy_b, err)))
					goto out;
				copy_a = el->offset;
			}
			copy_b = el->end;
			continue;
		}
		if ((r = copy_range(e, copy_a, copy_b, err)))
			goto out;
		copy_a = copy_b = 0;
		switch (el->type) {
		case MRE_VM_SECTION_START:
			if ((r = ram_start(e, &cfg, vmdesc, vmdesc_len, &wb, err)))
				goto out;
			if ((r = out_buf(&e->out, &wb)))
				goto io;
			if ((r = write_pages(e, err)))
				goto out;
			mre_wbuf_be64(&wb, MRE_RAM_EOS);
			mre_emit_footer(&wb, img->ram_section_id);
			break;
		case MRE_VM_SECTION_END:
			mre_emit_section_short(&wb, MRE_VM_SECTION_END, img->ram_section_id);
			mre_wbuf_be64(&wb, MRE_RAM_EOS);
			mre_emit_footer(&wb, img->ram_section_id);
			break;
		case MRE_VM_EOF: {
			struct mre_wbuf desc;

			mre_wbuf_init(&desc);
			if (!vmdesc || mre_vmdesc_set_config(vmdesc, vmdesc_len, &cfg, &desc)) {
				mre_wbuf_reset(&desc);
				mre_vmdesc_build(&desc, &cfg, e->ps, NULL);
			}
			mre_emit_eof(&wb, (const char *)desc.data, desc.len);
			mre_wbuf_free(&desc);
			break;
		}
		default:
			break; /* ram PART (its pages went with START), the vmdesc (with EOF) */
		}
		if ((r = out_buf(&e->out, &wb)))
			goto io;
	}
	goto out;
io:
	r = r == -ENOMEM ? mre_err_set(err, r, "out of memory")
			 : mre_err_sys(err, r, "writing the stream (after %llu bytes)", OFF(e->out.bytes));
out:
	mre_wbuf_free(&wb);
	free(vmdesc);
	return r;
}

static int setup(struct emit *e, struct mre_err *err)
{
	const struct mre_image *img = e->img;
	const char *path = e->in->path;
	uint64_t chunkbuf = 0;
	int r;

	if (!img->mapped_ram)
		return mre_err_set(err, MRE_EUNSUPP, "%s is already a sequential stream: QEMU loads it as it is", path);
	if (!img->ram_seen)
		return mre_err_set(err, MRE_EFORMAT, "%s has no ram section", path);
	e->skip = calloc(img->nblocks + 1, sizeof(*e->skip));
	if (!e->skip)
		return mre_err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < e->o->nshared; i++) {
		int bi = mre_image_find_block(img, e->o->shared[i].id);

		if (bi < 0)
			return mre_err_set(err, -ENOENT, "--ignore-shared %s: %s has no RAM block '%s'", e->o->shared[i].id,
					   path, e->o->shared[i].id);
	}
	for (unsigned i = 0; i < img->nblocks; i++) {
		const struct mre_image_block *ib = &img->blocks[i];

		e->skip[i] = ib->b.ignored || find_shared(e, ib->b.id) >= 0;
		if (e->skip[i])
			e->res->shared_pages += ib->npages;
		if (ib->b.chunked)
			chunkbuf = MRE_MAX(chunkbuf, 2 * ib->b.chunk_size + 8192);
	}
	e->verify = e->o->verify && img->has_trailer && (img->trailer.flags & MRE_TRAILER_F_PAGES) &&
		    img->trailer.chunk_pages;
	e->res->verified = e->verify || img->compressed;
	if ((r = plan_units(e, err)))
		return r;
	e->nslots = 2 * e->o->channels + 2;
	e->slots = calloc(e->nslots, sizeof(*e->slots));
	e->hdr = malloc(e->window * (8 + 1 + 255));
	if (!e->slots || !e->hdr)
		return mre_err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < e->nslots; i++) {
		e->slots[i].seq = i;
		if (posix_memalign((void **)&e->slots[i].buf, 4096, e->window * e->ps) ||
		    (chunkbuf && !(e->slots[i].chunkbuf = malloc(chunkbuf))))
			return mre_err_set(err, -ENOMEM, "out of memory for read buffers");
	}
	e->page_fd = e->in->fd;
	if (e->o->direct_io && !img->compressed) {
		e->page_fd = mre_dio_open(path, O_RDONLY, err);
		if (e->page_fd < 0) {
			r = e->page_fd;
			e->page_fd = e->in->fd;
			return r;
		}
		e->res->direct_io = true;
	}
	memset(&e->cc, 0, sizeof(e->cc));
	e->cc.backend = e->o->backend;
	e->cc.nchan = e->o->channels ? e->o->channels : 1;
	e->cc.fd = e->page_fd;
	e->cc.cancel = &e->stop;
	return 0;
}

int mre_emit(const struct mre_imagefile *in, const struct mre_emit_opts *o, struct mre_emit_result *res,
	     struct mre_err *err)
{
	struct emit e;
	struct stat st;
	int r;

	memset(res, 0, sizeof(*res));
	memset(&e, 0, sizeof(e));
	e.in = in;
	e.img = in->img;
	e.o = o;
	e.res = res;
	e.ps = in->img->page_size;
	e.out.fd = o->fd;
	e.page_fd = -1;
	atomic_init(&e.stop, false);
	pthread_mutex_init(&e.lock, NULL);
	pthread_cond_init(&e.cond, NULL);
	if (!fstat(o->fd, &st) && S_ISFIFO(st.st_mode))
		(void)fcntl(o->fd, F_SETPIPE_SZ, OUT_PIPE_SIZE);
	r = setup(&e, err);
	if (!r)
		r = emit_stream(&e, err);
	res->bytes = e.out.bytes;
	res->backend = e.backend;
	if (e.page_fd >= 0 && e.page_fd != in->fd)
		close(e.page_fd);
	for (unsigned i = 0; e.slots && i < e.nslots; i++) {
		free(e.slots[i].buf);
		free(e.slots[i].chunkbuf);
	}
	free(e.slots);
	free(e.hdr);
	free(e.units);
	free(e.skip);
	pthread_cond_destroy(&e.cond);
	pthread_mutex_destroy(&e.lock);
	return r;
}

int mre_emit_file(const struct mre_imagefile *in, const char *path, bool sync, const struct mre_emit_opts *o,
		  struct mre_emit_result *res, struct mre_err *err)
{
	struct mre_emit_opts fo = *o;
	struct mre_outfile of;
	int r;

	memset(res, 0, sizeof(*res));
	if ((r = mre_outfile_open_path(&of, path, 0, false, err)))
		return r;
	fo.fd = of.fd;
	r = mre_emit(in, &fo, res, err);
	if (!r && sync)
		r = mre_outfile_sync(&of, err);
	if (r) {
		mre_outfile_abort(&of);
		return r;
	}
	return mre_outfile_commit(&of, err);
}
