/* SPDX-License-Identifier: MIT */
/*
 * writer.c: the image writer. Offsets are all computed before the first
 * write; data goes through the caller's channels; metadata through the
 * buffered descriptor. Durability order at the end: data and bitmaps are
 * synced first; then the trailer's body, the stream's end and the trailer's
 * completion marker, each durable before the next, so no crash can leave a
 * file that passes for complete; the header says "complete" only after.
 */
#include "engine/writer.h"

#include <errno.h>
#include <fcntl.h>
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "util/size.h"
#include "util/testpoint.h"

#include "format/chunked.h"
#include "format/mrheader.h"
#include "format/qemu.h"
#include "format/stream.h"
#include "format/trailer.h"
#include "io/fdset.h"
#include "io/file.h"
#include "io/outfile.h"
#include "util/bytes.h"
#include "util/crc32c.h"
#include "util/jsonw.h"
#include "util/zero.h"

#define CHECKSUM_CHUNK_PAGES 256u
#define DATA_ALIGN 4096u
#define LIBVIRT_HDR 92u
#define LIBVIRT_FORMAT_SPARSE 6u

struct wblock {
	char id[256];
	uint64_t used_length;
	bool has_gpa;
	uint64_t gpa;
	bool ignored;
	uint64_t npages;
	struct mre_mr_layout lay;    /* plain; chunked uses entry/header/bitmap offsets */
	uint64_t table_offset;       /* chunked */
	uint64_t nchunks;
	uint64_t *bitmap;
	uint32_t *page_crc;          /* plain with checksums: per page */
	struct mre_chunk *chunks;    /* chunked */
};

struct chan_ctx {
	ZSTD_CCtx *zc;
	uint8_t *buf[2];
	size_t cap;
	unsigned next;
};

struct mre_writer {
	struct mre_config cfg;
	uint64_t ps;
	uint32_t ram_id;
	unsigned nblocks;
	struct wblock *blocks;
	enum mre_plan_header header;
	struct mre_wbuf hdr;         /* header bytes (phase 1) */
	char *meta;
	uint64_t stream_offset;
	struct mre_wbuf head;        /* "QEVM" .. MEM_SIZE word */
	struct mre_wbuf tail;        /* EOS .. vmdesc */
	uint64_t tail_offset;
	uint64_t stream_end;
	bool compressed;
	uint32_t alg;
	int level;
	uint64_t chunk_size;
	atomic_uint_fast64_t cursor; /* compressed: next free byte of the data area */
	bool checksums;
	bool sync;
	bool was_running;
	uint64_t trailer_offset;
	uint64_t trailer_length;
	unsigned nchan;
	struct chan_ctx *cc;
	struct mre_outfile out;
	atomic_uint_fast64_t *transferred;
	bool pages_done;             /* mre_writer_sync_pages() ran */
	uint32_t blocks_crc;         /* metadata CRC up to the last block (tail excluded) */
};

static void count(struct mre_writer *w, uint64_t n)
{
	if (w->transferred)
		atomic_fetch_add_explicit(w->transferred, n, memory_order_relaxed);
}

static int meta_write(struct mre_writer *w, const void *buf, size_t len, uint64_t off, const char *what,
		      struct mre_err *err)
{
	int r;

	mre_testpoint(what);
	r = mre_pwrite_all(w->out.fd, buf, len, off);
	if (r)
		return mre_err_sys(err, r, "writing %s at offset 0x%llx", what, (unsigned long long)off);
	count(w, len);
	return 0;
}

/* ---- layout ---------------------------------------------------------- */

static void encode_mrheader(struct mre_writer *w, bool complete)
{
	struct mre_mrheader h = {
		.version = 1,
		.state = complete ? MRE_MRHEADER_COMPLETE : MRE_MRHEADER_IN_PROGRESS,
		.stream_offset = w->stream_offset,
		.meta = w->meta ? w->meta : "{}",
		.meta_len = (uint32_t)strlen(w->meta ? w->meta : "{}"),
	};

	if (complete) {
		h.stream_end = w->stream_end;
		h.trailer_offset = w->trailer_offset;
		h.trailer_length = w->trailer_length;
	}
	mre_wbuf_reset(&w->hdr);
	mre_mrheader_encode(&h, &w->hdr);
}

