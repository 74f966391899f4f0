/* SPDX-License-Identifier: MIT */
/*
 * cmd_bridge.c: the QEMU bridge on the command line: `mrengine ingest`
 * (a QEMU stream on stdin -> an image; QEMU's `migrate exec:` target),
 * `mrengine emit` (an image -> a QEMU stream on stdout; `migrate-incoming
 * exec:`) and `mrengine convert` (either direction between files). The
 * plan flags are the same as save's (planopts); the work is done by
 * mre_ingest() and mre_emit(). Standard output of emit is the stream, so
 * everything human goes to standard error: a progress line and a summary
 * when it is a terminal (or with --verbose), nothing with --quiet.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/planopts.h"
#include "engine/emit.h"
#include "engine/engine.h"
#include "engine/ingest.h"
#include "engine/uri.h"
#include "policy/policy.h"
#include "util/size.h"

#define MAX_RAM 64

static const char ingest_help[] =
	"Usage: mrengine ingest [OPTIONS] OUTPUT\n"
	"Read a QEMU migration stream (the sequential stream any QEMU >= 7.2 sends to\n"
	"exec:, fd: or a pipe) from standard input and write it as a mapped-ram image\n"
	"at OUTPUT (a path, or file:PATH[,offset=N]), which QEMU >= 9.0 loads with the\n"
	"mapped-ram capability. Pages go to their fixed place as they arrive; pages\n"
	"sent again replace their copy, so the image never exceeds the guest's RAM.\n"
	"As QEMU's target:  migrate \"exec:mrengine ingest /path/vm.img\"\n"
	"Exits 0 only once the image is complete and durable; QEMU's migration fails\n"
	"if the image cannot be written.\n\n"
	"  -i, --input FD|PATH  read the stream from descriptor FD or file PATH\n"
	"  --ram ID=PATH        block ID was skipped by x-ignore-shared (shared memory):\n"
	"                       read it from its backing file PATH; the image then loads\n"
	"                       without x-ignore-shared (repeatable)\n"
	"  --policy P           a Lua policy decides the plan (it sees the target and the\n"
	"                       host; the RAM blocks are known only from the stream)\n"
	MRE_PLAN_HELP_IO
	MRE_PLAN_HELP_WRITE
	"  -q, --quiet          no progress and no summary\n"
	"  -v, --verbose        the summary also when standard error is not a terminal\n"
	"  -h, --help           show this help\n";

static const char emit_help[] =
	"Usage: mrengine emit [OPTIONS] IMAGE\n"
	"Write IMAGE (a mapped-ram image, plain or compressed, any header) to standard\n"
	"output as the sequential migration stream QEMU itself would send, so that any\n"
	"QEMU >= 7.2 with the image's machine type loads it:\n"
	"  migrate-incoming \"exec:mrengine emit /path/vm.img\"\n"
	"Pages with data are sent once; zero pages are not sent (a destination started\n"
	"with -incoming has zeroed RAM).\n\n"
	"  --offset N           IMAGE's stream starts at byte N (default: found automatically)\n"
	"  --ignore-shared ID[=GPA]  the destination shares block ID (memory-backend-file,\n"
	"                       share=on, already restored, e.g. by 'restore --partial'):\n"
	"                       the stream says x-ignore-shared and sends none of its\n"
	"                       pages; GPA defaults to the one the image recorded\n"
	"  --zero-pages         send a ZERO record for every page without data (for a\n"
	"                       destination whose RAM is not fresh)\n"
	"  --policy P           a Lua policy decides the plan (its on_restore hook)\n"
	MRE_PLAN_HELP_IO
	MRE_PLAN_HELP_READ
	"  -q, --quiet          no progress and no summary\n"
	"  -v, --verbose        the summary also when standard error is not a terminal\n"
	"  -h, --help           show this help\n";

static const char convert_help[] =
	"Usage: mrengine convert [OPTIONS] INPUT OUTPUT\n"
	"Convert between QEMU's two file formats, offline:\n"
	"  a sequential stream (QEMU's file: or exec:cat > FILE)  ->  a mapped-ram image\n"
	"    (as 'mrengine ingest': the options of save apply)\n"
	"  a mapped-ram image (plain or compressed)  ->  a sequential stream file\n"
	"    (as 'mrengine emit')\n"
	"The direction follows from INPUT. OUTPUT appears only once complete.\n\n"
	"  --ram ID=PATH        (stream -> image) see 'mrengine ingest --help'\n"
	"  --ignore-shared ID[=GPA], --zero-pages   (image -> stream) see 'mrengine emit --help'\n"
	"  --offset N           INPUT's stream starts at byte N (default: found automatically)\n"
	MRE_PLAN_HELP_IO
	MRE_PLAN_HELP_WRITE
	MRE_PLAN_HELP_READ
	"  -q, --quiet          no progress and no summary\n"
	"  -v, --verbose        the summary also when standard error is not a terminal\n"
	"  -h, --help           show this help\n";

enum {
	OPT_INPUT = 0x5000,
	OPT_RAM,
	OPT_OFFSET,
	OPT_IGNORE_SHARED,
	OPT_ZERO_PAGES,
	OPT_POLICY,
};

struct bridge_opts {
	struct mre_cli_params params;
	const char *input;
	struct mre_ingest_ram ram[MAX_RAM];
	unsigned nram;
	struct mre_emit_shared shared[MAX_RAM];
	unsigned nshared;
	bool zero_pages;
	const char *policy;
	const char *offset;
	bool quiet;
	bool verbose;
	/* progress */
	bool tty;
	bool drawn;
	struct timespec t0;
};

