# SPDX-License-Identifier: MIT
# fuzz.make: the libFuzzer build and run behind `make fuzz` (a GNU make
# file called from tests/fuzz.mk, which passes the source list, flags and
# libraries of the normal build). Everything is compiled again with clang,
# -fsanitize=fuzzer-no-link,address,undefined, into tests/fuzz/libfuzzer/
# of the build directory, so the normal (gcc) objects are never touched;
# each harness is then linked with -fsanitize=fuzzer and run by run.sh.
FUZZ_CC ?= clang
FUZZ_DIR := tests/fuzz/libfuzzer
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -g -O1 -std=gnu11 -pthread $(FUZZ_SAN)
FUZZ_CPPFLAGS := -include $(top_builddir)/config.h -I$(top_srcdir)/src -I$(top_builddir)/src \
	-I$(top_srcdir)/tests -DMRE_POLICYDIR='"$(top_builddir)/nonexistent"' \
	-DMRE_FUZZ_SRCDIR='"$(top_srcdir)"' $(LIB_CFLAGS)
HARNESSES := image qmp policy
OBJS := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(LIB_SOURCES))
BINS := $(HARNESSES:%=$(FUZZ_DIR)/fuzz_%)

all: $(BINS)

# does this clang have libFuzzer? (Debian: clang and libclang-rt-dev)
$(FUZZ_DIR)/.probe:
	@mkdir -p $(FUZZ_DIR)
	@printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' >$(FUZZ_DIR)/probe.c
	@if $(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $(FUZZ_DIR)/probe $(FUZZ_DIR)/probe.c 2>/dev/null; \
	then touch $@; else echo "fuzz: $(FUZZ_CC) cannot build libFuzzer targets (install clang and libclang-rt-dev)" >&2; exit 1; fi

$(FUZZ_DIR)/obj/%.o: $(top_srcdir)/%.c $(FUZZ_DIR)/.probe
	@mkdir -p $(dir $@)
	@echo "  CLANG    $*.c"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_CPPFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/fuzz_%: $(top_srcdir)/tests/fuzz/fuzz_%.c $(OBJS)
	@echo "  CCLD     $@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -DMRE_FUZZ_SANDBOX $(FUZZ_CPPFLAGS) -MMD -MP \
		-o $@ $< $(OBJS) $(FUZZ_LIBS)

run: all
	@FUZZ_DIR='$(abspath $(FUZZ_DIR))' FUZZ_SECONDS='$(FUZZ_SECONDS)' srcdir='$(top_srcdir)' \
		builddir='$(top_builddir)' MRENGINE='$(MRENGINE)' sh $(top_srcdir)/tests/fuzz/run.sh $(HARNESSES)

.PHONY: all run
.SECONDARY: $(OBJS)
-include $(OBJS:.o=.d) $(BINS:=.d)
