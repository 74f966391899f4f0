/* SPDX-License-Identifier: MIT */
/*
 * commands.c: the command table, the single source of truth for what the
 * daemon accepts: names, argument schemas, flags and one-line help. It is
 * sorted by name (a unit test checks) and searched with bsearch;
 * query-commands is generated from it.
 */
#include "qmp/qmp_int.h"

#include <stdlib.h>
#include <string.h>

static const char *const oob_values[] = { "oob", NULL };

static const struct mre_qmp_arg args_qmp_capabilities[] = {
	MRE_ARG_ARR("enable", false, MRE_QT_ENUM, NULL, oob_values),
	MRE_ARG_END
};

static const struct mre_qmp_arg args_add_fd[] = {
	MRE_ARG("fdset-id", MRE_QT_INT, false),
	MRE_ARG("opaque", MRE_QT_STR, false),
	MRE_ARG_END
};

static const struct mre_qmp_arg args_remove_fd[] = {
	MRE_ARG("fdset-id", MRE_QT_INT, true),
	MRE_ARG("fd", MRE_QT_INT, false),
	MRE_ARG_END
};

static const struct mre_qmp_arg args_fdname[] = {
	MRE_ARG("fdname", MRE_QT_STR, true),
	MRE_ARG_END
};

static const struct mre_qmp_arg args_object_del[] = {
	MRE_ARG("id", MRE_QT_STR, true),
	MRE_ARG_END
};

static const struct mre_qmp_cmd table[] = {
	{ "add-fd", mre_qmp_cmd_add_fd, args_add_fd, 0,
	  "add the descriptor passed with SCM_RIGHTS to an fdset" },
	{ "closefd", mre_qmp_cmd_closefd, args_fdname, 0,
	  "close a descriptor named by getfd" },
	{ "cont", mre_qmp_cmd_cont, NULL, 0,
	  "mark the VM running (RESUME event)" },
	{ "getfd", mre_qmp_cmd_getfd, args_fdname, 0,
	  "keep the descriptor passed with SCM_RIGHTS under a name" },
	{ "migrate", mre_qmp_cmd_migrate, mre_qmp_args_migrate, 0,
	  "save the VM's memory to a mapped-ram file in the background" },
	{ "migrate-incoming", mre_qmp_cmd_migrate_incoming, mre_qmp_args_migrate_incoming, 0,
	  "restore the VM's memory from a mapped-ram file in the background" },
	{ "migrate-set-capabilities", mre_qmp_cmd_migrate_set_capabilities,
	  mre_qmp_args_set_capabilities, 0, "enable or disable migration capabilities" },
	{ "migrate-set-parameters", mre_qmp_cmd_migrate_set_parameters,
	  mre_qmp_args_set_parameters, 0, "set migration parameters" },
	{ "migrate_cancel", mre_qmp_cmd_migrate_cancel, NULL, 0,
	  "cancel the running save or restore" },
	{ "object-add", mre_qmp_cmd_object_add, mre_qmp_args_object_add, MRE_QMP_F_OPEN_ARGS,
	  "define a RAM block (memory-backend-file or memory-backend-memfd)" },
	{ "object-del", mre_qmp_cmd_object_del, args_object_del, 0,
	  "remove a RAM block" },
	{ "qmp_capabilities", mre_qmp_cmd_qmp_capabilities, args_qmp_capabilities,
	  MRE_QMP_F_NEGOTIATION, "leave capabilities negotiation mode" },
	{ "query-commands", mre_qmp_cmd_query_commands, NULL, 0,
	  "list the commands" },
	{ "query-fdsets", mre_qmp_cmd_query_fdsets, NULL, 0,
	  "list the fdsets and their descriptors" },
	{ "query-memdev", mre_qmp_cmd_query_memdev, NULL, 0,
	  "list the RAM blocks" },
	{ "query-migrate", mre_qmp_cmd_query_migrate, NULL, 0,
	  "status and statistics of the current or last migration" },
	{ "query-migrate-capabilities", mre_qmp_cmd_query_migrate_capabilities, NULL, 0,
	  "list every migration capability and its state" },
	{ "query-migrate-parameters", mre_qmp_cmd_query_migrate_parameters, NULL, 0,
	  "list every migration parameter and its value" },
	{ "query-status", mre_qmp_cmd_query_status, NULL, 0,
	  "the VM's run state" },
	{ "query-version", mre_qmp_cmd_query_version, NULL, 0,
	  "the QEMU version mrengine speaks for, and mrengine's own" },
	{ "quit", mre_qmp_cmd_quit, NULL, 0,
	  "cancel any migration and exit" },
	{ "remove-fd", mre_qmp_cmd_remove_fd, args_remove_fd, 0,
	  "close one descriptor of an fdset, or the whole set" },
	{ "stop", mre_qmp_cmd_stop, NULL, 0,
	  "mark the VM paused (STOP event)" },
	{ "x-image-inspect", mre_qmp_cmd_x_image_inspect, mre_qmp_args_x_image_inspect, 0,
	  "an image's layout, as `mrengine inspect --json` prints it" },
	{ "x-plan", mre_qmp_cmd_x_plan, mre_qmp_args_x_plan, 0,
	  "the plan a save or restore would use now (policy included), without starting it" },
	{ "x-policy-load", mre_qmp_cmd_x_policy_load, mre_qmp_args_x_policy_load, 0,
	  "load a policy in place of the current one, which stays if the new one fails" },
	{ "x-policy-query", mre_qmp_cmd_x_policy_query, NULL, 0,
	  "the loaded policy (name, file, hooks) and the plan of the last migration" },
};

static int cmp_name(const void *key, const void *elem)
{
	return strcmp(key, ((const struct mre_qmp_cmd *)elem)->name);
}

const struct mre_qmp_cmd *mre_qmp_cmd_find(const char *name)
{
	return bsearch(name, table, sizeof(table) / sizeof(table[0]), sizeof(table[0]), cmp_name);
}

const struct mre_qmp_cmd *mre_qmp_cmd_table(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]);
	return table;
}

int mre_qmp_cmd_query_commands(struct mre_qmp_req *r)
{
	cJSON *list = cJSON_CreateArray();

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		cJSON *o = cJSON_CreateObject();

		mre_qmp_add_str(o, "name", table[i].name);
		mre_qmp_append(list, o);
	}
	r->ret = list;
	return 0;
}
