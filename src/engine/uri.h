/* SPDX-License-Identifier: MIT */
/*
 * uri.h: QEMU's file: migration URI, "file:PATH[,offset=N]", shared by the
 * CLI and QMP. The first ",offset=" splits path and offset; the offset uses
 * QEMU's size syntax. A plain path (no "file:") is accepted too.
 */
#ifndef MRE_ENGINE_URI_H
#define MRE_ENGINE_URI_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

struct mre_file_uri {
	char *path;          /* owned */
	uint64_t offset;
	bool offset_given;
};

/* -EINVAL with QEMU's "file URI has bad offset X" on a bad offset. */
int mre_file_uri_parse(const char *uri, struct mre_file_uri *out, struct mre_err *err);
void mre_file_uri_free(struct mre_file_uri *u);

#endif
