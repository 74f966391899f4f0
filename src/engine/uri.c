/* SPDX-License-Identifier: MIT */
/* uri.c: parsing of file: URIs. */
#include "engine/uri.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/size.h"

int mre_file_uri_parse(const char *uri, struct mre_file_uri *out, struct mre_err *err)
{
	const char *spec = strncmp(uri, "file:", 5) ? uri : uri + 5;
	const char *comma = strstr(spec, ",offset=");

	memset(out, 0, sizeof(*out));
	if (comma) {
		const char *off = comma + strlen(",offset=");

		if (mre_parse_size(off, &out->offset))
			return mre_err_set(err, -EINVAL, "file URI has bad offset %s: Invalid argument", off);
		out->offset_given = true;
		out->path = strndup(spec, (size_t)(comma - spec));
	} else {
		out->path = strdup(spec);
	}
	if (!out->path)
		return mre_err_set(err, -ENOMEM, "out of memory");
	if (!*out->path) {
		mre_file_uri_free(out);
		return mre_err_set(err, -EINVAL, "file URI '%s' has no file name", uri);
	}
	return 0;
}

void mre_file_uri_free(struct mre_file_uri *u)
{
	free(u->path);
	u->path = NULL;
}
