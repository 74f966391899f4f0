/* SPDX-License-Identifier: MIT */
/*
 * fuzz_qmp.c: fuzz harness for the QMP daemon. Each input is the byte
 * stream of one client: a fresh daemon (engine + server, as `mrengine
 * --qmp unix:...` builds them) serves a UNIX socket from a thread of this
 * process, the harness connects, sends the input (the first bytes with
 * descriptors attached by SCM_RIGHTS: a regular file, a read-only file and
 * a pipe, so add-fd and getfd see good and bad ones), closes its sending
 * side, and reads until the daemon hangs up. Then the daemon is stopped
 * with SIGTERM, as an operator would, and torn down.
 *
 * What must hold, besides no crash and no sanitizer report:
 *  - the daemon greets, and answers every value the input holds exactly
 *    once (the count comes from the same splitter run over the input), or
 *    fewer only when the input itself made it quit;
 *  - every line it sends is one JSON object;
 *  - after the teardown the process holds exactly the descriptors it held
 *    before the daemon started (no fd leaks on any path).
 *
 * Commands may create files. The daemon's working directory is a scratch
 * directory emptied after every input, and under libFuzzer (where inputs
 * are arbitrary) the process is confined with Landlock so that it can
 * create, write or remove files only there and where libFuzzer keeps its
 * corpus and artifacts. The make check build runs fixed inputs and needs
 * no such confinement.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine.h"
#include "qmp/qmp.h"
#include "qmp/split.h"
#include "util/bytes.h"
#include "util/log.h"
#include "util/wbuf.h"

#include "fuzz_util.h"

#ifdef MRE_FUZZ_SANDBOX
#include "fuzz_sandbox.h"
#endif

#ifndef MRE_FUZZ_SRCDIR
#define MRE_FUZZ_SRCDIR "."
#endif

/* How long the daemon may take to answer one input before it counts as hung. */
#define ANSWER_TIMEOUT_MS 30000

static char workdir[256];
static char sockpath[300];
static char rundir[300];

struct daemon {
	struct mre_engine eng;
	struct mre_qmp *q;
	pthread_t thr;
	atomic_bool done;
	struct mre_err err;
};

static void *serve(void *arg)
{
	struct daemon *d = arg;

	mre_qmp_run(d->q, &d->err);
	atomic_store(&d->done, true);
	return NULL;
}

static void daemon_start(struct daemon *d)
{
	char spec[320];
	sigset_t set, old;

	memset(d, 0, sizeof(*d));
	if (mre_engine_init(&d->eng, &d->err) || mre_qmp_new(&d->eng, &d->q, &d->err))
		fuzz_die("cannot set up the daemon: %s", d->err.msg);
	snprintf(spec, sizeof(spec), "unix:%s", sockpath);
	if (mre_qmp_listen(d->q, spec, &d->err))
		fuzz_die("cannot listen: %s", d->err.msg);
	/* the daemon thread takes SIGTERM through its signalfd: it must have
	 * the signals blocked from its first instruction */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	if (pthread_create(&d->thr, NULL, serve, d))
		fuzz_die("pthread_create failed");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void daemon_stop(struct daemon *d)
{
	if (!atomic_load(&d->done))
		pthread_kill(d->thr, SIGTERM);
	pthread_join(d->thr, NULL);
	/* the daemon waits for a cancelled job to end before it returns */
	if (mre_engine_busy(&d->eng))
		fuzz_die("the daemon stopped with its job still running (the job never reached a final status)");
	mre_qmp_free(d->q);
	mre_engine_destroy(&d->eng);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Replies the daemon owes for @data: values and splitter errors. */
static unsigned expected_replies(const uint8_t *data, size_t size)
{
	struct mre_qmp_split sp;
	size_t pos = 0;
	unsigned n = 0;

	mre_qmp_split_init(&sp);
	while (pos < size) {
		const char *emsg;
		size_t used = 0;

		if (mre_qmp_split_feed(&sp, (const char *)data + pos, size - pos, &used, &emsg) != MRE_SPLIT_MORE)
			n++;
		pos += used;
	}
	n += mre_qmp_split_finish(&sp);
	mre_qmp_split_free(&sp);
	return n;
}

/* The descriptors the first message carries. */
static int pass_fds(int fds[3])
{
	char path[400];
	int p[2];

	snprintf(path, sizeof(path), "%s/passed.img", rundir);
	fds[0] = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	fds[1] = open(path, O_RDONLY | O_CLOEXEC);
	if (fds[0] < 0 || fds[1] < 0 || pipe2(p, O_CLOEXEC))
		fuzz_die("cannot make the descriptors to pass: %s", strerror(errno));
	close(p[1]);
	fds[2] = p[0];
	return 3;
}

static ssize_t send_first(int s, const uint8_t *data, size_t len)
{
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { (void *)data, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	int fds[3];
	ssize_t r;

	pass_fds(fds);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	r = sendmsg(s, &mh, MSG_NOSIGNAL);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	return r;
}

/* Talk to the daemon: send @data, collect everything it says. */
static void converse(struct daemon *d, const uint8_t *data, size_t size, struct mre_wbuf *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t deadline = now_ms() + ANSWER_TIMEOUT_MS;
	size_t sent = 0;
	bool first = true, wr_open = true;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (s < 0)
		fuzz_die("socket: %s", strerror(errno));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sockpath);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)))
		fuzz_die("connect: %s", strerror(errno));
	for (;;) {
		struct pollfd pfd = { s, POLLIN, 0 };
		char buf[65536];
		ssize_t n;

		if (wr_open && sent == size) {
			shutdown(s, SHUT_WR);
			wr_open = false;
		}
		if (wr_open)
			pfd.events |= POLLOUT;
		if (poll(&pfd, 1, 50) < 0 && errno != EINTR)
			fuzz_die("poll: %s", strerror(errno));
		if (pfd.revents & POLLOUT) {
			n = first ? send_first(s, data, size - sent)
				  : send(s, data + sent, size - sent, MSG_NOSIGNAL);
			if (n > 0) {
				sent += (size_t)n;
				first = false;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				wr_open = false;  /* the daemon hung up (quit) */
			}
		}
		n = recv(s, buf, sizeof(buf), 0);
		if (n > 0) {
			mre_wbuf_put(out, buf, (size_t)n);
			continue;
		}
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			break;
		/* a daemon that quit keeps the connection until it is freed */
		if (atomic_load(&d->done))
			break;
		if (now_ms() > deadline)
			fuzz_die("the daemon sent nothing for %d ms (%zu of %zu bytes sent)", ANSWER_TIMEOUT_MS,
				 sent, size);
	}
	close(s);
}

