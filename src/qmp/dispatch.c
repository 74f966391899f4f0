/* SPDX-License-Identifier: MIT */
/*
 * dispatch.c: one QMP request from bytes to reply: parse, validate the
 * envelope, enforce capabilities negotiation, find the command, check the
 * arguments against its schema, run the handler, and queue the reply with
 * the request's id. Error texts and classes are QEMU's, so clients that
 * match on them keep working. Nothing here touches a socket directly.
 */
#include "qmp/qmp_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *mre_qmp_class_name(enum mre_qmp_class c)
{
	switch (c) {
	case MRE_QMP_COMMAND_NOT_FOUND: return "CommandNotFound";
	case MRE_QMP_DEVICE_NOT_FOUND: return "DeviceNotFound";
	case MRE_QMP_GENERIC_ERROR: break;
	}
	return "GenericError";
}

/* ---- handler helpers ---------------------------------------------------- */

int mre_qmp_fail_class(struct mre_qmp_req *r, enum mre_qmp_class cls, const char *fmt, ...)
{
	va_list ap;

	if (!mre_err_isset(&r->err))
		r->cls = cls;
	va_start(ap, fmt);
	mre_err_vset(&r->err, -EINVAL, fmt, ap);
	va_end(ap);
	return -1;
}

int mre_qmp_fail(struct mre_qmp_req *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mre_err_vset(&r->err, -EINVAL, fmt, ap);
	va_end(ap);
	return -1;
}

int mre_qmp_fail_err(struct mre_qmp_req *r, const struct mre_err *e)
{
	return mre_qmp_fail(r, "%s", e->msg[0] ? e->msg : mre_strerror(e->code));
}

const cJSON *mre_qmp_arg(const cJSON *args, const char *name)
{
	return args ? cJSON_GetObjectItemCaseSensitive(args, name) : NULL;
}

