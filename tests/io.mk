# tests: io
check_PROGRAMS += tests/unit/test_pipehold
tests_unit_test_pipehold_SOURCES = tests/unit/test_pipehold.c tests/tap.h
tests_unit_test_pipehold_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_pipehold_LDADD = $(MRE_LIBS)
TESTS += tests/unit/test_pipehold
