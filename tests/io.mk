# tests: io