static double elapsed(const struct bridge_opts *o)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - o->t0.tv_sec) + (double)(t.tv_nsec - o->t0.tv_nsec) / 1e9;
}

static void clear_line(struct bridge_opts *o)
{
	if (o->drawn)
		fprintf(stderr, "\r%*s\r", 79, "");
	o->drawn = false;
}

static void ingest_progress(void *ctx, const struct mre_ingest_progress *p)
{
	struct bridge_opts *o = ctx;
	char a[32], b[32];
	double s = elapsed(o);

	if (!o->tty)
		return;
	fprintf(stderr, "\ringest: %s read, RAM %s, %" PRIu64 " page records, %7.0f MB/s  [%s]   ",
		mre_fmt_size(p->stream_bytes, a, sizeof(a)), p->ram_total ? mre_fmt_size(p->ram_total, b, sizeof(b)) : "?",
		p->records, s > 0 ? (double)p->stream_bytes / s / 1e6 : 0.0, p->phase);
	o->drawn = true;
}

static void emit_progress(void *ctx, uint64_t bytes, uint64_t total)
{
	struct bridge_opts *o = ctx;
	char a[32], b[32];
	double s = elapsed(o);
	static double last;

	if (!o->tty || s - last < 0.2)
		return;
	last = s;
	fprintf(stderr, "\remit: %s written (RAM to send: %s)  %7.0f MB/s   ", mre_fmt_size(bytes, a, sizeof(a)),
		mre_fmt_size(total, b, sizeof(b)), s > 0 ? (double)bytes / s / 1e6 : 0.0);
	o->drawn = true;
}

/* ID=PATH */
static int parse_ram(const char *cmd, struct bridge_opts *o, char *arg)
{
	char *eq = strchr(arg, '=');

	if (!eq || eq == arg || !eq[1])
		return mre_cli_usage(cmd, "--ram expects ID=PATH, got '%s'", arg);
	if (o->nram == MAX_RAM)
		return mre_cli_usage(cmd, "at most %d --ram options", MAX_RAM);
	*eq = 0;
	o->ram[o->nram++] = (struct mre_ingest_ram){ .id = arg, .path = eq + 1 };
	return 0;
}

/* ID[=GPA] */
static int parse_shared(const char *cmd, struct bridge_opts *o, char *arg)
{
	char *eq = strchr(arg, '=');
	struct mre_emit_shared s = { .id = arg };

	if (eq) {
		*eq = 0;
		if (mre_parse_size(eq + 1, &s.gpa))
			return mre_cli_usage(cmd, "--ignore-shared %s=%s: the GPA is not a number", arg, eq + 1);
		s.has_gpa = true;
	}
	if (!*arg)
		return mre_cli_usage(cmd, "--ignore-shared expects ID[=GPA]");
	if (o->nshared == MAX_RAM)
		return mre_cli_usage(cmd, "at most %d --ignore-shared options", MAX_RAM);
	o->shared[o->nshared++] = s;
	return 0;
}

enum { CMD_INGEST, CMD_EMIT, CMD_CONVERT };

