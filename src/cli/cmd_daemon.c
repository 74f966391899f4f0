/* SPDX-License-Identifier: MIT */
/* cmd_daemon.c: the QMP daemon (mrengine --qmp ...). Placeholder until the QMP front end lands. */
#include <stdio.h>

#include "cli/cli.h"

int mre_cmd_daemon(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "mrengine: the QMP daemon is not built yet\n");
	return MRE_EXIT_USAGE;
}
