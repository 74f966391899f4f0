/* SPDX-License-Identifier: MIT */
/*
 * cmd_demo.c: `mrengine demo` (the README's main job) and `mrengine
 * generate`. The demo builds a memfd-backed VM filled with a realistic page
 * mix, saves it, restores it into a fresh VM, checks the bytes and prints
 * the figures, using exactly the engine calls that save/restore use.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/planopts.h"
#include "cli/progress.h"
#include "engine/pattern.h"
#include "engine/verify.h"
#include "policy/policy.h"
#include "util/size.h"

static const char demo_help[] =
	"Usage: mrengine demo [--size N] [--mix Z,R,X] [--seed S] [--dir DIR] [OPTIONS]\n"
	"Create a memfd-backed VM filled with a realistic page mix, save it to a\n"
	"mapped-ram image, restore it into a fresh VM, verify the bytes, print figures.\n\n"
	"  --size N             RAM size (default 1G)\n"
	"  --mix Z,R,X          percent of zero, repeated-byte and random pages (default 33,33,34)\n"
	"  --seed S             pattern seed (default 1)\n"
	"  --dir DIR            where the image goes (default $TMPDIR or /var/tmp)\n"
	"Plan options, as save and restore take them (the default policy decides the rest):\n"
	MRE_PLAN_HELP_IO
	MRE_PLAN_HELP_WRITE
	MRE_PLAN_HELP_READ
	"  --keep               keep the image afterwards\n"
	"  -h, --help           show this help\n";

static const char generate_help[] =
	"Usage: mrengine generate --size N [--mix Z,R,X] [--seed S] [--sparse] OUTPUT\n"
	"Write a raw guest-RAM file with a deterministic page mix (for benchmarks and\n"
	"tests). Zero pages are written as zeros, like the freed memory of a running\n"
	"guest; with --sparse they are left as holes instead.\n\n"
	"  --size N      size (K, M, G suffixes)\n"
	"  --mix Z,R,X   percent of zero, repeated-byte and random pages (default 33,33,34)\n"
	"  --seed S      seed (default 1)\n"
	"  --sparse      leave zero pages as holes\n"
	"  -h, --help    show this help\n";

enum { OPT_SIZE = 0x3000, OPT_MIX, OPT_SEED, OPT_DIR, OPT_KEEP, OPT_SPARSE };

#define PAGE 4096u

static int fill_block(struct mre_ramblock *b, uint64_t seed, const struct mre_pattern_mix *mix,
		      struct mre_err *err)
{
	int r = mre_ramblock_map(b, true, err);

	if (r)
		return r;
	mre_pattern_fill(b->host, 0, b->size / PAGE, PAGE, seed, mix);
	b->created = false;
	return 0;
}

/* The demo's VM: one memfd block, and the shipped default policy when it
 * can be found (in ./policies or installed), else the built-in defaults. */
static int new_vm(struct mre_engine *e, uint64_t size, bool say, struct mre_err *err)
{
	struct mre_object_props p = { .qom_type = "memory-backend-memfd", .id = "pc.ram", .size = size };
	struct mre_policy *pol;
	int r = mre_engine_init(e, err);

	if (r)
		return r;
	if (!mre_policy_load("default", NULL, &pol, NULL)) {
		if (say)
			printf("demo: policy 'default' (%s)\n", mre_policy_path(pol));
		mre_engine_set_policy(e, pol);
	} else if (say) {
		printf("demo: no 'default' policy found: mrengine's built-in defaults\n");
	}
	return mre_vm_add_object(&e->vm, &p, NULL, err);
}

static int run_job(struct mre_engine *e, enum mre_job_kind kind, const char *path,
		   const struct mre_facts_params *params, const char *verb)
{
	struct mre_job_target t = { .path = path };
	struct mre_err err = MRE_ERR_INIT;

	if (mre_engine_start(e, kind, &t, params, &err))
		return mre_cli_fail(&err);
	return mre_cli_wait_job(e, verb, false);
}

