/* SPDX-License-Identifier: MIT */
/*
 * ingest.h: a QEMU sequential migration stream (what QEMU writes to exec:,
 * fd: or a pipe, any version from 7.2 on) -> a mapped-ram image, without
 * ever holding more of the stream than a few batches of pages.
 *
 * Pages go to their fixed slots as they arrive, in parallel through the
 * channel layer; a page sent again overwrites its slot, a ZERO record
 * clears its bit, an XBZRLE delta applies to the page's current content,
 * so a live migration's re-sent pages keep the file bounded by RAM size.
 * Everything else of the stream is kept (device sections verbatim, the
 * ram section id, the machine type) except what a file cannot use
 * (return path, postcopy advice); the configuration declares mapped-ram,
 * and the vmdesc's configuration member is rewritten to match.
 *
 * Shared memory: a stream migrated with x-ignore-shared carries no page of
 * blocks backed by shared files; with `ram` those blocks are read straight
 * from their backing once the guest is stopped (the ram END section), and
 * the image is complete: it loads without x-ignore-shared. The GPAs the
 * stream gave are kept in the vmdesc (MRE_BRIDGE_GPA_KEY, see emit.h).
 *
 * When all pages are in (the ram END section, the guest is stopped), the
 * pages are made durable before any more of the stream is read: QEMU is
 * then still writing its device state into the pipe, so an ingest that
 * fails there (disk full, I/O error) makes QEMU's migration fail instead
 * of completing. The image appears at its path only once complete.
 */
#ifndef MRE_ENGINE_INGEST_H
#define MRE_ENGINE_INGEST_H

#include <stdbool.h>
#include <stdint.h>

#include "io/chan.h"
#include "policy/plan.h"
#include "util/err.h"

/* A block skipped by x-ignore-shared, and the shared file that holds it. */
struct mre_ingest_ram {
	const char *id;
	const char *path;
};

struct mre_ingest_progress {
	uint64_t stream_bytes;    /* read so far */
	uint64_t ram_total;       /* the stream's RAM size, 0 until known */
	uint64_t records;         /* page records so far */
	const char *phase;        /* "stream", "shared memory", "finishing", "compressing" */
};

struct mre_ingest_opts {
	const struct mre_plan *plan;     /* the image to write (compression, header, ...) */
	int fd;                          /* the stream, read from its current position */
	const char *source;              /* the stream's name in messages */
	const char *path;                /* the image */
	uint64_t offset;                 /* file:PATH,offset=N: the stream starts at N */
	const struct mre_ingest_ram *ram;
	unsigned nram;
	/* optional, called on the reading thread a few times a second */
	void (*progress)(void *ctx, const struct mre_ingest_progress *p);
	void *progress_ctx;
};

struct mre_ingest_result {
	char machine[256];
	bool source_ignore_shared;       /* the stream had x-ignore-shared */
	bool kept_ignore_shared;         /* ... and so does the image (no `ram` given) */
	unsigned nblocks;
	unsigned sections;               /* ram sections (START, PARTs, END) */
	uint64_t stream_bytes;
	uint64_t ram_total;
	uint64_t page_records;           /* PAGE records */
	uint64_t zero_records;
	uint64_t xbzrle_records;
	uint64_t rewrites;               /* records for a page already received */
	uint64_t shared_pages;           /* pages with data read from shared backings */
	uint64_t present;                /* pages with data in the image */
	uint64_t image_bytes;            /* allocated bytes of the image */
	enum mre_io_backend backend;
	bool direct_io;
};

int mre_ingest(const struct mre_ingest_opts *o, struct mre_ingest_result *res, struct mre_err *err);

/*
 * What the file open at @fd holds (for convert): where its stream starts
 * (after any prepended header) and whether it is mapped-ram (plain or
 * compressed) or sequential. @name is for messages.
 */
int mre_ingest_probe(int fd, const char *name, uint64_t *stream_offset, bool *mapped_ram,
		     struct mre_err *err);

#endif
