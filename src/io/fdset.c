/* SPDX-License-Identifier: MIT */
/*
 * fdset.c: the registry of descriptors a management layer hands in (fdsets
 * for add-fd/remove-fd/query-fdsets and /dev/fdset/N, named descriptors for
 * getfd/closefd), and the checks that turn a misconfigured set into an
 * error naming the broken rule instead of a silently wrong transfer.
 *
 * The registry owns every descriptor it holds and closes each exactly once
 * (on remove, on replace, or in mre_fdsets_free). Descriptors it hands out
 * are fresh dups owned by the caller. It never logs and never exits.
 */
#include "io/fdset.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/kcmp.h>
#endif

#define FDSET_PREFIX "/dev/fdset/"

struct fdset_fd {
	int fd;
	char *opaque;
};

struct fdset {
	int64_t id;
	struct fdset_fd *fds;   /* in the order added */
	unsigned nfds;
};

struct named_fd {
	char *name;
	int fd;
};

struct mre_fdsets {
	struct fdset *sets;     /* sorted by id, descending (query-fdsets order) */
	unsigned nsets;
	struct named_fd *named;
	unsigned nnamed;
};

struct mre_fdsets *mre_fdsets_new(void)
{
	return calloc(1, sizeof(struct mre_fdsets));
}

static void close_fd(int fd)
{
	/* close() may report EINTR after the descriptor is already gone on
	 * Linux: retrying could close a descriptor another thread just got. */
	if (fd >= 0)
		close(fd);
}

static void set_release(struct fdset *set)
{
	for (unsigned i = 0; i < set->nfds; i++) {
		close_fd(set->fds[i].fd);
		free(set->fds[i].opaque);
	}
	free(set->fds);
	set->fds = NULL;
	set->nfds = 0;
}

void mre_fdsets_free(struct mre_fdsets *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->nsets; i++)
		set_release(&s->sets[i]);
	free(s->sets);
	for (unsigned i = 0; i < s->nnamed; i++) {
		close_fd(s->named[i].fd);
		free(s->named[i].name);
	}
	free(s->named);
	free(s);
}

static struct fdset *set_find(const struct mre_fdsets *s, int64_t id)
{
	for (unsigned i = 0; i < s->nsets; i++)
		if (s->sets[i].id == id)
			return &s->sets[i];
	return NULL;
}

/* Insert an empty set keeping the descending order; NULL on ENOMEM. */
static struct fdset *set_create(struct mre_fdsets *s, int64_t id)
{
	struct fdset *sets = realloc(s->sets, (s->nsets + 1) * sizeof(*sets));
	unsigned pos = 0;

	if (!sets)
		return NULL;
	s->sets = sets;
	while (pos < s->nsets && sets[pos].id > id)
		pos++;
	memmove(&sets[pos + 1], &sets[pos], (s->nsets - pos) * sizeof(*sets));
	memset(&sets[pos], 0, sizeof(sets[pos]));
	sets[pos].id = id;
	s->nsets++;
	return &sets[pos];
}

static void set_drop(struct mre_fdsets *s, struct fdset *set)
{
	unsigned pos = (unsigned)(set - s->sets);

	set_release(set);
	memmove(&s->sets[pos], &s->sets[pos + 1], (s->nsets - pos - 1) * sizeof(*s->sets));
	s->nsets--;
}

static int64_t lowest_free_id(const struct mre_fdsets *s)
{
	int64_t id = 0;

	/* sets are few; a linear probe per candidate is fine */
	while (set_find(s, id))
		id++;
	return id;
}

/* Regular files and block devices only: a transfer seeks and writes at
 * fixed offsets, which pipes, sockets and terminals cannot do. */
static int check_fd_kind(int fd, struct mre_err *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return mre_err_sys(err, -errno, "File descriptor %d cannot be examined", fd);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return mre_err_set(err, -EINVAL,
				   "File descriptor %d is not a regular file or block device "
				   "(fdsets hold migration files)", fd);
	return 0;
}

