/* SPDX-License-Identifier: MIT */
/*
 * chunked.h: the compressed image variant. A compressed RAM block keeps its
 * MEM_SIZE entry, its MappedRamHeader (version MRE_MR_VERSION_CHUNKED) and
 * its bitmap; instead of a page region, a chunk table follows the bitmap
 * inline in the stream, and the stream resumes right after the table. The
 * compressed chunks themselves are packed after the end of the stream.
 * Such a file lists the capability "x-mrengine-compressed", which QEMU
 * refuses cleanly ("Received unknown capability"). All table integers are
 * little-endian.
 *
 * Table (at the header's pages_offset):
 *   0  8  magic "MRECHUNK"
 *   8  4  algorithm: 1 zstd, 2 lz4
 *  12  4  level (zstd 1..19; 0 for lz4)
 *  16  8  chunk_size: guest bytes per chunk (power of two, 64 KiB..16 MiB)
 *  24  8  nchunks = ceil(used_length / chunk_size)
 *  32  8  reserved, 0
 *  40     nchunks entries of 24 bytes:
 *           le64 offset of the stored bytes (0 for an all-zero chunk)
 *           le32 stored length (0 for an all-zero chunk)
 *           le32 flags: 1 stored raw (incompressible), 2 all zero
 *           le32 CRC-32C of the chunk's uncompressed bytes
 *           le32 reserved, 0
 */
#ifndef MRE_FORMAT_CHUNKED_H
#define MRE_FORMAT_CHUNKED_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"
#include "util/wbuf.h"

#define MRE_MR_VERSION_CHUNKED 0x4d430001u  /* "MC" 0 1 */
#define MRE_CAP_COMPRESSED "x-mrengine-compressed"
#define MRE_CHUNK_MAGIC "MRECHUNK"
#define MRE_CHUNK_HDR 40u
#define MRE_CHUNK_ENTRY 24u
#define MRE_CHUNK_MIN (64u * 1024)
#define MRE_CHUNK_MAX (16u * 1024 * 1024)

enum { MRE_CHUNK_ZSTD = 1, MRE_CHUNK_LZ4 = 2 };
enum { MRE_CHUNK_F_RAW = 1, MRE_CHUNK_F_ZERO = 2 };

struct mre_chunk {
	uint64_t offset;
	uint32_t len;
	uint32_t flags;
	uint32_t crc;
};

struct mre_chunk_hdr {
	uint32_t alg;
	uint32_t level;
	uint64_t chunk_size;
	uint64_t nchunks;
};

static inline uint64_t mre_chunk_table_bytes(uint64_t nchunks)
{
	return MRE_CHUNK_HDR + nchunks * MRE_CHUNK_ENTRY;
}

/* Bytes of guest memory in chunk @i of a block of @used_length bytes. */
static inline uint64_t mre_chunk_bytes(const struct mre_chunk_hdr *h, uint64_t used_length, uint64_t i)
{
	uint64_t start = i * h->chunk_size;

	return used_length - start < h->chunk_size ? used_length - start : h->chunk_size;
}

const char *mre_chunk_alg_name(uint32_t alg);

void mre_chunk_table_encode(const struct mre_chunk_hdr *h, const struct mre_chunk *c,
			    struct mre_wbuf *wb);

/* Check the 40-byte table header at file offset @at for a block of
 * @used_length bytes with pages of @page_size. */
int mre_chunk_hdr_decode(const uint8_t *buf, uint64_t at, uint64_t used_length, uint64_t page_size,
			 struct mre_chunk_hdr *h, struct mre_err *err);

/*
 * Decode and check h->nchunks entries at @buf (file offset @at): stored
 * bytes must lie within [data_start, file_size), zero chunks must be
 * (0, 0), raw chunks must be exactly the chunk's size, compressed ones no
 * larger than @max_stored.
 */
int mre_chunk_entries_decode(const uint8_t *buf, uint64_t at, const struct mre_chunk_hdr *h,
			     uint64_t used_length, uint64_t data_start, uint64_t file_size,
			     uint64_t max_stored, struct mre_chunk *out, struct mre_err *err);

#endif