/* The header as written first ("in progress"). */
static int build_header(struct mre_writer *w, const struct mre_plan *p, struct mre_err *err)
{
	size_t xml = p->header_xml ? strlen(p->header_xml) : 0;

	mre_wbuf_reset(&w->hdr);
	switch (w->header) {
	case MRE_PLAN_HEADER_NONE:
		return 0;
	case MRE_PLAN_HEADER_MRENGINE:
		encode_mrheader(w, false);
		break;
	case MRE_PLAN_HEADER_LIBVIRT:
		mre_wbuf_put(&w->hdr, "LibvirtQemudPart", 16);
		mre_wbuf_le32(&w->hdr, 2);
		mre_wbuf_le32(&w->hdr, (uint32_t)(w->stream_offset - LIBVIRT_HDR));
		mre_wbuf_le32(&w->hdr, w->was_running);
		mre_wbuf_le32(&w->hdr, LIBVIRT_FORMAT_SPARSE);
		mre_wbuf_le32(&w->hdr, 0);
		mre_wbuf_zero(&w->hdr, 56);
		mre_wbuf_put(&w->hdr, p->header_xml, xml);
		mre_wbuf_zero(&w->hdr, w->stream_offset - LIBVIRT_HDR - xml);
		break;
	case MRE_PLAN_HEADER_RAW:
		mre_wbuf_put(&w->hdr, p->header_raw, p->header_raw_len);
		mre_wbuf_zero(&w->hdr, w->stream_offset - p->header_raw_len);
		break;
	}
	return mre_wbuf_err(&w->hdr) ? mre_err_set(err, -ENOMEM, "out of memory") : 0;
}

/* Phase two: what changes once the image is complete (raw headers have no phases). */
static bool finalize_header(struct mre_writer *w)
{
	switch (w->header) {
	case MRE_PLAN_HEADER_MRENGINE:
		encode_mrheader(w, true);
		return true;
	case MRE_PLAN_HEADER_LIBVIRT:
		memcpy(w->hdr.data, "LibvirtQemudSave", 16);
		return true;
	default:
		return false;
	}
}

static uint64_t header_space(const struct mre_writer *w, const struct mre_plan *p)
{
	uint64_t align = MRE_MAX(p->alignment, (uint64_t)DATA_ALIGN), off = 0;

	switch (w->header) {
	case MRE_PLAN_HEADER_NONE:
		return 0;
	case MRE_PLAN_HEADER_MRENGINE:
		return mre_mrheader_stream_offset((uint32_t)strlen(w->meta ? w->meta : "{}"), align);
	case MRE_PLAN_HEADER_LIBVIRT:
		/* room for the XML to grow in place, as libvirt leaves */
		mre_align_up(LIBVIRT_HDR + strlen(p->header_xml ? p->header_xml : "") + 1 + 65536, DATA_ALIGN, &off);
		return off;
	case MRE_PLAN_HEADER_RAW:
		mre_align_up(p->header_raw_len, DATA_ALIGN, &off);
		return off;
	}
	return 0;
}

static int layout(struct mre_writer *w, const struct mre_writer_opts *o, const struct mre_plan *p,
		  struct mre_err *err)
{
	struct mre_wbuf vmdesc;
	uint64_t total = 0, pos;
	int r;

	for (unsigned i = 0; i < w->nblocks; i++)
		total += w->blocks[i].used_length;
	mre_wbuf_init(&w->head);
	mre_emit_file_header(&w->head);
	mre_config_emit(&w->head, &w->cfg);
	mre_wbuf_put(&w->head, o->pre, o->pre_len);
	mre_emit_ram_start(&w->head, w->ram_id, total);
	pos = w->stream_offset + w->head.len;
	for (unsigned i = 0; i < w->nblocks; i++) {
		struct wblock *b = &w->blocks[i];

		r = mre_mr_layout_block(pos, b->id, b->used_length, w->ps, p->alignment, b->has_gpa, &b->lay);
		if (r)
			return mre_err_set(err, r, "block '%s' does not fit in a file", b->id);
		if (b->ignored) {
			pos = b->lay.header_offset + MRE_MR_HEADER_SIZE;
		} else if (w->compressed) {
			b->nchunks = (b->used_length + w->chunk_size - 1) / w->chunk_size;
			mre_align_up(b->lay.bitmap_offset + b->lay.bitmap_bytes, 8, &b->table_offset);
			pos = b->table_offset + mre_chunk_table_bytes(b->nchunks);
		} else {
			pos = b->lay.end_offset;
		}
	}
	w->tail_offset = pos;
	mre_wbuf_init(&w->tail);
	mre_emit_ram_end(&w->tail, w->ram_id);
	mre_wbuf_put(&w->tail, o->post, o->post_len);
	mre_wbuf_init(&vmdesc);
	if (o->vmdesc)
		mre_wbuf_put(&vmdesc, o->vmdesc, o->vmdesc_len);
	else
		mre_vmdesc_build(&vmdesc, &w->cfg, w->ps, NULL);
	mre_emit_eof(&w->tail, (const char *)vmdesc.data, vmdesc.len);
	r = mre_wbuf_err(&vmdesc);
	mre_wbuf_free(&vmdesc);
	if (r || mre_wbuf_err(&w->head) || mre_wbuf_err(&w->tail))
		return mre_err_set(err, -ENOMEM, "out of memory");
	w->stream_end = w->tail_offset + w->tail.len;
	mre_align_up(w->stream_end, DATA_ALIGN, &pos);
	atomic_store(&w->cursor, w->compressed ? pos : w->stream_end);
	return 0;
}

