/* SPDX-License-Identifier: MIT */
/*
 * trailer.h: mrengine's trailer, after the end of the QEMU stream (QEMU
 * never reads past its vmdesc). It holds CRC-32C checksums of the page data
 * and of the stream's metadata, and ends with a completion marker written
 * only after everything before it is durable. All integers little-endian.
 *
 *   0  8  magic "MRETRAIL"
 *   8  4  version (1)
 *  12  4  flags: bit 0 = per-chunk page checksums present
 *  16  8  stream_offset
 *  24  8  stream_end
 *  32  4  algorithm (1 = CRC-32C)
 *  36  4  chunk_pages: pages per checksum (e.g. 256 = 1 MiB of 4 KiB pages)
 *  40  4  meta_crc: CRC-32C of the stream's non-page bytes (see doc/format.md)
 *  44  4  nblocks
 *  48     per block: u8 id length, id, le64 pages, then one le32 CRC-32C per
 *         chunk of chunk_pages pages: the chunk's pages that hold data
 *         (bitmap bit set) folded in page order (mre_trailer_fold; 0 if none)
 *   T     le32 CRC-32C of bytes 0..T-1
 *   T+4   le64 total length L of the trailer (through the marker)
 *   T+12  8   "MREDONE\n"  (the last 8 bytes of the file)
 */
#ifndef MRE_FORMAT_TRAILER_H
#define MRE_FORMAT_TRAILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/wbuf.h"

#define MRE_TRAILER_MAGIC "MRETRAIL"
#define MRE_TRAILER_DONE "MREDONE\n"
#define MRE_TRAILER_END 16u /* length + marker */
#define MRE_TRAILER_MAX (256u << 20)
/* Guest bytes one checksum covers at most (chunk_pages x page size). */
#define MRE_TRAILER_MAX_CHUNK_BYTES (16u << 20)

struct mre_trailer_block {
	char id[256];
	uint64_t npages;
	uint64_t nchunks;
	uint32_t *crc;      /* nchunks entries */
};

struct mre_trailer {
	uint32_t version;
	uint32_t flags;
	uint64_t stream_offset;
	uint64_t stream_end;
	uint32_t algorithm;
	uint32_t chunk_pages;
	uint32_t meta_crc;
	unsigned nblocks;
	struct mre_trailer_block *blocks;
};

#define MRE_TRAILER_F_PAGES 1u
#define MRE_TRAILER_CRC32C 1u

/*
 * A chunk's checksum: starting from 0, fold in each page of the chunk that
 * holds data, in page order: CRC-32C over le32(index of the page within the
 * chunk) || le32(CRC-32C of the page's bytes). Position-sensitive, and any
 * corruption confined to one page is always detected.
 */
uint32_t mre_trailer_fold(uint32_t acc, uint32_t index_in_chunk, uint32_t page_crc);

/* The whole trailer (body, its CRC, length and marker). */
void mre_trailer_encode(const struct mre_trailer *t, struct mre_wbuf *wb);

/* From the last 16 bytes of a file: the trailer's length, or 0 if the file
 * does not end with the completion marker. */
uint64_t mre_trailer_length(const uint8_t tail[16]);

/* Decode @len bytes (the whole trailer). Allocates the CRC arrays; free
 * with mre_trailer_free(). @base is the trailer's file offset, for errors. */
int mre_trailer_decode(const uint8_t *buf, size_t len, uint64_t base, struct mre_trailer *t,
		       struct mre_err *err);
void mre_trailer_free(struct mre_trailer *t);

#endif
