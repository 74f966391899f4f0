/* SPDX-License-Identifier: MIT */
/*
 * test_vm.c: -object parsing (QEMU keyval with ",," escapes, sizes,
 * booleans, unknown properties), memfd and file backings, mapping rules,
 * labels and UUIDs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "vm/vm.h"

int main(void)
{
	char dir[] = "/tmp/mre-vm-XXXXXX", spec[512], path[300];
	struct mre_err err = MRE_ERR_INIT;
	struct mre_ramblock *b;
	struct mre_vm vm;
	int r;

	mkdtemp(dir);
	mre_vm_init(&vm);
	r = mre_vm_parse_object(&vm, "memory-backend-memfd,id=pc.ram,size=2M", NULL, &err);
	is_int(r, 0, "memfd block");
	b = mre_vm_find(&vm, "pc.ram");
	ok(b && b->size == 2 << 20 && b->kind == MRE_BACKEND_MEMFD && b->created && b->share,
	   "memfd: size, kind, fresh, shared by default");
	is_int(mre_ramblock_map(b, true, &err), 0, "memfd maps writable");

	snprintf(path, sizeof(path), "%s/a,b", dir);
	snprintf(spec, sizeof(spec), "memory-backend-file,id=x,size=1M,mem-path=%s/a,,b,share=on", dir);
	r = mre_vm_parse_object(&vm, spec, NULL, &err);
	is_int(r, 0, "file block with ',,' in mem-path");
	b = mre_vm_find(&vm, "x");
	ok(b && !strcmp(b->mem_path, path) && b->created && b->share, "',,' is a comma; a new file is created");
	ok(access(path, F_OK) == 0, "the backing file exists");

	mre_err_clear(&err);
	r = mre_vm_parse_object(&vm, "memory-backend-memfd,id=y,size=1M,colour=red", NULL, &err);
	is_int(r, -EINVAL, "unknown property refused");
	is_str(err.msg, "Property 'memory-backend-memfd.colour' not found", "QEMU's message");
	mre_err_clear(&err);
	r = mre_vm_parse_object(&vm, "memory-backend-memfd,id=y", NULL, &err);
	like(err.msg, "size property not set", "size is required");
	mre_err_clear(&err);
	r = mre_vm_parse_object(&vm, "memory-backend-memfd,id=y,size=1Q", NULL, &err);
	like(err.msg, "invalid size '1Q'", "bad size refused");
	mre_err_clear(&err);
	r = mre_vm_parse_object(&vm, "memory-backend-ram,id=y,size=1M", NULL, &err);
	like(err.msg, "not supported", "other object types refused");
	mre_err_clear(&err);
	r = mre_vm_parse_object(&vm, "memory-backend-memfd,id=pc.ram,size=1M", NULL, &err);
	like(err.msg, "duplicate", "duplicate id refused");
	mre_err_clear(&err);
	r = mre_vm_parse_object(&vm, "memory-backend-file,id=z,size=1M", NULL, &err);
	like(err.msg, "mem-path property not set", "file needs mem-path");
	mre_err_clear(&err);
	r = mre_vm_parse_object(&vm, "memory-backend-memfd,id=z,size=1M,share=maybe", NULL, &err);
	like(err.msg, "share expects on or off", "bad boolean refused");

	/* a backing smaller than the block: fine to restore into, not to save */
	snprintf(path, sizeof(path), "%s/short", dir);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	truncate(path, 4096);
	snprintf(spec, sizeof(spec), "memory-backend-file,id=s,size=64K,mem-path=%s", dir);
	strcat(spec, "/short");
	is_int(mre_vm_parse_object(&vm, spec, NULL, &err), 0, "short file accepted as an object");
	b = mre_vm_find(&vm, "s");
	mre_err_clear(&err);
	r = mre_ramblock_map(b, false, &err);
	like(err.msg, "smaller than the block", "mapping it for a save is refused");
	mre_err_clear(&err);
	is_int(mre_ramblock_map(b, true, &err), 0, "mapping it for a restore extends it");
	{
		struct stat st;

		stat(path, &st);
		is_int(st.st_size, 65536, "  to the block's size");
	}

	is_int(mre_vm_del_object(&vm, "s", &err), 0, "object-del");
	ok(!mre_vm_find(&vm, "s"), "  the block is gone");
	mre_vm_find(&vm, "x")->busy = 1;
	mre_err_clear(&err);
	is_int(mre_vm_del_object(&vm, "x", &err), -EBUSY, "object-del of a busy block refused");
	mre_vm_find(&vm, "x")->busy = 0;
	is_u64(mre_vm_ram_bytes(&vm), 3 << 20, "ram bytes");

	is_int(mre_vm_add_label(&vm, "tier=gold", &err), 0, "label");
	ok(vm.nlabels == 1 && !strcmp(vm.labels[0].key, "tier") && !strcmp(vm.labels[0].value, "gold"),
	   "  key and value");
	mre_err_clear(&err);
	is_int(mre_vm_add_label(&vm, "=x", &err), -EINVAL, "label without key refused");
	is_int(mre_vm_set_uuid(&vm, "12345678-9abc-def0-1234-56789abcdef0", &err), 0, "uuid");
	ok(vm.has_uuid && vm.uuid[0] == 0x12 && vm.uuid[15] == 0xf0, "  bytes");
	mre_err_clear(&err);
	is_int(mre_vm_set_uuid(&vm, "12345678-9abc-def0-1234-56789abcdef", &err), -EINVAL, "short uuid refused");

	mre_vm_destroy(&vm);
	snprintf(spec, sizeof(spec), "rm -rf %s", dir);
	system(spec);
	return tap_done();
}
