/* SPDX-License-Identifier: MIT */
/*
 * test_policy_facts.c: the facts policies see, gathered from this machine:
 * host CPUs (affinity honoured), memory and io_uring; target filesystem,
 * O_DIRECT, free space; VM description and its content sample (accuracy
 * on known page mixes, and its time bound on a 4 GiB VM).
 */
#include "tap.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "engine/facts.h"
#include "io/chan.h"
#include "io/dio.h"
#include "vm/vm.h"

static void fill(uint8_t *p, size_t len, int kind, unsigned seed)
{
	uint64_t x = seed * 2654435761u + 1;

	switch (kind) {
	case 0:
		memset(p, 0, len);
		break;
	case 1:
		memset(p, 0x5a, len);
		break;
	default:
		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			p[i] = (uint8_t)x;
		}
	}
}

static void test_host(void)
{
	struct mre_host_facts h;
	cpu_set_t set, one;
	long online = sysconf(_SC_NPROCESSORS_ONLN);

	mre_facts_host(&h);
	ok(h.f.cpus >= 1 && (long)h.f.cpus <= online, "host.cpus %u within 1..%ld", h.f.cpus, online);
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		is_int(h.f.cpus, CPU_COUNT(&set), "host.cpus counts the affinity mask");
	else
		ok(1, "no affinity");
	ok(h.f.mem_free > 0, "host.mem_free from MemAvailable (%llu)", (unsigned long long)h.f.mem_free);
	is_int(h.f.io_uring, mre_io_uring_available(), "host.io_uring");
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
	if (sched_setaffinity(0, sizeof(one), &one) == 0) {
		mre_facts_host(&h);
		is_int(h.f.cpus, 1, "a process pinned to one CPU sees 1 CPU");
		sched_setaffinity(0, sizeof(set), &set);
	} else {
		ok(1, "# SKIP cannot change affinity");
	}
}

static void test_target(const char *dir)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_target_facts t;
	struct mre_dio_info dio;
	struct statvfs vfs;
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/new.img", dir);
	is_int(mre_facts_target_path(&t, path, &err), 0, "target: a file still to be created");
	is_str(t.f.kind, "path", "target.kind");
	is_str(t.f.path, path, "target.path");
	mre_dio_probe(dir, &dio, NULL);
	is_str(t.f.fs_type, dio.fs_type, "target.fs_type from statfs (%s)", t.fs_type);
	is_int(t.f.direct_io, dio.supported, "target.direct_io from the probe");
	ok(!t.f.direct_io || (t.f.dio_align >= 512 && !(t.f.dio_align & (t.f.dio_align - 1))),
	   "target.dio_align is a power of two when O_DIRECT works (%u)", t.f.dio_align);
	statvfs(dir, &vfs);
	ok(t.f.free_bytes > 0 && t.f.free_bytes <= (uint64_t)vfs.f_blocks * vfs.f_frsize,
	   "target.free_bytes from statvfs");

	fd = open(path, O_RDWR | O_CREAT, 0600);
	is_int(mre_facts_target_fd(&t, fd, "/dev/fdset/3", &err), 0, "target: an fdset member");
	is_str(t.f.kind, "fdset", "fd target kind");
	is_str(t.f.path, "/dev/fdset/3", "fd target shows its name");
	is_str(t.f.fs_type, dio.fs_type, "fd target fs_type");
	close(fd);

	if (access("/dev/shm", W_OK) == 0) {
		mre_facts_target_path(&t, "/dev/shm/x.img", &err);
		ok(!t.f.rotational, "tmpfs is not rotational");
		is_str(t.f.fs_type, "tmpfs", "/dev/shm is tmpfs");
	} else {
		ok(1, "# SKIP no /dev/shm");
		ok(1, "# SKIP no /dev/shm");
	}
	mre_err_clear(&err);
	ok(mre_facts_target_path(&t, "/nonexistent-dir/x/y.img", &err) < 0, "a missing directory is an error");
	like(err.msg, "/nonexistent-dir/x", "the error names it");
}

