/* SPDX-License-Identifier: MIT */
/*
 * verify.h: the checks behind `mrengine verify`: everything mre_image_load
 * checks (framing, footers, layout inside the file, bitmaps within each
 * block, chunk tables), then the whole-file rules: a ram section, the VM
 * description after EOF (its absence means a cut file), a header
 * that says the save completed, nothing unexplained after the stream, and
 * when the image has a trailer: the metadata checksum and every page's (or
 * chunk's) checksum, read in parallel.
 */
#ifndef MRE_ENGINE_VERIFY_H
#define MRE_ENGINE_VERIFY_H

#include "engine/imagefile.h"

struct mre_verify_opts {
	unsigned channels;      /* parallel readers (default 2) */
	bool structure_only;    /* skip reading page data */
};

struct mre_verify_result {
	bool has_checksums;
	uint64_t pages_checked;
	uint64_t bytes_read;
};

/* The whole-file rules without reading page data: a ram section, the VM
 * description, a completed header, nothing unexplained after the stream,
 * the metadata checksum. What a restore checks before it writes RAM. */
int mre_verify_structure(struct mre_imagefile *f, struct mre_err *err);

/* 0 when the opened image is complete and valid; an error naming the first
 * problem (and for corrupt data, the block and page range) otherwise. */
int mre_verify(struct mre_imagefile *f, const struct mre_verify_opts *opts,
	       struct mre_verify_result *res, struct mre_err *err);

#endif
