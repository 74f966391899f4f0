/* SPDX-License-Identifier: MIT */
/*
 * test_fdset.c: the fdset registry: ownership (every descriptor closed
 * exactly once), ids and query order, /dev/fdset/N parsing, QEMU's
 * matching, and every rule mre_fdsets_open_pair enforces with its message.
 * The O_DIRECT cases skip when the test directory refuses O_DIRECT.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/fdset.h"
#include "tap.h"

static char dir[256];

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static int openf(const char *name, int flags)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return open(p, flags | O_CREAT | O_CLOEXEC, 0600);
}

static ino_t ino(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : st.st_ino;
}

static bool direct_supported(void)
{
	int fd = openf("probe", O_WRONLY | O_DIRECT);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void test_add_query_remove(void)
{
	struct mre_fdsets *s = mre_fdsets_new();
	struct mre_err err = MRE_ERR_INIT;
	int64_t set;
	int fd, a, b, c, d, pfd[2];

	a = openf("a", O_WRONLY);
	b = openf("b", O_WRONLY);
	c = openf("c", O_RDONLY);
	d = openf("d", O_RDONLY);
	is_int(mre_fdsets_add(s, a, -1, NULL, &set, &fd, &err), 0, "add to a new set");
	is_int(set, 0, "lowest free id is 0");
	is_int(fd, a, "the registry keeps the received descriptor number");
	is_int(mre_fdsets_add(s, b, 5, "opaque-b", &set, &fd, &err), 0, "add to set 5");
	is_int(set, 5, "explicit set id");
	is_int(mre_fdsets_add(s, c, -1, NULL, &set, &fd, &err), 0, "add to another new set");
	is_int(set, 1, "next lowest free id is 1");
	is_int(mre_fdsets_add(s, d, 5, NULL, &set, &fd, &err), 0, "add to existing set 5");

	is_int(mre_fdsets_nsets(s), 3, "three sets");
	is_int(mre_fdsets_set_id(s, 0), 5, "sets in descending order (5)");
	is_int(mre_fdsets_set_id(s, 1), 1, "sets in descending order (1)");
	is_int(mre_fdsets_set_id(s, 2), 0, "sets in descending order (0)");
	is_int(mre_fdsets_set_nfds(s, 0), 2, "set 5 holds two fds");
	is_int(mre_fdsets_set_fd(s, 0, 0).fd, b, "fds in the order added (first)");
	is_str(mre_fdsets_set_fd(s, 0, 0).opaque, "opaque-b", "opaque kept");
	is_int(mre_fdsets_set_fd(s, 0, 1).fd, d, "fds in the order added (second)");
	ok(mre_fdsets_set_fd(s, 0, 1).opaque == NULL, "no opaque is NULL");
	is_int(mre_fdsets_set_fd(s, 7, 0).fd, -1, "out of range query is -1");

	/* a pipe is not a migration file */
	if (pipe2(pfd, O_CLOEXEC) == 0) {
		mre_err_clear(&err);
		ok(mre_fdsets_add(s, pfd[0], -1, NULL, &set, &fd, &err) < 0, "pipe refused");
		like(err.msg, "not a regular file or block device", "pipe error names the rule");
		ok(!fd_open(pfd[0]), "refused descriptor is closed");
		close(pfd[1]);
	}
	mre_err_clear(&err);
	is_int(mre_fdsets_add(s, -1, -1, NULL, &set, &fd, &err), -EBADF, "no fd");
	is_str(err.msg, "No file descriptor supplied via SCM_RIGHTS", "QEMU's text for a missing fd");

	mre_err_clear(&err);
	is_int(mre_fdsets_remove(s, 3, -1, &err), -ENOENT, "remove unknown set");
	is_str(err.msg, "File descriptor named 'fdset-id:3' not found", "QEMU's text (set)");
	mre_err_clear(&err);
	is_int(mre_fdsets_remove(s, 5, 999, &err), -ENOENT, "remove unknown fd");
	is_str(err.msg, "File descriptor named 'fdset-id:5, fd:999' not found", "QEMU's text (fd)");

	is_int(mre_fdsets_remove(s, 5, b, NULL), 0, "remove one fd");
	ok(!fd_open(b), "removed fd is closed");
	ok(fd_open(d), "the other fd stays");
	is_int(mre_fdsets_set_nfds(s, 0), 1, "set 5 holds one fd");
	is_int(mre_fdsets_remove(s, 5, d, NULL), 0, "remove the last fd");
	is_int(mre_fdsets_nsets(s), 2, "an empty set disappears");
	is_int(mre_fdsets_remove(s, 1, -1, NULL), 0, "remove a whole set");
	ok(!fd_open(c), "its fds are closed");
	is_int(mre_fdsets_add(s, openf("e", O_WRONLY), -1, NULL, &set, &fd, NULL), 0, "add again");
	is_int(set, 1, "a freed id is reused (lowest free)");
	mre_fdsets_free(s);
	ok(!fd_open(a) && !fd_open(fd), "free closes everything");
}

