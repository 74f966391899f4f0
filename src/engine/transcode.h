/* SPDX-License-Identifier: MIT */
/*
 * transcode.h: re-write an image with another plan: plain -> compressed
 * (`compress`), compressed -> plain (`expand`, whose output QEMU loads
 * wherever the input's stream would have loaded), or another chunk size,
 * checksum or header. The stream's configuration (capabilities adjusted),
 * the elements before and after the ram section, the device state and the
 * vmdesc (its configuration member rewritten) are carried over; pages are
 * read, optionally recompressed, and written through the image writer with
 * parallel channels.
 */
#ifndef MRE_ENGINE_TRANSCODE_H
#define MRE_ENGINE_TRANSCODE_H

#include <stdatomic.h>

#include "engine/imagefile.h"
#include "io/chan.h"
#include "policy/plan.h"

struct mre_fdsets;

struct mre_transcode_opts {
	const struct mre_plan *plan;
	const char *path;         /* output path or /dev/fdset/N */
	uint64_t offset;
	struct mre_fdsets *fdsets;
	const char *meta;         /* mrengine header metadata, or NULL */
	const atomic_bool *cancel;
	atomic_uint_fast64_t *transferred;
};

struct mre_transcode_result {
	uint64_t pages;           /* guest pages processed */
	uint64_t nonzero;         /* pages written with data */
	enum mre_io_backend backend;
};

int mre_transcode(const struct mre_imagefile *in, const struct mre_transcode_opts *o,
		  struct mre_transcode_result *res, struct mre_err *err);

#endif
