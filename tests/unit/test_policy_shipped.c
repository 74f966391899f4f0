/* SPDX-License-Identifier: MIT */
/*
 * test_policy_shipped.c: each policy in policies/ produces exactly the plan
 * its header comment promises, on described VMs, targets and hosts, and
 * keeps what a client set explicitly (saying so in the log).
 */
#include "tap.h"

#include <fcntl.h>
#include <unistd.h>

#include "../policy/fixture.h"
#include "util/log.h"

static struct mre_err err;

static const char *srcdir(void)
{
	return getenv("srcdir") ? getenv("srcdir") : ".";
}

static struct mre_policy *shipped(const char *name)
{
	char path[1024];
	struct mre_policy *p = NULL;

	snprintf(path, sizeof(path), "%s/policies/%s.lua", srcdir(), name);
	mre_err_clear(&err);
	if (mre_policy_load(path, NULL, &p, &err))
		diag("load %s: %s", name, err.msg);
	return p;
}

/* The plan the engine hands the hook: defaults, then explicit client parameters. */
static void entry_plan(struct mre_plan *plan, const struct mre_facts_params *params)
{
	mre_plan_defaults(plan);
	for (unsigned i = 0; params && i < params->n; i++) {
		const struct mre_param *q = &params->p[i];

		if (!q->set)
			continue;
		if (!strcmp(q->name, "multifd-channels"))
			plan->channels = (unsigned)q->i;
		else if (!strcmp(q->name, "direct-io"))
			plan->direct_io = q->b;
		else if (!strcmp(q->name, "max-bandwidth"))
			plan->max_bandwidth = (uint64_t)q->i;
	}
}

struct want {
	unsigned channels;
	enum mre_plan_io io;
	bool direct_io;
	uint64_t alignment;
	enum mre_compression compression;
	int level;
	uint64_t chunk_size;
	uint64_t max_bandwidth;
	enum mre_checksum checksum;
	bool prealloc;
	bool verify;
	enum mre_plan_header header;
	int end_;
};

/* positional fields from channels on; the rest are zero */
#define W(...) (&(struct want){ __VA_ARGS__, .end_ = 0 })

static void expect(const char *what, const struct mre_plan *p, const struct want *w)
{
	bool same = p->channels == w->channels && p->io == w->io && p->direct_io == w->direct_io &&
		    p->alignment == w->alignment && p->compression == w->compression &&
		    p->level == w->level && p->chunk_size == w->chunk_size &&
		    p->max_bandwidth == w->max_bandwidth && p->checksum == w->checksum &&
		    p->sync == MRE_SYNC_FDATASYNC && p->prealloc == w->prealloc &&
		    p->verify == w->verify && p->header == w->header;

	ok(same, "%s", what);
	if (!same)
		diag("got channels=%u io=%d dio=%d align=%llu comp=%d:%d chunk=%llu bw=%llu csum=%d sync=%d prealloc=%d verify=%d header=%d",
		     p->channels, p->io, p->direct_io, (unsigned long long)p->alignment, p->compression,
		     p->level, (unsigned long long)p->chunk_size, (unsigned long long)p->max_bandwidth,
		     p->checksum, p->sync, p->prealloc, p->verify, p->header);
}

static char logbuf[65536];

/* on_save with stderr captured into logbuf. */
static int save(struct mre_policy *p, const struct mre_facts_vm *vm, const struct mre_facts_target *t,
		const struct mre_facts_host *h, const struct mre_facts_params *params, struct mre_plan *plan)
{
	char path[600];
	int saved = dup(2), fd, rc;
	ssize_t n;

	snprintf(path, sizeof(path), "%s", fx_write("stderr.txt", "", 0));
	fd = open(path, O_RDWR | O_TRUNC);
	fflush(stderr);
	dup2(fd, 2);
	entry_plan(plan, params);
	mre_err_clear(&err);
	rc = mre_policy_on_save(p, vm, t, h, params, plan, &err);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, logbuf, sizeof(logbuf) - 1, 0);
	logbuf[n > 0 ? n : 0] = 0;
	close(fd);
	if (rc)
		diag("on_save: %s", err.msg);
	return rc;
}

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static void test_headers(void)
{
	static const char *const names[] = { "default", "fast-snapshot", "compact-archive", "low-impact",
					     "libvirt-header", "per-vm-rules" };

	for (unsigned i = 0; i < 6; i++) {
		char path[1024], l1[256] = "", l2[256] = "", l3[256] = "", head[300];
		FILE *f;

		snprintf(path, sizeof(path), "%s/policies/%s.lua", srcdir(), names[i]);
		f = fopen(path, "r");
		if (f) {
			if (!fgets(l1, sizeof(l1), f) || !fgets(l2, sizeof(l2), f) || !fgets(l3, sizeof(l3), f))
				l1[0] = 0;
			fclose(f);
		}
		snprintf(head, sizeof(head), "-- %s.lua: ", names[i]);
		ok(!strncmp(l1, head, strlen(head)) && !strncmp(l2, "-- ", 3) && strncmp(l3, "-- ", 3),
		   "%s.lua opens with a two-line comment saying what it promises", names[i]);
	}
}

