/* SPDX-License-Identifier: MIT */
/*
 * vm.c: RAM blocks and their backings. Backings are always mapped
 * MAP_SHARED: the memfd or file *is* the guest RAM, so what a restore
 * writes lands in the backing that QEMU (or the next job) uses.
 */
#include "vm/vm.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "io/fdset.h"
#include "util/size.h"

#define VM_PAGE_SIZE 4096u

void mre_vm_init(struct mre_vm *vm)
{
	memset(vm, 0, sizeof(*vm));
}

static void block_free(struct mre_ramblock *b)
{
	if (!b)
		return;
	if (b->host)
		munmap(b->host, b->size);
	if (b->fd >= 0)
		close(b->fd);
	free(b->mem_path);
	free(b);
}

void mre_vm_destroy(struct mre_vm *vm)
{
	for (unsigned i = 0; i < vm->nblocks; i++)
		block_free(vm->blocks[i]);
	for (unsigned i = 0; i < vm->nlabels; i++) {
		free(vm->labels[i].key);
		free(vm->labels[i].value);
	}
	free(vm->blocks);
	free(vm->labels);
	free(vm->name);
	free(vm->machine);
	free(vm->device_state);
	memset(vm, 0, sizeof(*vm));
}

struct mre_ramblock *mre_vm_find(const struct mre_vm *vm, const char *id)
{
	for (unsigned i = 0; i < vm->nblocks; i++)
		if (!strcmp(vm->blocks[i]->id, id))
			return vm->blocks[i];
	return NULL;
}

uint64_t mre_vm_ram_bytes(const struct mre_vm *vm)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < vm->nblocks; i++)
		n += vm->blocks[i]->size;
	return n;
}

static bool valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] < 0x21 || (unsigned char)id[i] > 0x7e || id[i] == ',')
			return false;
	return true;
}

/* Open (or create) a file backing; @fdsets resolves /dev/fdset/N. */
static int open_file_backing(struct mre_ramblock *b, bool existing_only, struct mre_fdsets *fdsets,
			     struct mre_err *err)
{
	int64_t set;
	struct stat st;
	int r = mre_fdset_path_id(b->mem_path, &set);

	if (r < 0)
		return mre_err_set(err, -EINVAL, "Could not parse fdset %s", b->mem_path);
	if (r == 1) {
		if (!fdsets)
			return mre_err_set(err, -ENOENT, "Failed to find fdset %s", b->mem_path);
		b->fd = mre_fdsets_dup(fdsets, set, O_RDWR, NULL);
		b->writable = b->fd >= 0;
		if (b->fd < 0)
			b->fd = mre_fdsets_dup(fdsets, set, O_RDONLY, err);
		if (b->fd < 0)
			return mre_err_prefix(err, "memory backend '%s'", b->id);
	} else {
		b->fd = open(b->mem_path, O_RDWR | O_CLOEXEC);
		b->writable = b->fd >= 0;
		if (b->fd < 0 && errno == ENOENT && existing_only) {
			return mre_err_set(err, -ENOENT, "memory backend '%s': mem-path '%s' does not exist",
					   b->id, b->mem_path);
		} else if (b->fd < 0 && errno == ENOENT) {
			b->fd = open(b->mem_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			if (b->fd >= 0) {
				b->writable = true;
				b->created = true;
				if (ftruncate(b->fd, (off_t)b->size)) {
					r = mre_err_sys(err, -errno, "cannot size '%s' to %llu bytes", b->mem_path,
							(unsigned long long)b->size);
					unlink(b->mem_path);
					return r;
				}
			}
		} else if (b->fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM)) {
			b->fd = open(b->mem_path, O_RDONLY | O_CLOEXEC);
		}
		if (b->fd < 0)
			return mre_err_sys(err, -errno, "cannot open mem-path '%s'", b->mem_path);
	}
	if (fstat(b->fd, &st))
		return mre_err_sys(err, -errno, "fstat of '%s'", b->mem_path);
	if (!S_ISREG(st.st_mode))
		return mre_err_set(err, -EINVAL, "mem-path '%s' is not a regular file", b->mem_path);
	b->backing_size = (uint64_t)st.st_size;
	if (b->backing_size == 0 && b->writable && !b->created) {
		/* an empty file: treat as new */
		b->created = true;
	}
	return 0;
}

int mre_vm_add_object(struct mre_vm *vm, const struct mre_object_props *p,
		      struct mre_fdsets *fdsets, struct mre_err *err)
{
	struct mre_ramblock *b, **nb;
	bool file;
	int r;

