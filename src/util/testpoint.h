/* SPDX-License-Identifier: MIT */
/*
 * testpoint.h: fault injection for the crash-safety tests. Every call is a
 * numbered point (counted across threads). With MRENGINE_KILL_AT=N in the
 * environment the process kills itself with SIGKILL at the N-th point;
 * with MRENGINE_TESTPOINTS=1 each point's number and name go to stderr.
 * Without either variable a point costs one predictable branch.
 */
#ifndef MRE_UTIL_TESTPOINT_H
#define MRE_UTIL_TESTPOINT_H

#include <stdbool.h>

extern bool mre_testpoints_armed;

void mre_testpoint_hit(const char *name);

static inline void mre_testpoint(const char *name)
{
	if (__builtin_expect(mre_testpoints_armed, 0))
		mre_testpoint_hit(name);
}

/* Read the environment; called once from main(). */
void mre_testpoint_init(void);

#endif