static void test_path(void)
{
	int64_t id = -1;

	is_int(mre_fdset_path_id("/dev/fdset/0", &id), 1, "/dev/fdset/0");
	is_int(id, 0, "id 0");
	is_int(mre_fdset_path_id("/dev/fdset/2147483647", &id), 1, "INT_MAX");
	is_int(id, 2147483647, "id INT_MAX");
	is_int(mre_fdset_path_id("/dev/fdset/2147483648", &id), -EINVAL, "beyond int");
	is_int(mre_fdset_path_id("/dev/fdset/", &id), -EINVAL, "empty number");
	is_int(mre_fdset_path_id("/dev/fdset/-1", &id), -EINVAL, "negative");
	is_int(mre_fdset_path_id("/dev/fdset/1x", &id), -EINVAL, "trailing garbage");
	is_int(mre_fdset_path_id("/dev/fdset/ 1", &id), -EINVAL, "space");
	is_int(mre_fdset_path_id("/tmp/file", &id), 0, "not an fdset path");
	is_int(mre_fdset_path_id("/dev/fdset", &id), 0, "prefix without slash");
}

static void test_dup_and_named(void)
{
	struct mre_fdsets *s = mre_fdsets_new();
	struct mre_err err = MRE_ERR_INIT;
	int a = openf("m1", O_WRONLY), b = openf("m2", O_WRONLY), r = openf("m3", O_RDWR);
	int d, old, n;

	mre_fdsets_add(s, a, 3, NULL, NULL, NULL, NULL);
	mre_fdsets_add(s, b, 3, NULL, NULL, NULL, NULL);
	mre_fdsets_add(s, r, 3, NULL, NULL, NULL, NULL);
	d = mre_fdsets_dup(s, 3, O_WRONLY, &err);
	ok(d >= 0 && d != a && d != b, "dup returns a new descriptor");
	is_int(ino(d), ino(b), "newest matching descriptor wins");
	ok(fcntl(d, F_GETFD) & FD_CLOEXEC, "dup is close-on-exec");
	close(d);
	d = mre_fdsets_dup(s, 3, O_RDWR, &err);
	is_int(ino(d), ino(r), "O_RDWR request matches the O_RDWR fd");
	close(d);
	mre_err_clear(&err);
	is_int(mre_fdsets_dup(s, 3, O_RDONLY, &err), -EACCES, "no O_RDONLY fd");
	like(err.msg, "Failed to find file descriptor with matching flags=0x0", "QEMU's text");
	mre_err_clear(&err);
	is_int(mre_fdsets_dup(s, 8, O_RDONLY, &err), -ENOENT, "no such set");
	is_str(err.msg, "Failed to find fdset /dev/fdset/8", "QEMU's text");

	n = openf("n1", O_RDONLY);
	is_int(mre_fdsets_getfd(s, "mine", n, &err), 0, "getfd");
	is_int(mre_fdsets_named(s, "mine"), n, "named lookup");
	old = n;
	n = openf("n2", O_RDONLY);
	is_int(mre_fdsets_getfd(s, "mine", n, &err), 0, "getfd same name replaces");
	ok(!fd_open(old), "replaced fd is closed");
	is_int(mre_fdsets_named(s, "mine"), n, "new fd under the name");
	d = openf("n3", O_RDONLY);
	mre_err_clear(&err);
	is_int(mre_fdsets_getfd(s, "1abc", d, &err), -EINVAL, "name starting with a digit");
	is_str(err.msg, "Parameter 'fdname' expects a name not starting with a digit", "QEMU's text");
	ok(!fd_open(d), "refused fd is closed");
	mre_err_clear(&err);
	is_int(mre_fdsets_getfd(s, "x", -1, &err), -EBADF, "getfd without fd");
	mre_err_clear(&err);
	is_int(mre_fdsets_closefd(s, "nope", &err), -ENOENT, "closefd unknown");
	is_str(err.msg, "File descriptor named 'nope' not found", "QEMU's text");
	is_int(mre_fdsets_closefd(s, "mine", NULL), 0, "closefd");
	ok(!fd_open(n), "closefd closes");
	is_int(mre_fdsets_named(s, "mine"), -ENOENT, "gone");
	mre_fdsets_free(s);
}

