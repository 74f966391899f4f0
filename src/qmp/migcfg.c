/* SPDX-License-Identifier: MIT */
/*
 * migcfg.c: migration capabilities and parameters as QEMU 10.0 defines them
 * (names, enum order, types, defaults, ranges and the texts of its checks),
 * plus mrengine's own x-io. Changes are all-or-nothing: a request is
 * applied to a copy, checked as a whole, then committed. Which values a
 * client set explicitly is remembered, because the engine and the policy
 * treat "asked for" differently from "default" (facts.h).
 */
#include "qmp/qmp_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const cap_names[MRE_CAP__COUNT] = {
	"xbzrle", "rdma-pin-all", "auto-converge", "zero-blocks", "events", "postcopy-ram",
	"x-colo", "release-ram", "return-path", "pause-before-switchover", "multifd",
	"dirty-bitmaps", "postcopy-blocktime", "late-block-activate", "x-ignore-shared",
	"validate-uuid", "background-snapshot", "zero-copy-send", "postcopy-preempt",
	"switchover-ack", "dirty-limit", "mapped-ram",
};

static const char *const cap_values[MRE_CAP__COUNT + 1] = {
	"xbzrle", "rdma-pin-all", "auto-converge", "zero-blocks", "events", "postcopy-ram",
	"x-colo", "release-ram", "return-path", "pause-before-switchover", "multifd",
	"dirty-bitmaps", "postcopy-blocktime", "late-block-activate", "x-ignore-shared",
	"validate-uuid", "background-snapshot", "zero-copy-send", "postcopy-preempt",
	"switchover-ack", "dirty-limit", "mapped-ram", NULL
};

const char *mre_qmp_cap_name(enum mre_qmp_cap cap)
{
	return cap < MRE_CAP__COUNT ? cap_names[cap] : "?";
}

static const struct mre_qmp_arg cap_status[] = {
	MRE_ARG_ENUM("capability", true, cap_values),
	MRE_ARG("state", MRE_QT_BOOL, true),
	MRE_ARG_END
};

const struct mre_qmp_arg mre_qmp_args_set_capabilities[] = {
	MRE_ARG_ARR("capabilities", true, MRE_QT_OBJ, cap_status, NULL),
	MRE_ARG_END
};

/* ---- parameters ------------------------------------------------------------ */

enum pkind { P_U8, P_U32, P_U64, P_BOOL, P_ENUM, P_STRNULL, P_MAPPING };

static const char *const compression_values[] = { "none", "zlib", "zstd", NULL };
static const char *const mode_values[] = { "normal", "cpr-reboot", "cpr-transfer", NULL };
static const char *const zpd_values[] = { "none", "legacy", "multifd", NULL };
static const char *const io_values[] = { "auto", "threads", "uring", NULL };

struct pdesc {
	const char *name;
	enum pkind kind;
	uint64_t dflt;             /* numbers and booleans */
	const char *dflt_s;        /* enums and strings */
	const char *const *values;
	uint64_t min, max;         /* numbers: allowed range */
	const char *range_msg;     /* QEMU's text when out of range */
};

