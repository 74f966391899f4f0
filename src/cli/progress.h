/* SPDX-License-Identifier: MIT */
/*
 * progress.h: waiting for a job on the command line: a progress line on a
 * terminal (bytes, MB/s, ETA), Ctrl-C cancels, and a one-line summary.
 */
#ifndef MRE_CLI_PROGRESS_H
#define MRE_CLI_PROGRESS_H

#include <stdbool.h>

#include "engine/engine.h"

/* Wait for e->job; returns the exit status (0 completed, 1 otherwise). */
int mre_cli_wait_job(struct mre_engine *e, const char *verb, bool quiet);

#endif