static int parse(int kind, const char *cmd, const char *help, int argc, char **argv, struct bridge_opts *o)
{
	static const struct option longopts[] = {
		MRE_PLAN_LONGOPTS,
		{ "input", required_argument, NULL, 'i' },
		{ "ram", required_argument, NULL, OPT_RAM },
		{ "offset", required_argument, NULL, OPT_OFFSET },
		{ "ignore-shared", required_argument, NULL, OPT_IGNORE_SHARED },
		{ "zero-pages", no_argument, NULL, OPT_ZERO_PAGES },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned groups = kind == CMD_INGEST ? MRE_PLANOPT_IO | MRE_PLANOPT_WRITE
			  : kind == CMD_EMIT ? MRE_PLANOPT_IO | MRE_PLANOPT_READ
			  : MRE_PLANOPT_IO | MRE_PLANOPT_WRITE | MRE_PLANOPT_READ;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "i:qvh", longopts, NULL)) != -1) {
		if (c == MRE_OPT_PREALLOC)
			return mre_cli_usage(cmd, "--prealloc needs to know every page before writing; a stream tells only as it goes");
		r = mre_cli_plan_option(&o->params, cmd, groups, c, optarg);
		if (r < 0)
			return MRE_EXIT_USAGE;
		if (r > 0)
			continue;
		switch (c) {
		case 'i':
			if (kind != CMD_INGEST)
				return mre_cli_usage(cmd, "--input is an option of ingest");
			o->input = optarg;
			break;
		case OPT_RAM:
			if (kind == CMD_EMIT)
				return mre_cli_usage(cmd, "--ram is an option of ingest and convert");
			if ((r = parse_ram(cmd, o, optarg)))
				return r;
			break;
		case OPT_OFFSET:
			if (kind == CMD_INGEST)
				return mre_cli_usage(cmd, "for ingest, give the offset in the URI: file:PATH,offset=N");
			o->offset = optarg;
			break;
		case OPT_IGNORE_SHARED:
			if (kind == CMD_INGEST)
				return mre_cli_usage(cmd, "--ignore-shared is an option of emit and convert");
			if ((r = parse_shared(cmd, o, optarg)))
				return r;
			break;
		case OPT_ZERO_PAGES:
			if (kind == CMD_INGEST)
				return mre_cli_usage(cmd, "--zero-pages is an option of emit and convert");
			o->zero_pages = true;
			break;
		case OPT_POLICY:
			o->policy = optarg;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			fputs(help, stdout);
			return -1;
		default:
			return mre_cli_usage(cmd, "bad option");
		}
	}
	if (optind + (kind == CMD_CONVERT ? 2 : 1) != argc)
		return mre_cli_usage(cmd, kind == CMD_INGEST ? "expected exactly one OUTPUT"
					  : kind == CMD_EMIT ? "expected exactly one IMAGE" : "expected INPUT and OUTPUT");
	o->tty = !o->quiet && isatty(2);
	clock_gettime(CLOCK_MONOTONIC, &o->t0);
	return 0;
}

/*
 * The plan: defaults, the flags, then the policy (--policy) -- which sees
 * the output's filesystem (ingest) or the image (emit) and the host, but
 * no RAM blocks: only the stream tells them. A reading job (emit) checks
 * checksums by default.
 */
static int make_plan(struct bridge_opts *o, enum mre_job_kind kind, const char *path, struct mre_plan *plan)
{
	struct mre_facts_params params = mre_cli_params_view(&o->params);
	struct mre_job_target target = { .path = path };
	struct mre_err err = MRE_ERR_INIT;
	struct mre_engine e;
	int r;

	if (mre_engine_init(&e, &err))
		return mre_cli_fail(&err);
	if (o->policy) {
		struct mre_policy *pol;

		if (mre_policy_load(o->policy, NULL, &pol, &err)) {
			mre_engine_destroy(&e);
			return mre_cli_fail(&err);
		}
		mre_engine_set_policy(&e, pol);
	}
	r = mre_engine_plan(&e, kind, &target, &params, plan, &err);
	mre_engine_destroy(&e);
	return r ? mre_cli_fail(&err) : 0;
}

static bool summary(const struct bridge_opts *o)
{
	return !o->quiet && (o->tty || o->verbose);
}

/* ---- ingest ------------------------------------------------------------------ */

