# qmp: the QMP daemon (server, sessions, dispatch, command table, events).
# The only module that includes <cJSON.h>.
src_libmre_a_SOURCES += \
	src/qmp/qmp.h src/qmp/qmp_int.h \
	src/qmp/split.c src/qmp/split.h \
	src/qmp/json.c src/qmp/json.h \
	src/qmp/dispatch.c \
	src/qmp/commands.c \
	src/qmp/server.c \
	src/qmp/migcfg.c \
	src/qmp/cmd_misc.c \
	src/qmp/cmd_fd.c \
	src/qmp/cmd_object.c \
	src/qmp/cmd_migrate.c \
	src/qmp/cmd_x.c
