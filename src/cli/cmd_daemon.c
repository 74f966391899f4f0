/* SPDX-License-Identifier: MIT */
/*
 * cmd_daemon.c: the QMP daemon, `mrengine [--policy P] --qmp ENDPOINT ...`.
 * Parses the command line in QEMU's vocabulary (-object, -add-fd,
 * -incoming, single- or double-dash), builds the engine, hands it to the
 * QMP server and maps the outcome to the exit status. Descriptors from
 * -add-fd are registered before any -object, so mem-path=/dev/fdset/N
 * works whatever the order on the command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "policy/policy.h"
#include "cli/vmopts.h"
#include "engine/engine.h"
#include "qmp/qmp.h"

enum {
	OPT_QMP = 0x2000,
	OPT_POLICY,
	OPT_ADD_FD,
	OPT_INCOMING,
};

static const struct option longopts[] = {
	{ "qmp", required_argument, NULL, OPT_QMP },
	{ "policy", required_argument, NULL, OPT_POLICY },
	{ "add-fd", required_argument, NULL, OPT_ADD_FD },
	{ "incoming", required_argument, NULL, OPT_INCOMING },
	{ "help", no_argument, NULL, 'h' },
	MRE_VM_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: mrengine [--policy P] --qmp ENDPOINT [--qmp ENDPOINT...] [OPTIONS]\n"
		"Serve QEMU's Machine Protocol (QMP): define RAM blocks, pass descriptors,\n"
		"then save with 'migrate' and restore with 'migrate-incoming' to mapped-ram files.\n\n"
		"  --qmp unix:PATH[,server=on][,wait=off]\n"
		"                       listen on a UNIX socket (created 0600; a stale socket\n"
		"                       is replaced); repeat for several\n"
		"  --qmp stdio          serve on stdin/stdout; when it is the only endpoint,\n"
		"                       the end of stdin ends the daemon (after a running job)\n"
		"  --policy P           policy name or file deciding how to save\n"
		"  -add-fd fd=N,set=S[,opaque=TEXT]\n"
		"                       put inherited descriptor N into fdset S (before -object)\n"
		"  -incoming URI|defer  restore from URI at startup (mapped-ram implied), or\n"
		"                       wait for migrate-incoming\n"
		MRE_VM_HELP
		MRE_VM_HELP_STREAM
		"  -h, --help           show this help\n\n"
		"Options take one or two dashes (-object, --object). The commands, their\n"
		"arguments and errors are described in doc/qmp.md.\n");
}

/* "fd=N,set=S[,opaque=TEXT]" (QEMU's -add-fd); opaque runs to the end. */
static int add_fd(struct mre_engine *e, const char *spec, struct mre_err *err)
{
	long long fd = -1, set = -1;
	const char *p = spec, *opaque = NULL;
	int dupfd;

	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char *end;

		if (!strncmp(p, "opaque=", 7)) {
			opaque = p + 7;
			break;
		}
		if (!strncmp(p, "fd=", 3) || !strncmp(p, "set=", 4)) {
			bool is_fd = p[0] == 'f';
			long long v = strtoll(p + (is_fd ? 3 : 4), &end, 10);

			if (end != p + len || end == p + (is_fd ? 3 : 4) || v < 0)
				return mre_err_set(err, -EINVAL, "-add-fd %s: bad value in '%.*s'", spec,
						   (int)len, p);
			*(is_fd ? &fd : &set) = v;
		} else {
			return mre_err_set(err, -EINVAL, "-add-fd %s: unknown parameter '%.*s'", spec,
					   (int)len, p);
		}
		p += len + (comma ? 1 : 0);
	}
	if (fd < 0)
		return mre_err_set(err, -EINVAL, "-add-fd %s: parameter 'fd' missing", spec);
	if (set < 0)
		return mre_err_set(err, -EINVAL, "-add-fd %s: parameter 'set' missing", spec);
	if (fd <= STDERR_FILENO || fd > 1 << 20)
		return mre_err_set(err, -EINVAL, "-add-fd %s: fd cannot be a standard I/O stream", spec);
	/* keep a close-on-exec copy; the inherited number is closed so it
	 * does not leak into anything mrengine may run */
	dupfd = fcntl((int)fd, F_DUPFD_CLOEXEC, 0);
	if (dupfd < 0)
		return mre_err_sys(err, -errno, "-add-fd %s: descriptor %lld is not open", spec, fd);
	close((int)fd);
	return mre_fdsets_add(e->fdsets, dupfd, set, opaque, NULL, NULL, err);
}

