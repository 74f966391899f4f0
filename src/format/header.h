/* SPDX-License-Identifier: MIT */
/*
 * header.h: what may precede the QEMU stream in a file, and where the
 * stream starts. Recognised: no header (stream at 0), libvirt's save-image
 * header, mrengine's own header, and any other prefix as long as the stream
 * starts on a 512-byte boundary within the first 64 MiB.
 */
#ifndef MRE_FORMAT_HEADER_H
#define MRE_FORMAT_HEADER_H

#include <stdbool.h>
#include <stdint.h>

#include "format/rd.h"

#define MRE_HEADER_SCAN_LIMIT (64u * 1024 * 1024)

enum mre_header_kind {
	MRE_HEADER_NONE,      /* the stream starts at offset 0 */
	MRE_HEADER_LIBVIRT,   /* "LibvirtQemudSave"/"LibvirtQemudPart" */
	MRE_HEADER_MRENGINE,
	MRE_HEADER_FOREIGN,   /* unknown bytes, stream found by scanning */
};

struct mre_header_info {
	enum mre_header_kind kind;
	uint64_t stream_offset;
	bool complete;        /* libvirt/mrengine: the header says the save finished */
	/* libvirt */
	uint32_t libvirt_version;
	uint32_t libvirt_data_len;
	uint32_t libvirt_format;
};

const char *mre_header_kind_name(enum mre_header_kind kind);

/* Find the stream in @src; fills @hi or fails naming what was looked for. */
int mre_header_detect(const struct mre_src *src, struct mre_header_info *hi, struct mre_err *err);

#endif
