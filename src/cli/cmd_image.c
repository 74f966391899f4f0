/* SPDX-License-Identifier: MIT */
/* cmd_image.c: the read-only image commands: inspect, verify, extract. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/extract.h"
#include "engine/report.h"
#include "engine/verify.h"

static const char inspect_help[] =
	"Usage: mrengine inspect [--json] [--offset N] FILE\n"
	"Show the layout of a QEMU migration file (mapped-ram or sequential): stream\n"
	"offset, machine, capabilities, every section with its file offset, and for\n"
	"each RAM block its length, layout and how many pages hold data.\n\n"
	"  -j, --json        print JSON (schema in doc/format.md)\n"
	"  -o, --offset N    the stream starts at byte N (default: found automatically)\n"
	"  -h, --help        show this help\n";

static const char verify_help[] =
	"Usage: mrengine verify [--offset N] [--quiet] FILE\n"
	"Check a whole image: header, configuration, section framing and footers,\n"
	"RAM block layout inside the file, bitmaps, EOF and the VM description; for\n"
	"mrengine's images also the completion marker, the metadata checksum and\n"
	"every page's checksum (read in parallel). Exit status 0 only for a valid,\n"
	"complete file; otherwise 1 and the first problem with its offset (for\n"
	"corrupt data: the block and page range).\n\n"
	"  -o, --offset N    the stream starts at byte N (default: found automatically)\n"
	"  -q, --quiet       print nothing on success\n"
	"  -h, --help        show this help\n";

static const char extract_help[] =
	"Usage: mrengine extract [--offset N] FILE --block ID --output OUT\n"
	"Write the guest content of RAM block ID to OUT as a raw, sparse file of the\n"
	"block's length (pages without data read as zeros).\n\n"
	"  -b, --block ID    the RAM block (see 'mrengine inspect')\n"
	"  -O, --output OUT  the file to write\n"
	"  -o, --offset N    the stream starts at byte N (default: found automatically)\n"
	"  -h, --help        show this help\n";

struct image_opts {
	bool json, quiet;
	uint64_t offset;
	const char *block, *output, *file;
};

static int parse_opts(const char *cmd, const char *help, int argc, char **argv,
		      struct image_opts *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "offset", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "block", required_argument, NULL, 'b' },
		{ "output", required_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->offset = MRE_OFFSET_AUTO;
	optind = 1;
	while ((c = getopt_long(argc, argv, "jo:qb:O:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o->json = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'o':
			if (!mre_cli_size(cmd, "--offset", optarg, &o->offset))
				return -1;
			break;
		case 'b':
			o->block = optarg;
			break;
		case 'O':
			o->output = optarg;
			break;
		case 'h':
			fputs(help, stdout);
			return 1;
		default:
			mre_cli_usage(cmd, "bad option");
			return -1;
		}
	}
	if (optind + 1 != argc) {
		mre_cli_usage(cmd, optind == argc ? "missing FILE" : "expected exactly one FILE");
		return -1;
	}
	o->file = argv[optind];
	return 0;
}

#define PARSE(cmd, help)                                                   \
	do {                                                               \
		int pr = parse_opts(cmd, help, argc, argv, &o);            \
		if (pr)                                                    \
			return pr > 0 ? MRE_EXIT_OK : MRE_EXIT_USAGE;     \
	} while (0)

int mre_cmd_inspect(int argc, char **argv)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_imagefile f;
	struct image_opts o;

	PARSE("inspect", inspect_help);
	if (mre_imagefile_open(&f, o.file, -1, o.offset, 0, &err))
		return mre_cli_fail(&err);
	if (o.json) {
		struct mre_wbuf wb;

		mre_wbuf_init(&wb);
		mre_report_json(&f, &wb);
		mre_wbuf_u8(&wb, '\n');
		fwrite(wb.data, 1, wb.len, stdout);
		mre_wbuf_free(&wb);
	} else {
		mre_report_text(&f, stdout);
	}
	mre_imagefile_close(&f);
	return MRE_EXIT_OK;
}

int mre_cmd_verify(int argc, char **argv)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_verify_result res;
	struct mre_imagefile f;
	struct image_opts o;
	int r;

	PARSE("verify", verify_help);
	if (mre_imagefile_open(&f, o.file, -1, o.offset, 0, &err))
		return mre_cli_fail(&err);
	r = mre_verify(&f, NULL, &res, &err);
	if (!r && !o.quiet)
		printf("%s: OK (%s, %u RAM blocks, %s)\n", f.path,
		       f.img->compressed ? "mapped-ram, compressed" : f.img->mapped_ram ? "mapped-ram" : "sequential",
		       f.img->nblocks,
		       !res.has_checksums ? "no checksums"
		       : res.pages_checked ? "checksums of all pages verified" : "metadata checksum verified, no page checksums");
	mre_imagefile_close(&f);
	return r ? mre_cli_fail(&err) : MRE_EXIT_OK;
}

int mre_cmd_extract(int argc, char **argv)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_imagefile f;
	struct image_opts o;
	int r;

	PARSE("extract", extract_help);
	if (!o.block || !o.output)
		return mre_cli_usage("extract", "--block and --output are required");
	if (mre_imagefile_open(&f, o.file, -1, o.offset, 0, &err))
		return mre_cli_fail(&err);
	r = mre_extract_block(&f, o.block, o.output, &err);
	mre_imagefile_close(&f);
	return r ? mre_cli_fail(&err) : MRE_EXIT_OK;
}
