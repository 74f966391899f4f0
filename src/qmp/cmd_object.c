/* SPDX-License-Identifier: MIT */
/*
 * cmd_object.c: object-add, object-del and query-memdev for the two memory
 * backends mrengine has. object-add takes QEMU's flat shape
 * ({"qom-type", "id", ...properties}); the property set depends on the
 * type, so the table only checks the common part and the rest is checked
 * here with the same validator. Properties QEMU has but mrengine does not
 * implement are refused, not ignored.
 */
#include "qmp/qmp_int.h"

#include <ctype.h>
#include <string.h>

static const char *const backend_types[] = {
	"memory-backend-file", "memory-backend-memfd", NULL
};

const struct mre_qmp_arg mre_qmp_args_object_add[] = {
	MRE_ARG_ENUM("qom-type", true, backend_types),
	MRE_ARG("id", MRE_QT_STR, true),
	MRE_ARG_END
};

static const struct mre_qmp_arg args_file[] = {
	MRE_ARG("qom-type", MRE_QT_STR, true),
	MRE_ARG("id", MRE_QT_STR, true),
	MRE_ARG("size", MRE_QT_U64, true),
	MRE_ARG("mem-path", MRE_QT_STR, true),
	MRE_ARG("share", MRE_QT_BOOL, false),
	MRE_ARG_END
};

static const struct mre_qmp_arg args_memfd[] = {
	MRE_ARG("qom-type", MRE_QT_STR, true),
	MRE_ARG("id", MRE_QT_STR, true),
	MRE_ARG("size", MRE_QT_U64, true),
	MRE_ARG("share", MRE_QT_BOOL, false),
	MRE_ARG_END
};

/* QEMU's rule for object ids: a letter, then letters, digits, '-', '.', '_'. */
static bool id_wellformed(const char *id)
{
	if (!isalpha((unsigned char)id[0]))
		return false;
	for (const char *p = id + 1; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-._", *p))
			return false;
	return true;
}

int mre_qmp_cmd_object_add(struct mre_qmp_req *r)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_object_props p = { 0 };
	const cJSON *share;

	p.qom_type = mre_qmp_arg_str(r->args, "qom-type");
	p.id = mre_qmp_arg_str(r->args, "id");
	if (mre_qmp_check_args(r->args, strcmp(p.qom_type, "memory-backend-file") ? args_memfd : args_file,
			       false, "", &err))
		return mre_qmp_fail_err(r, &err);
	if (!id_wellformed(p.id))
		return mre_qmp_fail(r, "Parameter 'id' expects an identifier");
	/* A job maps and pins the blocks it works on; changing the block
	 * list under it is not worth the risk. */
	if (mre_engine_busy(r->q->eng))
		return mre_qmp_fail(r, "There's a migration process in progress");
	mre_qmp_arg_u64(r->args, "size", &p.size);
	p.mem_path = mre_qmp_arg_str(r->args, "mem-path");
	share = mre_qmp_arg(r->args, "share");
	p.has_share = share != NULL;
	p.share = cJSON_IsTrue(share);
	if (mre_vm_add_object(&r->q->eng->vm, &p, r->q->eng->fdsets, &err))
		return mre_qmp_fail_err(r, &err);
	return 0;
}

int mre_qmp_cmd_object_del(struct mre_qmp_req *r)
{
	struct mre_err err = MRE_ERR_INIT;
	const char *id = mre_qmp_arg_str(r->args, "id");

	if (!mre_vm_find(&r->q->eng->vm, id))
		return mre_qmp_fail(r, "object '%s' not found", id);
	if (mre_engine_busy(r->q->eng))
		return mre_qmp_fail(r, "There's a migration process in progress");
	if (mre_vm_del_object(&r->q->eng->vm, id, &err))
		return mre_qmp_fail_err(r, &err);
	return 0;
}

int mre_qmp_cmd_query_memdev(struct mre_qmp_req *r)
{
	const struct mre_vm *vm = &r->q->eng->vm;
	cJSON *list = cJSON_CreateArray();

	for (unsigned i = 0; i < vm->nblocks; i++) {
		const struct mre_ramblock *b = vm->blocks[i];
		cJSON *m = cJSON_CreateObject();

		/* QEMU's Memdev; mrengine has no NUMA binding, merge/dump
		 * hints or preallocation, so those report QEMU's defaults */
		mre_qmp_add_str(m, "id", b->id);
		mre_qmp_add_u64(m, "size", b->size);
		mre_qmp_add_bool(m, "merge", true);
		mre_qmp_add_bool(m, "dump", true);
		mre_qmp_add_bool(m, "prealloc", false);
		mre_qmp_add_bool(m, "share", b->share);
		mre_qmp_add_bool(m, "reserve", true);
		mre_qmp_add(m, "host-nodes", cJSON_CreateArray());
		mre_qmp_add_str(m, "policy", "default");
		mre_qmp_append(list, m);
	}
	r->ret = list;
	return 0;
}
