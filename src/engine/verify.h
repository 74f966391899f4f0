/* SPDX-License-Identifier: MIT */
/*
 * verify.h: the checks behind `mrengine verify`: everything mre_image_load
 * checks (framing, footers, layout inside the file, bitmaps within each
 * block), plus whole-file rules: a ram section, EOF, nothing unexplained
 * after the stream.
 */
#ifndef MRE_ENGINE_VERIFY_H
#define MRE_ENGINE_VERIFY_H

#include "engine/imagefile.h"

struct mre_verify_result {
	bool has_checksums;
	uint64_t pages_checked;
};

/* 0 when the opened image is complete and valid; MRE_EFORMAT etc. otherwise. */
int mre_verify(struct mre_imagefile *f, struct mre_verify_result *res, struct mre_err *err);

#endif
