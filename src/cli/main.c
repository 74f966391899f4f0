/* SPDX-License-Identifier: MIT */
/*
 * main.c: process entry. Finds the subcommand and maps its result to the
 * exit status; the only place that exits.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/size.h"
#include "util/testpoint.h"

static const struct mre_cli_cmd commands[] = {
	{ "compress", mre_cmd_compress, "write an image as mrengine's compressed variant" },
	{ "convert", mre_cmd_convert, "convert a sequential QEMU stream file to an image, or back" },
	{ "demo", mre_cmd_demo, "save, restore and verify a generated VM (a quick tour)" },
	{ "emit", mre_cmd_emit, "write an image to stdout as a QEMU stream (migrate-incoming exec:)" },
	{ "expand", mre_cmd_expand, "write a compressed image as plain mapped-ram for QEMU" },
	{ "extract", mre_cmd_extract, "write a RAM block's content to a raw file" },
	{ "generate", mre_cmd_generate, "write a raw RAM file with a realistic page mix" },
	{ "ingest", mre_cmd_ingest, "write a QEMU stream from stdin as an image (migrate exec:)" },
	{ "inspect", mre_cmd_inspect, "show the layout of an image or stream" },
	{ "policy-check", mre_cmd_policy_check, "show the plan a policy produces for a VM (writes nothing)" },
	{ "restore", mre_cmd_restore, "restore RAM blocks from an image" },
	{ "save", mre_cmd_save, "save RAM blocks to a mapped-ram image" },
	{ "verify", mre_cmd_verify, "check that an image is complete and valid" },
};

int mre_cli_fail(const struct mre_err *err)
{
	fprintf(stderr, "mrengine: %s\n", err->msg[0] ? err->msg : mre_strerror(err->code));
	return MRE_EXIT_FAIL;
}

int mre_cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mrengine%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'mrengine %s%s--help' for more information.\n", cmd ? cmd : "",
		cmd ? " " : "");
	return MRE_EXIT_USAGE;
}

bool mre_cli_size(const char *cmd, const char *opt, const char *val, uint64_t *out)
{
	if (mre_parse_size(val, out)) {
		mre_cli_usage(cmd, "invalid value '%s' for %s (a size such as 4096, 1M or 0x1000)", val, opt);
		return false;
	}
	return true;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: mrengine COMMAND [OPTIONS] ...\n"
		"       mrengine [--policy P] --qmp unix:PATH|stdio [-object ...]   (QMP daemon)\n"
		"Save and restore virtual-machine memory in QEMU's mapped-ram format.\n\n"
		"Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
		"\nRun 'mrengine COMMAND --help' for a command's options; 'man mrengine' for the manual.\n"
		"  -h, --help     show this help\n"
		"  -V, --version  show the version\n");
}

int main(int argc, char **argv)
{
	mre_testpoint_init();
	if (argc < 2) {
		usage(stderr);
		return MRE_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return MRE_EXIT_OK;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("mrengine %s\n", PACKAGE_VERSION);
		return MRE_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	/* no command, only options: the QMP daemon (mrengine --qmp ...) */
	if (argv[1][0] == '-')
		return mre_cmd_daemon(argc, argv);
	return mre_cli_usage(NULL, "unknown command '%s'", argv[1]);
}
