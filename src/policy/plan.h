/* SPDX-License-Identifier: MIT */
/*
 * plan.h: how one save or restore will run, as plain C values. A policy
 * hook produces it (src/policy/policy.c turns the Lua table into this), the
 * CLI and QMP fill it from explicit parameters, and the engine runs it. The
 * hot path reads only this struct. No Lua here.
 */
#ifndef MRE_POLICY_PLAN_H
#define MRE_POLICY_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/jsonw.h"

enum mre_plan_io {
	MRE_PLAN_IO_AUTO,
	MRE_PLAN_IO_THREADS,
	MRE_PLAN_IO_URING,
};

enum mre_compression {
	MRE_COMP_NONE,
	MRE_COMP_ZSTD,
	MRE_COMP_LZ4,
};

enum mre_checksum {
	MRE_CSUM_NONE,
	MRE_CSUM_CRC32C,
};

enum mre_sync {
	MRE_SYNC_FDATASYNC,
	MRE_SYNC_NONE,
};

enum mre_plan_header {
	MRE_PLAN_HEADER_NONE,
	MRE_PLAN_HEADER_MRENGINE,  /* mrengine header, metadata JSON in header_json */
	MRE_PLAN_HEADER_LIBVIRT,   /* libvirt save-image header, XML in header_xml */
	MRE_PLAN_HEADER_RAW,       /* caller bytes verbatim (header_raw) */
};

#define MRE_PLAN_MAX_CHANNELS 256u
#define MRE_PLAN_MIN_ALIGN 4096u
#define MRE_PLAN_MAX_ALIGN (1u << 30)
#define MRE_PLAN_MIN_CHUNK (64u * 1024)
#define MRE_PLAN_MAX_CHUNK (16u * 1024 * 1024)

struct mre_plan {
	unsigned channels;            /* 1..256 */
	enum mre_plan_io io;
	bool direct_io;
	bool direct_io_fallback;      /* buffered I/O if the target refuses O_DIRECT (logged) */
	uint64_t alignment;           /* page-region alignment, power of two, 4 KiB..1 GiB */
	enum mre_compression compression;
	int level;                    /* zstd 1..19 (0 = library default); lz4 ignores it */
	uint64_t chunk_size;          /* compression chunk, power of two, 64 KiB..16 MiB */
	uint64_t max_bandwidth;       /* bytes/s, 0 = unlimited */
	enum mre_checksum checksum;
	enum mre_sync sync;
	bool prealloc;
	bool verify;                  /* restore: check checksums while reading */
	enum mre_plan_header header;
	char *header_json;            /* MRENGINE: extra metadata object (JSON text) or NULL */
	char *header_xml;             /* LIBVIRT: domain XML */
	uint8_t *header_raw;          /* RAW */
	size_t header_raw_len;
	char *policy;                 /* name of the policy that made it, or NULL */
};

/* mrengine's defaults (no policy): 2 channels, auto io, no direct-io,
 * 1 MiB alignment, no compression, 1 MiB chunks, crc32c, fdatasync. */
void mre_plan_defaults(struct mre_plan *p);
void mre_plan_free(struct mre_plan *p);
/* Deep copy. */
int mre_plan_copy(struct mre_plan *dst, const struct mre_plan *src, struct mre_err *err);

/* Field by field; the error names the field, the value and what is allowed. */
int mre_plan_validate(const struct mre_plan *p, struct mre_err *err);

/* The plan as a JSON object (policy-check --json, x-plan, image metadata). */
void mre_plan_json(const struct mre_plan *p, struct mre_jsonw *j);

const char *mre_plan_io_name(enum mre_plan_io io);
const char *mre_compression_name(enum mre_compression c);
/* "none", "zstd", "zstd:N" (1..19), "lz4" */
int mre_compression_parse(const char *s, enum mre_compression *c, int *level);

#endif
