/* SPDX-License-Identifier: MIT */
/*
 * qmp_int.h: what the files of src/qmp/ share: the server and session
 * structs, the request a handler receives, the argument schemas and the
 * command table, and the migration configuration (capabilities and
 * parameters). Not for use outside src/qmp/.
 *
 * Layers: server.c (sockets, poll loop, framing, fds, events) feeds
 * complete values to dispatch.c (envelope, negotiation, table lookup,
 * argument check), which calls a handler in cmd_*.c. Handlers fill
 * req->ret or an error and never write to a client.
 */
#ifndef MRE_QMP_QMP_INT_H
#define MRE_QMP_QMP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "qmp/json.h"
#include "qmp/qmp.h"
#include "qmp/split.h"
#include "util/wbuf.h"

/* ---- errors ---------------------------------------------------------- */

enum mre_qmp_class {
	MRE_QMP_GENERIC_ERROR,
	MRE_QMP_COMMAND_NOT_FOUND,
	MRE_QMP_DEVICE_NOT_FOUND,
};

const char *mre_qmp_class_name(enum mre_qmp_class c);

/* ---- argument schemas ---------------------------------------------------- */

enum mre_qmp_type {
	MRE_QT_ANY,
	MRE_QT_STR,
	MRE_QT_INT,        /* int64 */
	MRE_QT_U64,        /* QAPI 'size' / 'uint64' */
	MRE_QT_U32,
	MRE_QT_U8,
	MRE_QT_BOOL,
	MRE_QT_NUM,
	MRE_QT_OBJ,        /* with .members, checked recursively */
	MRE_QT_ARR,        /* elements of type .elem (OBJ elements use .members) */
	MRE_QT_ENUM,       /* a string among .values */
	MRE_QT_STR_OR_NULL,
};

struct mre_qmp_arg {
	const char *name;
	enum mre_qmp_type type;
	bool required;
	const char *const *values;            /* ENUM: NULL-terminated */
	const struct mre_qmp_arg *members;    /* OBJ, or ARR of OBJ */
	enum mre_qmp_type elem;               /* ARR */
};

#define MRE_ARG(n, t, req) { .name = (n), .type = (t), .required = (req) }
#define MRE_ARG_ENUM(n, req, v) { .name = (n), .type = MRE_QT_ENUM, .required = (req), .values = (v) }
#define MRE_ARG_OBJ(n, req, m) { .name = (n), .type = MRE_QT_OBJ, .required = (req), .members = (m) }
/* an array of @et elements (OBJ elements checked against @m, ENUM against @v) */
#define MRE_ARG_ARR(n, req, et, m, v) \
	{ .name = (n), .type = MRE_QT_ARR, .required = (req), .elem = (et), .members = (m), .values = (v) }
#define MRE_ARG_END { .name = NULL }

/*
 * Check @obj against @schema ({ NULL }-terminated) in QEMU's order: each
 * declared member (missing, then type), then undeclared members ("is
 * unexpected") unless @open. @path prefixes names ("capabilities[0].").
 */
int mre_qmp_check_args(const cJSON *obj, const struct mre_qmp_arg *schema, bool open,
		       const char *path, struct mre_err *err);

/* ---- requests and the command table -------------------------------------- */

struct mre_qmp;
struct mre_qmp_client;

struct mre_qmp_req {
	struct mre_qmp *q;
	struct mre_qmp_client *client;  /* NULL for requests made by mrengine itself */
	const cJSON *args;              /* an object, possibly empty */
	cJSON *ret;                     /* result; NULL means {} */
	enum mre_qmp_class cls;
	struct mre_err err;
};

struct mre_qmp_cmd {
	const char *name;
	int (*fn)(struct mre_qmp_req *r);
	const struct mre_qmp_arg *args;  /* NULL: no arguments */
	unsigned flags;
	const char *help;                /* one line for doc/qmp.md and --help */
};

/* args is only the common base; the handler checks the rest (object-add). */
#define MRE_QMP_F_OPEN_ARGS 1u
/* Allowed before capabilities negotiation. */
#define MRE_QMP_F_NEGOTIATION 2u

const struct mre_qmp_cmd *mre_qmp_cmd_find(const char *name);
const struct mre_qmp_cmd *mre_qmp_cmd_table(size_t *n);

