/* SPDX-License-Identifier: MIT */
/*
 * cmd_job.c: `mrengine save` and `mrengine restore`. Flags become the
 * client's explicit parameters (QMP names) and go through the same
 * mre_engine_start() as a QMP migrate.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "cli/vmopts.h"
#include "engine/uri.h"
#include "policy/policy.h"
#include "util/size.h"

static const char save_help[] =
	"Usage: mrengine save -object ... --output FILE|file:PATH[,offset=N] [OPTIONS]\n"
	"Save the VM's RAM blocks to a mapped-ram file that QEMU >= 9.0 can load\n"
	"(migrate-incoming with the mapped-ram capability) and mrengine can restore.\n"
	"Zero pages are not written (the file is sparse). The file appears at its\n"
	"path only once it is complete and synced.\n\n"
	"  -O, --output URI     the file; with ,offset=N the stream starts at byte N and\n"
	"                       bytes before it are kept\n"
	"  --policy P           a Lua policy (path, or name in ./policies or the installed\n"
	"                       policies) decides the plan; the flags below are its input\n"
	MRE_VM_HELP
	"  --channels N         parallel channels (1..256; default 2)\n"
	"  --direct-io on|off   O_DIRECT for page data (default off)\n"
	"  --io auto|uring|threads   I/O backend (default auto: io_uring when available)\n"
	"  --no-sync            skip the final fdatasync (faster, not crash-safe)\n"
	"  --prealloc           reserve the space of every page with data before writing\n"
	"  --compress ALG       none (default: plain QEMU mapped-ram), zstd, zstd:1..19, lz4\n"
	"  --chunk-size N       compression chunk (64K..16M, default 1M)\n"
	"  --checksum crc32c|none   page checksums in the trailer (default crc32c)\n"
	"  --header mrengine|none   prepend mrengine's header (QEMU then needs offset=)\n"
	"  -q, --quiet          no progress and no summary\n"
	"  -h, --help           show this help\n";

static const char restore_help[] =
	"Usage: mrengine restore FILE|file:PATH[,offset=N] -object ... [OPTIONS]\n"
	"Restore RAM from a mapped-ram file (written by mrengine or QEMU) into the\n"
	"VM's RAM blocks: ids and sizes must match the image. A backing file that\n"
	"does not exist yet is created.\n\n"
	"  --policy P           a Lua policy decides the restore plan (its on_restore hook)\n"
	MRE_VM_HELP
	"  --offset N           the stream starts at byte N (default: found automatically)\n"
	"  --channels N         parallel channels (1..256; default 2)\n"
	"  --direct-io on|off   O_DIRECT for page data (default off)\n"
	"  --io auto|uring|threads   I/O backend (default auto)\n"
	"  --no-verify          do not check page checksums while reading\n"
	"  -q, --quiet          no progress and no summary\n"
	"  -h, --help           show this help\n";

enum {
	OPT_CHANNELS = 0x2000,
	OPT_DIRECT_IO,
	OPT_IO,
	OPT_NO_SYNC,
	OPT_OFFSET,
	OPT_COMPRESS,
	OPT_CHUNK_SIZE,
	OPT_CHECKSUM,
	OPT_HEADER,
	OPT_NO_VERIFY,
	OPT_PREALLOC,
	OPT_POLICY,
};

#define MAX_PARAMS 16

struct job_opts {
	struct mre_param params[MAX_PARAMS];
	unsigned nparams;
	const char *uri;
	const char *offset;
	bool quiet;
};

static void add_param(struct job_opts *o, struct mre_param p)
{
	for (unsigned i = 0; i < o->nparams; i++)
		if (!strcmp(o->params[i].name, p.name)) {
			o->params[i] = p;
			return;
		}
	o->params[o->nparams++] = p;
}

static int parse(const char *cmd, const char *help, bool save, int argc, char **argv,
		 struct mre_engine *e, struct job_opts *o)
{
	static const struct option longopts[] = {
		MRE_VM_LONGOPTS,
		{ "output", required_argument, NULL, 'O' },
		{ "channels", required_argument, NULL, OPT_CHANNELS },
		{ "direct-io", required_argument, NULL, OPT_DIRECT_IO },
		{ "io", required_argument, NULL, OPT_IO },
		{ "no-sync", no_argument, NULL, OPT_NO_SYNC },
		{ "offset", required_argument, NULL, OPT_OFFSET },
		{ "compress", required_argument, NULL, OPT_COMPRESS },
		{ "chunk-size", required_argument, NULL, OPT_CHUNK_SIZE },
		{ "checksum", required_argument, NULL, OPT_CHECKSUM },
		{ "header", required_argument, NULL, OPT_HEADER },
		{ "no-verify", no_argument, NULL, OPT_NO_VERIFY },
		{ "prealloc", no_argument, NULL, OPT_PREALLOC },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long_only(argc, argv, "O:qh", longopts, NULL)) != -1) {
		int r = mre_cli_vm_option(e, c, optarg);
		uint64_t v;

		if (r < 0)
			return MRE_EXIT_FAIL;
		if (r > 0)
			continue;
		switch (c) {
		case 'O':
			if (!save)
				return mre_cli_usage(cmd, "restore reads the image given as its argument; --output is for save");
			o->uri = optarg;
			break;
		case OPT_CHANNELS:
			if (mre_parse_u64(optarg, &v) || v < 1 || v > 256)
				return mre_cli_usage(cmd, "--channels expects 1..256, got '%s'", optarg);
			add_param(o, (struct mre_param){ .name = "multifd-channels", .type = MRE_PARAM_INT,
							 .i = (int64_t)v, .set = true });
			break;
		case OPT_DIRECT_IO:
			if (strcmp(optarg, "on") && strcmp(optarg, "off"))
				return mre_cli_usage(cmd, "--direct-io expects on or off, got '%s'", optarg);
			add_param(o, (struct mre_param){ .name = "direct-io", .type = MRE_PARAM_BOOL,
							 .b = !strcmp(optarg, "on"), .set = true });
			break;
		case OPT_IO:
			if (strcmp(optarg, "auto") && strcmp(optarg, "uring") && strcmp(optarg, "threads"))
				return mre_cli_usage(cmd, "--io expects auto, uring or threads, got '%s'", optarg);
			add_param(o, (struct mre_param){ .name = "x-io", .type = MRE_PARAM_STR, .s = optarg,
							 .set = true });
			break;
		case OPT_NO_SYNC:
			add_param(o, (struct mre_param){ .name = "x-sync", .type = MRE_PARAM_BOOL, .b = false,
							 .set = true });
			break;
		case OPT_COMPRESS:
		case OPT_CHECKSUM:
		case OPT_HEADER:
			if (!save)
				return mre_cli_usage(cmd, "%s is an option of save", argv[optind - 1]);
			add_param(o, (struct mre_param){ .name = c == OPT_COMPRESS ? "x-compression"
							       : c == OPT_CHECKSUM ? "x-checksum" : "x-header",
							 .type = MRE_PARAM_STR, .s = optarg, .set = true });
			break;
		case OPT_CHUNK_SIZE:
			if (!mre_cli_size(cmd, "--chunk-size", optarg, &v))
				return MRE_EXIT_USAGE;
			add_param(o, (struct mre_param){ .name = "x-chunk-size", .type = MRE_PARAM_INT,
							 .i = (int64_t)v, .set = true });
			break;
		case OPT_POLICY: {
			struct mre_err err = MRE_ERR_INIT;
			struct mre_policy *pol;

			if (mre_policy_load(optarg, NULL, &pol, &err))
				return mre_cli_fail(&err);
			mre_engine_set_policy(e, pol);
			break;
		}
		case OPT_PREALLOC:
			add_param(o, (struct mre_param){ .name = "x-prealloc", .type = MRE_PARAM_BOOL, .b = true,
							 .set = true });
			break;
		case OPT_NO_VERIFY:
			add_param(o, (struct mre_param){ .name = "x-verify", .type = MRE_PARAM_BOOL, .b = false,
							 .set = true });
			break;
		case OPT_OFFSET:
			if (save)
				return mre_cli_usage(cmd, "for save, give the offset in the URI: --output file:PATH,offset=N");
			o->offset = optarg;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			fputs(help, stdout);
			return -1;
		default:
			return mre_cli_usage(cmd, "bad option");
		}
	}
	if (!save) {
		if (optind + 1 != argc)
			return mre_cli_usage(cmd, optind == argc ? "missing FILE" : "expected exactly one FILE");
		o->uri = argv[optind];
	} else if (optind != argc) {
		return mre_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
	}
	if (!o->uri)
		return mre_cli_usage(cmd, "--output is required");
	if (!e->vm.nblocks)
		return mre_cli_usage(cmd, "no RAM blocks: define them with -object");
	return 0;
}

static int run(enum mre_job_kind kind, int argc, char **argv)
{
	bool save = kind == MRE_JOB_SAVE;
	const char *cmd = save ? "save" : "restore";
	struct mre_err err = MRE_ERR_INIT;
	struct mre_facts_params params;
	struct mre_job_target target;
	struct mre_file_uri uri = { 0 };
	struct job_opts o;
	struct mre_engine e;
	int r;

	memset(&o, 0, sizeof(o));
	if (mre_engine_init(&e, &err))
		return mre_cli_fail(&err);
	r = parse(cmd, save ? save_help : restore_help, save, argc, argv, &e, &o);
	if (r) {
		mre_engine_destroy(&e);
		return r < 0 ? MRE_EXIT_OK : r;
	}
	if (mre_file_uri_parse(o.uri, &uri, &err)) {
		mre_engine_destroy(&e);
		return mre_cli_fail(&err);
	}
	target = (struct mre_job_target){ .path = uri.path, .offset = uri.offset,
					  .offset_given = uri.offset_given };
	if (o.offset) {
		if (!mre_cli_size(cmd, "--offset", o.offset, &target.offset)) {
			r = MRE_EXIT_USAGE;
			goto out;
		}
		target.offset_given = true;
	}
	params = (struct mre_facts_params){ .n = o.nparams, .p = o.params };
	if (mre_engine_start(&e, kind, &target, &params, &err)) {
		r = mre_cli_fail(&err);
		goto out;
	}
	r = mre_cli_wait_job(&e, cmd, o.quiet);
out:
	mre_file_uri_free(&uri);
	mre_engine_destroy(&e);
	return r;
}

int mre_cmd_save(int argc, char **argv)
{
	return run(MRE_JOB_SAVE, argc, argv);
}

int mre_cmd_restore(int argc, char **argv)
{
	return run(MRE_JOB_RESTORE, argc, argv);
}
