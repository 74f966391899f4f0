# tests: the engine (channels, VM model, save and restore)
check_PROGRAMS += tests/unit/test_chan tests/unit/test_vm
tests_unit_test_chan_SOURCES = tests/unit/test_chan.c tests/tap.h
tests_unit_test_chan_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_chan_LDADD = $(MRE_LIBS)
tests_unit_test_vm_SOURCES = tests/unit/test_vm.c tests/tap.h
tests_unit_test_vm_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_vm_LDADD = $(MRE_LIBS)
TESTS += tests/unit/test_chan tests/unit/test_vm \
	tests/integration/engine_roundtrip.sh \
	tests/integration/engine_errors.sh \
	tests/integration/engine_integrity.sh \
	tests/integration/engine_diskfull.sh \
	tests/integration/engine_crash.sh \
	tests/integration/engine_limits.sh \
	tests/integration/engine_demo.sh
EXTRA_DIST += tests/integration/engine_roundtrip.sh tests/integration/engine_errors.sh \
	tests/integration/engine_integrity.sh tests/integration/engine_diskfull.sh \
	tests/integration/engine_crash.sh tests/integration/engine_limits.sh \
	tests/integration/engine_demo.sh
check_PROGRAMS += tests/unit/test_engine
tests_unit_test_engine_SOURCES = tests/unit/test_engine.c tests/tap.h
tests_unit_test_engine_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_engine_LDADD = $(MRE_LIBS)
TESTS += tests/unit/test_engine
check_PROGRAMS += tests/unit/test_job
tests_unit_test_job_SOURCES = tests/unit/test_job.c tests/tap.h
tests_unit_test_job_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_job_LDADD = $(MRE_LIBS)
TESTS += tests/unit/test_job
