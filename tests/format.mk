# tests: format
# Unit tests of src/format (TAP binaries) and shell tests of the image
# commands (inspect, verify, extract) on synthetic streams and on the real
# QEMU files in ../shared/vectors.
FORMAT_SYNTH = tests/unit/test_format_synth.c tests/unit/test_format_synth.h

check_PROGRAMS += tests/unit/test_format tests/unit/test_format_malformed
TESTS += tests/unit/test_format tests/unit/test_format_malformed

tests_unit_test_format_SOURCES = tests/unit/test_format.c $(FORMAT_SYNTH)
tests_unit_test_format_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_format_LDADD = $(MRE_LIBS)

tests_unit_test_format_malformed_SOURCES = tests/unit/test_format_malformed.c $(FORMAT_SYNTH)
tests_unit_test_format_malformed_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_format_malformed_LDADD = $(MRE_LIBS)
