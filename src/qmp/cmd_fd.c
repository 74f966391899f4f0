/* SPDX-License-Identifier: MIT */
/*
 * cmd_fd.c: add-fd, remove-fd, query-fdsets, getfd, closefd. Descriptors
 * come from the client's SCM_RIGHTS queue, oldest first; whatever happens
 * next, ownership has moved (to the registry, or closed on error), so a
 * failed command never leaks the descriptor it consumed.
 */
#include "qmp/qmp_int.h"

#include <limits.h>
#include <unistd.h>

static int take_fd(struct mre_qmp_req *r)
{
	return r->client ? mre_qmp_client_take_fd(r->client) : -1;
}

/*
 * The engine's job thread opens its file from the registry while the job
 * is setting up (src/engine/save.c, restore.c); the registry is not
 * thread-safe, so it must not change under that thread. Once the job is
 * active its descriptors are its own dups and the sets are free again.
 */
static int registry_busy(struct mre_qmp_req *r, int fd)
{
	struct mre_job_stats st;

	if (!mre_engine_busy(r->q->eng))
		return 0;
	mre_job_get_stats(r->q->eng->job, &st);
	if (st.status != MRE_JOB_NONE && st.status != MRE_JOB_SETUP)
		return 0;
	if (fd >= 0)
		close(fd);
	return mre_qmp_fail(r, "fdsets cannot change while a migration is opening its files; "
			    "retry once it is active");
}

int mre_qmp_cmd_add_fd(struct mre_qmp_req *r)
{
	struct mre_err err = MRE_ERR_INIT;
	int64_t set = -1, out_set;
	bool has_set = mre_qmp_arg_i64(r->args, "fdset-id", &set);
	int fd = take_fd(r), out_fd;
	cJSON *info;

	if (fd < 0)
		return mre_qmp_fail(r, "No file descriptor supplied via SCM_RIGHTS");
	if (registry_busy(r, fd))
		return -1;
	if (has_set && set < 0) {
		close(fd);
		return mre_qmp_fail(r, "Parameter 'fdset-id' expects a non-negative value");
	}
	if (mre_fdsets_add(r->q->eng->fdsets, fd, has_set ? set : -1,
			   mre_qmp_arg_str(r->args, "opaque"), &out_set, &out_fd, &err))
		return mre_qmp_fail_err(r, &err);
	info = cJSON_CreateObject();
	mre_qmp_add_i64(info, "fd", out_fd);
	mre_qmp_add_i64(info, "fdset-id", out_set);
	r->ret = info;
	return 0;
}

int mre_qmp_cmd_remove_fd(struct mre_qmp_req *r)
{
	struct mre_err err = MRE_ERR_INIT;
	int64_t set = 0, fd = -1;
	bool has_fd = mre_qmp_arg_i64(r->args, "fd", &fd);

	mre_qmp_arg_i64(r->args, "fdset-id", &set);
	if (registry_busy(r, -1))
		return -1;
	if (has_fd && (fd < 0 || fd > INT_MAX))
		return mre_qmp_fail(r, "File descriptor named 'fdset-id:%lld, fd:%lld' not found",
				    (long long)set, (long long)fd);
	if (mre_fdsets_remove(r->q->eng->fdsets, set, has_fd ? (int)fd : -1, &err))
		return mre_qmp_fail_err(r, &err);
	return 0;
}

int mre_qmp_cmd_query_fdsets(struct mre_qmp_req *r)
{
	const struct mre_fdsets *s = r->q->eng->fdsets;
	cJSON *list = cJSON_CreateArray();

	for (unsigned i = 0; i < mre_fdsets_nsets(s); i++) {
		cJSON *set = cJSON_CreateObject(), *fds = cJSON_CreateArray();

		for (unsigned j = 0; j < mre_fdsets_set_nfds(s, i); j++) {
			struct mre_fdset_fd f = mre_fdsets_set_fd(s, i, j);
			cJSON *o = cJSON_CreateObject();

			mre_qmp_add_i64(o, "fd", f.fd);
			if (f.opaque)
				mre_qmp_add_str(o, "opaque", f.opaque);
			mre_qmp_append(fds, o);
		}
		mre_qmp_add(set, "fds", fds);
		mre_qmp_add_i64(set, "fdset-id", mre_fdsets_set_id(s, i));
		mre_qmp_append(list, set);
	}
	r->ret = list;
	return 0;
}

int mre_qmp_cmd_getfd(struct mre_qmp_req *r)
{
	struct mre_err err = MRE_ERR_INIT;
	int fd = take_fd(r);

	if (fd < 0)
		return mre_qmp_fail(r, "No file descriptor supplied via SCM_RIGHTS");
	if (registry_busy(r, fd))
		return -1;
	if (mre_fdsets_getfd(r->q->eng->fdsets, mre_qmp_arg_str(r->args, "fdname"), fd, &err))
		return mre_qmp_fail_err(r, &err);
	return 0;
}

int mre_qmp_cmd_closefd(struct mre_qmp_req *r)
{
	struct mre_err err = MRE_ERR_INIT;

	if (registry_busy(r, -1))
		return -1;
	if (mre_fdsets_closefd(r->q->eng->fdsets, mre_qmp_arg_str(r->args, "fdname"), &err))
		return mre_qmp_fail_err(r, &err);
	return 0;
}
