# tests: qmp