/* In QAPI's MigrationParameters order, which is also query order. */
static const struct pdesc params[MRE_QMP_NPARAMS] = {
	{ .name = "announce-initial", .kind = P_U64,
	  .dflt = 50, .max = 100000,
	  .range_msg = "Parameter 'announce_initial' expects a value between 0 and 100000" },
	{ .name = "announce-max", .kind = P_U64,
	  .dflt = 550, .max = 100000,
	  .range_msg = "Parameter 'announce_max' expects a value between 0 and 100000" },
	{ .name = "announce-rounds", .kind = P_U64,
	  .dflt = 5, .max = 1000,
	  .range_msg = "Parameter 'announce_rounds' expects a value between 0 and 1000" },
	{ .name = "announce-step", .kind = P_U64,
	  .dflt = 100, .min = 1, .max = 10000,
	  .range_msg = "Parameter 'announce_step' expects a value between 0 and 10000" },
	{ .name = "throttle-trigger-threshold", .kind = P_U8,
	  .dflt = 50, .min = 1, .max = 100,
	  .range_msg = "Parameter 'throttle_trigger_threshold' expects an integer in the range of 1 to 100" },
	{ .name = "cpu-throttle-initial", .kind = P_U8,
	  .dflt = 20, .min = 1, .max = 99,
	  .range_msg = "Parameter 'cpu_throttle_initial' expects an integer in the range of 1 to 99" },
	{ .name = "cpu-throttle-increment", .kind = P_U8,
	  .dflt = 10, .min = 1, .max = 99,
	  .range_msg = "Parameter 'cpu_throttle_increment' expects an integer in the range of 1 to 99" },
	{ .name = "cpu-throttle-tailslow", .kind = P_BOOL },
	{ .name = "tls-creds", .kind = P_STRNULL, .dflt_s = "" },
	{ .name = "tls-hostname", .kind = P_STRNULL, .dflt_s = "" },
	{ .name = "tls-authz", .kind = P_STRNULL, .dflt_s = "" },
	{ .name = "max-bandwidth", .kind = P_U64, .dflt = 134217728, .max = UINT64_MAX },
	{ .name = "avail-switchover-bandwidth", .kind = P_U64, .max = UINT64_MAX },
	{ .name = "downtime-limit", .kind = P_U64,
	  .dflt = 300, .max = 2000000,
	  .range_msg = "Parameter 'downtime_limit' expects an integer in the range of 0 to (2000 * 1000) ms" },
	{ .name = "x-checkpoint-delay", .kind = P_U32, .dflt = 20000, .max = UINT32_MAX },
	{ .name = "multifd-channels", .kind = P_U8,
	  .dflt = 2, .min = 1, .max = 255,
	  .range_msg = "Parameter 'multifd_channels' expects a value between 1 and 255" },
	{ .name = "xbzrle-cache-size", .kind = P_U64,
	  .dflt = 67108864, .min = 4096, .max = UINT64_MAX,
	  .range_msg = "Parameter 'xbzrle_cache_size' expects a power of two no less than the target page size" },
	{ .name = "max-postcopy-bandwidth", .kind = P_U64, .max = UINT64_MAX },
	{ .name = "max-cpu-throttle", .kind = P_U8,
	  .dflt = 99, .max = 99,
	  .range_msg = "Parameter 'max_cpu_throttle' expects an integer in the range of cpu_throttle_initial to 99" },
	{ .name = "multifd-compression", .kind = P_ENUM,
	  .dflt_s = "none", .values = compression_values },
	{ .name = "multifd-zlib-level", .kind = P_U8,
	  .dflt = 1, .max = 9,
	  .range_msg = "Parameter 'multifd_zlib_level' expects a value between 0 and 9" },
	{ .name = "multifd-qatzip-level", .kind = P_U8,
	  .dflt = 1, .min = 1, .max = 9,
	  .range_msg = "Parameter 'multifd_qatzip_level' expects a value between 1 and 9" },
	{ .name = "multifd-zstd-level", .kind = P_U8,
	  .dflt = 1, .max = 20,
	  .range_msg = "Parameter 'multifd_zstd_level' expects a value between 0 and 20" },
	{ .name = "block-bitmap-mapping", .kind = P_MAPPING },
	{ .name = "x-vcpu-dirty-limit-period", .kind = P_U64,
	  .dflt = 1000, .min = 1, .max = 1000,
	  .range_msg = "Parameter 'x-vcpu-dirty-limit-period' expects a value between 1 and 1000" },
	{ .name = "vcpu-dirty-limit", .kind = P_U64,
	  .dflt = 1, .min = 1, .max = UINT64_MAX,
	  .range_msg = "Parameter 'vcpu_dirty_limit' must be greater than 1 MB/s" },
	{ .name = "mode", .kind = P_ENUM, .dflt_s = "normal", .values = mode_values },
	{ .name = "zero-page-detection", .kind = P_ENUM,
	  .dflt_s = "multifd", .values = zpd_values },
	{ .name = "direct-io", .kind = P_BOOL },
	/* mrengine: the I/O backend of the channels */
	{ .name = "x-io", .kind = P_ENUM, .dflt_s = "auto", .values = io_values },
};

static const struct mre_qmp_arg bitmap_transform[] = {
	MRE_ARG("persistent", MRE_QT_BOOL, false),
	MRE_ARG_END
};

