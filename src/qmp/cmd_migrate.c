/* SPDX-License-Identifier: MIT */
/*
 * cmd_migrate.c: migrate, migrate-incoming, query-migrate, migrate_cancel,
 * and the MIGRATION / MIGRATION_PASS events. The transfer itself is the
 * engine's: these handlers turn QEMU's arguments into a target and the
 * client's capabilities/parameters into facts, apply QEMU's refusals (and
 * mrengine's, where it does less than QEMU), and call mre_engine_start().
 * Status changes come back through the job's notification descriptor.
 */
#include "qmp/qmp_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/uri.h"

static const char *const channel_types[] = { "main", "cpr", NULL };
static const char *const transports[] = { "socket", "exec", "rdma", "file", NULL };

static const struct mre_qmp_arg channel_args[] = {
	MRE_ARG_ENUM("channel-type", true, channel_types),
	MRE_ARG_OBJ("addr", true, NULL),
	MRE_ARG_END
};

const struct mre_qmp_arg mre_qmp_args_migrate[] = {
	MRE_ARG("uri", MRE_QT_STR, false),
	MRE_ARG_ARR("channels", false, MRE_QT_OBJ, channel_args, NULL),
	MRE_ARG("detach", MRE_QT_BOOL, false),
	MRE_ARG("resume", MRE_QT_BOOL, false),
	MRE_ARG_END
};

const struct mre_qmp_arg mre_qmp_args_migrate_incoming[] = {
	MRE_ARG("uri", MRE_QT_STR, false),
	MRE_ARG_ARR("channels", false, MRE_QT_OBJ, channel_args, NULL),
	MRE_ARG("exit-on-error", MRE_QT_BOOL, false),
	MRE_ARG_END
};

static const struct mre_qmp_arg addr_base[] = {
	MRE_ARG_ENUM("transport", true, transports),
	MRE_ARG_END
};

static const struct mre_qmp_arg addr_file[] = {
	MRE_ARG("transport", MRE_QT_STR, true),
	MRE_ARG("filename", MRE_QT_STR, true),
	MRE_ARG("offset", MRE_QT_U64, true),
	MRE_ARG_END
};

/* Where a migration goes, from a URI or a channel list. */
struct target {
	char *path;                /* file transport (owned) */
	uint64_t offset;
	bool offset_given;
	const char *transport;     /* "file", or the refused one ("tcp", "exec", ...) */
};

static const char *const uri_schemes[] = { "file", "tcp", "unix", "exec", "fd", "rdma", "vsock", NULL };

/* QEMU's URI schemes; only file: is a transport mrengine has. */
static int parse_uri(const char *uri, struct target *t, struct mre_err *err)
{
	const char *colon = strchr(uri, ':');
	size_t slen = colon ? (size_t)(colon - uri) : 0;

	for (const char *const *s = uri_schemes; *s && colon; s++) {
		struct mre_file_uri fu;
		int r;

		if (strlen(*s) != slen || strncmp(uri, *s, slen))
			continue;
		t->transport = *s;
		if (strcmp(*s, "file"))
			return 0;
		/* the same parser as the CLI's: first ",offset=" splits */
		r = mre_file_uri_parse(uri, &fu, err);
		if (r)
			return r;
		t->path = fu.path;
		t->offset = fu.offset;
		t->offset_given = fu.offset_given;
		return 0;
	}
	return mre_err_set(err, -EINVAL, "unknown migration protocol: %s", uri);
}

static int parse_channels(const cJSON *list, struct target *t, struct mre_err *err)
{
	const cJSON *ch, *main = NULL;
	int nmain = 0, i = 0;
	char path[64];

	cJSON_ArrayForEach(ch, list) {
		const cJSON *addr = mre_qmp_arg(ch, "addr");
		int r;

		snprintf(path, sizeof(path), "channels[%d].addr.", i++);
		r = mre_qmp_check_args(addr, addr_base, true, path, err);
		if (r)
			return r;
		if (!strcmp(mre_qmp_arg_str(addr, "transport"), "file")) {
			r = mre_qmp_check_args(addr, addr_file, false, path, err);
			if (r)
				return r;
		}
		if (!strcmp(mre_qmp_arg_str(ch, "channel-type"), "main")) {
			nmain++;
			main = addr;
		}
	}
	if (nmain > 1)
		return mre_err_set(err, -EINVAL, "Channel list has more than one main entry");
	if (!main)
		return mre_err_set(err, -EINVAL, "Channel list has no main entries");
	t->transport = mre_qmp_arg_str(main, "transport");
	if (strcmp(t->transport, "file")) {
		/* QEMU's socket address names its own transports */
		if (!strcmp(t->transport, "socket") && mre_qmp_arg_str(main, "type"))
			t->transport = !strcmp(mre_qmp_arg_str(main, "type"), "inet") ? "tcp" : "unix";
		return 0;
	}
	t->path = strdup(mre_qmp_arg_str(main, "filename"));
	if (!t->path)
		return mre_err_set(err, -ENOMEM, "out of memory");
	mre_qmp_arg_u64(main, "offset", &t->offset);
	t->offset_given = true;
	return 0;
}

