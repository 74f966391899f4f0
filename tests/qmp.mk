# tests: qmp (fdsets, the QMP server, transcripts, robustness, conformance)
check_PROGRAMS += tests/unit/test_fdset
tests_unit_test_fdset_SOURCES = tests/unit/test_fdset.c
tests_unit_test_fdset_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_fdset_LDADD = $(MRE_LIBS)
TESTS += tests/unit/test_fdset
