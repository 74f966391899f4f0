# cli: argv -> engine calls; main() is the only place that exits.
bin_PROGRAMS += src/mrengine
src_mrengine_SOURCES = \
	src/cli/cli.h \
	src/cli/main.c \
	src/cli/cmd_image.c \
	src/cli/cmd_bridge.c \
	src/cli/cmd_daemon.c \
	src/cli/cmd_job.c \
	src/cli/cmd_demo.c \
	src/cli/cmd_policy.c \
	src/cli/cmd_transcode.c \
	src/cli/planopts.c src/cli/planopts.h \
	src/cli/progress.c src/cli/progress.h \
	src/cli/vmopts.c src/cli/vmopts.h
src_mrengine_LDADD = $(MRE_LIBS)
