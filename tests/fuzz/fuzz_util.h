/* SPDX-License-Identifier: MIT */
/*
 * fuzz_util.h: small helpers shared by the fuzz harnesses: dying loudly
 * (abort, so libFuzzer and the make check driver both see a crash), memory
 * that cannot fail, scratch directories removed at exit, memfds holding an
 * input, and counting the process's open descriptors (the harnesses check
 * that an input leaves none behind). Test code only.
 */
#ifndef MRE_TESTS_FUZZ_UTIL_H
#define MRE_TESTS_FUZZ_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* libFuzzer's entry points, defined by each harness. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static inline void fuzz_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static inline void fuzz_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

static inline void *fuzz_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		fuzz_die("out of memory (%zu bytes)", n);
	return p;
}

/* Remove @dir and everything in it (one level of subdirectories is enough
 * for the harnesses' scratch space). */
static inline void fuzz_rm_tree(const char *dir, bool keep_dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) && (errno == EISDIR || errno == EPERM))
			fuzz_rm_tree(path, false);
	}
	closedir(d);
	if (!keep_dir)
		rmdir(dir);
}

static char fuzz_tmp_dirs[4][256];

static inline void fuzz_tmp_cleanup(void)
{
	for (unsigned i = 0; i < 4; i++)
		if (fuzz_tmp_dirs[i][0])
			fuzz_rm_tree(fuzz_tmp_dirs[i], false);
}

/* A fresh directory under $TMPDIR (or /tmp), removed at exit. */
static inline void fuzz_mkdtemp(char *out, size_t len, const char *name)
{
	const char *tmp = getenv("TMPDIR");
	unsigned i;

	snprintf(out, len, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
	if (!mkdtemp(out))
		fuzz_die("mkdtemp %s: %s", out, strerror(errno));
	for (i = 0; i < 4 && fuzz_tmp_dirs[i][0]; i++)
		;
	if (i < 4) {
		snprintf(fuzz_tmp_dirs[i], sizeof(fuzz_tmp_dirs[i]), "%s", out);
		if (i == 0)
			atexit(fuzz_tmp_cleanup);
	}
}

/* A memfd holding @data. */
static inline int fuzz_memfd(const void *data, size_t size)
{
	const uint8_t *p = data;
	size_t done = 0;
	int fd = memfd_create("fuzz-input", MFD_CLOEXEC);

	if (fd < 0)
		fuzz_die("memfd_create: %s", strerror(errno));
	while (done < size) {
		ssize_t r = pwrite(fd, p + done, size - done, (off_t)done);

		if (r <= 0)
			fuzz_die("writing the input to a memfd: %s", strerror(errno));
		done += (size_t)r;
	}
	return fd;
}

/* 0 when all @len bytes at @off were read. */
static inline int fuzz_pread_exact(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t r = pread(fd, p + done, len - done, (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

/*
 * Make the paths among libFuzzer's arguments absolute (corpus directories,
 * -artifact_prefix=, -exact_artifact_path=, -dict=), for a harness that
 * changes directory in LLVMFuzzerInitialize: libFuzzer parses the
 * arguments after that call.
 */
static inline void fuzz_absolute_args(int argc, char **argv)
{
	static const char *const opts[] = { "-artifact_prefix=", "-exact_artifact_path=", "-dict=" };
	char cwd[4096];

	if (!getcwd(cwd, sizeof(cwd)))
		fuzz_die("getcwd: %s", strerror(errno));
	for (int i = 1; i < argc; i++) {
		const char *val = argv[i], *opt = "";
		char *abs;

		for (unsigned k = 0; k < 3; k++)
			if (!strncmp(argv[i], opts[k], strlen(opts[k]))) {
				opt = opts[k];
				val = argv[i] + strlen(opts[k]);
			}
		if ((!*opt && val[0] == '-') || val[0] == '/' || !val[0])
			continue;
		abs = fuzz_xmalloc(strlen(opt) + strlen(cwd) + strlen(val) + 2);
		sprintf(abs, "%s%s/%s", opt, cwd, val);
		argv[i] = abs;
	}
}

/* Descriptors open in this process right now. */
static inline unsigned fuzz_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	unsigned n = 0;

	if (!d)
		fuzz_die("/proc/self/fd: %s", strerror(errno));
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

#endif
