/* SPDX-License-Identifier: MIT */
/*
 * planopts.h: the command-line options that become a client's explicit
 * plan parameters (QMP names: multifd-channels, direct-io, x-compression,
 * ...), shared by every command that reads or writes an image (save,
 * restore, ingest, emit, convert), so a flag means the same everywhere and
 * reaches the plan through mre_engine_plan() like a QMP parameter does.
 */
#ifndef MRE_CLI_PLANOPTS_H
#define MRE_CLI_PLANOPTS_H

#include <getopt.h>
#include <stdbool.h>

#include "policy/facts.h"

enum {
	MRE_OPT_CHANNELS = 0x2000,
	MRE_OPT_DIRECT_IO,
	MRE_OPT_IO,
	MRE_OPT_NO_SYNC,
	MRE_OPT_PREALLOC,
	MRE_OPT_COMPRESS,
	MRE_OPT_CHUNK_SIZE,
	MRE_OPT_CHECKSUM,
	MRE_OPT_HEADER,
	MRE_OPT_NO_VERIFY,
};

/* Groups of options a command accepts. */
enum {
	MRE_PLANOPT_IO = 1 << 0,     /* --channels --direct-io --io */
	MRE_PLANOPT_WRITE = 1 << 1,  /* --no-sync --prealloc --compress --chunk-size --checksum --header */
	MRE_PLANOPT_READ = 1 << 2,   /* --no-verify */
};

/* getopt_long entries for every option above (append to a command's table). */
#define MRE_PLAN_LONGOPTS                                                      \
	{ "channels", required_argument, NULL, MRE_OPT_CHANNELS },             \
	{ "direct-io", required_argument, NULL, MRE_OPT_DIRECT_IO },           \
	{ "io", required_argument, NULL, MRE_OPT_IO },                         \
	{ "no-sync", no_argument, NULL, MRE_OPT_NO_SYNC },                     \
	{ "prealloc", no_argument, NULL, MRE_OPT_PREALLOC },                   \
	{ "compress", required_argument, NULL, MRE_OPT_COMPRESS },             \
	{ "chunk-size", required_argument, NULL, MRE_OPT_CHUNK_SIZE },         \
	{ "checksum", required_argument, NULL, MRE_OPT_CHECKSUM },             \
	{ "header", required_argument, NULL, MRE_OPT_HEADER },                 \
	{ "no-verify", no_argument, NULL, MRE_OPT_NO_VERIFY }

#define MRE_PLAN_HELP_IO                                                                    \
	"  --channels N         parallel channels (1..256; default 2)\n"                     \
	"  --direct-io on|off   O_DIRECT for page data (default off)\n"                      \
	"  --io auto|uring|threads   I/O backend (default auto: io_uring when available)\n"

#define MRE_PLAN_HELP_PREALLOC                                                              \
	"  --prealloc           reserve the space of every page with data before writing\n"

#define MRE_PLAN_HELP_WRITE                                                                 \
	"  --no-sync            skip the final fdatasync (faster, not crash-safe)\n"         \
	"  --compress ALG       none (default: plain QEMU mapped-ram), zstd, zstd:1..19, lz4\n" \
	"  --chunk-size N       compression chunk (64K..16M, default 1M)\n"                  \
	"  --checksum crc32c|none   page checksums in the trailer (default crc32c)\n"        \
	"  --header mrengine|none   prepend mrengine's header (QEMU then needs offset=)\n"

#define MRE_PLAN_HELP_READ                                                                  \
	"  --no-verify          do not check page checksums while reading\n"

#define MRE_CLI_MAX_PARAMS 32

/* The parameters gathered so far; a later flag replaces an earlier one. */
struct mre_cli_params {
	struct mre_param p[MRE_CLI_MAX_PARAMS];
	unsigned n;
};

/* Add or replace a parameter by name; false when the list is full. */
bool mre_cli_param_set(struct mre_cli_params *o, struct mre_param p);

/*
 * Handle option @opt (its value @arg) for command @cmd, which accepts the
 * option groups @groups. Returns 1 if handled, 0 if @opt is not a plan
 * option, -1 on a usage error (already printed; exit with MRE_EXIT_USAGE).
 */
int mre_cli_plan_option(struct mre_cli_params *o, const char *cmd, unsigned groups, int opt,
			const char *arg);

/* The parameters as the engine takes them (valid while @o lives). */
static inline struct mre_facts_params mre_cli_params_view(struct mre_cli_params *o)
{
	return (struct mre_facts_params){ .n = o->n, .p = o->p };
}

#endif