static int run_ingest(struct bridge_opts *o, int fd, const char *source, const char *output)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_ingest_result res;
	struct mre_file_uri uri = { 0 };
	struct mre_plan plan;
	char a[32], b[32], c[32];
	int r;

	if (mre_file_uri_parse(output, &uri, &err))
		return mre_cli_fail(&err);
	if ((r = make_plan(o, MRE_JOB_SAVE, uri.path, &plan))) {
		mre_file_uri_free(&uri);
		return r;
	}
	r = mre_ingest(&(struct mre_ingest_opts){ .plan = &plan, .fd = fd, .source = source, .path = uri.path,
						  .offset = uri.offset, .ram = o->ram, .nram = o->nram,
						  .progress = ingest_progress, .progress_ctx = o },
		       &res, &err);
	clear_line(o);
	if (r) {
		mre_file_uri_free(&uri);
		mre_plan_free(&plan);
		return mre_cli_fail(&err);
	}
	if (summary(o))
		fprintf(stderr,
			"ingest: %s: %s stream (%s) -> %s in %.2f s: RAM %s in %u blocks, %u ram sections, "
			"%" PRIu64 " page / %" PRIu64 " zero / %" PRIu64 " xbzrle records (%" PRIu64 " re-sent), "
			"%" PRIu64 " pages with data%s, image %s allocated, %s, %s I/O, %u channel%s, direct-io %s%s\n",
			source, mre_fmt_size(res.stream_bytes, a, sizeof(a)), res.machine, uri.path, elapsed(o),
			mre_fmt_size(res.ram_total, b, sizeof(b)), res.nblocks, res.sections, res.page_records,
			res.zero_records, res.xbzrle_records, res.rewrites, res.present,
			res.shared_pages ? " (some from shared memory)" : "",
			mre_fmt_size(res.image_bytes, c, sizeof(c)),
			plan.compression == MRE_COMP_NONE ? "plain mapped-ram" : mre_compression_name(plan.compression),
			mre_io_backend_name(res.backend), plan.channels, plan.channels == 1 ? "" : "s",
			res.direct_io ? "on" : "off", res.kept_ignore_shared ? ", x-ignore-shared kept" : "");
	mre_file_uri_free(&uri);
	mre_plan_free(&plan);
	return MRE_EXIT_OK;
}

int mre_cmd_ingest(int argc, char **argv)
{
	struct bridge_opts *o = calloc(1, sizeof(*o));
	const char *source = "stdin";
	uint64_t v;
	int fd = 0, r;

	if (!o)
		return MRE_EXIT_FAIL;
	r = parse(CMD_INGEST, "ingest", ingest_help, argc, argv, o);
	if (r) {
		free(o);
		return r < 0 ? MRE_EXIT_OK : r;
	}
	if (o->input) {
		source = o->input;
		if (!mre_parse_u64(o->input, &v) && v <= 1024) {
			fd = (int)v;
			if (fcntl(fd, F_GETFD) < 0) {
				fprintf(stderr, "mrengine: --input %s: no such open descriptor\n", o->input);
				free(o);
				return MRE_EXIT_FAIL;
			}
		} else if ((fd = open(o->input, O_RDONLY | O_CLOEXEC)) < 0) {
			fprintf(stderr, "mrengine: cannot open '%s': %s\n", o->input, strerror(errno));
			free(o);
			return MRE_EXIT_FAIL;
		}
	} else if (isatty(0)) {
		free(o);
		return mre_cli_usage("ingest", "standard input is a terminal: pipe a QEMU migration stream into it");
	}
	r = run_ingest(o, fd, source, argv[optind]);
	if (o->input && fd > 2)
		close(fd);
	free(o);
	return r;
}

/* ---- emit ------------------------------------------------------------------------ */

static int open_image(struct bridge_opts *o, const char *path, struct mre_imagefile *in)
{
	struct mre_err err = MRE_ERR_INIT;
	uint64_t offset = MRE_OFFSET_AUTO;

	if (o->offset && !mre_cli_size("emit", "--offset", o->offset, &offset))
		return MRE_EXIT_USAGE;
	if (mre_imagefile_open(in, path, -1, offset, 0, &err))
		return mre_cli_fail(&err);
	return 0;
}