int mre_cmd_demo(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "mix", required_argument, NULL, OPT_MIX },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "keep", no_argument, NULL, OPT_KEEP },
		MRE_PLAN_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mre_pattern_mix mix = { 33, 33, 34 };
	struct mre_err err = MRE_ERR_INIT;
	struct mre_cli_params cp = { .n = 0 };
	struct mre_facts_params params;
	struct mre_engine src, dst;
	uint64_t size = 1ULL << 30, seed = 1;
	const char *dir = getenv("TMPDIR");
	char *path = NULL, sz[32];
	bool keep = false;
	struct stat st;
	int c, r = MRE_EXIT_FAIL;

	if (!dir || !*dir)
		dir = "/var/tmp";
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int pr = mre_cli_plan_option(&cp, "demo", MRE_PLANOPT_IO | MRE_PLANOPT_WRITE | MRE_PLANOPT_READ, c,
					     optarg);

		if (pr < 0)
			return MRE_EXIT_USAGE;
		if (pr > 0)
			continue;
		switch (c) {
		case OPT_SIZE:
			if (!mre_cli_size("demo", "--size", optarg, &size))
				return MRE_EXIT_USAGE;
			if (!size || size % PAGE)
				return mre_cli_usage("demo", "--size must be a positive multiple of 4 KiB");
			break;
		case OPT_MIX:
			if (mre_pattern_parse_mix(optarg, &mix, &err))
				return mre_cli_usage("demo", "%s", err.msg);
			break;
		case OPT_SEED:
			if (mre_parse_u64(optarg, &seed))
				return mre_cli_usage("demo", "bad --seed '%s'", optarg);
			break;
		case OPT_DIR:
			dir = optarg;
			break;
		case OPT_KEEP:
			keep = true;
			break;
		case 'h':
			fputs(demo_help, stdout);
			return MRE_EXIT_OK;
		default:
			return mre_cli_usage("demo", "bad option");
		}
	}
	if (optind != argc)
		return mre_cli_usage("demo", "unexpected argument '%s'", argv[optind]);
	params = mre_cli_params_view(&cp);
	if (asprintf(&path, "%s/mrengine-demo-%d.img", dir, (int)getpid()) < 0)
		return MRE_EXIT_FAIL;

	printf("demo: a %s VM (memfd), pages %u%% zero / %u%% repeated-byte / %u%% random, seed %" PRIu64 "\n",
	       mre_fmt_size(size, sz, sizeof(sz)), mix.zero, mix.repeat, mix.random, seed);
	if (new_vm(&src, size, true, &err) || fill_block(src.vm.blocks[0], seed, &mix, &err)) {
		r = mre_cli_fail(&err);
		goto out_src;
	}
	printf("demo: saving to %s\n", path);
	if ((r = run_job(&src, MRE_JOB_SAVE, path, &params, "save")))
		goto out_src;
	if (!stat(path, &st))
		printf("demo: image is %s logical, %s allocated on disk\n",
		       mre_fmt_size((uint64_t)st.st_size, sz, sizeof(sz)),
		       mre_fmt_size((uint64_t)st.st_blocks * 512, (char[32]){ 0 }, 32));
	if (new_vm(&dst, size, false, &err)) {
		r = mre_cli_fail(&err);
		goto out_dst;
	}
	printf("demo: restoring into a fresh VM\n");
	if ((r = run_job(&dst, MRE_JOB_RESTORE, path, &params, "restore")))
		goto out_dst;
	if (memcmp(src.vm.blocks[0]->host, dst.vm.blocks[0]->host, size)) {
		fprintf(stderr, "mrengine: demo: the restored RAM differs from the original\n");
		r = MRE_EXIT_FAIL;
	} else {
		struct mre_imagefile f;
		struct mre_verify_result vr;

		if (mre_imagefile_open(&f, path, -1, MRE_OFFSET_AUTO, 0, &err) || mre_verify(&f, NULL, &vr, &err)) {
			r = mre_cli_fail(&err);
		} else {
			printf("demo: OK: restored RAM is byte-identical (%s), and the image verifies\n",
			       mre_fmt_size(size, sz, sizeof(sz)));
			r = MRE_EXIT_OK;
		}
		if (f.img || f.path)
			mre_imagefile_close(&f);
	}
out_dst:
	mre_engine_destroy(&dst);
out_src:
	mre_engine_destroy(&src);
	if (!keep)
		unlink(path);
	else
		printf("demo: image kept at %s\n", path);
	free(path);
	return r;
}

int mre_cmd_generate(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "mix", required_argument, NULL, OPT_MIX },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "sparse", no_argument, NULL, OPT_SPARSE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mre_pattern_mix mix = { 33, 33, 34 };
	struct mre_err err = MRE_ERR_INIT;
	bool sparse = false;
	uint64_t size = 0, seed = 1, chunk = 2048, zero[PAGE / 8] = { 0 };
	uint8_t *buf;
	int c, fd;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SIZE:
			if (!mre_cli_size("generate", "--size", optarg, &size))
				return MRE_EXIT_USAGE;
			break;
		case OPT_MIX:
			if (mre_pattern_parse_mix(optarg, &mix, &err))
				return mre_cli_usage("generate", "%s", err.msg);
			break;
		case OPT_SEED:
			if (mre_parse_u64(optarg, &seed))
				return mre_cli_usage("generate", "bad --seed '%s'", optarg);
			break;
		case OPT_SPARSE:
			sparse = true;
			break;
		case 'h':
			fputs(generate_help, stdout);
			return MRE_EXIT_OK;
		default:
			return mre_cli_usage("generate", "bad option");
		}
	}
	if (optind + 1 != argc)
		return mre_cli_usage("generate", "expected exactly one OUTPUT");
	if (!size || size % PAGE)
		return mre_cli_usage("generate", "--size must be a positive multiple of 4 KiB");
	fd = open(argv[optind], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		mre_err_sys(&err, -errno, "cannot create '%s'", argv[optind]);
		return mre_cli_fail(&err);
	}
	buf = malloc(chunk * PAGE);
	if (!buf || ftruncate(fd, (off_t)size)) {
		mre_err_sys(&err, buf ? -errno : -ENOMEM, "cannot size '%s'", argv[optind]);
		free(buf);
		close(fd);
		return mre_cli_fail(&err);
	}
	for (uint64_t p = 0; p < size / PAGE; p += chunk) {
		uint64_t n = size / PAGE - p < chunk ? size / PAGE - p : chunk;

		mre_pattern_fill(buf, p, n, PAGE, seed, &mix);
		for (uint64_t i = 0; i < n; i++) {
			/* dense: the whole chunk at once; sparse: data pages only */
			uint64_t len = sparse ? PAGE : n * PAGE;
			int r = 0;

			if (!sparse || memcmp(buf + i * PAGE, zero, PAGE))
				r = mre_pwrite_all(fd, buf + i * PAGE, len, (p + i) * PAGE);
			if (r) {
				mre_err_sys(&err, r, "writing '%s'", argv[optind]);
				free(buf);
				close(fd);
				return mre_cli_fail(&err);
			}
			if (!sparse)
				break;
		}
	}
	free(buf);
	if (close(fd)) {
		mre_err_sys(&err, -errno, "closing '%s'", argv[optind]);
		return mre_cli_fail(&err);
	}
	return MRE_EXIT_OK;
}
