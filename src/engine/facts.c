/* SPDX-License-Identifier: MIT */
/*
 * facts.c: gathering what policies are shown, from the system itself.
 * Host facts come from the affinity mask and /proc/meminfo; target facts
 * from statfs/statvfs, the direct-io probe and the block device's
 * queue/rotational in sysfs; VM facts from struct mre_vm plus a small,
 * time-bounded sample of guest pages (read through read-only mappings;
 * guest memory is never written). Unknown facts are reported as zero or
 * false rather than failing the save they are meant to inform.
 */
#include "engine/facts.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "engine/imagefile.h"
#include "format/header.h"
#include "io/chan.h"
#include "io/dio.h"
#include "util/log.h"
#include "vm/vm.h"

#define SAMPLE_UNIT 4096u          /* bytes read per sampled page */
#define SAMPLE_BUDGET_NS 5000000u  /* stop sampling after 5 ms */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- host ------------------------------------------------------------- */

static unsigned allowed_cpus(void)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);

	for (size_t ncpu = 1024; ncpu <= 1u << 20; ncpu *= 2) {
		cpu_set_t *set = CPU_ALLOC(ncpu);
		size_t sz = CPU_ALLOC_SIZE(ncpu);
		int n;

		if (!set)
			break;
		CPU_ZERO_S(sz, set);
		if (sched_getaffinity(0, sz, set) == 0) {
			n = CPU_COUNT_S(sz, set);
			CPU_FREE(set);
			return n > 0 ? (unsigned)n : 1;
		}
		CPU_FREE(set);
		if (errno != EINVAL)
			break;
	}
	return online > 0 ? (unsigned)online : 1;
}

static uint64_t mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	unsigned long long kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb * 1024;
}

void mre_facts_host(struct mre_host_facts *h)
{
	memset(h, 0, sizeof(*h));
	h->f.cpus = allowed_cpus();
	h->f.mem_free = mem_available();
	h->f.io_uring = mre_io_uring_available();
}

/* ---- target ----------------------------------------------------------- */

/* queue/rotational of the disk behind @dev; a partition has none of its
 * own, so look at its parent. False when there is no block device. */
static bool rotational(dev_t dev)
{
	char link[64], real[PATH_MAX], path[PATH_MAX + 32];

	if (major(dev) == 0)
		return false;  /* tmpfs, overlay, btrfs subvolumes...: no single disk */
	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(dev), minor(dev));
	if (!realpath(link, real))
		return false;
	for (int up = 0; up < 2; up++) {
		FILE *f;
		int c;
		char *slash;

		snprintf(path, sizeof(path), "%s/queue/rotational", real);
		f = fopen(path, "re");
		if (f) {
			c = fgetc(f);
			fclose(f);
			return c == '1';
		}
		slash = strrchr(real, '/');
		if (!slash || slash == real)
			break;
		*slash = 0;
	}
	return false;
}

static void target_common(struct mre_target_facts *t, const char *kind, const char *display,
			  const struct mre_dio_info *dio)
{
	snprintf(t->kind, sizeof(t->kind), "%s", kind);
	snprintf(t->path, sizeof(t->path), "%s", display ? display : "");
	snprintf(t->fs_type, sizeof(t->fs_type), "%s", dio->fs_type[0] ? dio->fs_type : "unknown");
	t->f.kind = t->kind;
	t->f.path = t->path;
	t->f.fs_type = t->fs_type;
	t->f.direct_io = dio->supported;
	t->f.dio_align = dio->supported ? (dio->offset_align > dio->mem_align ? dio->offset_align
										  : dio->mem_align)
					: 0;
}

int mre_facts_target_path(struct mre_target_facts *t, const char *path, struct mre_err *err)
{
	struct mre_dio_info dio;
	struct statvfs vfs;
	struct stat st;
	char dir[4096];
	const char *where = path;

	memset(t, 0, sizeof(*t));
	if (stat(path, &st)) {
		/* not there yet: its directory decides */
		char *slash;

		snprintf(dir, sizeof(dir), "%s", path);
		slash = strrchr(dir, '/');
		if (!slash)
			snprintf(dir, sizeof(dir), ".");
		else if (slash == dir)
			dir[1] = 0;
		else
			*slash = 0;
		where = dir;
		if (stat(where, &st))
			return mre_err_sys(err, -errno, "target '%s': cannot examine '%s'", path, where);
	}
	if (mre_dio_probe(path, &dio, err))
		return mre_err_prefix(err, "target '%s'", path);
	target_common(t, "path", path, &dio);
	if (!statvfs(where, &vfs))
		t->f.free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	t->f.rotational = rotational(S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev);
	return 0;
}