/* A set with the given descriptors; returns the registry. */
static struct mre_fdsets *mkset(int64_t id, int n, const int *fds)
{
	struct mre_fdsets *s = mre_fdsets_new();

	for (int i = 0; i < n; i++)
		mre_fdsets_add(s, fds[i], id, NULL, NULL, NULL, NULL);
	return s;
}

static void pair_fails(int n, const int *fds, bool write, bool dio, const char *qemu_text,
		       const char *rule, const char *what)
{
	struct mre_fdsets *s = mkset(1, n, fds);
	struct mre_err err = MRE_ERR_INIT;
	int m = -1, p = -1;

	ok(mre_fdsets_open_pair(s, 1, write, dio, &m, &p, &err) < 0 && m < 0 && p < 0,
	   "%s: refused", what);
	like(err.msg, qemu_text, "%s: QEMU's text", what);
	like(err.msg, rule, "%s: names the rule", what);
	mre_fdsets_free(s);
}

static void test_pair(void)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_fdsets *s;
	int fds[2], m, p;
	bool dio = direct_supported();

	/* without direct-io one plain descriptor is enough */
	fds[0] = openf("img", O_WRONLY);
	s = mkset(1, 1, fds);
	is_int(mre_fdsets_open_pair(s, 1, true, false, &m, &p, &err), 0, "save, one fd, no dio");
	ok(m != p && ino(m) == ino(fds[0]) && ino(p) == ino(fds[0]), "two dups of that fd");
	ok(!(fcntl(p, F_GETFL) & O_DIRECT), "page fd without O_DIRECT");
	close(m);
	close(p);
	mre_fdsets_free(s);

	mre_err_clear(&err);
	s = mre_fdsets_new();
	is_int(mre_fdsets_open_pair(s, 4, true, false, &m, &p, &err), -ENOENT, "missing set");
	is_str(err.msg, "Failed to find fdset /dev/fdset/4", "QEMU's text");
	mre_fdsets_free(s);

	fds[0] = openf("img", O_RDWR);
	pair_fails(1, fds, true, false, "Failed to find file descriptor with matching flags=0x41",
		   "O_RDWR does not match", "save with an O_RDWR fd");
	fds[0] = openf("img", O_RDONLY);
	pair_fails(1, fds, true, false, "matching flags=0x41", "saving needs descriptors opened O_WRONLY",
		   "save with an O_RDONLY fd");
	fds[0] = openf("img", O_WRONLY);
	pair_fails(1, fds, false, false, "matching flags=0x0", "restoring needs descriptors opened O_RDONLY",
		   "restore with an O_WRONLY fd");
	fds[0] = openf("img", O_RDONLY);
	fds[1] = openf("other", O_RDONLY);
	if (dio) {
		close(fds[1]);
		fds[1] = openf("other", O_RDONLY | O_DIRECT);
		pair_fails(2, fds, false, true, "fdset 1: fds", "refer to different files",
			   "restore from two different files");
	} else {
		close(fds[0]);
		close(fds[1]);
	}

	if (!dio) {
		for (int i = 0; i < 21; i++)
			ok(1, "# SKIP O_DIRECT not supported in %s", dir);
		return;
	}

	fds[0] = openf("img", O_WRONLY);
	fds[1] = openf("img", O_WRONLY | O_DIRECT);
	s = mkset(1, 2, fds);
	mre_err_clear(&err);
	is_int(mre_fdsets_open_pair(s, 1, true, true, &m, &p, &err), 0, "save with dio: plain + O_DIRECT");
	ok(!(fcntl(m, F_GETFL) & O_DIRECT), "main fd is buffered");
	ok(fcntl(p, F_GETFL) & O_DIRECT, "page fd has O_DIRECT");
	ok(fcntl(m, F_GETFD) & FD_CLOEXEC && fcntl(p, F_GETFD) & FD_CLOEXEC, "both close-on-exec");
	close(m);
	close(p);
	mre_fdsets_free(s);

	fds[0] = openf("img", O_WRONLY);
	pair_fails(1, fds, true, true, "matching flags=0x4001", "holds one descriptor",
		   "dio with one plain fd");
	fds[0] = openf("img", O_WRONLY | O_DIRECT);
	pair_fails(1, fds, true, true, "matching flags=0x41", "holds one descriptor",
		   "dio with one O_DIRECT fd");
	fds[0] = openf("img", O_WRONLY);
	fds[1] = dup(fds[0]);
	pair_fails(2, fds, true, true, "matching flags=0x4001", "dups of one open file",
		   "dio with two dups");
	fds[0] = openf("img", O_WRONLY | O_DIRECT);
	fds[1] = openf("img", O_WRONLY | O_DIRECT);
	pair_fails(2, fds, true, true, "matching flags=0x41", "every descriptor has O_DIRECT",
		   "dio with both O_DIRECT");
	fds[0] = openf("img", O_WRONLY);
	fds[1] = openf("img", O_WRONLY);
	pair_fails(2, fds, true, true, "matching flags=0x4001", "no descriptor with O_DIRECT",
		   "dio with none O_DIRECT");
	fds[0] = openf("img", O_RDONLY);
	fds[1] = openf("img", O_RDONLY | O_DIRECT);
	pair_fails(2, fds, true, true, "matching flags=0x41", "O_RDONLY does not match",
		   "save dio with read-only fds");
	fds[0] = openf("img", O_WRONLY | O_DIRECT);
	pair_fails(1, fds, true, false, "matching flags=0x41", "without direct-io",
		   "no dio with only an O_DIRECT fd");
}

