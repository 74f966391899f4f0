/* SPDX-License-Identifier: MIT */
/*
 * writer.h: writing a mapped-ram image, whatever the pages come from (a
 * VM's RAM, a QEMU stream, another image). One writer per image:
 *
 *   mre_writer_open()    lay out every offset, open the output, write the
 *                        header ("in progress"), the stream head and every
 *                        block's entry and header;
 *   mre_writer_put_pages() / mre_writer_put_chunk() / mre_writer_clear_pages()
 *                        from channel threads (any pages; a page must not
 *                        be put by two threads at once), page data goes to
 *                        its fixed slot, or a compressed chunk to the data
 *                        area;
 *   mre_writer_sync_pages() optional: bitmaps and page data durable now;
 *   mre_writer_set_tail() optional (plain images): what follows the ram
 *                        section, when it is only known after the pages
 *                        (a QEMU stream being ingested);
 *   mre_writer_finish()  bitmaps and chunk tables, sync; the trailer with
 *                        checksums, the end of the stream, its completion
 *                        marker (each synced); the header ("complete");
 *                        rename into place;
 *   mre_writer_abort()   on any failure: nothing at the target path changes.
 *
 * The plan decides alignment, compression, checksums, header, direct-io,
 * sync. With compression "none" the stream is plain QEMU mapped-ram.
 */
#ifndef MRE_ENGINE_WRITER_H
#define MRE_ENGINE_WRITER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "format/config.h"
#include "format/ram.h"
#include "io/chan.h"
#include "io/outfile.h"
#include "policy/plan.h"

struct mre_fdsets;
struct mre_writer;

struct mre_writer_block {
	const char *id;
	uint64_t used_length;
	bool has_gpa;
	uint64_t gpa;
	bool ignored;           /* x-ignore-shared block stored without data */
};

struct mre_writer_opts {
	const struct mre_plan *plan;
	const struct mre_config *cfg;  /* copied; mapped-ram (and compressed) caps are set */
	uint32_t ram_section_id;
	uint64_t page_size;
	const struct mre_writer_block *blocks;
	unsigned nblocks;
	const uint8_t *pre;            /* stream elements between configuration and ram START */
	size_t pre_len;
	const uint8_t *post;           /* stream elements after ram END, before EOF */
	size_t post_len;
	const char *vmdesc;            /* full vmdesc JSON (NULL: generate one) */
	size_t vmdesc_len;
	const char *meta;              /* metadata JSON for an mrengine header (may be NULL) */
	bool was_running;              /* libvirt header: the VM was running */
	/* the target, opened by mre_writer_target_open(); the writer takes it over */
	struct mre_outfile *out;
	uint64_t offset;               /* file:PATH,offset=N (as given to mre_writer_target_open) */
	atomic_uint_fast64_t *transferred; /* optional: bytes written are added here */
	/*
	 * Optional pre-flight: called once the output is open and before any
	 * byte is written, with the free space of its filesystem and the bytes
	 * the image needs in the worst case (every page with data). Returns 0
	 * with *data_bytes set to the page bytes that will really be written
	 * (it may scan for zero pages to know), or an error. The writer then
	 * refuses with -ENOSPC if the image cannot fit.
	 */
	int (*preflight)(void *ctx, uint64_t free_bytes, uint64_t worst_data, uint64_t *data_bytes,
			 struct mre_err *err);
	void *preflight_ctx;
};

/*
 * Open the output: for a path a temporary file beside it (bytes before
 * @offset carried over), for /dev/fdset/N the set's descriptors checked by
 * QEMU's rules; with @direct_io a separate O_DIRECT descriptor. Meant for
 * the control thread, so open errors reach the client at once and the
 * fdset registry is only used there. On failure nothing is left behind.
 */
int mre_writer_target_open(struct mre_outfile *out, const char *path, uint64_t offset, bool direct_io,
			   struct mre_fdsets *fdsets, struct mre_err *err);