static void test_default(void)
{
	struct mre_policy *p = shipped("default");
	struct mre_facts_vm vm = fx_vm();
	struct mre_facts_target t = fx_target();
	struct mre_facts_host h = fx_host();
	struct mre_param pv[] = { { .name = "multifd-channels", .type = MRE_PARAM_INT, .i = 7, .set = true } };
	struct mre_facts_params params = { .n = 1, .p = pv };
	struct mre_facts_image img = { .path = "/i", .format = "mapped-ram", .checksums = true };
	struct mre_plan plan;

	is_int(save(p, &vm, &t, &h, NULL, &plan), 0, "default: on_save");
	expect("default on 8 CPUs with io_uring: 4 channels, uring, buffered, 1 MiB, crc32c", &plan,
	       W(4, MRE_PLAN_IO_URING, false, MiB, MRE_COMP_NONE, 0, MiB, 0, MRE_CSUM_CRC32C));
	is_str(plan.policy, "default", "the plan names the policy");
	mre_plan_free(&plan);
	h.cpus = 2;
	h.io_uring = false;
	save(p, &vm, &t, &h, NULL, &plan);
	expect("default on 2 CPUs without io_uring: 2 channels, threads", &plan,
	       W(2, MRE_PLAN_IO_THREADS, false, MiB, MRE_COMP_NONE, 0, MiB, 0, MRE_CSUM_CRC32C));
	mre_plan_free(&plan);
	mre_log_set_level(MRE_LOG_INFO);
	save(p, &vm, &t, &h, &params, &plan);
	is_int(plan.channels, 7, "default keeps the client's multifd-channels=7");
	like(logbuf, "policy default: keeping the client's multifd-channels=7 (the policy proposed channels=2)",
	     "and logs that it did");
	mre_plan_free(&plan);
	mre_log_set_level(MRE_LOG_WARN);

	entry_plan(&plan, NULL);
	is_int(mre_policy_on_restore(p, &img, &vm, &h, NULL, &plan, &err), 0, "default: on_restore");
	ok(plan.channels == 2 && plan.verify && plan.io == MRE_PLAN_IO_THREADS,
	   "default restore: channels from CPUs, verify when the image has checksums");
	mre_plan_free(&plan);
	mre_policy_free(p);
}

static void test_fast_snapshot(void)
{
	struct mre_policy *p = shipped("fast-snapshot");
	struct mre_facts_vm vm = fx_vm();
	struct mre_facts_target t = fx_target();
	struct mre_facts_host h = fx_host();
	struct mre_param pv[] = { { .name = "direct-io", .type = MRE_PARAM_BOOL, .b = false, .set = true } };
	struct mre_facts_params params = { .n = 1, .p = pv };
	struct mre_plan plan;

	is_int(save(p, &vm, &t, &h, NULL, &plan), 0, "fast-snapshot: on_save");
	expect("fast-snapshot, 8 CPUs, xfs with O_DIRECT: 8 channels, uring, direct-io, no compression, no checksums",
	       &plan, W(8, MRE_PLAN_IO_URING, true, MiB, MRE_COMP_NONE, 0, MiB, 0, MRE_CSUM_NONE));
	mre_plan_free(&plan);
	h.cpus = 64;
	save(p, &vm, &t, &h, NULL, &plan);
	is_int(plan.channels, 16, "fast-snapshot: at most 16 channels (64 CPUs, 4 GiB VM)");
	mre_plan_free(&plan);
	vm.ram_bytes = 512 * MiB;
	save(p, &vm, &t, &h, NULL, &plan);
	is_int(plan.channels, 2, "fast-snapshot: a 512 MiB VM gets one channel per 256 MiB");
	mre_plan_free(&plan);
	vm = fx_vm();
	t.rotational = true;
	save(p, &vm, &t, &h, NULL, &plan);
	is_int(plan.channels, 2, "fast-snapshot: 2 channels on a spinning disk");
	mre_plan_free(&plan);
	t = fx_target();
	t.direct_io = false;
	t.dio_align = 0;
	t.fs_type = "tmpfs";
	h = fx_host();
	save(p, &vm, &t, &h, NULL, &plan);
	expect("fast-snapshot on tmpfs: buffered I/O", &plan,
	       W(8, MRE_PLAN_IO_URING, false, MiB, MRE_COMP_NONE, 0, MiB, 0, MRE_CSUM_NONE));
	mre_plan_free(&plan);
	t = fx_target();
	t.dio_align = 2 * MiB;
	save(p, &vm, &t, &h, NULL, &plan);
	is_u64(plan.alignment, 2 * MiB, "fast-snapshot: alignment follows a large direct-io alignment");
	mre_plan_free(&plan);
	t = fx_target();
	save(p, &vm, &t, &h, &params, &plan);
	ok(!plan.direct_io, "fast-snapshot keeps the client's direct-io=off");
	mre_plan_free(&plan);
	mre_policy_free(p);
}

