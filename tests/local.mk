# Tests: automake's TAP driver runs every program and script below.
# Each area keeps its tests in its own fragment.
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
LOG_COMPILER = timeout 900
TEST_EXTENSIONS = .sh .py
SH_LOG_DRIVER = $(LOG_DRIVER)
SH_LOG_COMPILER = timeout 900 $(SHELL)
PY_LOG_DRIVER = $(LOG_DRIVER)
PY_LOG_COMPILER = timeout 900 $(PYTHON3)
AM_TESTS_ENVIRONMENT = \
	srcdir='$(abs_top_srcdir)'; export srcdir; \
	builddir='$(abs_top_builddir)'; export builddir; \
	MRENGINE='$(abs_top_builddir)/src/mrengine'; export MRENGINE; \
	PYTHONPATH='$(abs_top_srcdir)/tests/lib'; export PYTHONPATH; \
	PYTHONDONTWRITEBYTECODE=1; export PYTHONDONTWRITEBYTECODE;

TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
EXTRA_DIST += tests/tap.h tests/lib.sh tests/lib/qmp.py

include tests/format.mk
include tests/io.mk
include tests/engine.mk
include tests/qmp.mk
include tests/policy.mk
include tests/interop.mk
include tests/bridge.mk
include tests/doc.mk
include tests/fuzz.mk
include tests/soak.mk