/* Entry + MappedRamHeader of block @b. */
static void encode_entry(const struct mre_writer *w, const struct wblock *b, struct mre_wbuf *wb)
{
	mre_mem_entry_emit(wb, b->id, b->used_length, b->has_gpa, b->gpa);
	if (b->ignored)
		mre_mr_header_emit(wb, MRE_MR_VERSION, w->ps, 0, 0);
	else if (w->compressed)
		mre_mr_header_emit(wb, MRE_MR_VERSION_CHUNKED, w->ps, b->lay.bitmap_offset, b->table_offset);
	else
		mre_mr_header_emit(wb, MRE_MR_VERSION, w->ps, b->lay.bitmap_offset, b->lay.pages_offset);
}

/* ---- open --------------------------------------------------------------- */

int mre_writer_target_open(struct mre_outfile *out, const char *path, uint64_t offset, bool direct_io,
			   struct mre_fdsets *fdsets, struct mre_err *err)
{
	int64_t set;
	int r = mre_fdset_path_id(path, &set);

	out->fd = out->page_fd = -1;
	if (r < 0)
		return mre_err_set(err, -EINVAL, "Could not parse fdset %s", path);
	if (r == 1) {
		int fd, page_fd;

		if (!fdsets)
			return mre_err_set(err, -ENOENT, "Failed to find fdset %s", path);
		if ((r = mre_fdsets_open_pair(fdsets, set, true, direct_io, &fd, &page_fd, err)))
			return r;
		return mre_outfile_open_fds(out, fd, page_fd, offset, err);
	}
	return mre_outfile_open_path(out, path, offset, direct_io, err);
}

/* Bytes the image needs besides page data: everything but the page regions. */
static uint64_t meta_bytes(const struct mre_writer *w)
{
	uint64_t n = w->hdr.len + w->head.len + w->tail.len;

	for (unsigned i = 0; i < w->nblocks; i++) {
		const struct wblock *b = &w->blocks[i];

		n += 64 + b->lay.bitmap_bytes + mre_chunk_table_bytes(b->nchunks) + b->npages / 64 + 4096;
	}
	return n;
}

static int preflight(struct mre_writer *w, const struct mre_writer_opts *o, struct mre_err *err)
{
	uint64_t worst = 0, data, need, avail;
	struct statvfs sv;
	char a[32], b[32];
	int r;

	/* no accounting (ramfs reports 0 blocks): nothing to compare with */
	if (!o->preflight || fstatvfs(w->out.fd, &sv) || !sv.f_blocks)
		return 0;
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	for (unsigned i = 0; i < w->nblocks; i++)
		if (!w->blocks[i].ignored)
			worst += w->blocks[i].used_length;
	data = worst;
	if ((r = o->preflight(o->preflight_ctx, avail, worst, &data, err)))
		return r;
	/* filesystem metadata (extent trees) needs a little more than the bytes */
	need = data + data / 100 + meta_bytes(w) + (1u << 20);
	if (need > avail)
		return mre_err_set(err, -ENOSPC,
				   "not enough space for the image: it needs %s (%s of page data), %s are free",
				   mre_fmt_size(need, a, sizeof(a)), mre_fmt_size(data, b, sizeof(b)),
				   mre_fmt_size(avail, (char[32]){ 0 }, 32));
	return 0;
}

int mre_writer_prealloc(struct mre_writer *w, unsigned bi, uint64_t first, uint64_t n,
			struct mre_err *err)
{
	const struct wblock *b = &w->blocks[bi];

	if (fallocate(w->out.fd, FALLOC_FL_KEEP_SIZE, (off_t)(b->lay.pages_offset + first * w->ps),
		      (off_t)(n * w->ps)))
		return mre_err_sys(err, -errno, "reserving space for pages %llu..%llu of '%s'",
				   (unsigned long long)first, (unsigned long long)(first + n - 1), b->id);
	return 0;
}