static const struct mre_qmp_arg bitmap_alias[] = {
	MRE_ARG("name", MRE_QT_STR, true),
	MRE_ARG("alias", MRE_QT_STR, true),
	MRE_ARG_OBJ("transform", false, bitmap_transform),
	MRE_ARG_END
};

static const struct mre_qmp_arg node_alias[] = {
	MRE_ARG("node-name", MRE_QT_STR, true),
	MRE_ARG("alias", MRE_QT_STR, true),
	MRE_ARG_ARR("bitmaps", true, MRE_QT_OBJ, bitmap_alias, NULL),
	MRE_ARG_END
};

/* Same order as params[]; test_qmp checks they agree. */
const struct mre_qmp_arg mre_qmp_args_set_parameters[] = {
	MRE_ARG("announce-initial", MRE_QT_U64, false),
	MRE_ARG("announce-max", MRE_QT_U64, false),
	MRE_ARG("announce-rounds", MRE_QT_U64, false),
	MRE_ARG("announce-step", MRE_QT_U64, false),
	MRE_ARG("throttle-trigger-threshold", MRE_QT_U8, false),
	MRE_ARG("cpu-throttle-initial", MRE_QT_U8, false),
	MRE_ARG("cpu-throttle-increment", MRE_QT_U8, false),
	MRE_ARG("cpu-throttle-tailslow", MRE_QT_BOOL, false),
	MRE_ARG("tls-creds", MRE_QT_STR_OR_NULL, false),
	MRE_ARG("tls-hostname", MRE_QT_STR_OR_NULL, false),
	MRE_ARG("tls-authz", MRE_QT_STR_OR_NULL, false),
	MRE_ARG("max-bandwidth", MRE_QT_U64, false),
	MRE_ARG("avail-switchover-bandwidth", MRE_QT_U64, false),
	MRE_ARG("downtime-limit", MRE_QT_U64, false),
	MRE_ARG("x-checkpoint-delay", MRE_QT_U32, false),
	MRE_ARG("multifd-channels", MRE_QT_U8, false),
	MRE_ARG("xbzrle-cache-size", MRE_QT_U64, false),
	MRE_ARG("max-postcopy-bandwidth", MRE_QT_U64, false),
	MRE_ARG("max-cpu-throttle", MRE_QT_U8, false),
	MRE_ARG_ENUM("multifd-compression", false, compression_values),
	MRE_ARG("multifd-zlib-level", MRE_QT_U8, false),
	MRE_ARG("multifd-qatzip-level", MRE_QT_U8, false),
	MRE_ARG("multifd-zstd-level", MRE_QT_U8, false),
	MRE_ARG_ARR("block-bitmap-mapping", false, MRE_QT_OBJ, node_alias, NULL),
	MRE_ARG("x-vcpu-dirty-limit-period", MRE_QT_U64, false),
	MRE_ARG("vcpu-dirty-limit", MRE_QT_U64, false),
	MRE_ARG_ENUM("mode", false, mode_values),
	MRE_ARG_ENUM("zero-page-detection", false, zpd_values),
	MRE_ARG("direct-io", MRE_QT_BOOL, false),
	MRE_ARG_ENUM("x-io", false, io_values),
	MRE_ARG_END
};

static int pindex(const char *name)
{
	for (int i = 0; i < MRE_QMP_NPARAMS; i++)
		if (!strcmp(params[i].name, name))
			return i;
	return -1;
}

static void pval_free(struct mre_qmp_pval *v)
{
	free(v->s);
	cJSON_Delete(v->raw);
	v->s = NULL;
	v->raw = NULL;
}

void mre_qmp_migcfg_init(struct mre_qmp_migcfg *c)
{
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < MRE_QMP_NPARAMS; i++) {
		c->params[i].u = params[i].dflt;
		c->params[i].b = params[i].dflt != 0;
		/* strdup failure leaves NULL, which reads as the default "" */
		if (params[i].dflt_s)
			c->params[i].s = strdup(params[i].dflt_s);
	}
}

void mre_qmp_migcfg_free(struct mre_qmp_migcfg *c)
{
	for (int i = 0; i < MRE_QMP_NPARAMS; i++)
		pval_free(&c->params[i]);
}

uint64_t mre_qmp_param_u64(const struct mre_qmp_migcfg *c, const char *name)
{
	int i = pindex(name);

	return i < 0 ? 0 : c->params[i].u;
}