	if (!p->qom_type)
		return mre_err_set(err, -EINVAL, "Parameter 'qom-type' is missing");
	if (!strcmp(p->qom_type, "memory-backend-file"))
		file = true;
	else if (!strcmp(p->qom_type, "memory-backend-memfd"))
		file = false;
	else
		return mre_err_set(err, -EINVAL,
				   "object type '%s' is not supported (memory-backend-file, memory-backend-memfd)",
				   p->qom_type);
	if (!p->id)
		return mre_err_set(err, -EINVAL, "Parameter 'id' is missing");
	if (!valid_id(p->id))
		return mre_err_set(err, -EINVAL, "Invalid object id '%s'", p->id);
	if (mre_vm_find(vm, p->id))
		return mre_err_set(err, -EEXIST, "attempt to add duplicate property '%s' to object (type 'container')",
				   p->id);
	if (!p->size)
		return mre_err_set(err, -EINVAL, "can't create backend with size 0");
	if (p->size % VM_PAGE_SIZE)
		return mre_err_set(err, -EINVAL, "memory backend '%s': size %llu is not a multiple of %u",
				   p->id, (unsigned long long)p->size, VM_PAGE_SIZE);
	if (file && !p->mem_path)
		return mre_err_set(err, -EINVAL, "memory backend '%s': mem-path property not set", p->id);
	if (!file && p->mem_path)
		return mre_err_set(err, -EINVAL, "Property 'memory-backend-memfd.mem-path' not found");

