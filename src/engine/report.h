/* SPDX-License-Identifier: MIT */
/*
 * report.h: what `mrengine inspect` prints, as text for people and as JSON
 * for programs (the JSON schema is documented in doc/format.md and is also
 * what the QMP command x-image-inspect returns).
 */
#ifndef MRE_ENGINE_REPORT_H
#define MRE_ENGINE_REPORT_H

#include <stdio.h>

#include "engine/imagefile.h"
#include "util/wbuf.h"

void mre_report_json(const struct mre_imagefile *f, struct mre_wbuf *wb);
void mre_report_text(const struct mre_imagefile *f, FILE *out);

#endif
