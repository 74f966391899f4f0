/* SPDX-License-Identifier: MIT */
/*
 * cmd_policy.c: `mrengine policy-check`: show the plan a policy would
 * produce for a described VM and target, and what each hook cost, without
 * saving anything. The VM comes from the same options as `save`; facts are
 * gathered for real (host, target, a sample of the VM's pages); the plan
 * starts from the engine's defaults and the client parameters given, then
 * the policy's hook decides. Writes nothing but its report.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/planopts.h"
#include "cli/vmopts.h"
#include "engine/facts.h"
#include "policy/policy.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/size.h"

static const char help[] =
	"Usage: mrengine policy-check POLICY [-object ...] [OPTIONS]\n"
	"Run POLICY's hooks for a described VM and target and print the plan it\n"
	"produces and what each hook cost (instructions, microseconds). Nothing is\n"
	"saved or written. POLICY is a file (path, or NAME.lua) or a bare name looked\n"
	"up in ./policies and " MRE_POLICYDIR ".\n"
	"on_save (or on_restore with --restore) decides the plan; on_progress and\n"
	"on_complete, when present, are called once with a made-up half-way progress\n"
	"report and a successful result so their cost shows too.\n\n"
	MRE_VM_HELP
	MRE_VM_HELP_STREAM
	"  --target PATH        where the image would be written (default: the current\n"
	"                       directory); its filesystem, O_DIRECT support, free space\n"
	"                       and disk type are what the policy sees\n"
	"  --restore IMAGE      check on_restore against an existing image instead\n"
	"Client parameters, as save and restore take them:\n"
	MRE_PLAN_HELP_IO
	MRE_PLAN_HELP_WRITE
	MRE_PLAN_HELP_PREALLOC
	MRE_PLAN_HELP_READ
	"  --max-bandwidth N    client parameter max-bandwidth (bytes/s; K, M, G)\n"
	"  --param NAME=VALUE   any other client parameter (true/false, a number or text)\n"
	"  --capability NAME=on|off   a migration capability set by the client\n"
	"  -j, --json           print JSON\n"
	"  -h, --help           show this help\n";

enum {
	OPT_TARGET = 0x3000,
	OPT_RESTORE,
	OPT_MAX_BW,
	OPT_PARAM,
	OPT_CAP,
};

struct check_opts {
	const char *policy, *target, *restore;
	bool json;
	struct mre_cli_params params;
};

/* NAME=VALUE: booleans, then integers (sizes allowed), else text. The
 * name and value point into argv (NAME's '=' is overwritten). */
static bool parse_param(char *arg, bool capability, struct mre_param *p)
{
	char *eq = strchr(arg, '=');
	uint64_t v;

	if (!eq || eq == arg)
		return false;
	*eq = 0;
	memset(p, 0, sizeof(*p));
	p->name = arg;
	p->set = true;
	p->capability = capability;
	eq++;
	if (!strcmp(eq, "on") || !strcmp(eq, "true") || !strcmp(eq, "off") || !strcmp(eq, "false")) {
		p->type = MRE_PARAM_BOOL;
		p->b = !strcmp(eq, "on") || !strcmp(eq, "true");
		return true;
	}
	if (capability)
		return false;
	if (!mre_parse_size(eq, &v) && v <= INT64_MAX) {
		p->type = MRE_PARAM_INT;
		p->i = (int64_t)v;
		return true;
	}
	p->type = MRE_PARAM_STR;
	p->s = eq;
	return true;
}