/* Check what the daemon said; returns the number of replies. */
static unsigned check_output(const struct mre_wbuf *out)
{
	const char *p = (const char *)out->data, *end = p + out->len;
	unsigned lines = 0, replies = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len;

		if (!nl)
			fuzz_die("the daemon's output ends without a newline");
		len = (size_t)(nl - p);
		if (len < 3 || p[0] != '{' || p[len - 2] != '}' || p[len - 1] != '\r')
			fuzz_die("output line %u is not one JSON object: %.*s", lines + 1, (int)MRE_MIN(len, 200u), p);
		if (lines == 0) {
			if (strncmp(p, "{\"QMP\"", 6))
				fuzz_die("the daemon did not greet first: %.*s", (int)MRE_MIN(len, 200u), p);
		} else if (strncmp(p, "{\"timestamp\"", 12)) {
			replies++;
		}
		lines++;
		p = nl + 1;
	}
	if (!lines)
		fuzz_die("the daemon did not greet");
	return replies;
}

/* Empty the daemon's working directory (files an input made). */
static void clean_rundir(void)
{
	fuzz_rm_tree(rundir, true);
}

/* The scratch directory, its run/ subdirectory and the policy links. */
static void make_dirs(void)
{
	char link[400];

	if (workdir[0])
		return;
	mre_log_set_level(MRE_LOG_ERROR);
	signal(SIGPIPE, SIG_IGN);
	fuzz_mkdtemp(workdir, sizeof(workdir), "mre-fuzz-qmp");
	snprintf(sockpath, sizeof(sockpath), "%s/qmp.sock", workdir);
	snprintf(rundir, sizeof(rundir), "%s/run", workdir);
	if (mkdir(rundir, 0700))
		fuzz_die("mkdir %s: %s", rundir, strerror(errno));
	/* bare policy names are looked up in ./policies: the shipped ones */
	snprintf(link, sizeof(link), "%s/policies", rundir);
	if (symlink(MRE_FUZZ_SRCDIR "/policies", link))
		fuzz_die("symlink %s: %s", link, strerror(errno));
}

static bool in_rundir;

/* Relative paths in commands land in run/. */
static void enter_rundir(void)
{
	if (in_rundir)
		return;
	if (chdir(rundir))
		fuzz_die("chdir %s: %s", rundir, strerror(errno));
	in_rundir = true;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	make_dirs();
	fuzz_absolute_args(*argc, *argv);
#ifdef MRE_FUZZ_SANDBOX
	/* before leaving the working directory, which libFuzzer may write to */
	fuzz_sandbox(workdir, *argc, *argv);
#else
	(void)argc;
	(void)argv;
#endif
	enter_rundir();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct daemon d;
	struct mre_wbuf out;
	unsigned fds, want, got;

	make_dirs();
	enter_rundir();
	fds = fuzz_count_fds();
	want = expected_replies(data, size);
	mre_wbuf_init(&out);
	daemon_start(&d);
	converse(&d, data, size, &out);
	if (getenv("MRE_FUZZ_VERBOSE"))
		fwrite(out.data, 1, out.len, stderr);
	got = check_output(&out);
	if (got > want || (got < want && !atomic_load(&d.done)))
		fuzz_die("%u values in the input, %u replies%s", want, got,
			 atomic_load(&d.done) ? " (the daemon quit)" : "");
	if (getenv("MRE_FUZZ_VERBOSE"))
		fprintf(stderr, "fuzz: %u replies; stopping the daemon\n", got);
	daemon_stop(&d);
	if (getenv("MRE_FUZZ_VERBOSE"))
		fprintf(stderr, "fuzz: daemon stopped\n");
	mre_wbuf_free(&out);
	if (fuzz_count_fds() != fds)
		fuzz_die("%u descriptors open after the input, %u before", fuzz_count_fds(), fds);
	clean_rundir();
	/* keep the link to the shipped policies */
	{
		char link[400];

		snprintf(link, sizeof(link), "%s/policies", rundir);
		if (symlink(MRE_FUZZ_SRCDIR "/policies", link))
			fuzz_die("symlink %s: %s", link, strerror(errno));
	}
	return 0;
}
