/* SPDX-License-Identifier: MIT */
/*
 * cmd_misc.c: session and run-state commands: qmp_capabilities,
 * query-version, query-status, stop, cont, quit. mrengine runs no guest;
 * the run state is a flag policies can read (a "running" VM is saved live)
 * and that clients see through QEMU's commands and events.
 */
#include "qmp/qmp_int.h"

#include <string.h>

int mre_qmp_cmd_qmp_capabilities(struct mre_qmp_req *r)
{
	const cJSON *en = mre_qmp_arg(r->args, "enable");

	if (!r->client || r->client->negotiated)
		return mre_qmp_fail_class(r, MRE_QMP_COMMAND_NOT_FOUND,
					  "Capabilities negotiation is already complete, command ignored");
	/* the greeting offers no capability, so none can be enabled */
	if (en && en->child)
		return mre_qmp_fail(r, "Capability %s not available", en->child->valuestring);
	r->client->negotiated = true;
	return 0;
}

int mre_qmp_cmd_query_version(struct mre_qmp_req *r)
{
	cJSON *v = cJSON_CreateObject(), *qemu = cJSON_CreateObject();

	/* the QEMU release whose protocol and schemas mrengine follows */
	mre_qmp_add_i64(qemu, "micro", 0);
	mre_qmp_add_i64(qemu, "minor", 0);
	mre_qmp_add_i64(qemu, "major", 10);
	mre_qmp_add(v, "qemu", qemu);
	mre_qmp_add_str(v, "package", "mrengine " PACKAGE_VERSION);
	r->ret = v;
	return 0;
}

const char *mre_qmp_runstate(const struct mre_qmp *q)
{
	if (q->incoming_defer || (q->mig_restore && mre_engine_busy(q->eng)))
		return "inmigrate";
	if (q->eng->vm.running)
		return "running";
	return q->postmigrate ? "postmigrate" : "paused";
}

int mre_qmp_cmd_query_status(struct mre_qmp_req *r)
{
	cJSON *v = cJSON_CreateObject();
	const char *st = mre_qmp_runstate(r->q);

	mre_qmp_add_str(v, "status", st);
	mre_qmp_add_bool(v, "running", !strcmp(st, "running"));
	r->ret = v;
	return 0;
}

/* QEMU emits STOP/RESUME before the reply, and nothing when the state
 * does not change. */
int mre_qmp_cmd_stop(struct mre_qmp_req *r)
{
	if (r->q->eng->vm.running) {
		r->q->eng->vm.running = false;
		mre_qmp_event(r->q, "STOP", NULL);
	}
	return 0;
}

int mre_qmp_cmd_cont(struct mre_qmp_req *r)
{
	if (!r->q->eng->vm.running) {
		r->q->eng->vm.running = true;
		r->q->postmigrate = false;
		mre_qmp_event(r->q, "RESUME", NULL);
	}
	return 0;
}

int mre_qmp_cmd_quit(struct mre_qmp_req *r)
{
	cJSON *d = cJSON_CreateObject();

	/* like QEMU: SHUTDOWN first, then the reply; the loop ends after it
	 * has cancelled any job and flushed every client */
	mre_qmp_add_bool(d, "guest", false);
	mre_qmp_add_str(d, "reason", "host-qmp-quit");
	mre_qmp_event(r->q, "SHUTDOWN", d);
	r->q->quit = true;
	r->q->quit_reason = "host-qmp-quit";
	return 0;
}
