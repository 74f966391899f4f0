/* SPDX-License-Identifier: MIT */
/*
 * driver.c: a main() for the fuzz harnesses when they are built with the
 * normal compiler for `make check`. It feeds every file named on the
 * command line (directories are read, entries in name order, one level
 * deep) to LLVMFuzzerTestOneInput() exactly once, the way libFuzzer runs
 * a corpus without mutating it. A harness that finds a problem aborts, so
 * a crash, a sanitizer report or a broken invariant fails the run; a clean
 * run prints how many inputs passed. It does no fuzzing of its own and
 * knows nothing about any harness.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static unsigned long ran;

static void run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;

	if (!f) {
		fprintf(stderr, "fuzz driver: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	for (;;) {
		size_t n;

		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			if (!buf) {
				fprintf(stderr, "fuzz driver: out of memory reading %s\n", path);
				exit(2);
			}
		}
		n = fread(buf + len, 1, cap - len, f);
		if (!n)
			break;
		len += n;
	}
	if (ferror(f)) {
		fprintf(stderr, "fuzz driver: %s: read error\n", path);
		exit(2);
	}
	fclose(f);
	/* exactly @len bytes, so that a read past the input is a heap overflow */
	{
		uint8_t *exact = malloc(len ? len : 1);

		if (!exact) {
			fprintf(stderr, "fuzz driver: out of memory\n");
			exit(2);
		}
		memcpy(exact, buf, len);
		free(buf);
		if (getenv("MRE_FUZZ_VERBOSE"))
			fprintf(stderr, "fuzz driver: %s (%zu bytes)\n", path, len);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	ran++;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;

	if (!d) {
		fprintf(stderr, "fuzz driver: %s: %s\n", dir, strerror(errno));
		exit(2);
	}
	while ((e = readdir(d))) {
		char **nn;

		if (e->d_name[0] == '.')
			continue;
		nn = realloc(names, (n + 1) * sizeof(*names));
		if (!nn || !(nn[n] = malloc(strlen(dir) + strlen(e->d_name) + 2))) {
			fprintf(stderr, "fuzz driver: out of memory\n");
			exit(2);
		}
		names = nn;
		sprintf(names[n++], "%s/%s", dir, e->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		if (!stat(names[i], &st) && S_ISREG(st.st_mode))
			run_file(names[i]);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	/* a harness may change directory in its initialization */
	for (int i = 1; i < argc; i++) {
		char *abs = realpath(argv[i], NULL);

		if (!abs) {
			fprintf(stderr, "fuzz driver: %s: %s\n", argv[i], strerror(errno));
			return 2;
		}
		argv[i] = abs;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st)) {
			fprintf(stderr, "fuzz driver: %s: %s\n", argv[i], strerror(errno));
			return 2;
		}
		if (S_ISDIR(st.st_mode))
			run_dir(argv[i]);
		else
			run_file(argv[i]);
	}
	printf("%s: %lu inputs passed\n", argv[0], ran);
	return 0;
}
