# tests: interop
# Real QEMU (>= 10) writes migration files in every variant it has; mrengine
# must read them. Skips when no QEMU >= 10 is found (or MRE_QEMU is not
# one). The harness in tests/lib/ is shared with later interop tests.
TESTS += tests/interop/qemu_files.py tests/interop/engine_qemu.py
EXTRA_DIST += \
	tests/interop/qemu_files.py \
	tests/interop/engine_qemu.py \
	tests/lib/qemu.py \
	tests/lib/pattern.py \
	tests/lib/taptest.py
