/* SPDX-License-Identifier: MIT */
/*
 * emit.h: a mapped-ram image (plain or compressed, with or without a
 * prepended header) -> a sequential QEMU migration stream, as QEMU itself
 * would send it over exec:/fd:/a pipe, so that any QEMU (7.2 and later)
 * loads it with `migrate-incoming "exec:mrengine emit IMAGE"`.
 *
 * The stream has the image's machine type and elements (device sections,
 * commands) verbatim, its configuration without mapped-ram (QEMU 7.2
 * refuses capabilities it does not know), the RAM block list, one PAGE
 * record per page with data (CONTINUE within a block), and no record for
 * zero pages (a destination started with -incoming has zeroed RAM).
 * Channel threads read ahead into a bounded ring of windows while this
 * thread writes them in order with large writev() calls, so the pipe, not
 * the disk, is the limit. A reader that goes away (EPIPE) is an error; the
 * caller ignores SIGPIPE.
 *
 * Shared memory: with `shared`, the stream says x-ignore-shared, lists
 * every block with its GPA, and sends no page of the shared blocks, whose
 * content the destination already has in its shared backing (e.g. put
 * there by `mrengine restore --partial`).
 */
#ifndef MRE_ENGINE_EMIT_H
#define MRE_ENGINE_EMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/imagefile.h"
#include "format/ram.h"
#include "io/chan.h"
#include "util/wbuf.h"

/*
 * The vmdesc member where an image keeps the guest-physical addresses its
 * stream gave (x-ignore-shared) when the image itself no longer has them:
 * "x-mrengine-gpa": {"<block id>": <gpa>, ...}. QEMU ignores the vmdesc.
 */
#define MRE_BRIDGE_GPA_KEY "x-mrengine-gpa"

/* Append the member (key and object) for every block that has a GPA. */
void mre_emit_gpa_member(struct mre_wbuf *wb, const struct mre_block *blocks, unsigned n);
/* Find block @id's GPA in a vmdesc: 1 found, 0 absent, -EINVAL malformed. */
int mre_emit_gpa_lookup(const char *json, size_t len, const char *id, uint64_t *gpa);

/* A block the destination shares (x-ignore-shared): no page is sent. */
struct mre_emit_shared {
	const char *id;
	bool has_gpa;            /* else: the image's, or 0 */
	uint64_t gpa;
};

struct mre_emit_opts {
	int fd;                          /* where the stream goes (pipe, file) */
	unsigned channels;               /* readers, 1..256 */
	enum mre_io_backend backend;
	bool direct_io;                  /* O_DIRECT reads of a plain image's pages */
	bool verify;                     /* check page checksums where the image has them */
	bool zero_pages;                 /* a ZERO record for every page without data */
	const struct mre_emit_shared *shared;
	unsigned nshared;
	void (*progress)(void *ctx, uint64_t bytes, uint64_t total);
	void *progress_ctx;
};

struct mre_emit_result {
	uint64_t bytes;                  /* stream bytes written */
	uint64_t pages;                  /* PAGE records */
	uint64_t zero_records;
	uint64_t shared_pages;           /* pages of shared blocks not sent */
	bool ignore_shared;              /* the stream says x-ignore-shared */
	bool verified;                   /* every page sent was checked against a checksum */
	bool direct_io;
	enum mre_io_backend backend;
};

int mre_emit(const struct mre_imagefile *in, const struct mre_emit_opts *o, struct mre_emit_result *res,
	     struct mre_err *err);

/*
 * The same into a new file at @path (o->fd is ignored): written to a
 * temporary file, synced (unless !@sync) and renamed into place, so the
 * path holds a complete stream or what it held before.
 */
int mre_emit_file(const struct mre_imagefile *in, const char *path, bool sync, const struct mre_emit_opts *o,
		  struct mre_emit_result *res, struct mre_err *err);

#endif
