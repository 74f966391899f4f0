/* SPDX-License-Identifier: MIT */
/*
 * planopts.c: plan flags -> explicit parameters. Values are checked here
 * only as far as the flag's syntax goes; the plan's own validation (after
 * defaults and the policy) has the last word.
 */
#include "cli/planopts.h"

#include <string.h>

#include "cli/cli.h"
#include "util/size.h"

static const char *opt_name(int opt)
{
	switch (opt) {
	case MRE_OPT_CHANNELS: return "--channels";
	case MRE_OPT_DIRECT_IO: return "--direct-io";
	case MRE_OPT_IO: return "--io";
	case MRE_OPT_NO_SYNC: return "--no-sync";
	case MRE_OPT_PREALLOC: return "--prealloc";
	case MRE_OPT_COMPRESS: return "--compress";
	case MRE_OPT_CHUNK_SIZE: return "--chunk-size";
	case MRE_OPT_CHECKSUM: return "--checksum";
	case MRE_OPT_HEADER: return "--header";
	case MRE_OPT_NO_VERIFY: return "--no-verify";
	}
	return NULL;
}

static unsigned opt_group(int opt)
{
	switch (opt) {
	case MRE_OPT_CHANNELS:
	case MRE_OPT_DIRECT_IO:
	case MRE_OPT_IO:
		return MRE_PLANOPT_IO;
	case MRE_OPT_NO_VERIFY:
		return MRE_PLANOPT_READ;
	default:
		return MRE_PLANOPT_WRITE;
	}
}

bool mre_cli_param_set(struct mre_cli_params *o, struct mre_param p)
{
	for (unsigned i = 0; i < o->n; i++)
		if (!strcmp(o->p[i].name, p.name)) {
			o->p[i] = p;
			return true;
		}
	if (o->n == MRE_CLI_MAX_PARAMS)
		return false;
	o->p[o->n++] = p;
	return true;
}

static void set_bool(struct mre_cli_params *o, const char *name, bool v)
{
	mre_cli_param_set(o, (struct mre_param){ .name = name, .type = MRE_PARAM_BOOL, .b = v, .set = true });
}

static void set_int(struct mre_cli_params *o, const char *name, uint64_t v)
{
	mre_cli_param_set(o, (struct mre_param){ .name = name, .type = MRE_PARAM_INT, .i = (int64_t)v,
						  .set = true });
}

static void set_str(struct mre_cli_params *o, const char *name, const char *v)
{
	mre_cli_param_set(o, (struct mre_param){ .name = name, .type = MRE_PARAM_STR, .s = v, .set = true });
}

int mre_cli_plan_option(struct mre_cli_params *o, const char *cmd, unsigned groups, int opt,
			const char *arg)
{
	const char *name = opt_name(opt);
	uint64_t v;

	if (!name)
		return 0;
	if (!(groups & opt_group(opt))) {
		mre_cli_usage(cmd, "%s is not an option of %s", name, cmd);
		return -1;
	}
	switch (opt) {
	case MRE_OPT_CHANNELS:
		if (mre_parse_u64(arg, &v) || v < 1 || v > 256) {
			mre_cli_usage(cmd, "--channels expects 1..256, got '%s'", arg);
			return -1;
		}
		set_int(o, "multifd-channels", v);
		break;
	case MRE_OPT_DIRECT_IO:
		if (strcmp(arg, "on") && strcmp(arg, "off")) {
			mre_cli_usage(cmd, "--direct-io expects on or off, got '%s'", arg);
			return -1;
		}
		set_bool(o, "direct-io", !strcmp(arg, "on"));
		break;
	case MRE_OPT_IO:
		if (strcmp(arg, "auto") && strcmp(arg, "uring") && strcmp(arg, "threads")) {
			mre_cli_usage(cmd, "--io expects auto, uring or threads, got '%s'", arg);
			return -1;
		}
		set_str(o, "x-io", arg);
		break;
	case MRE_OPT_NO_SYNC:
		set_bool(o, "x-sync", false);
		break;
	case MRE_OPT_PREALLOC:
		set_bool(o, "x-prealloc", true);
		break;
	case MRE_OPT_COMPRESS:
		set_str(o, "x-compression", arg);
		break;
	case MRE_OPT_CHECKSUM:
		set_str(o, "x-checksum", arg);
		break;
	case MRE_OPT_HEADER:
		set_str(o, "x-header", arg);
		break;
	case MRE_OPT_CHUNK_SIZE:
		if (!mre_cli_size(cmd, "--chunk-size", arg, &v))
			return -1;
		set_int(o, "x-chunk-size", v);
		break;
	case MRE_OPT_NO_VERIFY:
		set_bool(o, "x-verify", false);
		break;
	}
	return 1;
}