static int parse_target(struct mre_qmp_req *r, struct target *t)
{
	const char *uri = mre_qmp_arg_str(r->args, "uri");
	const cJSON *ch = mre_qmp_arg(r->args, "channels");
	bool has_ch = ch && ch->child; /* QEMU treats [] as absent */

	if (uri && has_ch)
		return mre_qmp_fail(r, "'uri' and 'channels' arguments are mutually exclusive; exactly one "
				    "of the two should be present in 'migrate' qmp command ");
	if (!uri && !has_ch)
		return mre_qmp_fail(r, "need either 'uri' or 'channels' argument");
	if ((uri ? parse_uri(uri, t, &r->err) : parse_channels(ch, t, &r->err)) < 0)
		return -1;
	return 0;
}

/*
 * What QEMU refuses for a file migration with these settings, and what
 * mrengine refuses on top: it only does mapped-ram, and it will not
 * silently ignore a setting it cannot honour.
 */
static int check_settings(struct mre_qmp *q, const struct target *t, bool save, struct mre_err *err)
{
	const struct mre_qmp_migcfg *c = &q->cfg;
	static const enum mre_qmp_cap unsupported[] = {
		MRE_CAP_POSTCOPY_RAM, MRE_CAP_X_COLO, MRE_CAP_BACKGROUND_SNAPSHOT,
		MRE_CAP_PAUSE_BEFORE_SWITCHOVER, MRE_CAP_X_IGNORE_SHARED,
	};

	if (strcmp(t->transport, "file")) {
		if (c->caps[MRE_CAP_MAPPED_RAM])
			return mre_err_set(err, -EINVAL, "Migration requires seekable transport (e.g. file)");
		return mre_err_set(err, -EINVAL, "mrengine only %s mapped-ram files: enable the mapped-ram "
				   "capability and use a file: URI ('%s' is not supported)",
				   save ? "writes" : "reads", t->transport);
	}
	if (!c->caps[MRE_CAP_MAPPED_RAM])
		return mre_err_set(err, -EINVAL, "mrengine only %s mapped-ram files: enable the mapped-ram "
				   "capability", save ? "writes" : "reads");
	if (*mre_qmp_param_str(c, "tls-creds"))
		return mre_err_set(err, -EINVAL, "Cannot use TLS with mapped-ram");
	if (strcmp(mre_qmp_param_str(c, "multifd-compression"), "none"))
		return mre_err_set(err, -EINVAL, "Cannot use compression with mapped-ram");
	if (save && !strcmp(mre_qmp_param_str(c, "mode"), "cpr-transfer"))
		return mre_err_set(err, -EINVAL, "Migration requires streamable transport (eg unix)");
	if (mre_qmp_param_bool(c, "direct-io") && !c->caps[MRE_CAP_MULTIFD])
		return mre_err_set(err, -EINVAL, "direct-io requires the multifd capability (with "
				   "mapped-ram); QEMU would silently ignore direct-io here, mrengine refuses");
	for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
		if (c->caps[unsupported[i]])
			return mre_err_set(err, -EINVAL, "mrengine does not support the '%s' capability",
					   mre_qmp_cap_name(unsupported[i]));
	return 0;
}

/* What QEMU finds when it connects: a bad or missing fdset. Checked here,
 * on the control thread, so the reply carries the error as in QEMU. */
static int check_fdset(struct mre_qmp *q, const char *path, struct mre_err *err)
{
	const struct mre_fdsets *s = q->eng->fdsets;
	int64_t id;
	int r = mre_fdset_path_id(path, &id);

	if (r < 0)
		return mre_err_set(err, -EINVAL, "Could not parse fdset %s", path);
	if (r == 0)
		return 0;
	for (unsigned i = 0; i < mre_fdsets_nsets(s); i++)
		if (mre_fdsets_set_id(s, i) == id)
			return 0;
	return mre_err_set(err, -ENOENT, "Failed to find fdset %s", path);
}

