/* SPDX-License-Identifier: MIT */
/*
 * check.h: integrity checks shared by verify and restore: page checksums
 * from the trailer, the metadata checksum, and decompressing (and checking)
 * chunks of the compressed variant.
 */
#ifndef MRE_ENGINE_CHECK_H
#define MRE_ENGINE_CHECK_H

#include "format/image.h"

/*
 * Check the checksums of chunks [c0, c1) (trailer chunks of
 * img->trailer.chunk_pages pages) of block @bi. @pages holds the block's
 * data laid out by page index, starting at page c0 * chunk_pages; only
 * pages whose bit is set are looked at. MRE_ECHECKSUM names the block and
 * the page range on a mismatch.
 */
int mre_check_chunks(const struct mre_image *img, unsigned bi, uint64_t c0, uint64_t c1,
		     const uint8_t *pages, struct mre_err *err);

/* CRC-32C of the stream's non-page bytes, read from @fd, compared with the
 * trailer's. */
int mre_check_meta(const struct mre_image *img, int fd, struct mre_err *err);

/*
 * Decompress (or copy) compressed chunk @ci of block @bi from @stored into
 * @out (the chunk's length), and check its CRC. @stored is NULL for a zero
 * chunk (then @out is zero-filled).
 */
int mre_chunk_unpack(const struct mre_image *img, unsigned bi, uint64_t ci, const uint8_t *stored,
		     uint8_t *out, struct mre_err *err);

#endif
