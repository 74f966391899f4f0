/* SPDX-License-Identifier: MIT */
/*
 * imagefile.h: an image file opened for reading: the descriptor, the
 * stream offset (given, or found from a prepended header) and the parsed
 * struct mre_image. The common entry for inspect, verify, extract, restore
 * and emit.
 */
#ifndef MRE_ENGINE_IMAGEFILE_H
#define MRE_ENGINE_IMAGEFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "format/header.h"
#include "format/image.h"
#include "io/file.h"

#define MRE_OFFSET_AUTO UINT64_MAX

struct mre_imagefile {
	char *path;
	int fd;
	uint64_t size;
	struct mre_fdsrc fdsrc;
	struct mre_src src;
	uint64_t stream_offset;
	struct mre_header_info header;  /* what precedes the stream (kind NONE if --offset was given) */
	struct mre_image *img;
};

/*
 * Open @path (or use @fd >= 0, which is then owned) and parse it. With
 * @offset == MRE_OFFSET_AUTO the stream offset is found automatically.
 */
int mre_imagefile_open(struct mre_imagefile *f, const char *path, int fd, uint64_t offset,
		       unsigned load_flags, struct mre_err *err);
void mre_imagefile_close(struct mre_imagefile *f);

/*
 * Read the guest content of pages [first, first + n) of block @bi into
 * @buf (zeros where the image holds no data), from a plain or compressed
 * image, checking chunk CRCs. For compressed images @chunkbuf must hold
 * two chunks: a chunk's stored bytes (up to a chunk) are read after the
 * chunk they decompress into (unused otherwise). Thread-safe (positioned
 * reads).
 */
int mre_imagefile_read_pages(const struct mre_imagefile *f, unsigned bi, uint64_t first, uint64_t n,
			     uint8_t *buf, uint8_t *chunkbuf, struct mre_err *err);

/* Bytes [off, off + len) of the file, allocated (free() it); for metadata. */
int mre_imagefile_read_range(const struct mre_imagefile *f, uint64_t off, uint64_t len, uint8_t **out,
			     struct mre_err *err);

#endif
