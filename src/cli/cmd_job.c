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
#include "cli/planopts.h"
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
	MRE_VM_HELP_STREAM
	MRE_PLAN_HELP_IO
	MRE_PLAN_HELP_WRITE
	MRE_PLAN_HELP_PREALLOC
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
	"  --partial            restore only the VM's blocks; the image's other blocks are\n"
	"                       left out (e.g. the shared memory of an x-ignore-shared\n"
	"                       setup, whose other blocks come from 'mrengine emit')\n"
	MRE_PLAN_HELP_IO
	MRE_PLAN_HELP_READ
	"  -q, --quiet          no progress and no summary\n"
	"  -h, --help           show this help\n";

enum {
	OPT_OFFSET = 0x3000,
	OPT_PARTIAL,
	OPT_POLICY,
};

struct job_opts {
	struct mre_cli_params params;
	const char *uri;
	const char *offset;
	bool partial;
	bool quiet;
};

static int parse(const char *cmd, const char *help, bool save, int argc, char **argv,
		 struct mre_engine *e, struct job_opts *o)
{
	static const struct option longopts[] = {
		MRE_VM_LONGOPTS,
		MRE_PLAN_LONGOPTS,
		{ "output", required_argument, NULL, 'O' },
		{ "offset", required_argument, NULL, OPT_OFFSET },
		{ "partial", no_argument, NULL, OPT_PARTIAL },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned groups = MRE_PLANOPT_IO | (save ? MRE_PLANOPT_WRITE : MRE_PLANOPT_READ);
	int c;

	/* a save reads RAM that exists: a missing mem-path is a mistake */
	e->vm.existing_only = save;
	optind = 1;
	while ((c = getopt_long_only(argc, argv, "O:qh", longopts, NULL)) != -1) {
		int r;

		if (!save && MRE_VM_OPT_STREAM(c))
			return mre_cli_usage(cmd, "--%s is what a save writes into the stream: a restore takes it from the image",
					     c == MRE_OPT_UUID ? "uuid" : c == MRE_OPT_MACHINE ? "machine" : "device-state");
		r = mre_cli_vm_option(e, c, optarg);

		if (r < 0)
			return MRE_EXIT_FAIL;
		if (r > 0)
			continue;
		r = mre_cli_plan_option(&o->params, cmd, groups, c, optarg);
		if (r < 0)
			return MRE_EXIT_USAGE;
		if (r > 0)
			continue;
		switch (c) {
		case 'O':
			if (!save)
				return mre_cli_usage(cmd, "restore reads the image given as its argument; --output is for save");
			o->uri = optarg;
			break;
		case OPT_OFFSET:
			if (save)
				return mre_cli_usage(cmd, "for save, give the offset in the URI: --output file:PATH,offset=N");
			o->offset = optarg;
			break;
		case OPT_POLICY: {
			struct mre_err err = MRE_ERR_INIT;
			struct mre_policy *pol;

			if (mre_policy_load(optarg, NULL, &pol, &err))
				return mre_cli_fail(&err);
			mre_engine_set_policy(e, pol);
			break;
		}
		case OPT_PARTIAL:
			if (save)
				return mre_cli_usage(cmd, "--partial is an option of restore");
			o->partial = true;
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
					  .offset_given = uri.offset_given, .partial = o.partial };
	if (o.offset) {
		if (!mre_cli_size(cmd, "--offset", o.offset, &target.offset)) {
			r = MRE_EXIT_USAGE;
			goto out;
		}
		target.offset_given = true;
	}
	params = mre_cli_params_view(&o.params);
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
