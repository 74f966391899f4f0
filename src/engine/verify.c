/* SPDX-License-Identifier: MIT */
/* verify.c: whole-file validity rules on top of the parsed image. */
#include "engine/verify.h"

#include <string.h>

int mre_verify(struct mre_imagefile *f, struct mre_verify_result *res, struct mre_err *err)
{
	const struct mre_image *img = f->img;

	memset(res, 0, sizeof(*res));
	if (!img->ram_seen)
		return mre_err_set(err, MRE_EFORMAT, "%s: the stream has no ram section", f->path);
	if (f->size != MRE_SIZE_UNKNOWN && img->stream_end != f->size)
		return mre_err_set(err, MRE_EFORMAT,
				   "%s: offset 0x%llx: %llu unexpected bytes after the end of the stream",
				   f->path, (unsigned long long)img->stream_end,
				   (unsigned long long)(f->size - img->stream_end));
	return 0;
}