static void test_estimate(void)
{
	static uint8_t buf[64][4096];
	const uint8_t *pages[64];
	double z, c;

	for (int i = 0; i < 64; i++)
		pages[i] = buf[i];
	mre_facts_estimate(pages, 64, 4096, &z, &c);
	ok(z == 1 && c == 0, "all zero: zero_ratio 1, compress 0");
	for (int i = 0; i < 64; i++)
		fill(buf[i], 4096, 2, i);
	mre_facts_estimate(pages, 64, 4096, &z, &c);
	ok(z == 0 && c > 0.95 && c <= 1, "random: zero_ratio 0, compress ~1 (%.3f)", c);
	for (int i = 0; i < 64; i++)
		fill(buf[i], 4096, i % 4 == 0 ? 0 : 1, i);
	mre_facts_estimate(pages, 64, 4096, &z, &c);
	ok(z == 0.25 && c < 0.05, "a quarter zero, the rest one byte repeated (%.2f, %.4f)", z, c);
}

static void test_vm(void)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_vm_facts v;
	struct mre_vm vm;
	struct mre_ramblock *b;

	mre_vm_init(&vm);
	vm.name = strdup("sampled");
	ok(mre_vm_parse_object(&vm, "memory-backend-memfd,id=pc.ram,size=64M", NULL, &err) == 0 &&
		   mre_vm_parse_object(&vm, "memory-backend-memfd,id=small,size=8K", NULL, &err) == 0,
	   "VM with two memfd blocks");
	mre_vm_add_label(&vm, "tier=gold", &err);
	mre_vm_set_uuid(&vm, "5b0a7c4e-1111-2222-3333-444455556666", &err);
	b = mre_vm_find(&vm, "pc.ram");
	if (!b || mre_ramblock_map(b, true, &err)) {
		ok(0, "map: %s", err.msg);
		mre_vm_destroy(&vm);
		return;
	}
	/* every 4 KiB: zero, zero, repeated byte, random */
	for (uint64_t off = 0; off < b->size; off += 4096)
		fill(b->host + off, 4096, (int)((off / 4096) % 4) < 2 ? 0 : (int)((off / 4096) % 4) - 1,
		     (unsigned)(off / 4096));
	is_int(mre_facts_vm(&v, &vm, true, &err), 0, "VM facts with a sample");
	is_str(v.f.name, "sampled", "vm.name");
	is_str(v.f.uuid, "5b0a7c4e-1111-2222-3333-444455556666", "vm.uuid");
	ok(v.f.nlabels == 1 && !strcmp(v.f.label_keys[0], "tier") && !strcmp(v.f.label_values[0], "gold"),
	   "vm.labels");
	is_u64(v.f.ram_bytes, (64u << 20) + 8192, "vm.ram_bytes");
	ok(v.f.nblocks == 2 && !strcmp(v.f.blocks[0].id, "pc.ram") && v.f.blocks[0].size == 64u << 20 &&
		   !strcmp(v.f.blocks[0].backing, "memfd") && v.f.blocks[1].page_size == 4096,
	   "vm.blocks");
	is_int(v.sampled_pages, MRE_FACTS_SAMPLE_PAGES, "256 pages sampled");
	ok(v.f.zero_ratio > 0.4 && v.f.zero_ratio < 0.6, "zero_ratio near 0.5 (%.3f)", v.f.zero_ratio);
	ok(v.f.sample_compress_ratio > 0.4 && v.f.sample_compress_ratio < 0.6,
	   "compress ratio near 0.5: half the data pages are random (%.3f)", v.f.sample_compress_ratio);
	mre_facts_vm_free(&v);
	is_int(mre_facts_vm(&v, &vm, false, &err), 0, "VM facts without a sample");
	ok(v.sampled_pages == 0 && v.f.zero_ratio == 0 && v.f.sample_compress_ratio == 0, "no sample: ratios 0");
	mre_facts_vm_free(&v);
	mre_vm_destroy(&vm);

	mre_vm_init(&vm);
	mre_vm_parse_object(&vm, "memory-backend-memfd,id=pc.ram,size=4G", NULL, &err);
	is_int(mre_facts_vm(&v, &vm, true, &err), 0, "a 4 GiB VM");
	ok(v.sample_usec < 10000, "sampling a 4 GiB VM takes %llu us (< 10 ms)", (unsigned long long)v.sample_usec);
	ok(v.f.zero_ratio == 1, "a fresh memfd reads as zero pages");
	mre_facts_vm_free(&v);
	mre_vm_destroy(&vm);
}

int main(void)
{
	char dir[] = "/tmp/mre-facts.XXXXXX";
	char cmd[64];

	if (!mkdtemp(dir))
		tap_skip_all("no temporary directory");
	test_host();
	test_target(dir);
	test_estimate();
	test_vm();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd)) {
	}
	return tap_done();
}
