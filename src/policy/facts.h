/* SPDX-License-Identifier: MIT */
/*
 * facts.h: what a policy hook is shown, as plain C data. The engine fills
 * these (gathering real facts about the host, the target and the VM) and
 * src/policy/ turns them into read-only Lua tables: `vm`, `target`, `host`,
 * `params`, `image`, `stats`, `result`. Field names match doc/policy.md.
 */
#ifndef MRE_POLICY_FACTS_H
#define MRE_POLICY_FACTS_H

#include <stdbool.h>
#include <stdint.h>

struct mre_facts_block {
	const char *id;
	uint64_t size;
	uint64_t page_size;
	const char *backing;          /* "memfd", "file", "fdset" */
};

struct mre_facts_vm {
	const char *name;             /* may be "" */
	const char *uuid;             /* "" when unset */
	unsigned nlabels;
	const char *const *label_keys;
	const char *const *label_values;
	uint64_t ram_bytes;
	unsigned nblocks;
	const struct mre_facts_block *blocks;
	bool running;
	double zero_ratio;            /* sampled share of all-zero pages, 0..1 */
	double sample_compress_ratio; /* sampled compressed/original, 0..1 (1 = incompressible) */
};

struct mre_facts_target {
	const char *kind;             /* "path" or "fdset" */
	const char *path;
	const char *fs_type;
	bool direct_io;               /* the target accepts O_DIRECT */
	uint32_t dio_align;
	uint64_t free_bytes;
	bool rotational;
};

struct mre_facts_host {
	unsigned cpus;                /* online and allowed by affinity */
	uint64_t mem_free;            /* MemAvailable */
	bool io_uring;
};

/* One migration capability or parameter (QMP names), and whether a client
 * set it explicitly. */
enum mre_param_type { MRE_PARAM_BOOL, MRE_PARAM_INT, MRE_PARAM_STR };
struct mre_param {
	const char *name;             /* "multifd-channels", "direct-io", "max-bandwidth", ... */
	enum mre_param_type type;
	bool b;
	int64_t i;
	const char *s;
	bool set;                     /* set explicitly by the client (QMP or CLI flag) */
	bool capability;              /* listed under params.capabilities */
};

struct mre_facts_params {
	unsigned n;
	const struct mre_param *p;
};

/* The image being restored (what inspect knows). */
struct mre_facts_image {
	const char *path;
	const char *format;           /* "mapped-ram", "sequential" */
	const char *compression;      /* "none", "zstd", "lz4" */
	const char *header;           /* "none", "mrengine", "libvirt", "foreign" */
	bool checksums;
	uint64_t page_size;
	uint64_t ram_bytes;
	uint64_t present_bytes;       /* bytes of pages that hold data */
	unsigned nblocks;
	const struct mre_facts_block *blocks;
};

/* on_progress */
struct mre_facts_stats {
	const char *status;           /* QEMU MigrationStatus name */
	uint64_t total;
	uint64_t transferred;
	uint64_t remaining;
	uint64_t elapsed_ms;
	double mbps;
	uint64_t normal_pages;
	uint64_t zero_pages;
};

/* on_complete */
struct mre_facts_result {
	const char *status;           /* "completed", "failed", "cancelled" */
	const char *error;            /* "" on success */
	const char *kind;             /* "save", "restore" */
	uint64_t bytes;
	uint64_t duration_ms;
	double mbps;
};

#endif
