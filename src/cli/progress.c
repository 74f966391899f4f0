/* SPDX-License-Identifier: MIT */
/* progress.c: the CLI's job loop; the only place that draws progress. */
#include "cli/progress.h"

#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/size.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void draw(const char *verb, const struct mre_job_stats *s)
{
	char done[32], total[32];
	uint64_t processed = s->total - s->remaining;
	double secs = (double)s->total_ms / 1000, rate = secs > 0 ? (double)processed / secs : 0;

	fprintf(stderr, "\r%s: %s / %s (%3u%%)  %7.0f MB/s",
		verb, mre_fmt_size(processed, done, sizeof(done)), mre_fmt_size(s->total, total, sizeof(total)),
		s->total ? (unsigned)(processed * 100 / s->total) : 0, rate / 1e6);
	if (rate > 0 && s->remaining)
		fprintf(stderr, "  ETA %4.0fs ", (double)s->remaining / rate);
	else
		fprintf(stderr, "             ");
}

int mre_cli_wait_job(struct mre_engine *e, const char *verb, bool quiet)
{
	struct sigaction sa, old_int, old_term;
	struct mre_err err = MRE_ERR_INIT;
	struct mre_job_stats s;
	bool tty = !quiet && isatty(2), drawn = false;
	char sz[32];
	int r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	for (;;) {
		struct pollfd pfd = { .fd = mre_job_notify_fd(e->job), .events = POLLIN };
		enum mre_job_status st;
		bool final = false;

		poll(&pfd, 1, 250);
		if (interrupted) {
			interrupted = 0;
			mre_job_cancel(e->job);
		}
		while (mre_job_next_status(e->job, &st))
			final |= mre_job_status_final(st);
		mre_engine_tick(e);
		mre_job_get_stats(e->job, &s);
		if (tty && s.status == MRE_JOB_ACTIVE) {
			draw(verb, &s);
			drawn = true;
		}
		if (final || mre_job_status_final(s.status))
			break;
	}
	if (drawn)
		fprintf(stderr, "\r%*s\r", 79, "");
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	r = mre_job_wait(e->job, &err);
	mre_engine_job_done(e);
	mre_job_get_stats(e->job, &s);
	if (r)
		return mre_cli_fail(&err);
	if (!quiet) {
		double secs = (double)s.total_ms / 1000;

		printf("%s: %s in %.2f s (%.0f MB/s of RAM), %" PRIu64 " pages with data, %" PRIu64
		       " zero, %s I/O, %u channel%s, %s, direct-io %s%s\n",
		       verb, mre_fmt_size(s.total, sz, sizeof(sz)), secs,
		       secs > 0 ? (double)s.total / secs / 1e6 : 0.0, s.normal, s.duplicate,
		       mre_fmt_size(s.transferred, (char[32]){ 0 }, 32), s.channels, s.channels == 1 ? "" : "s",
		       s.backend ? s.backend : "-", s.direct_io ? "on" : "off",
		       s.kind != MRE_JOB_RESTORE ? "" : s.verified ? ", checksums verified" : ", checksums NOT verified");
	}
	return MRE_EXIT_OK;
}
