/* SPDX-License-Identifier: MIT */
/*
 * extract.h: write one RAM block's guest content to a raw file. Pages
 * without data become holes, so the output is sparse. Works on mapped-ram
 * files (bitmap runs are copied) and sequential streams (records replayed,
 * last record wins).
 */
#ifndef MRE_ENGINE_EXTRACT_H
#define MRE_ENGINE_EXTRACT_H

#include "engine/imagefile.h"

int mre_extract_block(struct mre_imagefile *f, const char *id, const char *out_path,
		      struct mre_err *err);

#endif