bool mre_qmp_param_bool(const struct mre_qmp_migcfg *c, const char *name)
{
	int i = pindex(name);

	return i >= 0 && c->params[i].b;
}

const char *mre_qmp_param_str(const struct mre_qmp_migcfg *c, const char *name)
{
	int i = pindex(name);

	if (i < 0)
		return "";
	return c->params[i].s ? c->params[i].s : params[i].dflt_s ? params[i].dflt_s : "";
}

bool mre_qmp_param_is_set(const struct mre_qmp_migcfg *c, const char *name)
{
	int i = pindex(name);

	return i >= 0 && c->params[i].set;
}

/* ---- checks shared by capabilities and parameters ------------------------- */

static bool uses_tls(const struct mre_qmp_pval *p)
{
	const char *creds = p[pindex("tls-creds")].s;

	return creds && *creds;
}

static bool uses_compression(const struct mre_qmp_pval *p)
{
	const char *comp = p[pindex("multifd-compression")].s;

	return comp && strcmp(comp, "none");
}

/* QEMU's migrate_caps_check, for the combinations that exist in 10.0. */
static int check_caps(const bool *cap, const struct mre_qmp_pval *p, struct mre_err *err)
{
	static const enum mre_qmp_cap bg_conflicts[] = {
		MRE_CAP_POSTCOPY_RAM, MRE_CAP_DIRTY_BITMAPS, MRE_CAP_POSTCOPY_BLOCKTIME,
		MRE_CAP_LATE_BLOCK_ACTIVATE, MRE_CAP_RETURN_PATH, MRE_CAP_MULTIFD,
		MRE_CAP_PAUSE_BEFORE_SWITCHOVER, MRE_CAP_AUTO_CONVERGE, MRE_CAP_RELEASE_RAM,
		MRE_CAP_RDMA_PIN_ALL, MRE_CAP_XBZRLE, MRE_CAP_X_COLO, MRE_CAP_VALIDATE_UUID,
		MRE_CAP_ZERO_COPY_SEND,
	};

	if (cap[MRE_CAP_POSTCOPY_RAM] && cap[MRE_CAP_X_IGNORE_SHARED])
		return mre_err_set(err, -EINVAL, "Postcopy is not compatible with ignore-shared");
	if (cap[MRE_CAP_POSTCOPY_RAM] && cap[MRE_CAP_MULTIFD])
		return mre_err_set(err, -EINVAL, "Postcopy is not yet compatible with multifd");
	if (cap[MRE_CAP_BACKGROUND_SNAPSHOT])
		for (size_t i = 0; i < sizeof(bg_conflicts) / sizeof(bg_conflicts[0]); i++)
			if (cap[bg_conflicts[i]])
				return mre_err_set(err, -EINVAL,
						   "Background-snapshot is not compatible with %s",
						   cap_names[bg_conflicts[i]]);
	if (cap[MRE_CAP_ZERO_COPY_SEND] &&
	    (!cap[MRE_CAP_MULTIFD] || uses_compression(p) || uses_tls(p)))
		return mre_err_set(err, -EINVAL,
				   "Zero copy only available for non-compressed non-TLS multifd migration");
	if (cap[MRE_CAP_SWITCHOVER_ACK] && !cap[MRE_CAP_RETURN_PATH])
		return mre_err_set(err, -EINVAL,
				   "Capability 'switchover-ack' requires capability 'return-path'");
	if (cap[MRE_CAP_DIRTY_LIMIT]) {
		if (cap[MRE_CAP_AUTO_CONVERGE])
			return mre_err_set(err, -EINVAL, "dirty-limit conflicts with auto-converge "
					   "either of then available currently");
		/* there is no KVM dirty ring here */
		return mre_err_set(err, -EINVAL, "dirty-limit requires KVM with accelerator "
				   "property 'dirty-ring-size' set");
	}
	if (cap[MRE_CAP_MULTIFD] && cap[MRE_CAP_XBZRLE])
		return mre_err_set(err, -EINVAL, "Multifd is not compatible with xbzrle");
	if (cap[MRE_CAP_MAPPED_RAM]) {
		if (cap[MRE_CAP_XBZRLE])
			return mre_err_set(err, -EINVAL, "Mapped-ram migration is incompatible with xbzrle");
		if (cap[MRE_CAP_POSTCOPY_RAM])
			return mre_err_set(err, -EINVAL, "Mapped-ram migration is incompatible with postcopy");
	}
	if (cap[MRE_CAP_POSTCOPY_PREEMPT] && !cap[MRE_CAP_POSTCOPY_RAM])
		return mre_err_set(err, -EINVAL, "Postcopy preempt requires postcopy-ram");
	return 0;
}