/* On failure o->out has been closed (and its temporary file removed). */
int mre_writer_open(const struct mre_writer_opts *o, struct mre_writer **out, struct mre_err *err);

/* The descriptor for page I/O (O_DIRECT when effective). */
int mre_writer_page_fd(const struct mre_writer *w);
bool mre_writer_direct_io(const struct mre_writer *w);
bool mre_writer_compressed(const struct mre_writer *w);
uint64_t mre_writer_chunk_size(const struct mre_writer *w);

/*
 * Plain images: pages [first, first + n) of block @bi hold the data at
 * @data (n * page_size bytes, all non-zero pages as far as the caller
 * knows; it must stay valid until the channel is flushed). Writes go
 * through @ch; their bits are set and their checksums recorded. A page may
 * be put again later (last write wins).
 */
int mre_writer_put_pages(struct mre_writer *w, struct mre_chan *ch, unsigned bi, uint64_t first,
			 uint64_t n, const uint8_t *data);
/* Pages that are zero (again): bits cleared, slot data ignored. */
void mre_writer_clear_pages(struct mre_writer *w, unsigned bi, uint64_t first, uint64_t n);

/* Has page @page of block @bi been put (and not cleared since)? */
bool mre_writer_page_present(const struct mre_writer *w, unsigned bi, uint64_t page);
/*
 * Plain images: the page's current content into @buf (page_size bytes;
 * zeros if it holds no data). The caller makes sure no write of that page
 * is in flight (its channel was flushed).
 */
int mre_writer_read_page(struct mre_writer *w, unsigned bi, uint64_t page, void *buf, struct mre_err *err);

/*
 * Compressed images: chunk @ci of block @bi has the bytes at @data (the
 * chunk's length; may contain zero pages; NULL when all of it is zero).
 * Compressed on this thread with the channel's context, stored in the data
 * area through @ch.
 */
int mre_writer_put_chunk(struct mre_writer *w, struct mre_chan *ch, unsigned bi, uint64_t ci,
			 const uint8_t *data, struct mre_err *err);

/* Reserve the file space of pages [first, first + n) of block @bi
 * (fallocate, so only those ranges are allocated and holes stay holes). */
int mre_writer_prealloc(struct mre_writer *w, unsigned bi, uint64_t first, uint64_t n,
			struct mre_err *err);

/*
 * Every page is written (channels flushed): write the bitmaps (and chunk
 * tables) and sync now instead of in mre_writer_finish(), so that a failure
 * shows before the caller acknowledges anything. @reserve bytes after the
 * page area are allocated for what is still to be written (the end of the
 * stream, the trailer), so a full disk shows now too. Once called, no page
 * may be put or cleared.
 */
int mre_writer_sync_pages(struct mre_writer *w, uint64_t reserve, struct mre_err *err);

/*
 * Plain images: replace what follows the ram section (@post: device
 * sections, before EOF) and the vmdesc (NULL: generate one), given at open
 * as unknown. Before mre_writer_finish().
 */
int mre_writer_set_tail(struct mre_writer *w, const uint8_t *post, size_t post_len, const char *vmdesc,
			size_t vmdesc_len, struct mre_err *err);

/*
 * The metadata object of an mrengine header: _begin opens the JSON object
 * with "mrengine" (version) and "created" (UTC time); the caller adds its
 * members; _end adds "plan" and the policy's "data", closes the object and
 * returns the text (malloc'd, NUL-terminated), or NULL out of memory.
 */
struct mre_jsonw;
void mre_writer_meta_begin(struct mre_jsonw *j, struct mre_wbuf *wb);
char *mre_writer_meta_end(struct mre_jsonw *j, struct mre_wbuf *wb, const struct mre_plan *plan);

int mre_writer_finish(struct mre_writer *w, struct mre_err *err);
void mre_writer_abort(struct mre_writer *w);

#endif
