/* SPDX-License-Identifier: MIT */
/*
 * cli.h: the subcommand table and helpers shared by the command files.
 * Subcommands parse argv, call one engine function, print and return an
 * exit status: 0 success, 1 failure, 2 usage error.
 */
#ifndef MRE_CLI_CLI_H
#define MRE_CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

enum { MRE_EXIT_OK = 0, MRE_EXIT_FAIL = 1, MRE_EXIT_USAGE = 2 };

struct mre_cli_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

/* Print "mrengine: <msg>" for a failed operation and return MRE_EXIT_FAIL. */
int mre_cli_fail(const struct mre_err *err);
/* Print a usage error plus the hint to run --help; returns MRE_EXIT_USAGE. */
int mre_cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parse a size/offset option value (QEMU syntax); prints the error. */
bool mre_cli_size(const char *cmd, const char *opt, const char *val, uint64_t *out);

int mre_cmd_inspect(int argc, char **argv);
int mre_cmd_verify(int argc, char **argv);
int mre_cmd_extract(int argc, char **argv);
int mre_cmd_save(int argc, char **argv);
int mre_cmd_demo(int argc, char **argv);
int mre_cmd_compress(int argc, char **argv);
int mre_cmd_expand(int argc, char **argv);
int mre_cmd_generate(int argc, char **argv);
int mre_cmd_restore(int argc, char **argv);
int mre_cmd_ingest(int argc, char **argv);
int mre_cmd_emit(int argc, char **argv);
int mre_cmd_convert(int argc, char **argv);
int mre_cmd_policy_check(int argc, char **argv);
/* The QMP daemon: argv[0] is the program name. */
int mre_cmd_daemon(int argc, char **argv);

#endif