int mre_facts_target_fd(struct mre_target_facts *t, int fd, const char *display,
			struct mre_err *err)
{
	struct mre_dio_info dio;
	struct statvfs vfs;
	struct stat st;

	memset(t, 0, sizeof(*t));
	if (fstat(fd, &st))
		return mre_err_sys(err, -errno, "target '%s': fstat", display ? display : "fd");
	if (mre_dio_probe_fd(fd, &dio, err))
		return mre_err_prefix(err, "target '%s'", display ? display : "fd");
	target_common(t, "fdset", display, &dio);
	if (!fstatvfs(fd, &vfs))
		t->f.free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	t->f.rotational = rotational(S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev);
	return 0;
}

/* ---- vm --------------------------------------------------------------- */

static bool all_zero(const uint8_t *p, uint64_t len)
{
	const uint64_t *w = (const uint64_t *)p;

	for (uint64_t i = 0; i < len / 8; i += 4)
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3])
			return false;
	return true;
}

void mre_facts_estimate(const uint8_t *const *pages, unsigned npages, uint64_t len,
			double *zero_ratio, double *compress_ratio)
{
	unsigned zero = 0, data = 0;
	uint8_t *buf = NULL, *out = NULL;
	size_t bound, csize;

	*zero_ratio = 0;
	*compress_ratio = 0;
	if (!npages || !len)
		return;
	buf = malloc((size_t)npages * len);
	for (unsigned i = 0; i < npages; i++) {
		if (all_zero(pages[i], len)) {
			zero++;
		} else if (buf) {
			memcpy(buf + (size_t)data * len, pages[i], len);
			data++;
		}
	}
	*zero_ratio = (double)zero / npages;
	if (!data) {
		free(buf);
		return;
	}
	bound = ZSTD_compressBound((size_t)data * len);
	out = malloc(bound);
	if (out) {
		csize = ZSTD_compress(out, bound, buf, (size_t)data * len, 1);
		if (ZSTD_isError(csize))
			*compress_ratio = 1;
		else
			*compress_ratio = (double)csize / ((double)data * len);
		if (*compress_ratio > 1)
			*compress_ratio = 1;
	} else {
		*compress_ratio = 1;
	}
	free(out);
	free(buf);
}

static void sample(struct mre_vm_facts *v, struct mre_vm *vm)
{
	const uint8_t *pages[MRE_FACTS_SAMPLE_PAGES];
	uint64_t units[64], total = 0, start = now_ns();
	struct mre_ramblock *blocks[64];
	unsigned nb = 0, n = 0, want;

	/* blocks we can read, and their size in sample units */
	for (unsigned i = 0; i < vm->nblocks && nb < 64; i++) {
		struct mre_ramblock *b = vm->blocks[i];
		struct mre_err err = MRE_ERR_INIT;

		if (b->size < SAMPLE_UNIT)
			continue;
		if (mre_ramblock_map(b, false, &err)) {
			mre_debug("facts: block '%s' left out of the content sample: %s", b->id, err.msg);
			continue;
		}
		blocks[nb] = b;
		units[nb] = b->size / SAMPLE_UNIT;
		total += units[nb];
		nb++;
	}
	if (!total)
		return;
	want = total < MRE_FACTS_SAMPLE_PAGES ? (unsigned)total : MRE_FACTS_SAMPLE_PAGES;
	/* one page in each of @want equal strides over all blocks taken end to
	 * end, at a pseudo-random place inside the stride so that a layout
	 * repeating with the stride's period cannot fool the estimate */
	for (unsigned k = 0; k < want; k++) {
		uint64_t stride = total / want, h = (k + 1) * 0x9E3779B97F4A7C15ull;
		uint64_t u = (uint64_t)((unsigned __int128)k * total / want);
		unsigned bi = 0;

		h ^= h >> 29;
		u += stride > 1 ? h % stride : 0;

		while (bi + 1 < nb && u >= units[bi]) {
			u -= units[bi];
			bi++;
		}
		pages[n++] = blocks[bi]->host + u * SAMPLE_UNIT;
		/* touching a page of a disk-backed file may mean a read: bound the time */
		if ((k & 15) == 15 && now_ns() - start > SAMPLE_BUDGET_NS)
			break;
	}
	mre_facts_estimate(pages, n, SAMPLE_UNIT, &v->f.zero_ratio, &v->f.sample_compress_ratio);
	v->sampled_pages = n;
	v->zero_pages = (unsigned)(v->f.zero_ratio * n + 0.5);
	v->sample_usec = (now_ns() - start) / 1000;
}