/* Announce a status change (QEMU emits MIGRATION only with the events
 * capability, and MIGRATION_PASS just before a save goes active). */
static void announce(struct mre_qmp *q, enum mre_job_status st)
{
	bool events = q->cfg.caps[MRE_CAP_EVENTS];
	cJSON *d;

	if (st == q->mig_status)
		return;
	q->mig_status = st;
	if (events && st == MRE_JOB_ACTIVE && !q->mig_restore) {
		d = cJSON_CreateObject();
		mre_qmp_add_i64(d, "pass", 1);
		mre_qmp_event(q, "MIGRATION_PASS", d);
	}
	if (events) {
		d = cJSON_CreateObject();
		mre_qmp_add_str(d, "status", mre_job_status_name(st));
		mre_qmp_event(q, "MIGRATION", d);
	}
	if (st == MRE_JOB_COMPLETED && !q->mig_restore && !q->eng->vm.running)
		q->postmigrate = true;
	if (mre_job_status_final(st))
		mre_engine_job_done(q->eng);
}

void mre_qmp_migration_poll(struct mre_qmp *q)
{
	enum mre_job_status st;

	if (!q->eng->job || q->mig_failed_start)
		return;
	while (mre_job_next_status(q->eng->job, &st) == 1)
		announce(q, st);
}

static int start(struct mre_qmp *q, enum mre_job_kind kind, const struct target *t,
		 struct mre_err *err)
{
	struct mre_job_target jt = { .path = t->path, .offset = t->offset, .offset_given = t->offset_given };
	struct mre_facts_params fp;
	int r;

	mre_qmp_migcfg_facts(&q->cfg, &fp);
	/* the previous job's queued statuses belong to it, not to this one */
	mre_qmp_migration_poll(q);
	q->mig_restore = kind == MRE_JOB_RESTORE;
	q->mig_failed_start = false;
	q->mig_status = MRE_JOB_NONE;
	/* QEMU announces setup before the command returns */
	announce(q, MRE_JOB_SETUP);
	r = check_fdset(q, t->path, err);
	if (!r)
		r = mre_engine_start(q->eng, kind, &jt, &fp, err);
	if (r) {
		/* like QEMU: a migration that cannot open its target fails, and
		 * query-migrate says so until the next one */
		q->mig_failed_start = true;
		snprintf(q->mig_error, sizeof(q->mig_error), "%s", err->msg);
		announce(q, MRE_JOB_FAILED);
		return r;
	}
	if (kind == MRE_JOB_SAVE)
		q->postmigrate = false;
	mre_qmp_migration_poll(q);
	return 0;
}

static int busy_error(struct mre_qmp_req *r)
{
	if (r->q->mig_restore)
		return mre_qmp_fail(r, "The incoming migration has already been started");
	return mre_qmp_fail(r, "There's a migration process in progress");
}

int mre_qmp_cmd_migrate(struct mre_qmp_req *r)
{
	struct target t = { 0 };
	int rc = -1;

	if (mre_engine_busy(r->q->eng))
		return mre_qmp_fail(r, "There's a migration process in progress");
	if (mre_qmp_arg_bool(r->args, "resume", false))
		return mre_qmp_fail(r, "Cannot resume if there is no paused migration");
	if (r->q->incoming_defer)
		return mre_qmp_fail(r, "Guest is waiting for an incoming migration");
	if (parse_target(r, &t) || check_settings(r->q, &t, true, &r->err))
		goto out;
	if (start(r->q, MRE_JOB_SAVE, &t, &r->err))
		goto out;
	rc = 0;
out:
	free(t.path);
	return rc;
}

int mre_qmp_incoming_start(struct mre_qmp *q, const char *uri, struct mre_err *err)
{
	struct target t = { 0 };
	int r;

	/* -incoming URI runs before any client could set capabilities, and
	 * mrengine only reads mapped-ram files: imply the capability */
	q->cfg.caps[MRE_CAP_MAPPED_RAM] = true;
	r = parse_uri(uri, &t, err);
	if (!r)
		r = check_settings(q, &t, false, err);
	if (!r)
		r = start(q, MRE_JOB_RESTORE, &t, err);
	if (!r)
		q->incoming_defer = false;
	free(t.path);
	return r;
}

int mre_qmp_cmd_migrate_incoming(struct mre_qmp_req *r)
{
	struct target t = { 0 };
	int rc = -1;

	/* exit-on-error is accepted and has no effect: mrengine never exits
	 * because a restore failed; the status says "failed" instead */
	if (mre_engine_busy(r->q->eng))
		return busy_error(r);
	if (parse_target(r, &t) || check_settings(r->q, &t, false, &r->err))
		goto out;
	if (start(r->q, MRE_JOB_RESTORE, &t, &r->err))
		goto out;
	r->q->incoming_defer = false;
	rc = 0;
out:
	free(t.path);
	return rc;
}