/*
 * Ranges and cross-parameter rules on the merged values. QEMU checks the
 * mapped-ram rule against the values in effect before the change, so a
 * request can never undo an earlier bad setting; mrengine checks the
 * result of the change instead.
 */
static int check_params(const bool *cap, const struct mre_qmp_pval *p, struct mre_err *err)
{
	for (int i = 0; i < MRE_QMP_NPARAMS; i++) {
		const struct pdesc *d = &params[i];

		if (d->kind != P_U8 && d->kind != P_U32 && d->kind != P_U64)
			continue;
		if (!d->range_msg)
			continue;
		if (p[i].u < d->min || p[i].u > d->max)
			return mre_err_set(err, -EINVAL, "%s", d->range_msg);
		if (!strcmp(d->name, "xbzrle-cache-size") && (p[i].u & (p[i].u - 1)))
			return mre_err_set(err, -EINVAL, "%s", d->range_msg);
		if (!strcmp(d->name, "max-cpu-throttle") &&
		    p[i].u < p[pindex("cpu-throttle-initial")].u)
			return mre_err_set(err, -EINVAL, "%s", d->range_msg);
	}
	if (cap[MRE_CAP_MAPPED_RAM] && (uses_compression(p) || uses_tls(p)))
		return mre_err_set(err, -EINVAL,
				   "Mapped-ram only available for non-compressed non-TLS multifd migration");
	if (cap[MRE_CAP_ZERO_COPY_SEND] && (uses_compression(p) || uses_tls(p)))
		return mre_err_set(err, -EINVAL,
				   "Zero copy only available for non-compressed non-TLS multifd migration");
	return 0;
}

int mre_qmp_cmd_migrate_set_capabilities(struct mre_qmp_req *r)
{
	struct mre_qmp_migcfg *c = &r->q->cfg;
	bool caps[MRE_CAP__COUNT], given[MRE_CAP__COUNT] = { false };
	const cJSON *list = mre_qmp_arg(r->args, "capabilities"), *e;
	struct mre_err err = MRE_ERR_INIT;

	if (mre_engine_busy(r->q->eng))
		return mre_qmp_fail(r, "There's a migration process in progress");
	memcpy(caps, c->caps, sizeof(caps));
	cJSON_ArrayForEach(e, list) {
		const char *name = mre_qmp_arg_str(e, "capability");

		for (int i = 0; i < MRE_CAP__COUNT; i++) {
			if (!strcmp(cap_names[i], name)) {
				caps[i] = mre_qmp_arg_bool(e, "state", false);
				given[i] = true;
			}
		}
	}
	if (check_caps(caps, c->params, &err) || check_params(caps, c->params, &err))
		return mre_qmp_fail_err(r, &err);
	memcpy(c->caps, caps, sizeof(caps));
	for (int i = 0; i < MRE_CAP__COUNT; i++)
		c->caps_set[i] |= given[i];
	return 0;
}

int mre_qmp_cmd_query_migrate_capabilities(struct mre_qmp_req *r)
{
	cJSON *list = cJSON_CreateArray();

	for (int i = 0; i < MRE_CAP__COUNT; i++) {
		cJSON *o = cJSON_CreateObject();

		/* QEMU's member order */
		mre_qmp_add_bool(o, "state", r->q->cfg.caps[i]);
		mre_qmp_add_str(o, "capability", cap_names[i]);
		mre_qmp_append(list, o);
	}
	r->ret = list;
	return 0;
}

