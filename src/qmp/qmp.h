/* SPDX-License-Identifier: MIT */
/*
 * qmp.h: the QMP daemon as the CLI sees it. A struct mre_qmp serves QEMU's
 * Machine Protocol on any number of endpoints (UNIX sockets, stdio) for an
 * engine owned by the caller, in one poll() loop on the calling thread.
 * No cJSON type appears here; src/qmp/ is the only module that uses it.
 */
#ifndef MRE_QMP_QMP_H
#define MRE_QMP_QMP_H

#include <stdbool.h>

#include "util/err.h"

struct mre_engine;
struct mre_qmp;

/* @eng must outlive the server. Its VM starts running, as QEMU's does
 * without -S. */
int mre_qmp_new(struct mre_engine *eng, struct mre_qmp **out, struct mre_err *err);
/* Closes every client and endpoint (removing socket files it created). */
void mre_qmp_free(struct mre_qmp *q);

/*
 * Add an endpoint: "unix:PATH[,server=on][,wait=off]" or "stdio". The
 * socket is created with mode 0600 before it listens; a stale socket file
 * at PATH is replaced, a live one (something accepts connections) or a
 * symlink is an error. server=off is refused; wait=on is taken as
 * wait=off (there is no guest to hold until a client connects).
 */
int mre_qmp_listen(struct mre_qmp *q, const char *spec, struct mre_err *err);

/*
 * -incoming: "defer" waits for migrate-incoming; a URI starts the restore
 * as soon as mre_qmp_run() begins, with the capabilities then in effect.
 */
int mre_qmp_set_incoming(struct mre_qmp *q, const char *uri, struct mre_err *err);

/*
 * Serve until quit, a terminating signal (SIGINT, SIGTERM, SIGHUP), or the
 * end of stdin when stdio is the only endpoint (after a running job ends).
 * A running job is cancelled on quit and signals. Returns 0, or a negative
 * code with @err set when serving could not start (e.g. the -incoming
 * restore could not be started).
 */
int mre_qmp_run(struct mre_qmp *q, struct mre_err *err);

#endif
