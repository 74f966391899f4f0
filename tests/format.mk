# tests: format
# Unit tests of src/format (TAP binaries) and shell tests of the image
# commands (inspect, verify, extract) on synthetic streams and on the real
# QEMU files in ../shared/vectors.
FORMAT_SYNTH = tests/unit/test_format_synth.c tests/unit/test_format_synth.h

check_PROGRAMS += tests/unit/test_format tests/unit/test_format_malformed tests/unit/test_format_gen
TESTS += tests/unit/test_format tests/unit/test_format_malformed

tests_unit_test_format_SOURCES = tests/unit/test_format.c $(FORMAT_SYNTH)
tests_unit_test_format_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_format_LDADD = $(MRE_LIBS)

tests_unit_test_format_malformed_SOURCES = tests/unit/test_format_malformed.c $(FORMAT_SYNTH)
tests_unit_test_format_malformed_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_format_malformed_LDADD = $(MRE_LIBS)

# Not a test: writes synthetic streams for the shell tests.
tests_unit_test_format_gen_SOURCES = tests/unit/test_format_gen.c $(FORMAT_SYNTH)
tests_unit_test_format_gen_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_format_gen_LDADD = $(MRE_LIBS)

# Shell tests of the image commands.
TESTS += \
	tests/integration/image_cli.sh \
	tests/integration/image_synth.sh \
	tests/integration/image_vectors.sh
EXTRA_DIST += \
	tests/integration/image_lib.sh \
	tests/integration/image_cli.sh \
	tests/integration/image_synth.sh \
	tests/integration/image_vectors.sh