int mre_qmp_cmd_migrate_set_parameters(struct mre_qmp_req *r)
{
	struct mre_qmp_migcfg *c = &r->q->cfg;
	struct mre_qmp_pval next[MRE_QMP_NPARAMS];
	bool given[MRE_QMP_NPARAMS] = { false };
	struct mre_err err = MRE_ERR_INIT;
	int rc = 0;

	/* shallow copy; given members get fresh allocations below */
	memcpy(next, c->params, sizeof(next));
	for (int i = 0; i < MRE_QMP_NPARAMS; i++) {
		const cJSON *v = mre_qmp_arg(r->args, params[i].name);

		if (!v)
			continue;
		given[i] = true;
		next[i].s = NULL;
		next[i].raw = NULL;
		switch (params[i].kind) {
		case P_U8: case P_U32: case P_U64:
			mre_qmp_json_get_u64(v, &next[i].u);
			break;
		case P_BOOL:
			next[i].b = cJSON_IsTrue(v);
			break;
		case P_ENUM: case P_STRNULL:
			/* StrOrNull: null means "" (QEMU: TLS off) */
			next[i].s = strdup(cJSON_IsString(v) ? v->valuestring : "");
			if (!next[i].s)
				rc = mre_err_set(&err, -ENOMEM, "out of memory");
			break;
		case P_MAPPING:
			next[i].raw = cJSON_Duplicate(v, true);
			if (!next[i].raw)
				rc = mre_err_set(&err, -ENOMEM, "out of memory");
			break;
		}
	}
	if (!rc)
		rc = check_params(c->caps, next, &err);
	if (rc) {
		for (int i = 0; i < MRE_QMP_NPARAMS; i++)
			if (given[i])
				pval_free(&next[i]);
		return mre_qmp_fail_err(r, &err);
	}
	for (int i = 0; i < MRE_QMP_NPARAMS; i++) {
		if (!given[i])
			continue;
		pval_free(&c->params[i]);
		c->params[i] = next[i];
		c->params[i].set = true;
	}
	/* the one parameter that changes a running transfer */
	if (given[pindex("max-bandwidth")] && mre_engine_busy(r->q->eng))
		mre_job_set_max_bandwidth(r->q->eng->job, c->params[pindex("max-bandwidth")].u);
	return 0;
}

int mre_qmp_cmd_query_migrate_parameters(struct mre_qmp_req *r)
{
	const struct mre_qmp_migcfg *c = &r->q->cfg;
	cJSON *o = cJSON_CreateObject();

	for (int i = 0; i < MRE_QMP_NPARAMS; i++) {
		const struct pdesc *d = &params[i];
		const struct mre_qmp_pval *v = &c->params[i];

		switch (d->kind) {
		case P_U8: case P_U32: case P_U64:
			mre_qmp_add_u64(o, d->name, v->u);
			break;
		case P_BOOL:
			mre_qmp_add_bool(o, d->name, v->b);
			break;
		case P_ENUM: case P_STRNULL:
			mre_qmp_add_str(o, d->name, mre_qmp_param_str(c, d->name));
			break;
		case P_MAPPING:
			/* QEMU reports it only once it has been set */
			if (v->raw)
				mre_qmp_add(o, d->name, cJSON_Duplicate(v->raw, true));
			break;
		}
	}
	r->ret = o;
	return 0;
}

void mre_qmp_migcfg_facts(struct mre_qmp_migcfg *c, struct mre_facts_params *out)
{
	unsigned n = 0;

	for (int i = 0; i < MRE_CAP__COUNT; i++)
		c->facts[n++] = (struct mre_param){ .name = cap_names[i], .type = MRE_PARAM_BOOL,
						    .b = c->caps[i], .set = c->caps_set[i],
						    .capability = true };
	for (int i = 0; i < MRE_QMP_NPARAMS; i++) {
		const struct pdesc *d = &params[i];
		struct mre_param *p = &c->facts[n];

		if (d->kind == P_MAPPING)
			continue;
		*p = (struct mre_param){ .name = d->name, .set = c->params[i].set };
		switch (d->kind) {
		case P_BOOL:
			p->type = MRE_PARAM_BOOL;
			p->b = c->params[i].b;
			break;
		case P_ENUM: case P_STRNULL:
			p->type = MRE_PARAM_STR;
			p->s = mre_qmp_param_str(c, d->name);
			break;
		default:
			p->type = MRE_PARAM_INT;
			/* sizes above INT64_MAX mean "unlimited" in practice */
			p->i = c->params[i].u > INT64_MAX ? INT64_MAX : (int64_t)c->params[i].u;
			break;
		}
		n++;
	}
	out->n = n;
	out->p = c->facts;
}