int mre_facts_vm(struct mre_vm_facts *v, struct mre_vm *vm, bool do_sample, struct mre_err *err)
{
	memset(v, 0, sizeof(*v));
	v->f.name = vm->name ? vm->name : "";
	if (vm->has_uuid) {
		const uint8_t *u = vm->uuid;

		snprintf(v->uuid, sizeof(v->uuid),
			 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
			 u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
			 u[15]);
	}
	v->f.uuid = v->uuid;
	if (vm->nblocks) {
		v->blocks = calloc(vm->nblocks, sizeof(*v->blocks));
		if (!v->blocks)
			return mre_err_set(err, -ENOMEM, "out of memory");
	}
	if (vm->nlabels) {
		v->keys = calloc(vm->nlabels, sizeof(*v->keys));
		v->values = calloc(vm->nlabels, sizeof(*v->values));
		if (!v->keys || !v->values) {
			mre_facts_vm_free(v);
			return mre_err_set(err, -ENOMEM, "out of memory");
		}
	}
	for (unsigned i = 0; i < vm->nlabels; i++) {
		v->keys[i] = vm->labels[i].key;
		v->values[i] = vm->labels[i].value;
	}
	for (unsigned i = 0; i < vm->nblocks; i++) {
		const struct mre_ramblock *b = vm->blocks[i];

		v->blocks[i].id = b->id;
		v->blocks[i].size = b->size;
		v->blocks[i].page_size = b->page_size;
		v->blocks[i].backing = b->kind == MRE_BACKEND_MEMFD ? "memfd"
				       : b->mem_path && !strncmp(b->mem_path, "/dev/fdset/", 11) ? "fdset"
				       : "file";
	}
	v->f.nlabels = vm->nlabels;
	v->f.label_keys = v->keys;
	v->f.label_values = v->values;
	v->f.nblocks = vm->nblocks;
	v->f.blocks = v->blocks;
	v->f.ram_bytes = mre_vm_ram_bytes(vm);
	v->f.running = vm->running;
	if (do_sample)
		sample(v, vm);
	return 0;
}

void mre_facts_vm_free(struct mre_vm_facts *v)
{
	free(v->blocks);
	free(v->keys);
	free(v->values);
	v->blocks = NULL;
	v->keys = v->values = NULL;
	v->f.blocks = NULL;
	v->f.label_keys = v->f.label_values = NULL;
}

/* ---- image ------------------------------------------------------------ */

int mre_facts_image(struct mre_image_facts *i, const char *path, struct mre_err *err)
{
	struct mre_imagefile f;
	const struct mre_image *img;
	uint64_t present = 0;

	memset(i, 0, sizeof(*i));
	if (mre_imagefile_open(&f, path, -1, MRE_OFFSET_AUTO, 0, err))
		return err ? err->code : -EINVAL;
	img = f.img;
	snprintf(i->path, sizeof(i->path), "%s", path);
	i->f.path = i->path;
	i->f.format = img->mapped_ram ? "mapped-ram" : "sequential";
	i->f.compression = "none";
	for (unsigned k = 0; k < img->nblocks; k++)
		if (img->blocks[k].b.chunked)
			i->f.compression = mre_chunk_alg_name(img->blocks[k].b.chunk_alg);
	i->f.header = mre_header_kind_name(f.header.kind);
	/* page checksums: the trailer's, or the chunk table's */
	i->f.checksums = img->compressed || (img->has_trailer && (img->trailer.flags & MRE_TRAILER_F_PAGES));
	i->f.page_size = img->page_size;
	i->f.ram_bytes = img->ram_total;
	if (img->nblocks) {
		i->blocks = calloc(img->nblocks, sizeof(*i->blocks));
		if (!i->blocks) {
			mre_imagefile_close(&f);
			return mre_err_set(err, -ENOMEM, "out of memory");
		}
	}
	for (unsigned k = 0; k < img->nblocks; k++) {
		/* ids live in the image; keep them with the facts */
		char *id = strdup(img->blocks[k].b.id);

		if (!id) {
			mre_imagefile_close(&f);
			mre_facts_image_free(i);
			return mre_err_set(err, -ENOMEM, "out of memory");
		}
		i->blocks[k].id = id;
		i->blocks[k].size = img->blocks[k].b.used_length;
		i->blocks[k].page_size = img->page_size;
		i->blocks[k].backing = "image";
		i->f.nblocks = k + 1;
		present += img->blocks[k].present * img->page_size;
	}
	i->f.blocks = i->blocks;
	i->f.present_bytes = present;
	mre_imagefile_close(&f);
	return 0;
}

void mre_facts_image_free(struct mre_image_facts *i)
{
	for (unsigned k = 0; i->blocks && k < i->f.nblocks; k++)
		free((char *)i->blocks[k].id);
	free(i->blocks);
	i->blocks = NULL;
	i->f.blocks = NULL;
	i->f.nblocks = 0;
}
