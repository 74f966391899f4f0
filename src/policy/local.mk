# policy: the Lua 5.4 runtime (sandbox, views, hooks) and plan validation.
# The only module that includes <lua.h>; lua/prelude.lua is compiled in as
# a byte array (od + sed, no extra build tools).
src_libmre_a_SOURCES += \
	src/policy/plan.c src/policy/plan.h \
	src/policy/facts.h \
	src/policy/policy.c src/policy/policy.h \
	src/policy/sbx.h \
	src/policy/sandbox.c \
	src/policy/view.c
nodist_src_libmre_a_SOURCES = src/policy/prelude.inc
BUILT_SOURCES += src/policy/prelude.inc
CLEANFILES += src/policy/prelude.inc
EXTRA_DIST += lua/prelude.lua

src/policy/prelude.inc: $(top_srcdir)/lua/prelude.lua
	$(AM_V_GEN)$(MKDIR_P) src/policy && \
	od -An -v -tx1 $(top_srcdir)/lua/prelude.lua | \
	sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g' > $@.tmp && mv $@.tmp $@
