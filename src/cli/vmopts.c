/* SPDX-License-Identifier: MIT */
/* vmopts.c: VM-describing command line options. */
#include "cli/vmopts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static int set_str(char **dst, const char *v)
{
	char *n = strdup(v);

	if (!n)
		return -ENOMEM;
	free(*dst);
	*dst = n;
	return 0;
}

int mre_cli_vm_option(struct mre_engine *e, int opt, const char *arg)
{
	struct mre_err err = MRE_ERR_INIT;
	int r;

	switch (opt) {
	case MRE_OPT_OBJECT:
		r = mre_vm_parse_object(&e->vm, arg, e->fdsets, &err);
		break;
	case MRE_OPT_NAME:
		r = set_str(&e->vm.name, arg);
		break;
	case MRE_OPT_UUID:
		r = mre_vm_set_uuid(&e->vm, arg, &err);
		break;
	case MRE_OPT_MACHINE:
		r = set_str(&e->vm.machine, arg);
		break;
	case MRE_OPT_LABEL:
		r = mre_vm_add_label(&e->vm, arg, &err);
		break;
	case MRE_OPT_DEVICE_STATE:
		r = set_str(&e->vm.device_state, arg);
		break;
	case MRE_OPT_RUNNING:
		e->vm.running = true;
		r = 0;
		break;
	default:
		return 0;
	}
	if (r) {
		if (!err.code)
			mre_err_set(&err, r, "%s", mre_strerror(r));
		mre_cli_fail(&err);
		return r;
	}
	return 1;
}
