# doc
EXTRA_DIST += doc/bridge.md
