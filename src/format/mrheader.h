/* SPDX-License-Identifier: MIT */
/*
 * mrheader.h: mrengine's own header, optionally written at offset 0 before
 * the QEMU stream (which then starts at stream_offset, as with QEMU's
 * file:PATH,offset=N). Written twice: "in progress" before any data, and
 * "complete" once everything else is durable, so an interrupted save is
 * always recognisable. All integers little-endian.
 *
 *   0  8  magic "MREIMG\r\n"
 *   8  4  version (1)
 *  12  4  state: 1 in progress, 2 complete
 *  16  8  stream_offset   (a multiple of 4096)
 *  24  8  stream_end      (0 while in progress)
 *  32  8  trailer_offset  (0 when there is no trailer)
 *  40  8  trailer_length
 *  48  4  metadata length M (JSON text at 64..64+M)
 *  52  4  CRC-32C of bytes 0..63 (this field as 0) followed by the metadata
 *  56  8  reserved, 0
 *  64  M  metadata (JSON), then zeros up to stream_offset
 */
#ifndef MRE_FORMAT_MRHEADER_H
#define MRE_FORMAT_MRHEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/wbuf.h"

#define MRE_MRHEADER_MAGIC "MREIMG\r\n"
#define MRE_MRHEADER_FIXED 64u
#define MRE_MRHEADER_MAX_META (16u << 20)

enum { MRE_MRHEADER_IN_PROGRESS = 1, MRE_MRHEADER_COMPLETE = 2 };

struct mre_mrheader {
	uint32_t version;
	uint32_t state;
	uint64_t stream_offset;
	uint64_t stream_end;
	uint64_t trailer_offset;
	uint64_t trailer_length;
	const char *meta;       /* decode: points into the caller's buffer */
	uint32_t meta_len;
};

/* The header bytes, padded with zeros to h->stream_offset. */
void mre_mrheader_encode(const struct mre_mrheader *h, struct mre_wbuf *wb);

/* Smallest stream offset (a multiple of @align) for @meta_len bytes of metadata. */
uint64_t mre_mrheader_stream_offset(uint32_t meta_len, uint64_t align);

/*
 * Decode from @buf (@len bytes read from offset 0; at least 64, and the
 * metadata when the caller has it). Checks magic, version, state, bounds
 * and (when the metadata is in @buf) the CRC. Returns the number of bytes
 * needed for a full check if @len is too short for the metadata.
 */
int mre_mrheader_decode(const uint8_t *buf, size_t len, struct mre_mrheader *h, struct mre_err *err);

#endif
