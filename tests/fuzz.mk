# tests: fuzzing. The harnesses (tests/fuzz/fuzz_*.c) are built twice:
#  - here, with the normal compiler and driver.c, as make check programs
#    that run once over the seeds and the regression corpus (regress.sh);
#  - by `make fuzz`, with clang -fsanitize=fuzzer,address,undefined in
#    their own directory (tests/fuzz/libfuzzer/, see tests/fuzz/fuzz.make),
#    then run for FUZZ_SECONDS each (default 60).
# crafted_images.py gives hand-made hostile images to every reader;
# boundaries.py tries the other trust boundaries of doc/security.md.
FUZZ_CPPFLAGS = $(TEST_CPPFLAGS) -DMRE_FUZZ_SRCDIR='"$(abs_top_srcdir)"'
FUZZ_COMMON = tests/fuzz/driver.c tests/fuzz/fuzz_util.h
check_PROGRAMS += tests/fuzz/fuzz_image tests/fuzz/fuzz_qmp tests/fuzz/fuzz_policy
tests_fuzz_fuzz_image_SOURCES = tests/fuzz/fuzz_image.c $(FUZZ_COMMON)
tests_fuzz_fuzz_image_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_image_LDADD = $(MRE_LIBS)
tests_fuzz_fuzz_qmp_SOURCES = tests/fuzz/fuzz_qmp.c $(FUZZ_COMMON)
tests_fuzz_fuzz_qmp_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_qmp_LDADD = $(MRE_LIBS)
tests_fuzz_fuzz_policy_SOURCES = tests/fuzz/fuzz_policy.c $(FUZZ_COMMON)
tests_fuzz_fuzz_policy_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_policy_LDADD = $(MRE_LIBS)
TESTS += tests/fuzz/regress.sh tests/fuzz/crafted_images.py tests/fuzz/boundaries.py
EXTRA_DIST += tests/fuzz/regress.sh tests/fuzz/seeds.sh tests/fuzz/fuzz_sandbox.h \
	tests/fuzz/crafted.py tests/fuzz/crafted_images.py tests/fuzz/boundaries.py \
	tests/fuzz/fuzz.make tests/fuzz/run.sh tests/fuzz/qmp.dict tests/fuzz/regress

FUZZ_SECONDS = 60
fuzz: all tests/unit/test_format_gen
	$(MAKE) -f $(top_srcdir)/tests/fuzz/fuzz.make \
		top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
		LIB_SOURCES='$(filter %.c,$(src_libmre_a_SOURCES))' \
		LIB_CFLAGS='$(LUA_CFLAGS) $(URING_CFLAGS) $(CJSON_CFLAGS) $(ZSTD_CFLAGS) $(LZ4_CFLAGS)' \
		FUZZ_LIBS='$(LUA_LIBS) $(URING_LIBS) $(CJSON_LIBS) $(ZSTD_LIBS) $(LZ4_LIBS) -lm' \
		FUZZ_SECONDS='$(FUZZ_SECONDS)' MRENGINE='$(abs_top_builddir)/src/mrengine' run
fuzz-clean:
	rm -rf tests/fuzz/libfuzzer
clean-local: fuzz-clean
.PHONY: fuzz fuzz-clean

