/* SPDX-License-Identifier: MIT */
/*
 * vm.h: a virtual machine as mrengine sees it: named RAM blocks with their
 * backings, an optional opaque device-state blob, and metadata (name, uuid,
 * machine type, labels) that policies read.
 *
 * RAM blocks are defined with QEMU's own object vocabulary:
 *   memory-backend-memfd,id=ID,size=N
 *   memory-backend-file,id=ID,size=N,mem-path=PATH[,share=on]
 * where PATH may be /dev/fdset/N. Backings are opened when the object is
 * added and mapped (MAP_SHARED) when a job needs them.
 *
 * Not thread-safe: the control thread adds and removes objects; a running
 * job only reads and writes the mapped memory of blocks it has pinned.
 */
#ifndef MRE_VM_VM_H
#define MRE_VM_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

struct mre_fdsets;

enum mre_backend_kind {
	MRE_BACKEND_MEMFD,
	MRE_BACKEND_FILE,
};

struct mre_ramblock {
	char id[256];
	uint64_t size;              /* bytes, a multiple of page_size */
	uint64_t page_size;         /* target page size (4096) */
	enum mre_backend_kind kind;
	char *mem_path;             /* FILE: the path as given (may be /dev/fdset/N) */
	bool share;
	int fd;                     /* the backing (memfd or file), O_RDWR when possible */
	bool writable;              /* fd allows writing (restore target) */
	uint64_t backing_size;      /* size of the backing when it was opened */
	bool created;               /* memfd, or a file mrengine created: all zero until written */
	bool shmem;                 /* memfd or tmpfs: unallocated pages are holes in the page cache */
	uint8_t *host;              /* mapping of [0, size) or NULL */
	bool host_writable;
	unsigned busy;              /* jobs using the block; object-del refuses while > 0 */
};

struct mre_label {
	char *key;
	char *value;
};

struct mre_vm {
	char *name;
	bool has_uuid;
	uint8_t uuid[16];
	char *machine;              /* machine type for the configuration section */
	struct mre_label *labels;
	unsigned nlabels;
	char *device_state;         /* path of a file with device sections, or NULL */
	struct mre_ramblock **blocks;
	unsigned nblocks;
	bool running;               /* running, or paused (the default): the QMP
	                               runstate, vm.running for policies */
	bool existing_only;         /* a missing mem-path is an error, not created */
};

/* Default machine type written into the configuration section. */
#define MRE_VM_DEFAULT_MACHINE "pc-i440fx-10.0"

void mre_vm_init(struct mre_vm *vm);
/* Unmaps and closes every backing. */
void mre_vm_destroy(struct mre_vm *vm);

/* Properties of object-add / -object for memory backends. */
struct mre_object_props {
	const char *qom_type;       /* "memory-backend-memfd" or "memory-backend-file" */
	const char *id;
	uint64_t size;
	const char *mem_path;       /* file only */
	bool share;
	bool has_share;
};

/*
 * Add a RAM block. The size must be a positive multiple of the page size.
 * A file backing that exists must be a regular file (a smaller one is
 * accepted here but refused by a save); a missing one is created, sized
 * and marked fresh -- or refused when @vm->existing_only (a save's source). @fdsets may be NULL when no fdsets exist.
 */
int mre_vm_add_object(struct mre_vm *vm, const struct mre_object_props *p,
		      struct mre_fdsets *fdsets, struct mre_err *err);

/* Parse a -object option ("memory-backend-file,id=..,size=..,...") and add it. */
int mre_vm_parse_object(struct mre_vm *vm, const char *spec, struct mre_fdsets *fdsets,
			struct mre_err *err);

/* Remove a block; -EBUSY while a job uses it. */
int mre_vm_del_object(struct mre_vm *vm, const char *id, struct mre_err *err);

struct mre_ramblock *mre_vm_find(const struct mre_vm *vm, const char *id);
uint64_t mre_vm_ram_bytes(const struct mre_vm *vm);

/* "key=value" label. */
int mre_vm_add_label(struct mre_vm *vm, const char *kv, struct mre_err *err);
/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */
int mre_vm_set_uuid(struct mre_vm *vm, const char *s, struct mre_err *err);

/*
 * Map a block for a job: read-only for saving (the backing must be at
 * least the block's size), read-write for restoring (a smaller file
 * backing is extended). Idempotent; mappings live until mre_vm_destroy.
 */
int mre_ramblock_map(struct mre_ramblock *b, bool write, struct mre_err *err);

/*
 * After a failed restore: make the block's content clearly unusable rather
 * than half-restored. A file backing is truncated to zero length (QEMU
 * refuses a mem-path smaller than the block); a memfd is emptied. The
 * mapping is dropped; the next job maps again.
 */
void mre_ramblock_invalidate(struct mre_ramblock *b);

#endif
