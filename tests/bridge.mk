# tests: the QEMU bridge (ingest, emit, convert, shared-memory offload)
# bridge_files.py needs no QEMU: the recorded vectors (../shared/vectors or
# $MRE_VECTORS), synthetic streams and bad input. bridge_qemu.py runs QEMU
# 10 (skips without it) and QEMU 7.2 ($MRE_QEMU72, or fetched once with
# apt-get download into ~/.cache/mrengine/qemu72 ($MRE_CACHE); its parts
# skip when that is impossible).
TESTS += tests/interop/bridge_files.py tests/interop/bridge_qemu.py tests/interop/bridge_example.py
EXTRA_DIST += \
	tests/interop/bridge_files.py \
	tests/interop/bridge_qemu.py \
	tests/interop/bridge_example.py \
	tests/interop/bridge_lib.py \
	examples/shared-memory/run.sh
check_PROGRAMS += tests/unit/test_bridge
tests_unit_test_bridge_SOURCES = tests/unit/test_bridge.c tests/tap.h
tests_unit_test_bridge_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_bridge_LDADD = $(MRE_LIBS)
TESTS += tests/unit/test_bridge
