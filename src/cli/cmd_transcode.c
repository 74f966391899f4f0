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
#include "engine/engine.h"
#include "engine/transcode.h"
#include "util/size.h"

static const char compress_help[] =
	"Usage: mrengine compress [OPTIONS] INPUT OUTPUT\n"
	"Write INPUT (a mapped-ram image, plain or compressed) as mrengine's compressed\n"
	"variant: fixed-size chunks compressed independently, zero chunks as holes,\n"
	"incompressible chunks stored raw, a CRC per chunk, O(1) lookup of any page.\n"
	"QEMU cannot load the result; 'mrengine expand' turns it back.\n\n"
	"  --compress ALG       zstd (default), zstd:1..19, lz4\n"
	"  --chunk-size N       guest bytes per chunk, 64K..16M (default 1M)\n"
	"  --channels N         parallel channels (default 2)\n"
	"  --header mrengine|none\n"
	"  --offset N           INPUT's stream starts at byte N (default: found automatically)\n"
	"  --no-sync            skip the final fdatasync\n"
	"  -h, --help           show this help\n";

static const char expand_help[] =
	"Usage: mrengine expand [OPTIONS] INPUT OUTPUT\n"
	"Write INPUT (a compressed or plain image) as a plain mapped-ram image that\n"
	"QEMU >= 9.0 loads with the mapped-ram capability.\n\n"
	"  --channels N         parallel channels (default 2)\n"
	"  --direct-io on|off   O_DIRECT for page data\n"
	"  --checksum crc32c|none   page checksums in the trailer (default crc32c)\n"
	"  --offset N           INPUT's stream starts at byte N (default: found automatically)\n"
	"  --no-sync            skip the final fdatasync\n"
	"  -h, --help           show this help\n";

enum { OPT_COMPRESS = 0x4000, OPT_CHUNK, OPT_CHANNELS, OPT_HEADER, OPT_OFFSET, OPT_NO_SYNC, OPT_DIO,
       OPT_CHECKSUM };

static int run(const char *cmd, const char *help, bool compress, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "compress", required_argument, NULL, OPT_COMPRESS },
		{ "chunk-size", required_argument, NULL, OPT_CHUNK },
		{ "channels", required_argument, NULL, OPT_CHANNELS },
		{ "header", required_argument, NULL, OPT_HEADER },
		{ "offset", required_argument, NULL, OPT_OFFSET },
		{ "no-sync", no_argument, NULL, OPT_NO_SYNC },
		{ "direct-io", required_argument, NULL, OPT_DIO },
		{ "checksum", required_argument, NULL, OPT_CHECKSUM },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mre_param pv[8];
	struct mre_facts_params params = { .n = 0, .p = pv };
	struct mre_transcode_result res;
	struct mre_err err = MRE_ERR_INIT;
	uint64_t offset = MRE_OFFSET_AUTO, v;
	struct mre_imagefile in;
	struct mre_engine e;
	struct mre_plan plan;
	struct timespec t0, t1;
	int c, r;

	pv[params.n++] = (struct mre_param){ .name = "x-compression", .type = MRE_PARAM_STR,
					     .s = compress ? "zstd" : "none", .set = true };
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		struct mre_param p = { .set = true, .type = MRE_PARAM_STR, .s = optarg };

		switch (c) {
		case OPT_COMPRESS:
			if (!compress)
				return mre_cli_usage(cmd, "--compress is an option of compress");
			pv[0].s = optarg;
			continue;
		case OPT_CHUNK:
			if (!mre_cli_size(cmd, "--chunk-size", optarg, &v))
				return MRE_EXIT_USAGE;
			p = (struct mre_param){ .name = "x-chunk-size", .type = MRE_PARAM_INT, .i = (int64_t)v,
						.set = true };
			break;
		case OPT_CHANNELS:
			if (mre_parse_u64(optarg, &v) || !v || v > 256)
				return mre_cli_usage(cmd, "--channels expects 1..256, got '%s'", optarg);
			p = (struct mre_param){ .name = "multifd-channels", .type = MRE_PARAM_INT, .i = (int64_t)v,
						.set = true };
			break;
		case OPT_HEADER:
			p.name = "x-header";
			break;
		case OPT_CHECKSUM:
			p.name = "x-checksum";
			break;
		case OPT_DIO:
			p = (struct mre_param){ .name = "direct-io", .type = MRE_PARAM_BOOL, .b = !strcmp(optarg, "on"),
						.set = true };
			break;
		case OPT_NO_SYNC:
			p = (struct mre_param){ .name = "x-sync", .type = MRE_PARAM_BOOL, .b = false, .set = true };
			break;
		case OPT_OFFSET:
			if (!mre_cli_size(cmd, "--offset", optarg, &offset))
				return MRE_EXIT_USAGE;
			continue;
		case 'h':
			fputs(help, stdout);
			return MRE_EXIT_OK;
		default:
			return mre_cli_usage(cmd, "bad option");
		}
		pv[params.n++] = p;
	}
	if (optind + 2 != argc)
		return mre_cli_usage(cmd, "expected INPUT and OUTPUT");
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
