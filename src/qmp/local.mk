# qmp