static void test_compact_archive(void)
{
	struct mre_policy *p = shipped("compact-archive");
	struct mre_facts_vm vm = fx_vm();
	struct mre_facts_target t = fx_target();
	struct mre_facts_host h = fx_host();
	struct mre_plan plan;

	is_int(save(p, &vm, &t, &h, NULL, &plan), 0, "compact-archive: on_save");
	expect("compact-archive: zstd:3 in 4 MiB chunks, crc32c, 8 channels, 4 KiB alignment, buffered", &plan,
	       W(8, MRE_PLAN_IO_AUTO, false, 4096, MRE_COMP_ZSTD, 3, 4 * MiB, 0, MRE_CSUM_CRC32C));
	mre_plan_free(&plan);
	vm.sample_compress_ratio = 0.97;
	h.cpus = 2;
	save(p, &vm, &t, &h, NULL, &plan);
	expect("compact-archive on barely compressible pages: zstd:1, 2 channels on 2 CPUs", &plan,
	       W(2, MRE_PLAN_IO_AUTO, false, 4096, MRE_COMP_ZSTD, 1, 4 * MiB, 0, MRE_CSUM_CRC32C));
	mre_plan_free(&plan);
	mre_policy_free(p);
}

static void test_low_impact(void)
{
	struct mre_policy *p = shipped("low-impact");
	struct mre_facts_vm vm = fx_vm();
	struct mre_facts_target t = fx_target();
	struct mre_facts_host h = fx_host();
	struct mre_param pv[] = { { .name = "max-bandwidth", .type = MRE_PARAM_INT, .i = 10 << 20, .set = true } };
	struct mre_facts_params params = { .n = 1, .p = pv };
	struct mre_plan plan;

	is_int(save(p, &vm, &t, &h, NULL, &plan), 0, "low-impact: on_save");
	expect("low-impact on 8 CPUs, flash with O_DIRECT: 2 channels, threads, direct-io, 200 MiB/s", &plan,
	       W(2, MRE_PLAN_IO_THREADS, true, MiB, MRE_COMP_NONE, 0, MiB, 200 * MiB, MRE_CSUM_CRC32C));
	mre_plan_free(&plan);
	h.cpus = 4;
	t.rotational = true;
	t.direct_io = false;
	save(p, &vm, &t, &h, NULL, &plan);
	expect("low-impact on 4 CPUs, a spinning disk without O_DIRECT: 1 channel, 50 MiB/s, buffered", &plan,
	       W(1, MRE_PLAN_IO_THREADS, false, MiB, MRE_COMP_NONE, 0, MiB, 50 * MiB, MRE_CSUM_CRC32C));
	mre_plan_free(&plan);
	save(p, &vm, &t, &h, &params, &plan);
	is_u64(plan.max_bandwidth, 10 * MiB, "low-impact keeps the client's max-bandwidth");
	mre_plan_free(&plan);
	mre_policy_free(p);
}