static int parse(int argc, char **argv, struct mre_engine *e, struct check_opts *o)
{
	static const char *cmd = "policy-check";
	static const struct option longopts[] = {
		MRE_VM_LONGOPTS,
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "restore", required_argument, NULL, OPT_RESTORE },
		MRE_PLAN_LONGOPTS,
		{ "max-bandwidth", required_argument, NULL, OPT_MAX_BW },
		{ "param", required_argument, NULL, OPT_PARAM },
		{ "capability", required_argument, NULL, OPT_CAP },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mre_param p;
	uint64_t v;
	int c;

	optind = 1;
	while ((c = getopt_long_only(argc, argv, "jh", longopts, NULL)) != -1) {
		int r = mre_cli_vm_option(e, c, optarg);

		if (r < 0)
			return MRE_EXIT_FAIL;
		if (r > 0)
			continue;
		r = mre_cli_plan_option(&o->params, cmd, MRE_PLANOPT_IO | MRE_PLANOPT_WRITE | MRE_PLANOPT_READ, c,
					optarg);
		if (r < 0)
			return MRE_EXIT_USAGE;
		if (r > 0)
			continue;
		switch (c) {
		case OPT_TARGET:
			o->target = optarg;
			break;
		case OPT_RESTORE:
			o->restore = optarg;
			break;
		case OPT_MAX_BW:
			if (!mre_cli_size(cmd, "--max-bandwidth", optarg, &v))
				return MRE_EXIT_USAGE;
			mre_cli_param_set(&o->params, (struct mre_param){ .name = "max-bandwidth",
									  .type = MRE_PARAM_INT, .i = (int64_t)v,
									  .set = true });
			break;
		case OPT_PARAM:
		case OPT_CAP:
			if (!parse_param(optarg, c == OPT_CAP, &p))
				return mre_cli_usage(cmd, "%s expects NAME=%s, got '%s'",
						     c == OPT_CAP ? "--capability" : "--param",
						     c == OPT_CAP ? "on|off" : "VALUE", optarg);
			if (!mre_cli_param_set(&o->params, p))
				return mre_cli_usage(cmd, "too many parameters (at most %d)", MRE_CLI_MAX_PARAMS);
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			fputs(help, stdout);
			return -1;
		default:
			return mre_cli_usage(cmd, "bad option");
		}
	}
	if (optind + 1 != argc)
		return mre_cli_usage(cmd, optind == argc ? "missing POLICY" : "expected exactly one POLICY");
	o->policy = argv[optind];
	if (o->restore && o->target)
		return mre_cli_usage(cmd, "--target is for a save; --restore checks on_restore");
	return 0;
}

struct report {
	struct mre_policy *pol;
	struct mre_host_facts host;
	struct mre_target_facts target;
	struct mre_vm_facts vm;
	struct mre_image_facts image;
	bool restore;
	struct mre_plan plan;
	bool have_bw;
	uint64_t bw;
};

static void json_facts(struct report *r, struct mre_jsonw *j)
{
	const struct mre_facts_vm *vm = &r->vm.f;

	mre_jsonw_key(j, "facts");
	mre_jsonw_obj_begin(j);
	mre_jsonw_key(j, "vm");
	mre_jsonw_obj_begin(j);
	mre_jsonw_kstr(j, "name", vm->name);
	mre_jsonw_kstr(j, "uuid", vm->uuid);
	mre_jsonw_key(j, "labels");
	mre_jsonw_obj_begin(j);
	for (unsigned i = 0; i < vm->nlabels; i++)
		mre_jsonw_kstr(j, vm->label_keys[i], vm->label_values[i]);
	mre_jsonw_obj_end(j);
	mre_jsonw_ku64(j, "ram_bytes", vm->ram_bytes);
	mre_jsonw_key(j, "blocks");
	mre_jsonw_arr_begin(j);
	for (unsigned i = 0; i < vm->nblocks; i++) {
		mre_jsonw_obj_begin(j);
		mre_jsonw_kstr(j, "id", vm->blocks[i].id);
		mre_jsonw_ku64(j, "size", vm->blocks[i].size);
		mre_jsonw_ku64(j, "page_size", vm->blocks[i].page_size);
		mre_jsonw_kstr(j, "backing", vm->blocks[i].backing);
		mre_jsonw_obj_end(j);
	}
	mre_jsonw_arr_end(j);
	mre_jsonw_kbool(j, "running", vm->running);
	mre_jsonw_key(j, "zero_ratio");
	mre_jsonw_double(j, vm->zero_ratio);
	mre_jsonw_key(j, "sample_compress_ratio");
	mre_jsonw_double(j, vm->sample_compress_ratio);
	mre_jsonw_ku64(j, "sampled_pages", r->vm.sampled_pages);
	mre_jsonw_ku64(j, "sample_usec", r->vm.sample_usec);
	mre_jsonw_obj_end(j);
	if (r->restore) {
		const struct mre_facts_image *im = &r->image.f;

		mre_jsonw_key(j, "image");
		mre_jsonw_obj_begin(j);
		mre_jsonw_kstr(j, "path", im->path);
		mre_jsonw_kstr(j, "format", im->format);
		mre_jsonw_kstr(j, "compression", im->compression);
		mre_jsonw_kstr(j, "header", im->header);
		mre_jsonw_kbool(j, "checksums", im->checksums);
		mre_jsonw_ku64(j, "page_size", im->page_size);
		mre_jsonw_ku64(j, "ram_bytes", im->ram_bytes);
		mre_jsonw_ku64(j, "present_bytes", im->present_bytes);
		mre_jsonw_ku64(j, "blocks", im->nblocks);
		mre_jsonw_obj_end(j);
	} else {
		const struct mre_facts_target *t = &r->target.f;

		mre_jsonw_key(j, "target");
		mre_jsonw_obj_begin(j);
		mre_jsonw_kstr(j, "kind", t->kind);
		mre_jsonw_kstr(j, "path", t->path);
		mre_jsonw_kstr(j, "fs_type", t->fs_type);
		mre_jsonw_kbool(j, "direct_io", t->direct_io);
		mre_jsonw_ku64(j, "dio_align", t->dio_align);
		mre_jsonw_ku64(j, "free_bytes", t->free_bytes);
		mre_jsonw_kbool(j, "rotational", t->rotational);
		mre_jsonw_obj_end(j);
	}
	mre_jsonw_key(j, "host");
	mre_jsonw_obj_begin(j);
	mre_jsonw_ku64(j, "cpus", r->host.f.cpus);
	mre_jsonw_ku64(j, "mem_free", r->host.f.mem_free);
	mre_jsonw_kbool(j, "io_uring", r->host.f.io_uring);
	mre_jsonw_obj_end(j);
	mre_jsonw_obj_end(j);
}