struct vmopt {
	int opt;
	const char *arg;
};

int mre_cmd_daemon(int argc, char **argv)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_engine eng;
	struct mre_qmp *q = NULL;
	const char **qmp = NULL, **addfd = NULL, *policy = NULL, *incoming = NULL;
	struct vmopt *vmo = NULL;
	unsigned nqmp = 0, naddfd = 0, nvmo = 0;
	int c, rc = MRE_EXIT_FAIL;

	opterr = 0;
	optind = 1;
	/* getopt_long_only: QEMU spells its options with one dash */
	while ((c = getopt_long_only(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			rc = MRE_EXIT_OK;
			goto out;
		case OPT_QMP:
		case OPT_ADD_FD: {
			const char ***arr = c == OPT_QMP ? &qmp : &addfd;
			unsigned *n = c == OPT_QMP ? &nqmp : &naddfd;
			const char **a = realloc(*arr, (*n + 1) * sizeof(*a));

			if (!a)
				goto oom;
			a[(*n)++] = optarg;
			*arr = a;
			break;
		}
		case OPT_POLICY:
			policy = optarg;
			break;
		case OPT_INCOMING:
			if (incoming) {
				rc = mre_cli_usage(NULL, "-incoming can only be given once");
				goto out;
			}
			incoming = optarg;
			break;
		case '?':
			rc = mre_cli_usage(NULL, "unknown or incomplete option '%s'", argv[optind - 1]);
			goto out;
		default: {
			struct vmopt *v = realloc(vmo, (nvmo + 1) * sizeof(*v));

			if (!v)
				goto oom;
			v[nvmo++] = (struct vmopt){ c, optarg };
			vmo = v;
			break;
		}
		}
	}
	if (optind < argc) {
		rc = mre_cli_usage(NULL, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (!nqmp) {
		rc = mre_cli_usage(NULL, "the daemon needs at least one --qmp endpoint");
		goto out;
	}
	if (mre_engine_init(&eng, &err)) {
		rc = mre_cli_fail(&err);
		goto out;
	}
	for (unsigned i = 0; i < naddfd; i++) {
		if (add_fd(&eng, addfd[i], &err)) {
			rc = mre_cli_fail(&err);
			goto out_engine;
		}
	}
	for (unsigned i = 0; i < nvmo; i++) {
		int r = mre_cli_vm_option(&eng, vmo[i].opt, vmo[i].arg);

		if (r < 0)
			goto out_engine; /* printed */
		if (r == 0) {
			rc = mre_cli_usage(NULL, "unknown option");
			goto out_engine;
		}
	}
	if (mre_qmp_new(&eng, &q, &err)) {
		rc = mre_cli_fail(&err);
		goto out_engine;
	}
	if (policy) {
		/* startup: a policy that does not load is fatal (x-policy-load
		 * replaces it at run time and keeps the old one on failure) */
		struct mre_policy *pol;

		if (mre_policy_load(policy, NULL, &pol, &err)) {
			rc = mre_cli_fail(&err);
			goto out_qmp;
		}
		mre_engine_set_policy(&eng, pol);
	}
	if (incoming && mre_qmp_set_incoming(q, incoming, &err)) {
		rc = mre_cli_fail(&err);
		goto out_qmp;
	}
	for (unsigned i = 0; i < nqmp; i++) {
		if (mre_qmp_listen(q, qmp[i], &err)) {
			rc = mre_cli_fail(&err);
			goto out_qmp;
		}
	}
	rc = mre_qmp_run(q, &err) ? mre_cli_fail(&err) : MRE_EXIT_OK;
out_qmp:
	mre_qmp_free(q);
out_engine:
	mre_engine_destroy(&eng);
out:
	free(qmp);
	free(addfd);
	free(vmo);
	return rc;
oom:
	mre_err_set(&err, -ENOMEM, "out of memory");
	rc = mre_cli_fail(&err);
	goto out;
}