static void test_pair_restore(void)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_fdsets *s;
	int fds[2], m, p;

	if (!direct_supported())
		return;
	fds[0] = openf("img", O_RDONLY | O_DIRECT);
	fds[1] = openf("img", O_RDONLY);
	s = mkset(2, 2, fds);
	is_int(mre_fdsets_open_pair(s, 2, false, true, &m, &p, &err), 0, "restore with dio");
	ok(!(fcntl(m, F_GETFL) & O_DIRECT) && (fcntl(m, F_GETFL) & O_ACCMODE) == O_RDONLY,
	   "main fd read-only, buffered");
	ok(fcntl(p, F_GETFL) & O_DIRECT, "page fd O_DIRECT");
	close(m);
	close(p);
	mre_fdsets_free(s);
	fds[0] = openf("img", O_RDWR);
	fds[1] = openf("img", O_RDWR | O_DIRECT);
	pair_fails(2, fds, false, true, "matching flags=0x0", "O_RDWR does not match",
		   "restore dio with O_RDWR fds");
}

int main(void)
{
	const char *t = getenv("TMPDIR");
	int before;

	snprintf(dir, sizeof(dir), "%s/mre-fdset.XXXXXX", t ? t : "/tmp");
	if (!mkdtemp(dir))
		tap_skip_all("cannot create a temporary directory");
	before = count_fds();
	test_add_query_remove();
	test_path();
	test_dup_and_named();
	test_pair();
	test_pair_restore();
	is_int(count_fds(), before, "no descriptor leaked");
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			diag("could not remove %s", dir);
	}
	return tap_done();
}
