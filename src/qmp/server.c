/* SPDX-License-Identifier: MIT */
/*
 * server.c: endpoints, sessions and the one poll() loop of the daemon.
 *
 * Everything runs on the control thread: accepting, reading (with the
 * descriptors that arrive as SCM_RIGHTS), splitting input into values,
 * dispatching them one at a time in order, writing replies and events,
 * and turning job status changes into MIGRATION events. Nothing blocks:
 * sockets and pipes are non-blocking, output is buffered per client, a
 * client that stops reading has its requests held back (SOFT) and is
 * dropped once its backlog passes HARD, and a client may vanish at any
 * moment, taking its queued descriptors and buffers with it.
 */
#include "qmp/qmp_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define IN_BUF 65536
#define MAX_CLIENTS 64
#define MAX_LISTENERS 16
/* how long the end of the loop waits for a cancelled job and for clients
 * to take their last messages */
#define DRAIN_JOB_MS 30000
#define DRAIN_OUT_MS 2000
/* how long the listeners rest when accept() finds no descriptor free */
#define ACCEPT_RETRY_MS 250

static uint64_t now_ms(void);

/* ---- setup ------------------------------------------------------------------ */

int mre_qmp_new(struct mre_engine *eng, struct mre_qmp **out, struct mre_err *err)
{
	struct mre_qmp *q = calloc(1, sizeof(*q));

	if (!q)
		return mre_err_set(err, -ENOMEM, "out of memory");
	q->eng = eng;
	q->eng->vm.running = true; /* as QEMU without -S */
	q->sigfd = -1;
	mre_qmp_migcfg_init(&q->cfg);
	*out = q;
	return 0;
}

int mre_qmp_set_incoming(struct mre_qmp *q, const char *uri, struct mre_err *err)
{
	if (q->incoming_defer || q->incoming_uri)
		return mre_err_set(err, -EINVAL, "-incoming can only be given once");
	if (!strcmp(uri, "defer")) {
		q->incoming_defer = true;
		return 0;
	}
	q->incoming_uri = strdup(uri);
	return q->incoming_uri ? 0 : mre_err_set(err, -ENOMEM, "out of memory");
}

static void close_listener(struct mre_qmp_listener *l)
{
	struct stat st;

	if (l->fd >= 0)
		close(l->fd);
	/* remove the socket file only if it is still the one we bound:
	 * someone may have replaced it (another server, after removing
	 * ours), and we must not delete their file */
	if (l->path && !lstat(l->path, &st) && S_ISSOCK(st.st_mode) && (uint64_t)st.st_dev == l->dev &&
	    (uint64_t)st.st_ino == l->ino)
		unlink(l->path);
	free(l->path);
}

/* "unix:PATH[,server=on][,wait=off]": PATH may not contain ','. */
static int parse_unix(const char *spec, char **path, struct mre_err *err)
{
	const char *p = spec + strlen("unix:"), *comma = strchr(p, ',');
	size_t n = comma ? (size_t)(comma - p) : strlen(p);

	if (!n)
		return mre_err_set(err, -EINVAL, "--qmp %s: missing socket path", spec);
	while (comma) {
		const char *opt = comma + 1, *next = strchr(opt, ',');
		size_t len = next ? (size_t)(next - opt) : strlen(opt);

#define OPT(s) (len == strlen(s) && !strncmp(opt, s, len))
		if (OPT("server=off") || OPT("server=no"))
			return mre_err_set(err, -EINVAL, "--qmp %s: mrengine only listens (server=off is not supported)", spec);
		/* wait=on would hold QEMU's guest until a client connects;
		 * mrengine has nothing to hold, so both values mean the same */
		if (!(OPT("server") || OPT("server=on") || OPT("server=yes") || OPT("wait=off") ||
		      OPT("wait=no") || OPT("wait=on") || OPT("wait=yes") || OPT("nowait")))
			return mre_err_set(err, -EINVAL, "--qmp %s: unknown option '%.*s'", spec, (int)len, opt);
#undef OPT
		comma = next;
	}
	*path = strndup(p, n);
	return *path ? 0 : mre_err_set(err, -ENOMEM, "out of memory");
}

