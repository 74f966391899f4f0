/* SPDX-License-Identifier: MIT */
/*
 * fuzz_sandbox.h: confine a libFuzzer harness whose inputs are commands
 * (the QMP daemon: migrate to file:PATH, object-add mem-path=PATH, ...) so
 * that no input can create, write, truncate or remove a file outside the
 * harness's scratch directory and the places libFuzzer itself writes (its
 * corpus directories, its artifact prefix, the working directory). Reading
 * stays allowed everywhere. Uses Landlock (Linux 5.13+); where the kernel
 * has none the harness exits with status 3 after a line starting "fuzz
 * sandbox:", and the runner reports the fuzzer as skipped rather than
 * running it unconfined. (Not 77: that is libFuzzer's status for a crash.) Only compiled into
 * the libFuzzer builds (MRE_FUZZ_SANDBOX).
 */
#ifndef MRE_TESTS_FUZZ_SANDBOX_H
#define MRE_TESTS_FUZZ_SANDBOX_H

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FZ_NO_SANDBOX 3

/* Landlock's ABI, by value (older kernel headers lack the later rights). */
#define FZ_LL_CREATE_RULESET_VERSION (1u << 0)
#define FZ_LL_RULE_PATH_BENEATH 1
#define FZ_LL_WRITE_FILE (1ull << 1)
#define FZ_LL_REMOVE_DIR (1ull << 4)
#define FZ_LL_REMOVE_FILE (1ull << 5)
#define FZ_LL_MAKE_CHAR (1ull << 6)
#define FZ_LL_MAKE_DIR (1ull << 7)
#define FZ_LL_MAKE_REG (1ull << 8)
#define FZ_LL_MAKE_SOCK (1ull << 9)
#define FZ_LL_MAKE_FIFO (1ull << 10)
#define FZ_LL_MAKE_BLOCK (1ull << 11)
#define FZ_LL_MAKE_SYM (1ull << 12)
#define FZ_LL_REFER (1ull << 13)      /* ABI 2 */
#define FZ_LL_TRUNCATE (1ull << 14)   /* ABI 3 */

struct fz_ll_ruleset_attr {
	uint64_t handled_access_fs;
};

struct fz_ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

static inline void fz_allow(int ruleset, const char *dir, uint64_t access)
{
	struct fz_ll_path_beneath_attr pb = { .allowed_access = access };

	pb.parent_fd = open(dir, O_PATH | O_CLOEXEC);
	if (pb.parent_fd < 0)
		return; /* nothing there to allow */
	if (syscall(SYS_landlock_add_rule, ruleset, FZ_LL_RULE_PATH_BENEATH, &pb, 0))
		fprintf(stderr, "fuzz sandbox: cannot allow %s: %s\n", dir, strerror(errno));
	close(pb.parent_fd);
}

/* The directory libFuzzer writes into for @arg ("DIR", "-artifact_prefix=X"). */
static inline void fz_allow_arg(int ruleset, const char *arg, uint64_t access)
{
	static const char *const opts[] = { "-artifact_prefix=", "-exact_artifact_path=" };
	struct stat st;
	char buf[4096];

	for (unsigned i = 0; i < 2; i++) {
		size_t n = strlen(opts[i]);

		if (!strncmp(arg, opts[i], n)) {
			snprintf(buf, sizeof(buf), "%s", arg + n);
			if (stat(buf, &st) || !S_ISDIR(st.st_mode))
				dirname(buf);
			fz_allow(ruleset, buf, access);
			return;
		}
	}
	if (arg[0] != '-' && !stat(arg, &st) && S_ISDIR(st.st_mode))
		fz_allow(ruleset, arg, access);
}

static inline void fuzz_sandbox(const char *scratch, int argc, char **argv)
{
	struct fz_ll_ruleset_attr attr;
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, FZ_LL_CREATE_RULESET_VERSION);
	uint64_t access = FZ_LL_WRITE_FILE | FZ_LL_REMOVE_DIR | FZ_LL_REMOVE_FILE | FZ_LL_MAKE_CHAR |
			  FZ_LL_MAKE_DIR | FZ_LL_MAKE_REG | FZ_LL_MAKE_SOCK | FZ_LL_MAKE_FIFO |
			  FZ_LL_MAKE_BLOCK | FZ_LL_MAKE_SYM;
	int ruleset;

	if (abi < 1) {
		fprintf(stderr, "fuzz sandbox: Landlock is not available (%s): not running unconfined\n",
			strerror(errno));
		exit(FZ_NO_SANDBOX);
	}
	if (abi >= 2)
		access |= FZ_LL_REFER;
	if (abi >= 3)
		access |= FZ_LL_TRUNCATE;
	attr.handled_access_fs = access;
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (ruleset < 0) {
		fprintf(stderr, "fuzz sandbox: landlock_create_ruleset: %s\n", strerror(errno));
		exit(FZ_NO_SANDBOX);
	}
	fz_allow(ruleset, scratch, access);
	fz_allow(ruleset, ".", access);
	for (int i = 1; i < argc; i++)
		fz_allow_arg(ruleset, argv[i], access);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_landlock_restrict_self, ruleset, 0)) {
		fprintf(stderr, "fuzz sandbox: landlock_restrict_self: %s\n", strerror(errno));
		exit(FZ_NO_SANDBOX);
	}
	close(ruleset);
}

#endif
