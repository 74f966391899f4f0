# tests: soak. One QMP daemon, several clients, save / restore / cancel
# cycles for MRE_SOAK_SECONDS (20 in make check; scripts/check.sh runs
# 120 as a step of its own); descriptors and RSS must stay flat.
TESTS += tests/soak/soak.py
EXTRA_DIST += tests/soak/soak.py