/* Record a GenericError (or @cls) on @r; return -1 for the handler. */
int mre_qmp_fail(struct mre_qmp_req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int mre_qmp_fail_class(struct mre_qmp_req *r, enum mre_qmp_class cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int mre_qmp_fail_err(struct mre_qmp_req *r, const struct mre_err *e);

/* Typed access to arguments already checked against the schema. */
const cJSON *mre_qmp_arg(const cJSON *args, const char *name);
const char *mre_qmp_arg_str(const cJSON *args, const char *name);   /* NULL if absent */
bool mre_qmp_arg_bool(const cJSON *args, const char *name, bool dflt);
bool mre_qmp_arg_i64(const cJSON *args, const char *name, int64_t *out);
bool mre_qmp_arg_u64(const cJSON *args, const char *name, uint64_t *out);

/* Handlers (cmd_*.c). */
int mre_qmp_cmd_qmp_capabilities(struct mre_qmp_req *r);
int mre_qmp_cmd_query_version(struct mre_qmp_req *r);
int mre_qmp_cmd_query_commands(struct mre_qmp_req *r);
int mre_qmp_cmd_query_status(struct mre_qmp_req *r);
int mre_qmp_cmd_stop(struct mre_qmp_req *r);
int mre_qmp_cmd_cont(struct mre_qmp_req *r);
int mre_qmp_cmd_quit(struct mre_qmp_req *r);
int mre_qmp_cmd_add_fd(struct mre_qmp_req *r);
int mre_qmp_cmd_remove_fd(struct mre_qmp_req *r);
int mre_qmp_cmd_query_fdsets(struct mre_qmp_req *r);
int mre_qmp_cmd_getfd(struct mre_qmp_req *r);
int mre_qmp_cmd_closefd(struct mre_qmp_req *r);
int mre_qmp_cmd_object_add(struct mre_qmp_req *r);
int mre_qmp_cmd_object_del(struct mre_qmp_req *r);
int mre_qmp_cmd_query_memdev(struct mre_qmp_req *r);
int mre_qmp_cmd_migrate_set_capabilities(struct mre_qmp_req *r);
int mre_qmp_cmd_query_migrate_capabilities(struct mre_qmp_req *r);
int mre_qmp_cmd_migrate_set_parameters(struct mre_qmp_req *r);
int mre_qmp_cmd_query_migrate_parameters(struct mre_qmp_req *r);
int mre_qmp_cmd_migrate(struct mre_qmp_req *r);
int mre_qmp_cmd_migrate_incoming(struct mre_qmp_req *r);
int mre_qmp_cmd_query_migrate(struct mre_qmp_req *r);
int mre_qmp_cmd_migrate_cancel(struct mre_qmp_req *r);
int mre_qmp_cmd_x_policy_load(struct mre_qmp_req *r);
int mre_qmp_cmd_x_policy_query(struct mre_qmp_req *r);
int mre_qmp_cmd_x_plan(struct mre_qmp_req *r);
int mre_qmp_cmd_x_image_inspect(struct mre_qmp_req *r);

/* Schemas that live with their handlers. */
extern const struct mre_qmp_arg mre_qmp_args_set_capabilities[];
extern const struct mre_qmp_arg mre_qmp_args_set_parameters[];
extern const struct mre_qmp_arg mre_qmp_args_migrate[];
extern const struct mre_qmp_arg mre_qmp_args_migrate_incoming[];
extern const struct mre_qmp_arg mre_qmp_args_object_add[];
extern const struct mre_qmp_arg mre_qmp_args_x_policy_load[];
extern const struct mre_qmp_arg mre_qmp_args_x_plan[];
extern const struct mre_qmp_arg mre_qmp_args_x_image_inspect[];

/* ---- migration configuration (migcfg.c) -------------------------------- */

/* QEMU 10.0's MigrationCapability, in enum order. */
enum mre_qmp_cap {
	MRE_CAP_XBZRLE,
	MRE_CAP_RDMA_PIN_ALL,
	MRE_CAP_AUTO_CONVERGE,
	MRE_CAP_ZERO_BLOCKS,
	MRE_CAP_EVENTS,
	MRE_CAP_POSTCOPY_RAM,
	MRE_CAP_X_COLO,
	MRE_CAP_RELEASE_RAM,
	MRE_CAP_RETURN_PATH,
	MRE_CAP_PAUSE_BEFORE_SWITCHOVER,
	MRE_CAP_MULTIFD,
	MRE_CAP_DIRTY_BITMAPS,
	MRE_CAP_POSTCOPY_BLOCKTIME,
	MRE_CAP_LATE_BLOCK_ACTIVATE,
	MRE_CAP_X_IGNORE_SHARED,
	MRE_CAP_VALIDATE_UUID,
	MRE_CAP_BACKGROUND_SNAPSHOT,
	MRE_CAP_ZERO_COPY_SEND,
	MRE_CAP_POSTCOPY_PREEMPT,
	MRE_CAP_SWITCHOVER_ACK,
	MRE_CAP_DIRTY_LIMIT,
	MRE_CAP_MAPPED_RAM,
	MRE_CAP__COUNT,
};

/* One migration parameter's current value. */
struct mre_qmp_pval {
	bool set;            /* given explicitly by a client */
	uint64_t u;          /* integers and sizes */
	bool b;
	char *s;             /* strings and enums (owned) */
	cJSON *raw;          /* block-bitmap-mapping (owned) */
};

#define MRE_QMP_NPARAMS 30

struct mre_qmp_migcfg {
	bool caps[MRE_CAP__COUNT];
	bool caps_set[MRE_CAP__COUNT];
	struct mre_qmp_pval params[MRE_QMP_NPARAMS];
	/* the flat list handed to the engine and the policy */
	struct mre_param facts[MRE_CAP__COUNT + MRE_QMP_NPARAMS];
};

void mre_qmp_migcfg_init(struct mre_qmp_migcfg *c);
void mre_qmp_migcfg_free(struct mre_qmp_migcfg *c);
const char *mre_qmp_cap_name(enum mre_qmp_cap cap);
/* Integer value of a numeric parameter / string of a string one, by name. */
uint64_t mre_qmp_param_u64(const struct mre_qmp_migcfg *c, const char *name);
bool mre_qmp_param_bool(const struct mre_qmp_migcfg *c, const char *name);
const char *mre_qmp_param_str(const struct mre_qmp_migcfg *c, const char *name);
bool mre_qmp_param_is_set(const struct mre_qmp_migcfg *c, const char *name);
/* Build the facts list (valid until the next change of @c). */
void mre_qmp_migcfg_facts(struct mre_qmp_migcfg *c, struct mre_facts_params *out);

/* ---- sessions and the server ------------------------------------------- */

#define MRE_QMP_MAX_QUEUED_FDS 32
/* Output a client has not read yet: above SOFT its requests wait; above
 * HARD (events keep coming) it is dropped. */
#define MRE_QMP_OUT_SOFT (256u * 1024)
#define MRE_QMP_OUT_HARD (8u * 1024 * 1024)

struct mre_qmp_client {
	struct mre_qmp_client *next;
	unsigned id;
	int in_fd, out_fd;          /* the same socket, or stdin/stdout */
	bool is_stdio;
	bool negotiated;
	bool eof;                   /* no more input */
	bool dead;                  /* to be closed and freed */
	struct mre_qmp_split split;
	char *in;                   /* bytes read but not yet split */
	size_t in_off, in_len;
	struct mre_wbuf out;
	size_t out_off;
	int fds[MRE_QMP_MAX_QUEUED_FDS];   /* from SCM_RIGHTS, oldest first */
	unsigned nfds;
};

struct mre_qmp_listener {
	int fd;
	char *path;                 /* socket file we created, unlinked at the end */
	uint64_t dev, ino;          /* ... if it is still that file */
};

struct mre_qmp {
	struct mre_engine *eng;
	struct mre_qmp_listener *listeners;
	unsigned nlisteners;
	uint64_t accept_resume_ms;  /* out of descriptors: listeners rest until then (0: accepting) */
	bool stdio;                 /* a stdio endpoint was requested */
	struct mre_qmp_client *clients;
	unsigned next_client_id;
	struct mre_qmp_migcfg cfg;
	int sigfd;

	bool quit;
	const char *quit_reason;    /* SHUTDOWN event reason, NULL: none sent */

	/* migration state as QMP reports it */
	bool mig_restore;           /* the current/last job is a restore */
	enum mre_job_status mig_status;     /* last status announced */
	bool mig_failed_start;      /* the last migrate failed before a job ran */
	char mig_error[MRE_ERR_MSG_MAX];
	bool incoming_defer;        /* -incoming defer given, not yet started */
	char *incoming_uri;         /* -incoming URI, started when the loop begins */
	bool postmigrate;
};

/* Queue an event for every negotiated client; @data (owned) may be NULL. */
void mre_qmp_event(struct mre_qmp *q, const char *name, cJSON *data);

/* Take the oldest fd passed by @c (-1 if none): the caller owns it. */
int mre_qmp_client_take_fd(struct mre_qmp_client *c);

/* Handle one complete input value from @c (NULL: internal); the reply (if
 * any) is queued on @c. */
void mre_qmp_dispatch(struct mre_qmp *q, struct mre_qmp_client *c, const char *buf, size_t len);
/* Queue @v followed by CRLF on @c. */
void mre_qmp_send(struct mre_qmp_client *c, const cJSON *v);

/* Job status changes: called by the loop when the job's fd is readable. */
void mre_qmp_migration_poll(struct mre_qmp *q);
/* Start a restore from @uri as migrate-incoming would (used by -incoming). */
int mre_qmp_incoming_start(struct mre_qmp *q, const char *uri, struct mre_err *err);
/* "running", "paused", "inmigrate", "postmigrate". */
const char *mre_qmp_runstate(const struct mre_qmp *q);

#endif