static void print_json(struct report *r)
{
	struct mre_wbuf wb;
	struct mre_jsonw j;
	uint64_t insn, us;

	mre_wbuf_init(&wb);
	mre_jsonw_init(&j, &wb);
	mre_jsonw_obj_begin(&j);
	mre_jsonw_key(&j, "policy");
	mre_jsonw_obj_begin(&j);
	mre_jsonw_kstr(&j, "name", mre_policy_name(r->pol));
	mre_jsonw_kstr(&j, "path", mre_policy_path(r->pol));
	mre_jsonw_key(&j, "hooks");
	mre_jsonw_arr_begin(&j);
	for (int h = 0; h < MRE_HOOK__COUNT; h++)
		if (mre_policy_has_hook(r->pol, h))
			mre_jsonw_str(&j, mre_hook_name(h));
	mre_jsonw_arr_end(&j);
	mre_jsonw_obj_end(&j);
	mre_jsonw_kstr(&j, "hook", r->restore ? "on_restore" : "on_save");
	json_facts(r, &j);
	mre_jsonw_key(&j, "plan");
	mre_plan_json(&r->plan, &j);
	mre_jsonw_key(&j, "progress_max_bandwidth");
	if (r->have_bw)
		mre_jsonw_u64(&j, r->bw);
	else
		mre_jsonw_null(&j);
	mre_jsonw_key(&j, "cost");
	mre_jsonw_obj_begin(&j);
	for (int h = 0; h < MRE_HOOK__COUNT; h++) {
		if (!mre_policy_has_hook(r->pol, h) ||
		    (h == MRE_HOOK_SAVE && r->restore) || (h == MRE_HOOK_RESTORE && !r->restore))
			continue;
		mre_policy_last_cost(r->pol, h, &insn, &us);
		mre_jsonw_key(&j, mre_hook_name(h));
		mre_jsonw_obj_begin(&j);
		mre_jsonw_ku64(&j, "instructions", insn);
		mre_jsonw_ku64(&j, "usec", us);
		mre_jsonw_obj_end(&j);
	}
	mre_jsonw_obj_end(&j);
	mre_jsonw_obj_end(&j);
	mre_wbuf_u8(&wb, '\n');
	fwrite(wb.data, 1, wb.len, stdout);
	mre_wbuf_free(&wb);
}

static const char *yes(bool b)
{
	return b ? "yes" : "no";
}

