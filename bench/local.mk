# bench: benchmarks (not tests): `make bench` prints ratios against the
# machine's limits and QEMU 10. BENCH_SIZE, BENCH_DIR, BENCH_REPS tune it.
EXTRA_DIST += bench/run.py
bench: src/mrengine
	MRENGINE=$(abs_top_builddir)/src/mrengine $(PYTHON3) $(top_srcdir)/bench/run.py $(BENCH_ARGS)
.PHONY: bench
# the QEMU bridge against QEMU 10 (ingest, emit, shared memory): see doc/bridge.md
EXTRA_DIST += bench/bridge.py
bench-bridge: src/mrengine
	MRENGINE=$(abs_top_builddir)/src/mrengine $(PYTHON3) $(top_srcdir)/bench/bridge.py $(BENCH_ARGS)
.PHONY: bench-bridge