int mre_fdsets_add(struct mre_fdsets *s, int fd, int64_t set_id, const char *opaque,
		   int64_t *out_set, int *out_fd, struct mre_err *err)
{
	struct fdset *set;
	struct fdset_fd *fds;
	char *op = NULL;
	int r;

	if (fd < 0)
		return mre_err_set(err, -EBADF, "No file descriptor supplied via SCM_RIGHTS");
	r = check_fd_kind(fd, err);
	if (r < 0)
		goto fail;
	if (opaque) {
		op = strdup(opaque);
		if (!op) {
			r = mre_err_set(err, -ENOMEM, "out of memory");
			goto fail;
		}
	}
	if (set_id < 0)
		set_id = lowest_free_id(s);
	set = set_find(s, set_id);
	if (!set)
		set = set_create(s, set_id);
	if (!set) {
		r = mre_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	fds = realloc(set->fds, (set->nfds + 1) * sizeof(*fds));
	if (!fds) {
		if (!set->nfds)
			set_drop(s, set);
		r = mre_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	set->fds = fds;
	fds[set->nfds].fd = fd;
	fds[set->nfds].opaque = op;
	set->nfds++;
	if (out_set)
		*out_set = set_id;
	if (out_fd)
		*out_fd = fd;
	return 0;
fail:
	free(op);
	close_fd(fd);
	return r;
}

int mre_fdsets_remove(struct mre_fdsets *s, int64_t set_id, int fd, struct mre_err *err)
{
	struct fdset *set = set_find(s, set_id);

	if (fd < 0) {
		if (!set)
			return mre_err_set(err, -ENOENT, "File descriptor named 'fdset-id:%lld' not found",
					   (long long)set_id);
		set_drop(s, set);
		return 0;
	}
	for (unsigned i = 0; set && i < set->nfds; i++) {
		if (set->fds[i].fd != fd)
			continue;
		close_fd(fd);
		free(set->fds[i].opaque);
		memmove(&set->fds[i], &set->fds[i + 1], (set->nfds - i - 1) * sizeof(*set->fds));
		if (--set->nfds == 0)
			set_drop(s, set);
		return 0;
	}
	return mre_err_set(err, -ENOENT, "File descriptor named 'fdset-id:%lld, fd:%d' not found",
			   (long long)set_id, fd);
}

unsigned mre_fdsets_nsets(const struct mre_fdsets *s)
{
	return s->nsets;
}

int64_t mre_fdsets_set_id(const struct mre_fdsets *s, unsigned i)
{
	return i < s->nsets ? s->sets[i].id : -1;
}

unsigned mre_fdsets_set_nfds(const struct mre_fdsets *s, unsigned i)
{
	return i < s->nsets ? s->sets[i].nfds : 0;
}

struct mre_fdset_fd mre_fdsets_set_fd(const struct mre_fdsets *s, unsigned i, unsigned j)
{
	struct mre_fdset_fd r = { -1, NULL };

	if (i < s->nsets && j < s->sets[i].nfds) {
		r.fd = s->sets[i].fds[j].fd;
		r.opaque = s->sets[i].fds[j].opaque;
	}
	return r;
}

int mre_fdset_path_id(const char *path, int64_t *id)
{
	const char *p;
	long long v = 0;

	if (!path || strncmp(path, FDSET_PREFIX, strlen(FDSET_PREFIX)))
		return 0;
	p = path + strlen(FDSET_PREFIX);
	if (!*p)
		return -EINVAL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (*p - '0');
		if (v > INT_MAX)
			return -EINVAL;
	}
	*id = v;
	return 1;
}

/* ---- picking a descriptor ---------------------------------------------- */

#define MATCH_MASK (O_ACCMODE | O_DIRECT)

static const char *accmode_name(int fl)
{
	switch (fl & O_ACCMODE) {
	case O_RDONLY: return "O_RDONLY";
	case O_WRONLY: return "O_WRONLY";
	case O_RDWR: return "O_RDWR";
	}
	return "an unknown access mode";
}

/*
 * QEMU walks a set newest first and takes the first descriptor whose
 * O_ACCMODE|O_DIRECT bits equal the request's. Returns the registry's
 * descriptor (not a dup) or a negative code with the error set.
 */
static int find_match(struct fdset *set, int flags, struct mre_err *err)
{
	for (unsigned i = set->nfds; i-- > 0;) {
		int fl = fcntl(set->fds[i].fd, F_GETFL);

		if (fl < 0)
			return mre_err_sys(err, -errno, "Failed to read file status flags for fd=%d",
					   set->fds[i].fd);
		if ((fl & MATCH_MASK) == (flags & MATCH_MASK))
			return set->fds[i].fd;
	}
	return mre_err_set(err, -EACCES, "Failed to find file descriptor with matching flags=0x%x",
			   (unsigned)flags);
}

/* Dup close-on-exec and apply the requested status flags (QEMU does the
 * same: it clears e.g. O_APPEND, which would defeat positioned writes). */
static int dup_fd(int fd, int flags, struct mre_err *err)
{
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	if (d < 0)
		return mre_err_sys(err, -errno, "Failed to dup() given file descriptor fd=%d", fd);
	if (fcntl(d, F_SETFL, flags & ~(O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC)) < 0) {
		int e = -errno;

		close_fd(d);
		return mre_err_sys(err, e, "Failed to set file status flags for fd=%d", fd);
	}
	return d;
}

static int set_lookup(struct mre_fdsets *s, int64_t set_id, struct fdset **out,
		      struct mre_err *err)
{
	*out = set_find(s, set_id);
	if (!*out)
		return mre_err_set(err, -ENOENT, "Failed to find fdset " FDSET_PREFIX "%lld",
				   (long long)set_id);
	return 0;
}

int mre_fdsets_dup(struct mre_fdsets *s, int64_t set_id, int flags, struct mre_err *err)
{
	struct fdset *set;
	int fd, r;

	r = set_lookup(s, set_id, &set, err);
	if (r < 0)
		return r;
	fd = find_match(set, flags, err);
	if (fd < 0) {
		if (err && err->code == -EACCES) {
			size_t n = strlen(err->msg);

			snprintf(err->msg + n, sizeof(err->msg) - n,
				 " (fdset %lld has no descriptor opened %s%s)", (long long)set_id,
				 accmode_name(flags), flags & O_DIRECT ? " with O_DIRECT" : " without O_DIRECT");
		}
		return fd;
	}
	return dup_fd(fd, flags, err);
}

/* 1 if @a and @b share one open file description, 0 if not, -1 unknown. */
static int same_description(int a, int b)
{
#if defined(__linux__) && defined(SYS_kcmp)
	long r = syscall(SYS_kcmp, (long)getpid(), (long)getpid(), KCMP_FILE, (long)a, (long)b);

	if (r >= 0)
		return r == 0;
#endif
	(void)a;
	(void)b;
	return -1; /* kcmp unavailable (ENOSYS, EPERM under seccomp, ...) */
}

/* Append the broken rule to a "Failed to find ..." error. */
static void explain(struct mre_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void explain(struct mre_err *err, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!err)
		return;
	n = strlen(err->msg);
	if (n + 2 >= sizeof(err->msg))
		return;
	err->msg[n++] = ':';
	err->msg[n++] = ' ';
	err->msg[n] = 0;
	va_start(ap, fmt);
	vsnprintf(err->msg + n, sizeof(err->msg) - n, fmt, ap);
	va_end(ap);
}

/*
 * Why no descriptor matched @want: look at what the set holds and name the
 * rule (access mode first, since QEMU's main channel is opened first and a
 * wrong mode fails every channel).
 */
static void explain_mismatch(struct fdset *set, bool write, bool direct_io, int want,
			     struct mre_err *err)
{
	int need = write ? O_WRONLY : O_RDONLY;
	unsigned ndirect = 0, nmode = 0;
	int bad_fd = -1, bad_fl = 0;

	for (unsigned i = 0; i < set->nfds; i++) {
		int fl = fcntl(set->fds[i].fd, F_GETFL);

		if (fl < 0)
			continue;
		if ((fl & O_ACCMODE) != need) {
			if (bad_fd < 0) {
				bad_fd = set->fds[i].fd;
				bad_fl = fl;
			}
			continue;
		}
		nmode++;
		if (fl & O_DIRECT)
			ndirect++;
	}
	if (bad_fd >= 0) {
		explain(err, "fdset %lld: fd %d is opened %s, but %s needs descriptors opened %s "
			"(%s does not match)", (long long)set->id, bad_fd, accmode_name(bad_fl),
			write ? "saving" : "restoring", accmode_name(need), accmode_name(bad_fl));
		return;
	}
	if (direct_io && set->nfds == 1) {
		explain(err, "fdset %lld holds one descriptor, but direct-io needs two separately "
			"opened ones: one with O_DIRECT for page data and one without for the stream",
			(long long)set->id);
		return;
	}
	if (direct_io && set->nfds >= 2 && (ndirect == 0 || ndirect == nmode)) {
		int dup = same_description(set->fds[set->nfds - 1].fd, set->fds[set->nfds - 2].fd);

		if (dup == 1) {
			explain(err, "fdset %lld: fds %d and %d are dups of one open file (they share "
				"its O_DIRECT flag); with direct-io open the file twice, once with "
				"O_DIRECT", (long long)set->id, set->fds[set->nfds - 2].fd,
				set->fds[set->nfds - 1].fd);
			return;
		}
	}
	if (want & O_DIRECT) {
		explain(err, "fdset %lld has no descriptor with O_DIRECT; direct-io needs exactly "
			"one, opened separately from the stream's", (long long)set->id);
		return;
	}
	if (direct_io) {
		explain(err, "fdset %lld: every descriptor has O_DIRECT; with direct-io exactly one "
			"may have it, the stream needs one without", (long long)set->id);
		return;
	}
	explain(err, "fdset %lld: every descriptor has O_DIRECT, but without direct-io the "
		"transfer needs one without O_DIRECT", (long long)set->id);
}

static int same_file(int a, int b)
{
	struct stat sa, sb;

	if (fstat(a, &sa) < 0 || fstat(b, &sb) < 0)
		return -errno;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino &&
	       (sa.st_mode & S_IFMT) == (sb.st_mode & S_IFMT);
}

int mre_fdsets_open_pair(struct mre_fdsets *s, int64_t set_id, bool write, bool direct_io,
			 int *main_fd, int *page_fd, struct mre_err *err)
{
	/* QEMU's requests: the main channel O_WRONLY|O_CREAT (save) or
	 * O_RDONLY (restore), page channels the same access mode plus
	 * O_DIRECT when direct-io is effective. */
	int main_flags = write ? O_WRONLY | O_CREAT : O_RDONLY;
	int page_flags = (write ? O_WRONLY : O_RDONLY) | (direct_io ? O_DIRECT : 0);
	struct fdset *set;
	int mfd, pfd, m = -1, p = -1, r;

	r = set_lookup(s, set_id, &set, err);
	if (r < 0)
		return r;
	mfd = find_match(set, main_flags, err);
	if (mfd < 0) {
		if (mfd == -EACCES)
			explain_mismatch(set, write, direct_io, main_flags, err);
		return mfd;
	}
	pfd = find_match(set, page_flags, err);
	if (pfd < 0) {
		if (pfd == -EACCES)
			explain_mismatch(set, write, direct_io, page_flags, err);
		return pfd;
	}
	if (mfd != pfd) {
		int same = same_file(mfd, pfd);

		if (same < 0)
			return mre_err_sys(err, same, "fdset %lld: cannot examine fds %d and %d",
					   (long long)set_id, mfd, pfd);
		if (!same)
			return mre_err_set(err, -EINVAL,
					   "fdset %lld: fds %d and %d refer to different files; "
					   "the stream and the page data must go to one file",
					   (long long)set_id, mfd, pfd);
	}
	m = dup_fd(mfd, main_flags, err);
	if (m < 0)
		return m;
	p = dup_fd(pfd, page_flags, err);
	if (p < 0) {
		close_fd(m);
		return p;
	}
	*main_fd = m;
	*page_fd = p;
	return 0;
}

/* ---- named descriptors (getfd / closefd) -------------------------------- */

static struct named_fd *named_find(const struct mre_fdsets *s, const char *name)
{
	for (unsigned i = 0; i < s->nnamed; i++)
		if (!strcmp(s->named[i].name, name))
			return &s->named[i];
	return NULL;
}

int mre_fdsets_getfd(struct mre_fdsets *s, const char *name, int fd, struct mre_err *err)
{
	struct named_fd *n, *arr;
	char *copy;

	if (fd < 0)
		return mre_err_set(err, -EBADF, "No file descriptor supplied via SCM_RIGHTS");
	if (!name || !*name || (*name >= '0' && *name <= '9')) {
		close_fd(fd);
		return mre_err_set(err, -EINVAL,
				   "Parameter 'fdname' expects a name not starting with a digit");
	}
	n = named_find(s, name);
	if (n) {
		close_fd(n->fd);
		n->fd = fd;
		return 0;
	}
	copy = strdup(name);
	arr = copy ? realloc(s->named, (s->nnamed + 1) * sizeof(*arr)) : NULL;
	if (!arr) {
		free(copy);
		close_fd(fd);
		return mre_err_set(err, -ENOMEM, "out of memory");
	}
	s->named = arr;
	arr[s->nnamed].name = copy;
	arr[s->nnamed].fd = fd;
	s->nnamed++;
	return 0;
}

int mre_fdsets_closefd(struct mre_fdsets *s, const char *name, struct mre_err *err)
{
	struct named_fd *n = name ? named_find(s, name) : NULL;
	unsigned pos;

	if (!n)
		return mre_err_set(err, -ENOENT, "File descriptor named '%s' not found",
				   name ? name : "");
	pos = (unsigned)(n - s->named);
	close_fd(n->fd);
	free(n->name);
	memmove(&s->named[pos], &s->named[pos + 1], (s->nnamed - pos - 1) * sizeof(*s->named));
	s->nnamed--;
	return 0;
}

int mre_fdsets_named(const struct mre_fdsets *s, const char *name)
{
	const struct named_fd *n = name ? named_find(s, name) : NULL;

	return n ? n->fd : -ENOENT;
}