static void print_text(struct report *r)
{
	const struct mre_facts_vm *vm = &r->vm.f;
	const struct mre_plan *p = &r->plan;
	char a[32], b[32];
	uint64_t insn, us;
	bool any = false;

	printf("policy   %s (%s)\n", mre_policy_name(r->pol), mre_policy_path(r->pol));
	printf("hooks   ");
	for (int h = 0; h < MRE_HOOK__COUNT; h++)
		if (mre_policy_has_hook(r->pol, h)) {
			printf(" %s", mre_hook_name(h));
			any = true;
		}
	printf("%s\n\nfacts\n", any ? "" : " (none)");
	printf("  vm       %s%s%s, %u block%s, %s RAM, %s, labels:", vm->name[0] ? vm->name : "(unnamed)",
	       vm->uuid[0] ? " " : "", vm->uuid, vm->nblocks, vm->nblocks == 1 ? "" : "s",
	       mre_fmt_size(vm->ram_bytes, a, sizeof(a)), vm->running ? "running" : "paused");
	for (unsigned i = 0; i < vm->nlabels; i++)
		printf(" %s=%s", vm->label_keys[i], vm->label_values[i]);
	printf("%s\n", vm->nlabels ? "" : " none");
	printf("  sample   %u pages in %llu us: %.0f%% zero, compressed to %.2f of the non-zero data\n",
	       r->vm.sampled_pages, (unsigned long long)r->vm.sample_usec, vm->zero_ratio * 100,
	       vm->sample_compress_ratio);
	if (r->restore) {
		const struct mre_facts_image *im = &r->image.f;

		printf("  image    %s: %s, %u block%s, %s RAM, %s with data, header %s\n", im->path,
		       im->format, im->nblocks, im->nblocks == 1 ? "" : "s",
		       mre_fmt_size(im->ram_bytes, a, sizeof(a)),
		       mre_fmt_size(im->present_bytes, b, sizeof(b)), im->header);
	} else {
		const struct mre_facts_target *t = &r->target.f;

		printf("  target   %s (%s): direct-io %s", t->path, t->fs_type, yes(t->direct_io));
		if (t->direct_io)
			printf(" (alignment %u)", t->dio_align);
		printf(", %s free, rotational %s\n", mre_fmt_size(t->free_bytes, a, sizeof(a)),
		       yes(t->rotational));
	}
	printf("  host     %u CPU%s, %s available, io_uring %s\n", r->host.f.cpus,
	       r->host.f.cpus == 1 ? "" : "s", mre_fmt_size(r->host.f.mem_free, a, sizeof(a)),
	       yes(r->host.f.io_uring));

	printf("\nplan (%s)\n", r->restore ? "on_restore" : "on_save");
	printf("  %-20s %u\n", "channels", p->channels);
	printf("  %-20s %s\n", "io", mre_plan_io_name(p->io));
	printf("  %-20s %s%s\n", "direct_io", yes(p->direct_io),
	       p->direct_io_fallback ? " (buffered if refused)" : "");
	if (r->restore) {
		printf("  %-20s %s\n", "verify", yes(p->verify));
	} else {
		printf("  %-20s %s\n", "alignment", mre_fmt_size(p->alignment, a, sizeof(a)));
		if (p->compression == MRE_COMP_ZSTD && p->level)
			printf("  %-20s zstd:%d\n", "compression", p->level);
		else
			printf("  %-20s %s\n", "compression", mre_compression_name(p->compression));
		if (p->compression != MRE_COMP_NONE)
			printf("  %-20s %s\n", "chunk_size", mre_fmt_size(p->chunk_size, a, sizeof(a)));
		if (p->max_bandwidth)
			printf("  %-20s %s/s\n", "max_bandwidth", mre_fmt_size(p->max_bandwidth, a, sizeof(a)));
		else
			printf("  %-20s unlimited\n", "max_bandwidth");
		printf("  %-20s %s\n", "checksum", p->checksum == MRE_CSUM_CRC32C ? "crc32c" : "none");
		printf("  %-20s %s\n", "sync", p->sync == MRE_SYNC_FDATASYNC ? "fdatasync" : "none");
		printf("  %-20s %s\n", "prealloc", yes(p->prealloc));
		switch (p->header) {
		case MRE_PLAN_HEADER_NONE:
			printf("  %-20s none\n", "header");
			break;
		case MRE_PLAN_HEADER_MRENGINE:
			printf("  %-20s json %s\n", "header", p->header_json ? p->header_json : "");
			break;
		case MRE_PLAN_HEADER_LIBVIRT:
			printf("  %-20s libvirt, %zu bytes of domain XML\n", "header",
			       p->header_xml ? strlen(p->header_xml) : 0);
			break;
		case MRE_PLAN_HEADER_RAW:
			printf("  %-20s raw, %zu bytes\n", "header", p->header_raw_len);
			break;
		}
	}
	if (r->have_bw)
		printf("  %-20s %s/s (from on_progress)\n", "progress throttle",
		       mre_fmt_size(r->bw, a, sizeof(a)));

	printf("\ncost\n");
	any = false;
	for (int h = 0; h < MRE_HOOK__COUNT; h++) {
		if (!mre_policy_has_hook(r->pol, h) ||
		    (h == MRE_HOOK_SAVE && r->restore) || (h == MRE_HOOK_RESTORE && !r->restore))
			continue;
		mre_policy_last_cost(r->pol, h, &insn, &us);
		printf("  %-20s %llu instructions, %llu us\n", mre_hook_name(h),
		       (unsigned long long)insn, (unsigned long long)us);
		any = true;
	}
	if (!any)
		printf("  (no hook ran: the plan is the engine's defaults)\n");
}

