/* SPDX-License-Identifier: MIT */
/*
 * cmd_transcode.c: `mrengine compress` and `mrengine expand`: one image to
 * another with a different plan, through mre_transcode().
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/planopts.h"
#include "engine/engine.h"
#include "engine/transcode.h"
#include "util/size.h"

static const char compress_help[] =
	"Usage: mrengine compress [OPTIONS] INPUT OUTPUT\n"
	"Write INPUT (a mapped-ram image, plain or compressed) as mrengine's compressed\n"
	"variant: fixed-size chunks compressed independently, zero chunks as holes,\n"
	"incompressible chunks stored raw, a CRC per chunk, O(1) lookup of any page.\n"
	"QEMU cannot load the result; 'mrengine expand' turns it back.\n\n"
	MRE_PLAN_HELP_IO
	MRE_PLAN_HELP_WRITE
	"                       (--compress defaults to zstd here)\n"
	"  --offset N           INPUT's stream starts at byte N (default: found automatically)\n"
	"  -h, --help           show this help\n";

static const char expand_help[] =
	"Usage: mrengine expand [OPTIONS] INPUT OUTPUT\n"
	"Write INPUT (a compressed or plain image) as a plain mapped-ram image that\n"
	"QEMU >= 9.0 loads with the mapped-ram capability.\n\n"
	MRE_PLAN_HELP_IO
	MRE_PLAN_HELP_WRITE
	"                       (--compress is refused: expand writes plain images)\n"
	"  --offset N           INPUT's stream starts at byte N (default: found automatically)\n"
	"  -h, --help           show this help\n";

enum { OPT_OFFSET = 0x4000 };

static int run(const char *cmd, const char *help, bool compress, int argc, char **argv)
{
	static const struct option longopts[] = {
		MRE_PLAN_LONGOPTS,
		{ "offset", required_argument, NULL, OPT_OFFSET },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mre_cli_params cp = { .n = 0 };
	struct mre_facts_params params;
	struct mre_transcode_result res;
	struct mre_err err = MRE_ERR_INIT;
	uint64_t offset = MRE_OFFSET_AUTO;
	struct mre_imagefile in;
	struct mre_engine e;
	struct mre_plan plan;
	struct timespec t0, t1;
	int c, r;

	mre_cli_param_set(&cp, (struct mre_param){ .name = "x-compression", .type = MRE_PARAM_STR,
						   .s = compress ? "zstd" : "none", .set = true });
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int pr;

		if (c == MRE_OPT_COMPRESS && !compress)
			return mre_cli_usage(cmd, "expand writes plain images: --compress is an option of compress");
		pr = mre_cli_plan_option(&cp, cmd, MRE_PLANOPT_IO | MRE_PLANOPT_WRITE, c, optarg);
		if (pr < 0)
			return MRE_EXIT_USAGE;
		if (pr > 0)
			continue;
		switch (c) {
		case OPT_OFFSET:
			if (!mre_cli_size(cmd, "--offset", optarg, &offset))
				return MRE_EXIT_USAGE;
			break;
		case 'h':
			fputs(help, stdout);
			return MRE_EXIT_OK;
		default:
			return mre_cli_usage(cmd, "bad option");
		}
	}
	if (optind + 2 != argc)
		return mre_cli_usage(cmd, "expected INPUT and OUTPUT");
	params = mre_cli_params_view(&cp);
	if (mre_engine_init(&e, &err))
		return mre_cli_fail(&err);
	r = mre_engine_plan(&e, MRE_JOB_SAVE, NULL, &params, &plan, &err);
	mre_engine_destroy(&e);
	if (r)
		return mre_cli_fail(&err);
	if (mre_imagefile_open(&in, argv[optind], -1, offset, 0, &err)) {
		mre_plan_free(&plan);
		return mre_cli_fail(&err);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = mre_transcode(&in, &(struct mre_transcode_opts){ .plan = &plan, .path = argv[optind + 1],
							      .meta = plan.header_json },
			  &res, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	mre_imagefile_close(&in);
	mre_plan_free(&plan);
	if (r)
		return mre_cli_fail(&err);
	printf("%s: %" PRIu64 " pages (%" PRIu64 " with data) in %.2f s, %s I/O\n", cmd, res.pages, res.nonzero,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       mre_io_backend_name(res.backend));
	return MRE_EXIT_OK;
}

int mre_cmd_compress(int argc, char **argv)
{
	return run("compress", compress_help, true, argc, argv);
}

int mre_cmd_expand(int argc, char **argv)
{
	return run("expand", expand_help, false, argc, argv);
}