/* A socket file left behind by a dead server is replaced; one that a live
 * server answers on, a symlink, or any other file is an error. */
static int clear_path(const char *path, struct sockaddr_un *sa, struct mre_err *err)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : mre_err_sys(err, -errno, "--qmp: cannot examine '%s'", path);
	if (S_ISLNK(st.st_mode))
		return mre_err_set(err, -EEXIST, "--qmp: refusing to use '%s': it is a symbolic link", path);
	if (!S_ISSOCK(st.st_mode))
		return mre_err_set(err, -EEXIST, "--qmp: '%s' exists and is not a socket", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return mre_err_sys(err, -errno, "--qmp: socket");
	r = connect(fd, (struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (r == 0)
		return mre_err_set(err, -EADDRINUSE, "--qmp: '%s' is in use by a running server", path);
	if (errno != ECONNREFUSED)
		return mre_err_sys(err, -errno, "--qmp: cannot check whether '%s' is in use", path);
	if (unlink(path) < 0)
		return mre_err_sys(err, -errno, "--qmp: cannot remove the stale socket '%s'", path);
	return 0;
}

static int listen_unix(struct mre_qmp *q, const char *spec, struct mre_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct mre_qmp_listener *ls;
	struct stat st;
	char *path = NULL;
	mode_t old;
	int fd = -1, r;

	r = parse_unix(spec, &path, err);
	if (r)
		return r;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		r = mre_err_set(err, -ENAMETOOLONG, "--qmp: socket path '%s' is too long", path);
		goto fail;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	r = clear_path(path, &sa, err);
	if (r)
		goto fail;
	ls = realloc(q->listeners, (q->nlisteners + 1) * sizeof(*ls));
	if (!ls) {
		r = mre_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	q->listeners = ls;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		r = mre_err_sys(err, -errno, "--qmp: socket");
		goto fail;
	}
	/* the file must be 0600 from the moment it exists, before anyone
	 * can connect: set the umask around bind() (single-threaded here) */
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0) {
		r = mre_err_sys(err, -errno, "--qmp: cannot bind '%s'", path);
		goto fail;
	}
	if (listen(fd, 16) < 0) {
		r = mre_err_sys(err, -errno, "--qmp: cannot listen on '%s'", path);
		unlink(path);
		goto fail;
	}
	if (lstat(path, &st) < 0) {
		r = mre_err_sys(err, -errno, "--qmp: cannot examine '%s'", path);
		unlink(path);
		goto fail;
	}
	q->listeners[q->nlisteners] = (struct mre_qmp_listener){
		.fd = fd, .path = path, .dev = (uint64_t)st.st_dev, .ino = (uint64_t)st.st_ino,
	};
	q->nlisteners++;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(path);
	return r;
}

int mre_qmp_listen(struct mre_qmp *q, const char *spec, struct mre_err *err)
{
	if (!strcmp(spec, "stdio")) {
		if (q->stdio)
			return mre_err_set(err, -EINVAL, "--qmp stdio can only be given once");
		q->stdio = true;
		return 0;
	}
	if (!strncmp(spec, "unix:", 5)) {
		if (q->nlisteners >= MAX_LISTENERS)
			return mre_err_set(err, -EINVAL, "--qmp: at most %d sockets", MAX_LISTENERS);
		return listen_unix(q, spec, err);
	}
	return mre_err_set(err, -EINVAL,
			   "--qmp %s: expected unix:PATH[,server=on][,wait=off] or stdio", spec);
}

/* ---- clients --------------------------------------------------------------- */

static void greet(struct mre_qmp_client *c)
{
	cJSON *g = cJSON_CreateObject(), *qmp = cJSON_CreateObject();
	cJSON *ver = cJSON_CreateObject(), *qemu = cJSON_CreateObject();

	mre_qmp_add_i64(qemu, "micro", 0);
	mre_qmp_add_i64(qemu, "minor", 0);
	mre_qmp_add_i64(qemu, "major", 10);
	mre_qmp_add(ver, "qemu", qemu);
	mre_qmp_add_str(ver, "package", "mrengine " PACKAGE_VERSION);
	mre_qmp_add(qmp, "version", ver);
	/* no "oob": mrengine runs every command in order on one thread */
	mre_qmp_add(qmp, "capabilities", cJSON_CreateArray());
	mre_qmp_add(g, "QMP", qmp);
	mre_qmp_send(c, g);
	cJSON_Delete(g);
}

static struct mre_qmp_client *client_new(struct mre_qmp *q, int in_fd, int out_fd, bool stdio)
{
	struct mre_qmp_client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->in = malloc(IN_BUF);
	if (!c->in) {
		free(c);
		return NULL;
	}
	c->id = ++q->next_client_id;
	c->in_fd = in_fd;
	c->out_fd = out_fd;
	c->is_stdio = stdio;
	mre_qmp_split_init(&c->split);
	mre_wbuf_init(&c->out);
	c->next = q->clients;
	q->clients = c;
	greet(c);
	return c;
}

static void client_free(struct mre_qmp_client *c)
{
	for (unsigned i = 0; i < c->nfds; i++)
		close(c->fds[i]);
	if (!c->is_stdio)
		close(c->in_fd);
	mre_qmp_split_free(&c->split);
	mre_wbuf_free(&c->out);
	free(c->in);
	free(c);
}

int mre_qmp_client_take_fd(struct mre_qmp_client *c)
{
	int fd;

	if (!c->nfds)
		return -1;
	fd = c->fds[0];
	memmove(c->fds, c->fds + 1, (c->nfds - 1) * sizeof(c->fds[0]));
	c->nfds--;
	return fd;
}

static size_t pending(const struct mre_qmp_client *c)
{
	return c->out.len - c->out_off;
}

void mre_qmp_send(struct mre_qmp_client *c, const cJSON *v)
{
	if (!c || c->dead)
		return;
	mre_qmp_json_write(&c->out, v);
	mre_wbuf_put(&c->out, "\r\n", 2);
	if (mre_wbuf_err(&c->out) || pending(c) > MRE_QMP_OUT_HARD) {
		/* it does not read what it is sent; holding more would let one
		 * client grow the daemon without bound */
		c->dead = true;
	}
}

void mre_qmp_event(struct mre_qmp *q, const char *name, cJSON *data)
{
	struct timespec ts;
	cJSON *ev = cJSON_CreateObject(), *t = cJSON_CreateObject();

	if (clock_gettime(CLOCK_REALTIME, &ts) == 0) {
		mre_qmp_add_i64(t, "seconds", ts.tv_sec);
		mre_qmp_add_i64(t, "microseconds", ts.tv_nsec / 1000);
	} else {
		mre_qmp_add_i64(t, "seconds", -1);
		mre_qmp_add_i64(t, "microseconds", -1);
	}
	mre_qmp_add(ev, "timestamp", t);
	mre_qmp_add_str(ev, "event", name);
	if (data)
		mre_qmp_add(ev, "data", data);
	for (struct mre_qmp_client *c = q->clients; c; c = c->next)
		if (c->negotiated)
			mre_qmp_send(c, ev);
	cJSON_Delete(ev);
}

static void client_flush(struct mre_qmp_client *c)
{
	while (!c->dead && pending(c)) {
		ssize_t n;

		if (c->is_stdio)
			n = write(c->out_fd, c->out.data + c->out_off, pending(c));
		else
			n = send(c->out_fd, c->out.data + c->out_off, pending(c),
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				c->dead = true;
			break;
		}
		c->out_off += (size_t)n;
	}
	if (!pending(c)) {
		mre_wbuf_reset(&c->out);
		c->out_off = 0;
		/* after a burst, give the memory back */
		if (c->out.cap > 1024 * 1024) {
			mre_wbuf_free(&c->out);
			mre_wbuf_init(&c->out);
		}
	} else if (c->out_off > c->out.len / 2) {
		memmove(c->out.data, c->out.data + c->out_off, pending(c));
		c->out.len = pending(c);
		c->out_off = 0;
	}
}

static void queue_fds(struct mre_qmp_client *c, struct msghdr *mh)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		size_t n;
		int *fds;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		fds = (int *)CMSG_DATA(cm);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, &fds[i], sizeof(fd));
			if (c->nfds < MRE_QMP_MAX_QUEUED_FDS)
				c->fds[c->nfds++] = fd;
			else
				close(fd); /* a client may not park descriptors here */
		}
	}
}