	b = calloc(1, sizeof(*b));
	if (!b)
		return mre_err_set(err, -ENOMEM, "out of memory");
	b->fd = -1;
	snprintf(b->id, sizeof(b->id), "%s", p->id);
	b->size = p->size;
	b->page_size = VM_PAGE_SIZE;
	b->share = p->has_share ? p->share : !file;
	if (file) {
		b->kind = MRE_BACKEND_FILE;
		b->mem_path = strdup(p->mem_path);
		if (!b->mem_path) {
			r = mre_err_set(err, -ENOMEM, "out of memory");
			goto fail;
		}
		if ((r = open_file_backing(b, vm->existing_only, fdsets, err)))
			goto fail;
	} else {
		b->kind = MRE_BACKEND_MEMFD;
		b->fd = memfd_create(p->id, MFD_CLOEXEC);
		if (b->fd < 0) {
			r = mre_err_sys(err, -errno, "memfd_create for '%s'", p->id);
			goto fail;
		}
		if (ftruncate(b->fd, (off_t)b->size)) {
			r = mre_err_sys(err, -errno, "cannot size memfd '%s' to %llu bytes", p->id,
					(unsigned long long)b->size);
			goto fail;
		}
		b->writable = true;
		b->created = true;
		b->backing_size = b->size;
	}
	{
		struct statfs sfs;

		b->shmem = !fstatfs(b->fd, &sfs) && (unsigned long)sfs.f_type == TMPFS_MAGIC;
	}
	nb = realloc(vm->blocks, (vm->nblocks + 1) * sizeof(*nb));
	if (!nb) {
		r = mre_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	vm->blocks = nb;
	vm->blocks[vm->nblocks++] = b;
	return 0;
fail:
	block_free(b);
	return r;
}

int mre_vm_del_object(struct mre_vm *vm, const char *id, struct mre_err *err)
{
	for (unsigned i = 0; i < vm->nblocks; i++) {
		struct mre_ramblock *b = vm->blocks[i];

		if (strcmp(b->id, id))
			continue;
		if (b->busy)
			return mre_err_set(err, -EBUSY, "object '%s' is in use by a migration", id);
		block_free(b);
		memmove(&vm->blocks[i], &vm->blocks[i + 1], (vm->nblocks - i - 1) * sizeof(vm->blocks[0]));
		vm->nblocks--;
		return 0;
	}
	return mre_err_set(err, -ENOENT, "object '%s' not found", id);
}

/* ---- -object parsing: QEMU keyval, ",," escapes a comma ---- */

static char *next_item(char **s)
{
	char *start = *s, *w = *s, *p = *s;

	if (!start)
		return NULL;
	for (; *p; p++) {
		if (*p == ',') {
			if (p[1] == ',') {
				*w++ = ',';
				p++;
				continue;
			}
			break;
		}
		*w++ = *p;
	}
	*s = *p ? p + 1 : NULL;
	*w = 0;
	return start;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true"))
		*out = true;
	else if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

int mre_vm_parse_object(struct mre_vm *vm, const char *spec, struct mre_fdsets *fdsets,
			struct mre_err *err)
{
	struct mre_object_props p = { 0 };
	char *copy = strdup(spec), *cur = copy, *item;
	bool first = true, has_size = false;
	int r = 0;

	if (!copy)
		return mre_err_set(err, -ENOMEM, "out of memory");
	while ((item = next_item(&cur))) {
		char *eq = strchr(item, '=');
		const char *key = item, *val;

		if (first && !eq) {
			p.qom_type = item;
			first = false;
			continue;
		}
		first = false;
		if (!eq) {
			r = mre_err_set(err, -EINVAL, "-object %s: expected key=value, got '%s'", spec, item);
			goto out;
		}
		*eq = 0;
		val = eq + 1;
		if (!strcmp(key, "qom-type")) {
			p.qom_type = val;
		} else if (!strcmp(key, "id")) {
			p.id = val;
		} else if (!strcmp(key, "size")) {
			if (mre_parse_size(val, &p.size)) {
				r = mre_err_set(err, -EINVAL, "-object %s: invalid size '%s'", spec, val);
				goto out;
			}
			has_size = true;
		} else if (!strcmp(key, "mem-path")) {
			p.mem_path = val;
		} else if (!strcmp(key, "share")) {
			if (parse_bool(val, &p.share)) {
				r = mre_err_set(err, -EINVAL, "-object %s: share expects on or off, got '%s'", spec, val);
				goto out;
			}
			p.has_share = true;
		} else {
			r = mre_err_set(err, -EINVAL, "Property '%s.%s' not found",
					p.qom_type ? p.qom_type : "object", key);
			goto out;
		}
	}
	if (!has_size && p.qom_type && p.id) {
		r = mre_err_set(err, -EINVAL, "memory backend '%s': size property not set", p.id);
		goto out;
	}
	r = mre_vm_add_object(vm, &p, fdsets, err);
out:
	free(copy);
	return r;
}

int mre_vm_add_label(struct mre_vm *vm, const char *kv, struct mre_err *err)
{
	const char *eq = strchr(kv, '=');
	struct mre_label *nl;

	if (!eq || eq == kv)
		return mre_err_set(err, -EINVAL, "label '%s' is not key=value", kv);
	nl = realloc(vm->labels, (vm->nlabels + 1) * sizeof(*nl));
	if (!nl)
		return mre_err_set(err, -ENOMEM, "out of memory");
	vm->labels = nl;
	nl[vm->nlabels].key = strndup(kv, (size_t)(eq - kv));
	nl[vm->nlabels].value = strdup(eq + 1);
	if (!nl[vm->nlabels].key || !nl[vm->nlabels].value) {
		free(nl[vm->nlabels].key);
		free(nl[vm->nlabels].value);
		return mre_err_set(err, -ENOMEM, "out of memory");
	}
	vm->nlabels++;
	return 0;
}

int mre_vm_set_uuid(struct mre_vm *vm, const char *s, struct mre_err *err)
{
	static const int dash[] = { 8, 13, 18, 23 };
	uint8_t u[16];
	unsigned n = 0;

	if (strlen(s) != 36)
		goto bad;
	for (int i = 0, d = 0; i < 36; i++) {
		if (d < 4 && i == dash[d]) {
			if (s[i] != '-')
				goto bad;
			d++;
			continue;
		}
		if (!isxdigit((unsigned char)s[i]) || !isxdigit((unsigned char)s[i + 1]))
			goto bad;
		sscanf(s + i, "%2hhx", &u[n++]);
		i++;
	}
	memcpy(vm->uuid, u, 16);
	vm->has_uuid = true;
	return 0;
bad:
	return mre_err_set(err, -EINVAL, "invalid UUID '%s' (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", s);
}

int mre_ramblock_map(struct mre_ramblock *b, bool write, struct mre_err *err)
{
	struct stat st;
	void *p;

	if (b->host && (b->host_writable || !write))
		return 0;
	if (write && !b->writable)
		return mre_err_set(err, -EACCES, "memory backend '%s': the backing is read-only", b->id);
	if (fstat(b->fd, &st))
		return mre_err_sys(err, -errno, "memory backend '%s': fstat", b->id);
	b->backing_size = (uint64_t)st.st_size;
	if (b->backing_size < b->size) {
		if (!write)
			return mre_err_set(err, -EINVAL,
					   "memory backend '%s': the backing %s%s%s is %llu bytes, smaller than the block (%llu bytes)",
					   b->id, b->mem_path ? "'" : "", b->mem_path ? b->mem_path : "memfd",
					   b->mem_path ? "'" : "", (unsigned long long)b->backing_size,
					   (unsigned long long)b->size);
		if (ftruncate(b->fd, (off_t)b->size))
			return mre_err_sys(err, -errno, "memory backend '%s': cannot extend the backing", b->id);
		b->backing_size = b->size;
	}
	p = mmap(NULL, b->size, PROT_READ | (write ? PROT_WRITE : 0), MAP_SHARED, b->fd, 0);
	if (p == MAP_FAILED)
		return mre_err_sys(err, -errno, "memory backend '%s': mmap of %llu bytes", b->id,
				   (unsigned long long)b->size);
	if (b->host)
		munmap(b->host, b->size);
	b->host = p;
	b->host_writable = write;
	return 0;
}

void mre_ramblock_invalidate(struct mre_ramblock *b)
{
	if (b->host)
		munmap(b->host, b->size);
	b->host = NULL;
	b->host_writable = false;
	if (b->kind == MRE_BACKEND_FILE) {
		if (ftruncate(b->fd, 0) == 0)
			b->backing_size = 0;
	} else if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)b->size)) {
		/* nothing more can be done; the job's failure is the signal */
	}
	b->created = false;
}
