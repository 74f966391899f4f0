/* SPDX-License-Identifier: MIT */
/*
 * cmd_x.c: mrengine's own commands (QEMU's x- convention) for policies and
 * images: x-policy-load (replace the policy; the old one stays if the new
 * one fails), x-policy-query, x-plan (the plan a migrate would use now,
 * without starting anything) and x-image-inspect (what `inspect --json`
 * prints). Thin: each calls one engine function.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/imagefile.h"
#include "engine/report.h"
#include "engine/uri.h"
#include "policy/policy.h"
#include "qmp/qmp_int.h"
#include "util/jsonw.h"

const struct mre_qmp_arg mre_qmp_args_x_policy_load[] = {
	MRE_ARG("path", MRE_QT_STR, true),
	MRE_ARG_END,
};

static const char *const plan_kinds[] = { "save", "restore", NULL };

const struct mre_qmp_arg mre_qmp_args_x_plan[] = {
	MRE_ARG_ENUM("kind", false, plan_kinds),
	MRE_ARG("uri", MRE_QT_STR, false),
	MRE_ARG_END,
};

const struct mre_qmp_arg mre_qmp_args_x_image_inspect[] = {
	MRE_ARG("filename", MRE_QT_STR, true),
	MRE_ARG("offset", MRE_QT_U64, false),
	MRE_ARG_END,
};

/* JSON text from our own writer, as a cJSON value (NULL on failure). */
static cJSON *parse_own(const struct mre_wbuf *wb, struct mre_err *err)
{
	cJSON *v = NULL;

	if (mre_wbuf_err(wb))
		mre_err_set(err, -ENOMEM, "out of memory");
	else
		mre_qmp_json_parse((const char *)wb->data, wb->len, &v, err);
	return v;
}

static cJSON *plan_json(const struct mre_plan *p, struct mre_err *err)
{
	struct mre_wbuf wb;
	struct mre_jsonw j;
	cJSON *v;

	mre_wbuf_init(&wb);
	mre_jsonw_init(&j, &wb);
	mre_plan_json(p, &j);
	v = parse_own(&wb, err);
	mre_wbuf_free(&wb);
	return v;
}

static cJSON *policy_info(const struct mre_policy *p)
{
	cJSON *v = cJSON_CreateObject(), *hooks = cJSON_CreateArray();

	mre_qmp_add_str(v, "name", mre_policy_name(p));
	mre_qmp_add_str(v, "path", mre_policy_path(p));
	for (int h = 0; h < MRE_HOOK__COUNT; h++)
		if (mre_policy_has_hook(p, h))
			mre_qmp_append(hooks, cJSON_CreateString(mre_hook_name(h)));
	mre_qmp_add(v, "hooks", hooks);
	return v;
}

int mre_qmp_cmd_x_policy_load(struct mre_qmp_req *r)
{
	struct mre_policy *p;

	/* the new policy is built completely before the old one is replaced */
	if (mre_policy_load(mre_qmp_arg_str(r->args, "path"), NULL, &p, &r->err))
		return mre_qmp_fail_err(r, &r->err);
	mre_engine_set_policy(r->q->eng, p);
	r->ret = policy_info(p);
	return 0;
}

int mre_qmp_cmd_x_policy_query(struct mre_qmp_req *r)
{
	struct mre_engine *e = r->q->eng;
	cJSON *v = e->policy ? policy_info(e->policy) : cJSON_CreateObject();

	if (e->has_last_plan) {
		cJSON *lp = plan_json(&e->last_plan, &r->err);

		if (!lp) {
			cJSON_Delete(v);
			return mre_qmp_fail_err(r, &r->err);
		}
		mre_qmp_add(v, "last-plan", lp);
	}
	r->ret = v;
	return 0;
}

int mre_qmp_cmd_x_plan(struct mre_qmp_req *r)
{
	const char *kind = mre_qmp_arg_str(r->args, "kind"), *uri = mre_qmp_arg_str(r->args, "uri");
	struct mre_file_uri fu = { 0 };
	struct mre_job_target t = { 0 };
	struct mre_facts_params fp;
	struct mre_plan plan;
	bool restore = kind && !strcmp(kind, "restore");
	int rc;

	if (restore && !uri)
		return mre_qmp_fail(r, "Parameter 'uri' is missing: a restore plan depends on the image");
	if (uri) {
		if (mre_file_uri_parse(uri, &fu, &r->err))
			return mre_qmp_fail_err(r, &r->err);
		t = (struct mre_job_target){ .path = fu.path, .offset = fu.offset, .offset_given = fu.offset_given };
	}
	mre_qmp_migcfg_facts(&r->q->cfg, &fp);
	rc = mre_engine_plan(r->q->eng, restore ? MRE_JOB_RESTORE : MRE_JOB_SAVE,
			     uri ? &t : NULL, &fp, &plan, &r->err);
	mre_file_uri_free(&fu);
	if (rc)
		return mre_qmp_fail_err(r, &r->err);
	r->ret = plan_json(&plan, &r->err);
	mre_plan_free(&plan);
	return r->ret ? 0 : mre_qmp_fail_err(r, &r->err);
}

int mre_qmp_cmd_x_image_inspect(struct mre_qmp_req *r)
{
	uint64_t offset = MRE_OFFSET_AUTO;
	struct mre_imagefile f;
	struct mre_wbuf wb;

	mre_qmp_arg_u64(r->args, "offset", &offset);
	if (mre_imagefile_open(&f, mre_qmp_arg_str(r->args, "filename"), -1, offset, 0, &r->err))
		return mre_qmp_fail_err(r, &r->err);
	mre_wbuf_init(&wb);
	mre_report_json(&f, &wb);
	mre_imagefile_close(&f);
	r->ret = parse_own(&wb, &r->err);
	mre_wbuf_free(&wb);
	return r->ret ? 0 : mre_qmp_fail_err(r, &r->err);
}
