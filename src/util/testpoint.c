/* SPDX-License-Identifier: MIT */
/* testpoint.c: counting and SIGKILL for crash tests (see testpoint.h). */
#include "util/testpoint.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

bool mre_testpoints_armed;
static atomic_ulong count;
static unsigned long kill_at;
static bool trace;

void mre_testpoint_init(void)
{
	const char *k = getenv("MRENGINE_KILL_AT"), *t = getenv("MRENGINE_TESTPOINTS");

	kill_at = k ? strtoul(k, NULL, 10) : 0;
	trace = t && *t == '1';
	mre_testpoints_armed = kill_at || trace;
}

void mre_testpoint_hit(const char *name)
{
	unsigned long n = atomic_fetch_add(&count, 1) + 1;

	if (trace)
		fprintf(stderr, "testpoint %lu %s\n", n, name);
	if (n == kill_at)
		kill(getpid(), SIGKILL);
}
