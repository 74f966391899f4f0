# tests: io
check_PROGRAMS += tests/unit/test_pipehold
tests_unit_test_pipehold_SOURCES = tests/unit/test_pipehold.c tests/tap.h
tests_unit_test_pipehold_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_pipehold_LDADD = $(MRE_LIBS)
TESTS += tests/unit/test_pipehold
check_PROGRAMS += tests/unit/test_imagefile
tests_unit_test_imagefile_SOURCES = tests/unit/test_imagefile.c tests/tap.h
tests_unit_test_imagefile_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_imagefile_LDADD = $(MRE_LIBS)
TESTS += tests/unit/test_imagefile