static void client_read(struct mre_qmp_client *c)
{
	ssize_t n;

	if (c->is_stdio) {
		n = read(c->in_fd, c->in, IN_BUF);
	} else {
		/* room for SCM_MAX_FD (253) descriptors: the kernel closes
		 * whatever does not fit, so nothing can leak into the daemon */
		union {
			char buf[CMSG_SPACE(253 * sizeof(int))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { c->in, IN_BUF };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };

		n = recvmsg(c->in_fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n >= 0)
			queue_fds(c, &mh);
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			c->dead = true;
		return;
	}
	if (n == 0) {
		c->eof = true;
		return;
	}
	c->in_off = 0;
	c->in_len = (size_t)n;
}

static void client_process(struct mre_qmp *q, struct mre_qmp_client *c)
{
	while (!c->dead && !q->quit && c->in_off < c->in_len && pending(c) < MRE_QMP_OUT_SOFT) {
		const char *emsg = NULL;
		size_t used = 0;
		enum mre_qmp_split_result r;

		r = mre_qmp_split_feed(&c->split, c->in + c->in_off, c->in_len - c->in_off, &used, &emsg);
		c->in_off += used;
		if (r == MRE_SPLIT_MSG) {
			mre_qmp_dispatch(q, c, (const char *)c->split.msg.data, c->split.msg.len);
		} else if (r == MRE_SPLIT_ERROR) {
			cJSON *rsp = cJSON_CreateObject(), *e = cJSON_CreateObject();

			mre_qmp_add_str(e, "class", "GenericError");
			mre_qmp_add_str(e, "desc", emsg);
			mre_qmp_add(rsp, "error", e);
			mre_qmp_send(c, rsp);
			cJSON_Delete(rsp);
		}
	}
	if (c->eof && c->in_off >= c->in_len && !q->quit && mre_qmp_split_finish(&c->split))
		mre_qmp_dispatch(q, c, (const char *)c->split.msg.data, c->split.msg.len);
}

static void nonblock(int fd)
{
	struct stat st;
	int fl;

	/* only pipes and sockets: a terminal or file is shared with others
	 * and may not be switched to non-blocking behind their back */
	if (fstat(fd, &st) || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		return;
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void accept_client(struct mre_qmp *q, int lfd)
{
	unsigned n = 0;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0) {
		/* Out of descriptors, the connection stays queued and the
		 * listener readable: polling it again at once would spin. Rest
		 * it; a client that leaves frees a descriptor and wakes it. */
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			q->accept_resume_ms = now_ms() + ACCEPT_RETRY_MS;
		return;
	}
	for (struct mre_qmp_client *c = q->clients; c; c = c->next)
		n++;
	if (n >= MAX_CLIENTS || !client_new(q, fd, fd, false))
		close(fd);
}

static void reap_clients(struct mre_qmp *q)
{
	struct mre_qmp_client **pp = &q->clients;

	while (*pp) {
		struct mre_qmp_client *c = *pp;

		/* a socket client that sent EOF leaves once it has its replies */
		if (!c->is_stdio && c->eof && c->in_off >= c->in_len && !pending(c))
			c->dead = true;
		if (c->dead) {
			*pp = c->next;
			client_free(c);
			q->accept_resume_ms = 0;  /* a descriptor is free again */
		} else {
			pp = &c->next;
		}
	}
}

/* ---- the loop ----------------------------------------------------------------- */

enum pkind { PK_SIGNAL, PK_LISTEN, PK_JOB, PK_IN, PK_OUT };

struct pslot {
	enum pkind kind;
	void *ptr;
	int fd;
};

static struct mre_qmp_client *stdio_client(struct mre_qmp *q)
{
	for (struct mre_qmp_client *c = q->clients; c; c = c->next)
		if (c->is_stdio)
			return c;
	return NULL;
}

/* With stdio as the only endpoint, the end of stdin ends the daemon, once
 * the running job (if any) has finished and the output has been written. */
static bool stdio_done(struct mre_qmp *q)
{
	struct mre_qmp_client *c;

	if (!q->stdio || q->nlisteners)
		return false;
	c = stdio_client(q);
	if (c && !c->dead && (!c->eof || c->in_off < c->in_len || pending(c)))
		return false;
	return !mre_engine_busy(q->eng);
}

static int do_poll(struct mre_qmp *q, int timeout_ms, bool accept_input)
{
	struct pollfd pfd[2 * MAX_CLIENTS + 32];
	struct pslot slot[2 * MAX_CLIENTS + 32];
	unsigned n = 0;
	int r;

	if (q->sigfd >= 0) {
		pfd[n] = (struct pollfd){ q->sigfd, POLLIN, 0 };
		slot[n++] = (struct pslot){ PK_SIGNAL, NULL, q->sigfd };
	}
	if (q->accept_resume_ms && now_ms() >= q->accept_resume_ms)
		q->accept_resume_ms = 0;
	if (accept_input && q->accept_resume_ms) {
		uint64_t left = q->accept_resume_ms - now_ms();

		if (timeout_ms < 0 || left < (uint64_t)timeout_ms)
			timeout_ms = (int)left;
	}
	for (unsigned i = 0; accept_input && !q->accept_resume_ms && i < q->nlisteners; i++) {
		pfd[n] = (struct pollfd){ q->listeners[i].fd, POLLIN, 0 };
		slot[n++] = (struct pslot){ PK_LISTEN, NULL, q->listeners[i].fd };
	}
	if (q->eng->job) {
		int jfd = mre_job_notify_fd(q->eng->job);

		if (jfd >= 0) {
			pfd[n] = (struct pollfd){ jfd, POLLIN, 0 };
			slot[n++] = (struct pslot){ PK_JOB, NULL, jfd };
		}
	}
	for (struct mre_qmp_client *c = q->clients; c; c = c->next) {
		bool want_in = accept_input && !c->eof && c->in_off >= c->in_len &&
			       pending(c) < MRE_QMP_OUT_SOFT;

		if (c->dead || n + 2 > sizeof(pfd) / sizeof(pfd[0]))
			continue;
		if (c->in_fd == c->out_fd) {
			short ev = (short)((want_in ? POLLIN : 0) | (pending(c) ? POLLOUT : 0));

			pfd[n] = (struct pollfd){ c->in_fd, ev, 0 };
			slot[n++] = (struct pslot){ PK_IN, c, c->in_fd };
		} else {
			if (want_in) {
				pfd[n] = (struct pollfd){ c->in_fd, POLLIN, 0 };
				slot[n++] = (struct pslot){ PK_IN, c, c->in_fd };
			}
			if (pending(c)) {
				pfd[n] = (struct pollfd){ c->out_fd, POLLOUT, 0 };
				slot[n++] = (struct pslot){ PK_OUT, c, c->out_fd };
			}
		}
	}
	r = poll(pfd, n, timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	for (unsigned i = 0; i < n; i++) {
		struct mre_qmp_client *c = slot[i].ptr;
		short re = pfd[i].revents;

		if (!re)
			continue;
		switch (slot[i].kind) {
		case PK_SIGNAL: {
			struct signalfd_siginfo si;

			if (read(q->sigfd, &si, sizeof(si)) == sizeof(si) && !q->quit) {
				cJSON *d = cJSON_CreateObject();

				mre_qmp_add_bool(d, "guest", false);
				mre_qmp_add_str(d, "reason", "host-signal");
				mre_qmp_event(q, "SHUTDOWN", d);
				q->quit = true;
				q->quit_reason = "host-signal";
			}
			break;
		}
		case PK_LISTEN:
			accept_client(q, slot[i].fd);
			break;
		case PK_JOB:
			mre_qmp_migration_poll(q);
			break;
		case PK_IN:
			if (re & POLLNVAL) {
				c->dead = true;
				break;
			}
			if (re & POLLOUT)
				client_flush(c);
			/* read only into an empty buffer: unprocessed input stays */
			if ((re & (POLLIN | POLLHUP | POLLERR)) && !c->eof && c->in_off >= c->in_len)
				client_read(c);
			break;
		case PK_OUT:
			if (re & (POLLERR | POLLHUP | POLLNVAL))
				c->dead = true;
			else
				client_flush(c);
			break;
		}
	}
	return 0;
}

static void process_all(struct mre_qmp *q)
{
	for (struct mre_qmp_client *c = q->clients; c; c = c->next)
		client_process(q, c);
	mre_qmp_migration_poll(q);
	for (struct mre_qmp_client *c = q->clients; c; c = c->next)
		client_flush(c);
	reap_clients(q);
}

static bool input_ready(struct mre_qmp *q)
{
	for (struct mre_qmp_client *c = q->clients; c; c = c->next)
		if (!c->dead && c->in_off < c->in_len && pending(c) < MRE_QMP_OUT_SOFT)
			return true;
	return false;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool any_pending(struct mre_qmp *q)
{
	for (struct mre_qmp_client *c = q->clients; c; c = c->next)
		if (!c->dead && pending(c))
			return true;
	return false;
}

int mre_qmp_run(struct mre_qmp *q, struct mre_err *err)
{
	sigset_t mask, old;
	uint64_t deadline;
	int r = 0;

	/* Signals arrive as readable data in the loop; the job's threads are
	 * created later and inherit the blocked mask, so none of them takes
	 * a signal meant for the daemon. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &old);
	q->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (q->sigfd < 0) {
		r = mre_err_sys(err, -errno, "signalfd");
		goto out;
	}
	if (q->stdio) {
		nonblock(STDIN_FILENO);
		nonblock(STDOUT_FILENO);
		if (!client_new(q, STDIN_FILENO, STDOUT_FILENO, true)) {
			r = mre_err_set(err, -ENOMEM, "out of memory");
			goto out;
		}
	}
	if (q->incoming_uri) {
		r = mre_qmp_incoming_start(q, q->incoming_uri, err);
		if (r) {
			mre_err_prefix(err, "-incoming %s", q->incoming_uri);
			goto out;
		}
	}
	while (!q->quit && !stdio_done(q)) {
		/* input held back while output was above SOFT may be
		 * processable now that it has been flushed: do not sleep */
		/* while a job runs, wake up for the policy's on_progress */
		r = do_poll(q, input_ready(q) ? 0 : mre_engine_busy(q->eng) && q->eng->policy ? 250 : -1, true);
		if (r) {
			mre_err_sys(err, r, "poll");
			break;
		}
		process_all(q);
		mre_engine_tick(q->eng);
	}
	r = 0;
	/* Quit: cancel the job and let clients see it go (MIGRATION
	 * cancelling/cancelled), then give them their last messages. */
	if (q->quit && mre_engine_busy(q->eng))
		mre_job_cancel(q->eng->job);
	deadline = now_ms() + DRAIN_JOB_MS;
	while (mre_engine_busy(q->eng) && now_ms() < deadline) {
		do_poll(q, 100, false);
		process_all(q);
	}
	mre_qmp_migration_poll(q);
	deadline = now_ms() + DRAIN_OUT_MS;
	while (any_pending(q) && now_ms() < deadline) {
		do_poll(q, 50, false);
		for (struct mre_qmp_client *c = q->clients; c; c = c->next)
			client_flush(c);
	}
out:
	if (q->sigfd >= 0) {
		close(q->sigfd);
		q->sigfd = -1;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}

void mre_qmp_free(struct mre_qmp *q)
{
	if (!q)
		return;
	while (q->clients) {
		struct mre_qmp_client *c = q->clients;

		q->clients = c->next;
		client_free(c);
	}
	for (unsigned i = 0; i < q->nlisteners; i++)
		close_listener(&q->listeners[i]);
	free(q->listeners);
	mre_qmp_migcfg_free(&q->cfg);
	free(q->incoming_uri);
	free(q);
}