int mre_qmp_cmd_migrate_cancel(struct mre_qmp_req *r)
{
	/* returns at once; the job moves to cancelling, then cancelled */
	if (mre_engine_busy(r->q->eng))
		mre_job_cancel(r->q->eng->job);
	return 0;
}

static cJSON *ram_stats(const struct mre_qmp *q, const struct mre_job_stats *s)
{
	cJSON *ram = cJSON_CreateObject();
	bool multifd = q->cfg.caps[MRE_CAP_MULTIFD];

	/* QEMU's MigrationStats member order; mrengine makes one pass, with
	 * the guest's state unchanged, so the dirty-page and postcopy
	 * figures are those of a paused guest */
	mre_qmp_add_u64(ram, "total", s->total);
	mre_qmp_add_u64(ram, "postcopy-requests", 0);
	mre_qmp_add_u64(ram, "dirty-sync-count", s->status == MRE_JOB_SETUP ? 0 : 1);
	mre_qmp_add_u64(ram, "multifd-bytes", multifd ? s->normal * s->page_size : 0);
	mre_qmp_add_u64(ram, "pages-per-second", s->pages_per_second);
	mre_qmp_add_u64(ram, "downtime-bytes", 0);
	mre_qmp_add_u64(ram, "page-size", s->page_size);
	mre_qmp_add_u64(ram, "remaining", s->status == MRE_JOB_COMPLETED ? 0 : s->remaining);
	mre_qmp_add_u64(ram, "postcopy-bytes", 0);
	mre_qmp_add_double(ram, "mbps", s->mbps);
	mre_qmp_add_u64(ram, "transferred", s->transferred);
	mre_qmp_add_u64(ram, "dirty-sync-missed-zero-copy", 0);
	mre_qmp_add_u64(ram, "precopy-bytes", s->transferred);
	mre_qmp_add_u64(ram, "duplicate", s->duplicate);
	mre_qmp_add_u64(ram, "dirty-pages-rate", 0);
	mre_qmp_add_u64(ram, "normal-bytes", s->normal * s->page_size);
	mre_qmp_add_u64(ram, "normal", s->normal);
	return ram;
}

int mre_qmp_cmd_query_migrate(struct mre_qmp_req *r)
{
	struct mre_qmp *q = r->q;
	struct mre_job_stats s;
	cJSON *o = cJSON_CreateObject();

	r->ret = o;
	if (q->mig_failed_start) {
		mre_qmp_add_str(o, "status", "failed");
		mre_qmp_add_str(o, "error-desc", q->mig_error);
		return 0;
	}
	if (!q->eng->job)
		return 0; /* never migrated: {} */
	mre_job_get_stats(q->eng->job, &s);
	/* a job that has not reported yet is setting up */
	if (s.status == MRE_JOB_NONE)
		s.status = MRE_JOB_SETUP;
	switch (s.status) {
	case MRE_JOB_ACTIVE:
	case MRE_JOB_DEVICE:
	case MRE_JOB_CANCELLING:
	case MRE_JOB_COMPLETED:
		if (q->mig_restore)
			break;
		/* QEMU's MigrationInfo member order */
		if (s.status != MRE_JOB_COMPLETED)
			mre_qmp_add_u64(o, "expected-downtime", mre_qmp_param_u64(&q->cfg, "downtime-limit"));
		mre_qmp_add_str(o, "status", mre_job_status_name(s.status));
		mre_qmp_add_u64(o, "setup-time", s.setup_ms);
		if (s.status == MRE_JOB_COMPLETED)
			mre_qmp_add_u64(o, "downtime", 0);
		mre_qmp_add_u64(o, "total-time", s.total_ms);
		mre_qmp_add(o, "ram", ram_stats(q, &s));
		/* mrengine's own, in QEMU's x- convention */
		mre_qmp_add_u64(o, "x-channels", s.channels);
		if (s.backend)
			mre_qmp_add_str(o, "x-io", s.backend);
		mre_qmp_add_bool(o, "x-direct-io", s.direct_io);
		return 0;
	default:
		break;
	}
	mre_qmp_add_str(o, "status", mre_job_status_name(s.status));
	if (s.status == MRE_JOB_FAILED && s.error[0])
		mre_qmp_add_str(o, "error-desc", s.error);
	return 0;
}
