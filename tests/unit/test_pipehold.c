/* SPDX-License-Identifier: MIT */
/*
 * test_pipehold.c: a hold on a pipe returns the writer's bytes in order
 * and whole, ends exactly at the end of the stream, and keeps the writer
 * within the window of the reader: a writer process that writes as fast
 * as it can is let run while the reader pauses, and what it managed to
 * write is compared with what was read -- far ahead without a hold, at
 * most the window with one. Ending a hold mid-stream leaves the pipe at
 * the reader's position. What is not a pipe is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/pipehold.h"
#include "tap.h"

#define KiB 1024u
#define MiB (1024u * KiB)
#define PIPE_SIZE (256 * KiB)
#define WINDOW (32 * KiB)
#define TOTAL (24 * MiB)

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 131 + (i >> 12) + (i >> 20));
}

/* The writer: TOTAL bytes as QEMU writes them (runs of page-sized iovecs
 * and small pieces between), @written counting what each call put in.
 * Calls of at most 32 KiB keep @written at most that far behind. */
static void writer(int fd, _Atomic uint64_t *written)
{
	static uint8_t buf[8 * 4096];
	uint64_t pos = 0;
	unsigned step = 0;

	while (pos < TOTAL) {
		size_t n = step++ % 3 == 2 ? 100 + step % 900 : 8 * 4096;
		struct iovec iov[8];
		int niov = 0;
		ssize_t w;

		n = n < TOTAL - pos ? n : TOTAL - pos;
		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(pos + i);
		for (size_t off = 0; off < n; off += 4096)
			iov[niov++] = (struct iovec){ buf + off, n - off < 4096 ? n - off : 4096 };
		w = writev(fd, iov, niov);
		if (w <= 0)
			_exit(1);
		/* after a partial write the next one starts where it stopped */
		pos += (uint64_t)w;
		atomic_store(written, pos);
	}
	_exit(0);
}

static void pause_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)ms * 1000000 };

	nanosleep(&ts, NULL);
}

static bool check_bytes(const uint8_t *b, size_t n, uint64_t at)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != pattern(at + i))
			return false;
	return true;
}

/* Read @upto bytes (plainly, or through @h), checking each; the position. */
static uint64_t read_to(int fd, struct mre_pipehold *h, uint64_t pos, uint64_t upto, bool *good)
{
	static uint8_t buf[300 * KiB];
	static const size_t lens[] = { 1, 7, 4096, 4095, 65536, 300 * KiB, 12345 };
	unsigned k = 0;

	while (pos < upto) {
		size_t want = lens[k++ % 7];
		ssize_t r;

		want = want < upto - pos ? want : (size_t)(upto - pos);
		r = h ? mre_pipehold_read(h, buf, want) : read(fd, buf, want);
		if (r <= 0) {
			diag("read at %llu returned %zd", (unsigned long long)pos, r);
			*good = false;
			return pos;
		}
		if (!check_bytes(buf, (size_t)r, pos))
			*good = false;
		pos += (uint64_t)r;
	}
	return pos;
}

static void test_hold(void)
{
	_Atomic uint64_t *written = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct mre_pipehold h;
	uint64_t pos = 0, lead, most = 0;
	bool good = true;
	uint8_t byte;
	int p[2], st, r;
	pid_t pid;

	if (!ok(written != MAP_FAILED && !pipe(p), "a pipe and a shared counter"))
		return;
	fcntl(p[1], F_SETPIPE_SZ, PIPE_SIZE);
	atomic_store(written, 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		writer(p[1], written);
	}
	close(p[1]);

	pos = read_to(p[0], NULL, pos, 1 * MiB, &good);
	/* the control: unheld, the writer fills the pipe (given up to 5 s) */
	for (int wait = 0; wait < 500 && atomic_load(written) - pos < 128 * KiB; wait++)
		pause_ms(10);
	lead = atomic_load(written) - pos;
	ok(lead >= 128 * KiB, "without a hold, the writer gets a full pipe ahead (%llu KiB)",
	   (unsigned long long)(lead / KiB));

	r = mre_pipehold_start(&h, p[0], WINDOW);
	if (!ok(r == 0, "a hold starts on a 256 KiB pipe (%d)", r))
		goto out;
	/* what the pipe held when the hold started comes first */
	for (int round = 0; round < 20; round++) {
		pos = read_to(p[0], &h, pos, pos + 256 * KiB + round * 4099, &good);
		pause_ms(round < 4 ? 30 : 3);
		/* @written may lag what the reader already has: no lead then */
		lead = atomic_load(written) > pos ? atomic_load(written) - pos : 0;
		most = lead > most ? lead : most;
	}
	ok(most <= WINDOW + 8 * KiB, "with a hold, the writer stays within the window (at most %llu KiB ahead)",
	   (unsigned long long)(most / KiB));
	pos = read_to(p[0], &h, pos, TOTAL, &good);
	ok(good, "every byte arrives in order and intact");
	is_int(mre_pipehold_read(&h, &byte, 1), 0, "the end of the stream reads as 0, after exactly all bytes");
	mre_pipehold_end(&h);
out:
	close(p[0]);
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && !WEXITSTATUS(st), "the writer wrote everything");
	munmap((void *)written, 4096);
}

/* Ending a hold leaves the pipe where the reader is. */
static void test_end(void)
{
	static uint8_t buf[64 * KiB];
	struct mre_pipehold h;
	int p[2];
	bool good = true;

	if (!ok(!pipe(p), "a pipe"))
		return;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = pattern(i);
	if (write(p[1], buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		diag("short write");
	is_int(mre_pipehold_start(&h, p[0], 4096), 0, "a hold starts on a pipe with bytes in it");
	is_int(mre_pipehold_read(&h, buf, 5000), 5000, "5000 bytes through the hold");
	ok(check_bytes(buf, 5000, 0), "... the first 5000");
	mre_pipehold_end(&h);
	close(p[1]);
	is_int(read_to(p[0], NULL, 5000, 64 * KiB, &good), 64 * KiB, "after the hold ends, a plain read goes on");
	ok(good, "... from byte 5000");
	is_int(read(p[0], buf, 1), 0, "... to the end");
	close(p[0]);
}

static void test_refused(void)
{
	struct mre_pipehold h;
	int fd = open("/dev/null", O_RDONLY);

	is_int(mre_pipehold_start(&h, fd, WINDOW), -ENOTSUP, "a hold refuses what is not a pipe");
	close(fd);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_hold();
	test_end();
	test_refused();
	return tap_done();
}