static int run_emit(struct bridge_opts *o, const char *path, const char *output)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_emit_result res;
	struct mre_imagefile in;
	struct mre_plan plan;
	struct mre_emit_opts eo;
	char a[32];
	int r;

	if ((r = make_plan(o, MRE_JOB_RESTORE, path, &plan)))
		return r;
	if ((r = open_image(o, path, &in))) {
		mre_plan_free(&plan);
		return r;
	}
	eo = (struct mre_emit_opts){
		.fd = 1,
		.channels = plan.channels,
		.backend = plan.io == MRE_PLAN_IO_THREADS ? MRE_IO_THREADS
			   : plan.io == MRE_PLAN_IO_URING ? MRE_IO_URING : MRE_IO_AUTO,
		.direct_io = plan.direct_io,
		.verify = plan.verify,
		.zero_pages = o->zero_pages,
		.shared = o->shared,
		.nshared = o->nshared,
		.progress = emit_progress,
		.progress_ctx = o,
	};
	if (output)
		r = mre_emit_file(&in, output, plan.sync == MRE_SYNC_FDATASYNC, &eo, &res, &err);
	else
		r = mre_emit(&in, &eo, &res, &err);
	clear_line(o);
	mre_imagefile_close(&in);
	mre_plan_free(&plan);
	if (r)
		return mre_cli_fail(&err);
	if (summary(o))
		fprintf(stderr,
			"emit: %s -> %s: %s in %.2f s, %" PRIu64 " pages%s%s, %s I/O, %u channel%s, direct-io %s, %s\n",
			path, output ? output : "stdout", mre_fmt_size(res.bytes, a, sizeof(a)), elapsed(o), res.pages,
			res.zero_records ? " (+ zero records)" : "",
			res.ignore_shared ? ", x-ignore-shared (shared blocks not sent)" : "",
			mre_io_backend_name(res.backend), plan.channels, plan.channels == 1 ? "" : "s",
			res.direct_io ? "on" : "off", res.verified ? "checksums verified" : "checksums NOT verified");
	return MRE_EXIT_OK;
}

int mre_cmd_emit(int argc, char **argv)
{
	struct bridge_opts *o = calloc(1, sizeof(*o));
	int r;

	if (!o)
		return MRE_EXIT_FAIL;
	r = parse(CMD_EMIT, "emit", emit_help, argc, argv, o);
	if (!r && isatty(1)) {
		free(o);
		return mre_cli_usage("emit", "standard output is a terminal: give it to QEMU (exec:) or a pipe");
	}
	/* a reader that goes away is an error to report, not a signal to die of */
	signal(SIGPIPE, SIG_IGN);
	if (!r)
		r = run_emit(o, argv[optind], NULL);
	else if (r < 0)
		r = MRE_EXIT_OK;
	free(o);
	return r;
}

/* ---- convert ----------------------------------------------------------------------- */

int mre_cmd_convert(int argc, char **argv)
{
	struct bridge_opts *o = calloc(1, sizeof(*o));
	struct mre_err err = MRE_ERR_INIT;
	const char *input, *output;
	uint64_t offset;
	bool mapped;
	int fd = -1, r;

	if (!o)
		return MRE_EXIT_FAIL;
	r = parse(CMD_CONVERT, "convert", convert_help, argc, argv, o);
	if (r) {
		free(o);
		return r < 0 ? MRE_EXIT_OK : r;
	}
	input = argv[optind];
	output = argv[optind + 1];
	if ((fd = open(input, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "mrengine: cannot open '%s': %s\n", input, strerror(errno));
		free(o);
		return MRE_EXIT_FAIL;
	}
	if (mre_ingest_probe(fd, input, &offset, &mapped, &err)) {
		r = mre_cli_fail(&err);
		goto out;
	}
	if (o->offset && !mre_cli_size("convert", "--offset", o->offset, &offset)) {
		r = MRE_EXIT_USAGE;
		goto out;
	}
	if (mapped) {
		if (o->nram) {
			r = mre_cli_usage("convert", "--ram applies to a stream being converted into an image; %s is an image",
					  input);
			goto out;
		}
		r = run_emit(o, input, output);
	} else {
		if (o->nshared || o->zero_pages) {
			r = mre_cli_usage("convert", "--ignore-shared and --zero-pages apply to an image being converted into a stream; %s is a stream",
					  input);
			goto out;
		}
		if (lseek(fd, (off_t)offset, SEEK_SET) < 0) {
			fprintf(stderr, "mrengine: %s: cannot seek to the stream at %" PRIu64 ": %s\n", input, offset,
				strerror(errno));
			r = MRE_EXIT_FAIL;
			goto out;
		}
		r = run_ingest(o, fd, input, output);
	}
out:
	close(fd);
	free(o);
	return r;
}