static void test_libvirt_header(void)
{
	struct mre_policy *p = shipped("libvirt-header");
	struct mre_facts_vm vm = fx_vm();
	struct mre_facts_target t = fx_target();
	struct mre_facts_host h = fx_host();
	struct mre_plan plan;

	is_int(save(p, &vm, &t, &h, NULL, &plan), 0, "libvirt-header: on_save");
	expect("libvirt-header: plain mapped-ram (no compression, no checksums), 1 MiB alignment, libvirt header",
	       &plan, W(4, MRE_PLAN_IO_AUTO, true, MiB, MRE_COMP_NONE, 0, MiB, 0, MRE_CSUM_NONE, false, false, MRE_PLAN_HEADER_LIBVIRT));
	is_str(plan.header_xml,
	       "<domain type='kvm'>\n  <name>web1</name>\n  <uuid>5b0a7c4e-1111-2222-3333-444455556666</uuid>\n"
	       "  <memory unit='KiB'>4210688</memory>\n</domain>\n",
	       "the domain XML");
	mre_plan_free(&plan);
	vm.name = "a<b&'c'";
	vm.uuid = "";
	save(p, &vm, &t, &h, NULL, &plan);
	is_str(plan.header_xml,
	       "<domain type='kvm'>\n  <name>a&lt;b&amp;&apos;c&apos;</name>\n  <memory unit='KiB'>4210688</memory>\n</domain>\n",
	       "names are escaped; no uuid element without a uuid");
	mre_plan_free(&plan);
	mre_policy_free(p);
}

static void test_per_vm_rules(void)
{
	struct mre_policy *p = shipped("per-vm-rules");
	struct mre_facts_vm vm = fx_vm();
	struct mre_facts_target t = fx_target();
	struct mre_facts_host h = fx_host();
	const char *k[1], *v[1];
	struct mre_param pv[] = { { .name = "multifd-channels", .type = MRE_PARAM_INT, .i = 3, .set = true } };
	struct mre_facts_params params = { .n = 1, .p = pv };
	struct mre_plan plan;

	mre_log_set_level(MRE_LOG_INFO);
	is_int(save(p, &vm, &t, &h, NULL, &plan), 0, "per-vm-rules: on_save");
	expect("per-vm-rules: tier=gold gets 8 channels, direct-io from the target, no checksums", &plan,
	       W(8, MRE_PLAN_IO_AUTO, true, MiB, MRE_COMP_NONE, 0, MiB, 0, MRE_CSUM_NONE));
	like(logbuf, "policy per-vm-rules: vm 'web1' (4112 MiB): rule 1", "the matching rule is logged");
	mre_plan_free(&plan);
	save(p, &vm, &t, &h, &params, &plan);
	is_int(plan.channels, 3, "per-vm-rules keeps the client's channels over the rule");
	like(logbuf, "keeping the client's multifd-channels=3 (the policy proposed channels=8)", "and logs it");
	mre_plan_free(&plan);

	vm.nlabels = 1;
	vm.label_keys = k;
	vm.label_values = v;
	k[0] = "backup";
	v[0] = "archive";
	save(p, &vm, &t, &h, NULL, &plan);
	expect("per-vm-rules: backup=archive gets zstd:9 in 4 MiB chunks with crc32c", &plan,
	       W(2, MRE_PLAN_IO_AUTO, false, MiB, MRE_COMP_ZSTD, 9, 4 * MiB, 0, MRE_CSUM_CRC32C));
	mre_plan_free(&plan);
	k[0] = "env";
	v[0] = "dev";
	save(p, &vm, &t, &h, NULL, &plan);
	expect("per-vm-rules: env=dev gets 1 channel capped at 100 MiB/s", &plan,
	       W(1, MRE_PLAN_IO_AUTO, false, MiB, MRE_COMP_NONE, 0, MiB, 100 * MiB, MRE_CSUM_CRC32C));
	mre_plan_free(&plan);
	vm.nlabels = 0;
	vm.ram_bytes = 128 * GiB;
	save(p, &vm, &t, &h, NULL, &plan);
	is_int(plan.channels, 16, "per-vm-rules: >= 64 GiB gets 16 channels");
	mre_plan_free(&plan);
	vm.ram_bytes = 8 * GiB;
	save(p, &vm, &t, &h, NULL, &plan);
	is_int(plan.channels, 4, "per-vm-rules: >= 8 GiB gets 4 channels");
	mre_plan_free(&plan);
	vm.ram_bytes = 1 * GiB;
	save(p, &vm, &t, &h, NULL, &plan);
	expect("per-vm-rules: anything else gets 2 channels", &plan,
	       W(2, MRE_PLAN_IO_AUTO, false, MiB, MRE_COMP_NONE, 0, MiB, 0, MRE_CSUM_CRC32C));
	like(logbuf, "rule 6", "the fallback rule");
	mre_plan_free(&plan);
	mre_log_set_level(MRE_LOG_WARN);
	mre_policy_free(p);
}

int main(void)
{
	test_headers();
	test_default();
	test_fast_snapshot();
	test_compact_archive();
	test_low_impact();
	test_libvirt_header();
	test_per_vm_rules();
	return tap_done();
}