static void writer_free(struct mre_writer *w)
{
	for (unsigned i = 0; w->blocks && i < w->nblocks; i++) {
		free(w->blocks[i].bitmap);
		free(w->blocks[i].page_crc);
		free(w->blocks[i].chunks);
	}
	for (unsigned i = 0; w->cc && i < w->nchan; i++) {
		ZSTD_freeCCtx(w->cc[i].zc);
		free(w->cc[i].buf[0]);
		free(w->cc[i].buf[1]);
	}
	free(w->cc);
	free(w->blocks);
	free(w->meta);
	mre_wbuf_free(&w->hdr);
	mre_wbuf_free(&w->head);
	mre_wbuf_free(&w->tail);
	free(w);
}

int mre_writer_open(const struct mre_writer_opts *o, struct mre_writer **out, struct mre_err *err)
{
	const struct mre_plan *p = o->plan;
	struct mre_writer *w = calloc(1, sizeof(*w));
	struct mre_wbuf wb;
	int r;

	*out = NULL;
	if (!w) {
		mre_outfile_abort(o->out);
		return mre_err_set(err, -ENOMEM, "out of memory");
	}
	mre_wbuf_init(&w->hdr);
	w->cfg = *o->cfg;
	w->ps = o->page_size;
	w->ram_id = o->ram_section_id;
	w->header = p->header;
	w->compressed = p->compression != MRE_COMP_NONE;
	w->alg = p->compression == MRE_COMP_LZ4 ? MRE_CHUNK_LZ4 : MRE_CHUNK_ZSTD;
	w->level = p->compression == MRE_COMP_ZSTD ? (p->level ? p->level : 3) : 0;
	w->chunk_size = p->chunk_size;
	w->checksums = p->checksum == MRE_CSUM_CRC32C;
	w->sync = p->sync == MRE_SYNC_FDATASYNC;
	w->nchan = p->channels;
	w->transferred = o->transferred;
	w->meta = o->meta ? strdup(o->meta) : NULL;
	w->out = *o->out;            /* taken over: closed or committed by the writer */
	o->out->fd = o->out->page_fd = -1;
	o->out->path = o->out->tmp_path = NULL;
	if (w->header != MRE_PLAN_HEADER_NONE && o->offset) {
		r = mre_err_set(err, -EINVAL, "a prepended header and file:...,offset=N cannot be combined");
		goto fail;
	}
	if (w->compressed && (w->chunk_size < MRE_CHUNK_MIN || w->chunk_size > MRE_CHUNK_MAX ||
			      w->chunk_size % w->ps)) {
		r = mre_err_set(err, -EINVAL, "compression chunk size %llu is not 64 KiB..16 MiB",
				(unsigned long long)w->chunk_size);
		goto fail;
	}
	mre_config_set_cap(&w->cfg, "mapped-ram", true);
	mre_config_set_cap(&w->cfg, MRE_CAP_COMPRESSED, w->compressed);
	w->stream_offset = w->header != MRE_PLAN_HEADER_NONE ? header_space(w, p) : o->offset;

	w->nblocks = o->nblocks;
	w->blocks = calloc(o->nblocks ? o->nblocks : 1, sizeof(*w->blocks));
	if (!w->blocks) {
		r = mre_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	for (unsigned i = 0; i < o->nblocks; i++) {
		struct wblock *b = &w->blocks[i];

		snprintf(b->id, sizeof(b->id), "%s", o->blocks[i].id);
		b->used_length = o->blocks[i].used_length;
		b->has_gpa = o->blocks[i].has_gpa;
		b->gpa = o->blocks[i].gpa;
		b->ignored = o->blocks[i].ignored;
		b->npages = b->used_length / w->ps;
		b->bitmap = calloc(1, mre_bitmap_bytes(b->npages) + 8);
		if (!b->bitmap)
			goto oom;
		if (w->checksums && !w->compressed && !b->ignored &&
		    !(b->page_crc = malloc((b->npages ? b->npages : 1) * sizeof(uint32_t))))
			goto oom;
	}
	if ((r = layout(w, o, p, err)))
		goto fail;
	for (unsigned i = 0; w->compressed && i < w->nblocks; i++)
		if (!w->blocks[i].ignored && !(w->blocks[i].chunks = calloc(w->blocks[i].nchunks + 1, sizeof(struct mre_chunk))))
			goto oom;
	if (w->compressed) {
		w->cc = calloc(w->nchan, sizeof(*w->cc));
		if (!w->cc)
			goto oom;
	}
	w->was_running = o->was_running;
	if ((r = build_header(w, p, err)))
		goto fail;
	if ((r = preflight(w, o, err)))
		goto fail;
	if (ftruncate(w->out.fd, (off_t)w->stream_end)) {
		r = mre_err_sys(err, -errno, "cannot size the file to %llu bytes", (unsigned long long)w->stream_end);
		goto fail;
	}
	if (w->hdr.len && (r = meta_write(w, w->hdr.data, w->hdr.len, 0, "the header", err)))
		goto fail;
	if ((r = meta_write(w, w->head.data, w->head.len, w->stream_offset, "the stream header", err)))
		goto fail;
	mre_wbuf_init(&wb);
	for (unsigned i = 0; i < w->nblocks && !r; i++) {
		mre_wbuf_reset(&wb);
		encode_entry(w, &w->blocks[i], &wb);
		r = mre_wbuf_err(&wb) ? mre_err_set(err, -ENOMEM, "out of memory")
				      : meta_write(w, wb.data, wb.len, w->blocks[i].lay.entry_offset, "a block header", err);
	}
	mre_wbuf_free(&wb);
	if (r)
		goto fail;
	*out = w;
	return 0;
oom:
	r = mre_err_set(err, -ENOMEM, "out of memory");
fail:
	mre_outfile_abort(&w->out);
	writer_free(w);
	return r;
}

int mre_writer_page_fd(const struct mre_writer *w)
{
	return w->out.page_fd;
}

bool mre_writer_direct_io(const struct mre_writer *w)
{
	return w->out.direct_io;
}

bool mre_writer_compressed(const struct mre_writer *w)
{
	return w->compressed;
}

uint64_t mre_writer_chunk_size(const struct mre_writer *w)
{
	return w->chunk_size;
}

/* ---- pages --------------------------------------------------------------- */

/*
 * Set or clear bits [first, first + n) one 64-bit word at a time. Atomic,
 * so that units of different channels (or the caller's own thread) may
 * share a word: a stream's pages arrive in any order.
 */
static void bits_update(uint64_t *bm, uint64_t first, uint64_t n, bool set)
{
	uint64_t end = first + n;

	while (first < end) {
		uint64_t w = first / 64, lo = first % 64, hi = MRE_MIN(end - w * 64, (uint64_t)64);
		uint64_t mask = (hi == 64 ? ~(uint64_t)0 : ((uint64_t)1 << hi) - 1) & ~(((uint64_t)1 << lo) - 1);

		if (set)
			__atomic_fetch_or(&bm[w], mask, __ATOMIC_RELAXED);
		else
			__atomic_fetch_and(&bm[w], ~mask, __ATOMIC_RELAXED);
		first = w * 64 + hi;
	}
}

int mre_writer_put_pages(struct mre_writer *w, struct mre_chan *ch, unsigned bi, uint64_t first,
			 uint64_t n, const uint8_t *data)
{
	struct wblock *b = &w->blocks[bi];
	uint64_t off = first * w->ps, len = n * w->ps;

	bits_update(b->bitmap, first, n, true);
	for (uint64_t i = 0; b->page_crc && i < n; i++)
		b->page_crc[first + i] = mre_crc32c(0, data + i * w->ps, w->ps);
	while (len) {
		size_t k = (size_t)MRE_MIN(len, (uint64_t)(2u << 20));
		int r;

		mre_testpoint("page data");
		r = mre_chan_write(ch, data, k, b->lay.pages_offset + off);

		if (r)
			return r;
		count(w, k);
		data += k;
		off += k;
		len -= k;
	}
	return 0;
}

void mre_writer_clear_pages(struct mre_writer *w, unsigned bi, uint64_t first, uint64_t n)
{
	bits_update(w->blocks[bi].bitmap, first, n, false);
}

bool mre_writer_page_present(const struct mre_writer *w, unsigned bi, uint64_t page)
{
	return __atomic_load_n(&w->blocks[bi].bitmap[page / 64], __ATOMIC_RELAXED) >> (page % 64) & 1;
}

int mre_writer_read_page(struct mre_writer *w, unsigned bi, uint64_t page, void *buf, struct mre_err *err)
{
	const struct wblock *b = &w->blocks[bi];
	uint64_t off = b->lay.pages_offset + page * w->ps;
	int r;

	if (w->compressed || b->ignored)
		return mre_err_set(err, -EINVAL, "block '%s': pages of this image cannot be read back", b->id);
	if (!mre_writer_page_present(w, bi, page)) {
		memset(buf, 0, w->ps);
		return 0;
	}
	if ((r = mre_pread_all(w->out.fd, buf, w->ps, off)))
		return mre_err_sys(err, r, "reading back page %llu of '%s' at offset 0x%llx",
				   (unsigned long long)page, b->id, (unsigned long long)off);
	return 0;
}

/* CRC-32C of @len zero bytes (a zero chunk's checksum). */
static uint32_t zero_crc(uint64_t len)
{
	static const uint8_t zeros[65536];
	uint32_t crc = 0;

	while (len) {
		size_t k = (size_t)MRE_MIN(len, (uint64_t)sizeof(zeros));

		crc = mre_crc32c(crc, zeros, k);
		len -= k;
	}
	return crc;
}

static struct chan_ctx *chan_ctx(struct mre_writer *w, struct mre_chan *ch, struct mre_err *err)
{
	struct chan_ctx *c = &w->cc[mre_chan_index(ch) % w->nchan];
	uint64_t cap;

	if (c->buf[0])
		return c;
	cap = MRE_MAX(ZSTD_compressBound(w->chunk_size), (size_t)LZ4_compressBound((int)w->chunk_size));
	mre_align_up(cap, DATA_ALIGN, &cap);
	if ((w->alg == MRE_CHUNK_ZSTD && !(c->zc = ZSTD_createCCtx())) ||
	    posix_memalign((void **)&c->buf[0], DATA_ALIGN, cap) ||
	    posix_memalign((void **)&c->buf[1], DATA_ALIGN, cap)) {
		mre_err_set(err, -ENOMEM, "out of memory for compression buffers");
		return NULL;
	}
	c->cap = cap;
	return c;
}

int mre_writer_put_chunk(struct mre_writer *w, struct mre_chan *ch, unsigned bi, uint64_t ci,
			 const uint8_t *data, struct mre_err *err)
{
	struct wblock *b = &w->blocks[bi];
	uint64_t bytes = MRE_MIN(w->chunk_size, b->used_length - ci * w->chunk_size);
	uint64_t first = ci * w->chunk_size / w->ps, nonzero = 0, off;
	struct mre_chunk *e = &b->chunks[ci];
	struct chan_ctx *c;
	uint64_t padded = 0;
	size_t stored;
	uint8_t *out;
	int r;

	for (uint64_t i = 0; data && i < bytes / w->ps; i++)
		if (!mre_is_zero(data + i * w->ps, w->ps)) {
			bits_update(b->bitmap, first + i, 1, true);
			nonzero++;
		}
	if (!nonzero) {
		*e = (struct mre_chunk){ .flags = MRE_CHUNK_F_ZERO, .crc = zero_crc(bytes) };
		return 0;
	}
	if (!(c = chan_ctx(w, ch, err)))
		return err->code;
	/* two buffers: the other one may still be in flight */
	out = c->buf[c->next];
	c->next ^= 1;
	if ((r = mre_chan_flush(ch)))
		return r;
	if (w->alg == MRE_CHUNK_ZSTD) {
		size_t z = ZSTD_compressCCtx(c->zc, out, c->cap, data, bytes, w->level);

		stored = ZSTD_isError(z) ? bytes : z;
	} else {
		int z = LZ4_compress_default((const char *)data, (char *)out, (int)bytes, (int)c->cap);

		stored = z <= 0 ? bytes : (size_t)z;
	}
	e->crc = mre_crc32c(0, data, bytes);
	if (stored >= bytes - bytes / 64) {
		/* not worth it: store the bytes as they are */
		memcpy(out, data, bytes);
		stored = bytes;
		e->flags = MRE_CHUNK_F_RAW;
	}
	mre_align_up(stored, DATA_ALIGN, &padded);
	memset(out + stored, 0, padded - stored);
	mre_testpoint("chunk data");
	off = atomic_fetch_add(&w->cursor, padded);
	e->offset = off;
	e->len = (uint32_t)stored;
	if ((r = mre_chan_write(ch, out, (size_t)padded, off)))
		return r;
	count(w, padded);
	return 0;
}

/* ---- finish -------------------------------------------------------------- */

static int sync_file(struct mre_writer *w, struct mre_err *err)
{
	mre_testpoint("sync");
	return w->sync ? mre_outfile_sync(&w->out, err) : 0;
}

/* Bitmaps and chunk tables; also folds the metadata bytes into *meta_crc,
 * in file order (head, each block's entry..bitmap[..table]); the caller
 * folds the tail, which may still change (mre_writer_set_tail). */
static int write_block_meta(struct mre_writer *w, uint32_t *meta_crc, struct mre_err *err)
{
	struct mre_wbuf wb;
	int r = 0;

	*meta_crc = mre_crc32c(0, w->head.data, w->head.len);
	mre_wbuf_init(&wb);
	for (unsigned i = 0; i < w->nblocks && !r; i++) {
		struct wblock *b = &w->blocks[i];

		mre_wbuf_reset(&wb);
		encode_entry(w, b, &wb);
		if (!b->ignored) {
			mre_bitmap_to_le(b->bitmap, b->lay.bitmap_bytes / 8);
			mre_wbuf_put(&wb, b->bitmap, b->lay.bitmap_bytes);
			mre_bitmap_from_le(b->bitmap, b->lay.bitmap_bytes / 8);
		}
		if (mre_wbuf_err(&wb)) {
			r = mre_err_set(err, -ENOMEM, "out of memory");
			break;
		}
		*meta_crc = mre_crc32c(*meta_crc, wb.data, wb.len);
		if (!b->ignored) {
			size_t hdr = (size_t)(b->lay.bitmap_offset - b->lay.entry_offset);

			r = meta_write(w, wb.data + hdr, wb.len - hdr, b->lay.bitmap_offset, "a bitmap", err);
		}
		if (!r && w->compressed && !b->ignored) {
			struct mre_chunk_hdr h = { w->alg, (uint32_t)w->level, w->chunk_size, b->nchunks };

			mre_wbuf_reset(&wb);
			mre_chunk_table_encode(&h, b->chunks, &wb);
			if (mre_wbuf_err(&wb)) {
				r = mre_err_set(err, -ENOMEM, "out of memory");
				break;
			}
			*meta_crc = mre_crc32c(*meta_crc, wb.data, wb.len);
			r = meta_write(w, wb.data, wb.len, b->table_offset, "a chunk table", err);
		}
	}
	mre_wbuf_free(&wb);
	return r;
}

int mre_writer_sync_pages(struct mre_writer *w, uint64_t reserve, struct mre_err *err)
{
	int r;

	if (!w->pages_done) {
		if ((r = write_block_meta(w, &w->blocks_crc, err)) || (r = sync_file(w, err)))
			return r;
		w->pages_done = true;
	}
	if (reserve && fallocate(w->out.fd, FALLOC_FL_KEEP_SIZE, (off_t)w->tail_offset, (off_t)reserve) &&
	    errno != EOPNOTSUPP)
		return mre_err_sys(err, -errno, "reserving %llu bytes for the end of the image at offset 0x%llx",
				   (unsigned long long)reserve, (unsigned long long)w->tail_offset);
	return 0;
}

int mre_writer_set_tail(struct mre_writer *w, const uint8_t *post, size_t post_len, const char *vmdesc,
			size_t vmdesc_len, struct mre_err *err)
{
	struct mre_wbuf gen;

	if (w->compressed)
		return mre_err_set(err, -EINVAL, "the end of a compressed image's stream cannot change once open");
	mre_wbuf_init(&gen);
	if (!vmdesc) {
		mre_vmdesc_build(&gen, &w->cfg, w->ps, NULL);
		vmdesc = (const char *)gen.data;
		vmdesc_len = gen.len;
	}
	mre_wbuf_reset(&w->tail);
	mre_emit_ram_end(&w->tail, w->ram_id);
	mre_wbuf_put(&w->tail, post, post_len);
	mre_emit_eof(&w->tail, vmdesc, vmdesc_len);
	mre_wbuf_free(&gen);
	if (mre_wbuf_err(&w->tail))
		return mre_err_set(err, -ENOMEM, "out of memory");
	w->stream_end = w->tail_offset + w->tail.len;
	atomic_store(&w->cursor, w->stream_end);
	/* the trailer follows the new end; nothing may remain after it */
	if (ftruncate(w->out.fd, (off_t)w->stream_end))
		return mre_err_sys(err, -errno, "cannot size the file to %llu bytes",
				   (unsigned long long)w->stream_end);
	return 0;
}

static int write_trailer(struct mre_writer *w, uint32_t meta_crc, struct mre_err *err)
{
	struct mre_trailer t = {
		.flags = w->checksums && !w->compressed ? MRE_TRAILER_F_PAGES : 0,
		.stream_offset = w->stream_offset,
		.stream_end = w->stream_end,
		.algorithm = MRE_TRAILER_CRC32C,
		.chunk_pages = CHECKSUM_CHUNK_PAGES,
		.meta_crc = meta_crc,
		.nblocks = w->nblocks,
	};
	uint64_t off = atomic_load(&w->cursor);
	struct mre_wbuf wb;
	int r = 0;

	t.blocks = calloc(w->nblocks ? w->nblocks : 1, sizeof(*t.blocks));
	if (!t.blocks)
		return mre_err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < w->nblocks; i++) {
		struct wblock *b = &w->blocks[i];
		struct mre_trailer_block *tb = &t.blocks[i];

		snprintf(tb->id, sizeof(tb->id), "%s", b->id);
		tb->npages = b->npages;
		tb->nchunks = (b->npages + CHECKSUM_CHUNK_PAGES - 1) / CHECKSUM_CHUNK_PAGES;
		if (!(t.flags & MRE_TRAILER_F_PAGES))
			continue;
		tb->crc = calloc(tb->nchunks + 1, sizeof(uint32_t));
		if (!tb->crc) {
			r = mre_err_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		for (uint64_t p = 0; p < b->npages && b->page_crc; p++)
			if (mre_bit_test(b->bitmap, p))
				tb->crc[p / CHECKSUM_CHUNK_PAGES] =
					mre_trailer_fold(tb->crc[p / CHECKSUM_CHUNK_PAGES],
							 (uint32_t)(p % CHECKSUM_CHUNK_PAGES), b->page_crc[p]);
	}
	mre_wbuf_init(&wb);
	mre_trailer_encode(&t, &wb);
	w->trailer_offset = off;
	w->trailer_length = wb.len;
	if (mre_wbuf_err(&wb))
		r = mre_err_set(err, -ENOMEM, "out of memory");
	/*
	 * Order, so that no crash leaves a file that looks complete: the trailer
	 * body first (while the stream still lacks its end, the file cannot
	 * parse), then the end of the stream (now a trailer without its marker
	 * makes the file refused), and the completion marker last, each step
	 * durable before the next.
	 */
	if (!r)
		r = meta_write(w, wb.data, wb.len - MRE_TRAILER_END, off, "the trailer", err);
	if (!r)
		r = sync_file(w, err);
	if (!r)
		r = meta_write(w, w->tail.data, w->tail.len, w->tail_offset, "the end of the stream", err);
	if (!r)
		r = sync_file(w, err);
	if (!r)
		r = meta_write(w, wb.data + wb.len - MRE_TRAILER_END, MRE_TRAILER_END,
			       off + wb.len - MRE_TRAILER_END, "the completion marker", err);
	mre_wbuf_free(&wb);
out:
	mre_trailer_free(&t);
	return r;
}

int mre_writer_finish(struct mre_writer *w, struct mre_err *err)
{
	uint32_t meta_crc;
	int r;

	/* data and bitmaps durable before anything that completes the file */
	if ((r = mre_writer_sync_pages(w, 0, err)))
		goto fail;
	meta_crc = mre_crc32c(w->blocks_crc, w->tail.data, w->tail.len);
	if ((r = write_trailer(w, meta_crc, err)) || (r = sync_file(w, err)))
		goto fail;
	if (finalize_header(w)) {
		if (mre_wbuf_err(&w->hdr)) {
			r = mre_err_set(err, -ENOMEM, "out of memory");
			goto fail;
		}
		if ((r = meta_write(w, w->hdr.data, w->hdr.len, 0, "the header", err)) || (r = sync_file(w, err)))
			goto fail;
	}
	mre_testpoint("rename");
	r = mre_outfile_commit(&w->out, err);
	mre_testpoint("renamed");
	writer_free(w);
	return r;
fail:
	mre_writer_abort(w);
	return r;
}

void mre_writer_meta_begin(struct mre_jsonw *j, struct mre_wbuf *wb)
{
	char when[32];
	time_t now = time(NULL);
	struct tm tm;

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	mre_wbuf_init(wb);
	mre_jsonw_init(j, wb);
	mre_jsonw_obj_begin(j);
	mre_jsonw_kstr(j, "mrengine", PACKAGE_VERSION);
	mre_jsonw_kstr(j, "created", when);
}

char *mre_writer_meta_end(struct mre_jsonw *j, struct mre_wbuf *wb, const struct mre_plan *plan)
{
	mre_jsonw_key(j, "plan");
	mre_plan_json(plan, j);
	if (plan->header_json) {
		mre_jsonw_key(j, "data");
		mre_jsonw_raw(j, plan->header_json, strlen(plan->header_json));
	}
	mre_jsonw_obj_end(j);
	mre_wbuf_u8(wb, 0);
	if (mre_wbuf_err(wb)) {
		mre_wbuf_free(wb);
		return NULL;
	}
	return (char *)wb->data;
}

void mre_writer_abort(struct mre_writer *w)
{
	if (!w)
		return;
	mre_outfile_abort(&w->out);
	writer_free(w);
}