const char *mre_qmp_arg_str(const cJSON *args, const char *name)
{
	const cJSON *v = mre_qmp_arg(args, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool mre_qmp_arg_bool(const cJSON *args, const char *name, bool dflt)
{
	const cJSON *v = mre_qmp_arg(args, name);

	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

bool mre_qmp_arg_i64(const cJSON *args, const char *name, int64_t *out)
{
	return !mre_qmp_json_get_i64(mre_qmp_arg(args, name), out);
}

bool mre_qmp_arg_u64(const cJSON *args, const char *name, uint64_t *out)
{
	return !mre_qmp_json_get_u64(mre_qmp_arg(args, name), out);
}

/* ---- argument checking --------------------------------------------------- */

static int bad_type(struct mre_err *err, const char *name, const char *what)
{
	return mre_err_set(err, -EINVAL, "Invalid parameter type for '%s', expected: %s", name, what);
}

static int check_value(const cJSON *v, const struct mre_qmp_arg *a, const char *name,
		       struct mre_err *err);

static int check_unsigned(const cJSON *v, uint64_t max, const char *tname, const char *name,
			  struct mre_err *err)
{
	uint64_t x;

	/* QEMU's uint visitors say "expects uint64" for any non-integer and
	 * "expects uint8_t"/"uint32_t" when it does not fit. Negative values,
	 * which QEMU wraps around, are refused here. */
	if (mre_qmp_json_get_u64(v, &x))
		return mre_err_set(err, -EINVAL, "Parameter '%s' expects uint64", name);
	if (x > max)
		return mre_err_set(err, -EINVAL, "Parameter '%s' expects %s", name, tname);
	return 0;
}

static int check_value(const cJSON *v, const struct mre_qmp_arg *a, const char *name,
		       struct mre_err *err)
{
	int64_t i;
	char sub[256];
	int idx = 0;

	switch (a->type) {
	case MRE_QT_ANY:
		return 0;
	case MRE_QT_STR:
		return cJSON_IsString(v) ? 0 : bad_type(err, name, "string");
	case MRE_QT_STR_OR_NULL:
		return cJSON_IsString(v) || cJSON_IsNull(v) ? 0 : bad_type(err, name, "StrOrNull");
	case MRE_QT_INT:
		return !mre_qmp_json_get_i64(v, &i) ? 0 : bad_type(err, name, "integer");
	case MRE_QT_U64:
		return check_unsigned(v, UINT64_MAX, "uint64", name, err);
	case MRE_QT_U32:
		return check_unsigned(v, UINT32_MAX, "uint32_t", name, err);
	case MRE_QT_U8:
		return check_unsigned(v, UINT8_MAX, "uint8_t", name, err);
	case MRE_QT_BOOL:
		return cJSON_IsBool(v) ? 0 : bad_type(err, name, "boolean");
	case MRE_QT_NUM:
		return cJSON_IsNumber(v) ? 0 : bad_type(err, name, "number");
	case MRE_QT_ENUM:
		if (!cJSON_IsString(v))
			return bad_type(err, name, "string");
		for (const char *const *e = a->values; e && *e; e++)
			if (!strcmp(*e, v->valuestring))
				return 0;
		/* QEMU names the member without its path here */
		return mre_err_set(err, -EINVAL, "Parameter '%s' does not accept value '%s'", a->name,
				   v->valuestring);
	case MRE_QT_OBJ:
		if (!cJSON_IsObject(v))
			return bad_type(err, name, "object");
		snprintf(sub, sizeof(sub), "%s.", name);
		return a->members ? mre_qmp_check_args(v, a->members, false, sub, err) : 0;
	case MRE_QT_ARR:
		if (!cJSON_IsArray(v))
			return bad_type(err, name, "array");
		for (const cJSON *e = v->child; e; e = e->next, idx++) {
			struct mre_qmp_arg ea = { a->name, a->elem, true, a->values, a->members, MRE_QT_ANY };
			int r;

			snprintf(sub, sizeof(sub), "%s[%d]", name, idx);
			r = check_value(e, &ea, sub, err);
			if (r)
				return r;
		}
		return 0;
	}
	return 0;
}

int mre_qmp_check_args(const cJSON *obj, const struct mre_qmp_arg *schema, bool open,
		       const char *path, struct mre_err *err)
{
	char name[256];

	for (const struct mre_qmp_arg *a = schema; a && a->name; a++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, a->name);
		int r;

		snprintf(name, sizeof(name), "%s%s", path, a->name);
		if (!v) {
			if (a->required)
				return mre_err_set(err, -EINVAL, "Parameter '%s' is missing", name);
			continue;
		}
		r = check_value(v, a, name, err);
		if (r)
			return r;
	}
	if (open)
		return 0;
	for (const cJSON *m = obj ? obj->child : NULL; m; m = m->next) {
		const struct mre_qmp_arg *a = schema;

		while (a && a->name && strcmp(a->name, m->string))
			a++;
		if (!a || !a->name)
			return mre_err_set(err, -EINVAL, "Parameter '%s%s' is unexpected", path, m->string);
	}
	return 0;
}

/* ---- replies ----------------------------------------------------------------- */

static void send_error(struct mre_qmp_client *c, const cJSON *id, enum mre_qmp_class cls,
		       const char *desc)
{
	cJSON *rsp = cJSON_CreateObject(), *e = cJSON_CreateObject();

	/* QEMU's member order: id first, then error { class, desc } */
	if (id)
		mre_qmp_add(rsp, "id", cJSON_Duplicate(id, true));
	mre_qmp_add_str(e, "class", mre_qmp_class_name(cls));
	mre_qmp_add_str(e, "desc", desc);
	mre_qmp_add(rsp, "error", e);
	mre_qmp_send(c, rsp);
	cJSON_Delete(rsp);
}

static void send_return(struct mre_qmp_client *c, const cJSON *id, cJSON *ret)
{
	cJSON *rsp = cJSON_CreateObject();

	mre_qmp_add(rsp, "return", ret ? ret : cJSON_CreateObject());
	if (id)
		mre_qmp_add(rsp, "id", cJSON_Duplicate(id, true));
	mre_qmp_send(c, rsp);
	cJSON_Delete(rsp);
}

/* The envelope: QEMU's qmp_dispatch_check_obj, member by member. */
static int check_envelope(const cJSON *req, const char **name, const cJSON **args,
			  struct mre_err *err)
{
	*name = NULL;
	*args = NULL;
	for (const cJSON *m = req->child; m; m = m->next) {
		if (!strcmp(m->string, "execute")) {
			if (!cJSON_IsString(m))
				return mre_err_set(err, -EINVAL, "QMP input member 'execute' must be a string");
			*name = m->valuestring;
		} else if (!strcmp(m->string, "arguments")) {
			if (!cJSON_IsObject(m))
				return mre_err_set(err, -EINVAL,
						   "QMP input member 'arguments' must be an object");
			*args = m;
		} else if (strcmp(m->string, "id")) {
			/* "exec-oob" lands here too: no client can negotiate oob */
			return mre_err_set(err, -EINVAL, "QMP input member '%s' is unexpected", m->string);
		}
	}
	if (!*name)
		return mre_err_set(err, -EINVAL, "QMP input lacks member 'execute'");
	return 0;
}

void mre_qmp_dispatch(struct mre_qmp *q, struct mre_qmp_client *c, const char *buf, size_t len)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_qmp_req r = { 0 };
	const struct mre_qmp_cmd *cmd;
	const cJSON *args;
	cJSON *req = NULL, *id, *empty = NULL;
	const char *name;
	bool negotiated = !c || c->negotiated;

	if (mre_qmp_json_parse(buf, len, &req, &err)) {
		send_error(c, NULL, MRE_QMP_GENERIC_ERROR, err.msg);
		return;
	}
	if (!cJSON_IsObject(req)) {
		send_error(c, NULL, MRE_QMP_GENERIC_ERROR, "QMP input must be a JSON object");
		cJSON_Delete(req);
		return;
	}
	id = cJSON_DetachItemFromObjectCaseSensitive(req, "id");
	if (check_envelope(req, &name, &args, &err)) {
		send_error(c, id, MRE_QMP_GENERIC_ERROR, err.msg);
		goto out;
	}
	cmd = mre_qmp_cmd_find(name);
	if (!negotiated && (!cmd || !(cmd->flags & MRE_QMP_F_NEGOTIATION))) {
		send_error(c, id, MRE_QMP_COMMAND_NOT_FOUND,
			   "Expecting capabilities negotiation with 'qmp_capabilities'");
		goto out;
	}
	if (!cmd) {
		char desc[MRE_ERR_MSG_MAX];

		snprintf(desc, sizeof(desc), "The command %s has not been found", name);
		send_error(c, id, MRE_QMP_COMMAND_NOT_FOUND, desc);
		goto out;
	}
	if (!args)
		args = empty = cJSON_CreateObject();
	if (cmd->args) {
		if (mre_qmp_check_args(args, cmd->args, cmd->flags & MRE_QMP_F_OPEN_ARGS, "", &err)) {
			send_error(c, id, MRE_QMP_GENERIC_ERROR, err.msg);
			goto out;
		}
	} else if (args && args->child) {
		snprintf(err.msg, sizeof(err.msg), "Parameter '%s' is unexpected", args->child->string);
		send_error(c, id, MRE_QMP_GENERIC_ERROR, err.msg);
		goto out;
	}
	r.q = q;
	r.client = c;
	r.args = args;
	if (cmd->fn(&r) < 0 || mre_err_isset(&r.err)) {
		cJSON_Delete(r.ret);
		send_error(c, id, r.cls, r.err.msg[0] ? r.err.msg : "error");
	} else {
		send_return(c, id, r.ret);
	}
out:
	cJSON_Delete(id);
	cJSON_Delete(empty);
	cJSON_Delete(req);
}
