# tests: the QEMU bridge (ingest, emit, convert, shared-memory offload)
# bridge_files.py needs no QEMU: the recorded vectors (../shared/vectors or
# $MRE_VECTORS), synthetic streams and bad input. bridge_qemu.py runs QEMU
# 10 (skips without it) and QEMU 7.2 ($MRE_QEMU72, or fetched once into
# tests/qemu72/ of the build tree with apt-get download; its parts skip
# when that is impossible).
TESTS += tests/interop/bridge_files.py tests/interop/bridge_qemu.py tests/interop/bridge_example.py
EXTRA_DIST += \
	tests/interop/bridge_files.py \
	tests/interop/bridge_qemu.py \
	tests/interop/bridge_example.py \
	tests/interop/bridge_lib.py \
	examples/shared-memory/run.sh
