/* SPDX-License-Identifier: MIT */
/*
 * fixture.h: shared setup for the policy tests: policies written from
 * strings into a scratch directory, and described VMs, targets, hosts and
 * client parameters to call hooks with.
 */
#ifndef MRE_TESTS_POLICY_FIXTURE_H
#define MRE_TESTS_POLICY_FIXTURE_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/policy.h"

static char fx_dir[256];

static inline void fx_cleanup(void)
{
	char cmd[300];

	if (fx_dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx_dir);
		if (system(cmd)) {
		}
	}
}

/* Write @src to DIR/@file (file names end in .lua) and return its path. */
static inline const char *fx_write(const char *file, const char *src, size_t len)
{
	static char path[512];
	FILE *f;

	if (!fx_dir[0]) {
		snprintf(fx_dir, sizeof(fx_dir), "%s/mre-policy.XXXXXX",
			 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		if (!mkdtemp(fx_dir)) {
			perror("mkdtemp");
			exit(1);
		}
		atexit(fx_cleanup);
	}
	snprintf(path, sizeof(path), "%s/%s", fx_dir, file);
	f = fopen(path, "wb");
	if (!f || fwrite(src, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
	return path;
}

static inline const char *fx_policy(const char *file, const char *src)
{
	return fx_write(file, src, strlen(src));
}

/* Load a policy from source; NULL on failure with @err filled. */
static inline struct mre_policy *fx_load(const char *file, const char *src, struct mre_err *err)
{
	struct mre_policy *p = NULL;

	mre_err_clear(err);
	if (mre_policy_load(fx_policy(file, src), NULL, &p, err))
		return NULL;
	return p;
}

static const struct mre_facts_block fx_blocks[] = {
	{ "pc.ram", 4ull << 30, 4096, "memfd" },
	{ "vga.vram", 16ull << 20, 4096, "file" },
};
static const char *const fx_label_keys[] = { "tier", "env" };
static const char *const fx_label_values[] = { "gold", "prod" };

static inline struct mre_facts_vm fx_vm(void)
{
	return (struct mre_facts_vm){
		.name = "web1",
		.uuid = "5b0a7c4e-1111-2222-3333-444455556666",
		.nlabels = 2,
		.label_keys = fx_label_keys,
		.label_values = fx_label_values,
		.ram_bytes = (4ull << 30) + (16ull << 20),
		.nblocks = 2,
		.blocks = fx_blocks,
		.running = true,
		.zero_ratio = 0.25,
		.sample_compress_ratio = 0.5,
	};
}

static inline struct mre_facts_target fx_target(void)
{
	return (struct mre_facts_target){
		.kind = "path",
		.path = "/var/lib/save/web1.img",
		.fs_type = "xfs",
		.direct_io = true,
		.dio_align = 4096,
		.free_bytes = 100ull << 30,
		.rotational = false,
	};
}

static inline struct mre_facts_host fx_host(void)
{
	return (struct mre_facts_host){ .cpus = 8, .mem_free = 32ull << 30, .io_uring = true };
}

#endif