static int check(struct mre_engine *e, struct check_opts *o, struct report *r,
		 struct mre_err *err)
{
	struct mre_facts_params params = mre_cli_params_view(&o->params);
	struct mre_job_target target = { 0 };
	struct mre_facts_stats stats;
	struct mre_facts_result result;
	int rc;

	if ((rc = mre_policy_load(o->policy, NULL, &r->pol, err)))
		return rc;
	mre_engine_set_policy(e, r->pol);  /* the engine owns it from here */
	mre_facts_host(&r->host);
	if ((rc = mre_facts_vm(&r->vm, &e->vm, true, err)))
		return rc;
	r->restore = o->restore != NULL;
	if (r->restore) {
		if ((rc = mre_facts_image(&r->image, o->restore, err)))
			return rc;
		target.path = o->restore;
	} else {
		target.path = o->target ? o->target : ".";
		if ((rc = mre_facts_target_path(&r->target, target.path, err)))
			return rc;
	}
	/* the engine's own path: defaults, the client's parameters, the policy */
	if ((rc = mre_engine_plan(e, r->restore ? MRE_JOB_RESTORE : MRE_JOB_SAVE, &target, &params,
				  &r->plan, err)))
		return rc;
	stats = (struct mre_facts_stats){
		.status = "active", .total = r->vm.f.ram_bytes, .transferred = r->vm.f.ram_bytes / 2,
		.remaining = r->vm.f.ram_bytes - r->vm.f.ram_bytes / 2, .elapsed_ms = 1000,
		.mbps = (double)r->vm.f.ram_bytes / 2 * 8 / 1e6,
	};
	rc = mre_policy_on_progress(r->pol, &stats, &r->bw, err);
	if (rc < 0)
		return rc;
	r->have_bw = rc > 0;
	result = (struct mre_facts_result){
		.status = "completed", .error = "", .kind = r->restore ? "restore" : "save",
		.bytes = r->vm.f.ram_bytes, .duration_ms = 2000,
		.mbps = (double)r->vm.f.ram_bytes * 8 / 2e6,
	};
	return mre_policy_on_complete(r->pol, &result, err);
}

int mre_cmd_policy_check(int argc, char **argv)
{
	struct mre_err err = MRE_ERR_INIT;
	struct check_opts o;
	struct mre_engine e;
	struct report r;
	int rc;

	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	mre_plan_defaults(&r.plan);
	if (mre_engine_init(&e, &err))
		return mre_cli_fail(&err);
	rc = parse(argc, argv, &e, &o);
	if (rc) {
		mre_engine_destroy(&e);
		return rc < 0 ? MRE_EXIT_OK : rc;
	}
	/* a policy's info messages (overrides it notices) are part of the check */
	if (mre_log_get_level() < MRE_LOG_INFO)
		mre_log_set_level(MRE_LOG_INFO);
	if (check(&e, &o, &r, &err)) {
		rc = mre_cli_fail(&err);
	} else {
		if (o.json)
			print_json(&r);
		else
			print_text(&r);
		rc = MRE_EXIT_OK;
	}
	mre_plan_free(&r.plan);
	mre_facts_vm_free(&r.vm);
	mre_facts_image_free(&r.image);
	mre_engine_destroy(&e);  /* frees the policy too */
	return rc;
}
