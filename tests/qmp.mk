# tests: qmp (fdsets, the QMP server, transcripts, robustness, conformance)
check_PROGRAMS += tests/unit/test_fdset
tests_unit_test_fdset_SOURCES = tests/unit/test_fdset.c
tests_unit_test_fdset_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_fdset_LDADD = $(MRE_LIBS)
TESTS += tests/unit/test_fdset
check_PROGRAMS += tests/unit/test_qmp
tests_unit_test_qmp_SOURCES = tests/unit/test_qmp.c
tests_unit_test_qmp_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_qmp_LDADD = $(MRE_LIBS)
TESTS += tests/unit/test_qmp
QMP_TRANSCRIPTS = tests/qmp/protocol.qmp tests/qmp/runstate.qmp tests/qmp/fdsets.qmp \
	tests/qmp/objects.qmp tests/qmp/migcfg.qmp tests/qmp/migrate.qmp \
	tests/qmp/migrate-fail.qmp tests/qmp/incoming.qmp tests/qmp/policy.qmp
TESTS += tests/qmp/transcripts.py
EXTRA_DIST += tests/qmp/transcripts.py $(QMP_TRANSCRIPTS)
TESTS += tests/qmp/fdpass.py tests/qmp/robustness.py tests/qmp/saverestore.py tests/qmp/diskfull.py \
	tests/qmp/daemon_cli.py tests/qmp/boundary.sh
EXTRA_DIST += tests/qmp/daemon.py tests/qmp/fdpass.py tests/qmp/robustness.py tests/qmp/diskfull.py \
	tests/qmp/saverestore.py tests/qmp/daemon_cli.py tests/qmp/boundary.sh
# conformance with go-qemu against real QEMU 10 (skips without Go or QEMU)
TESTS += tests/interop/go_qmp.py
EXTRA_DIST += tests/interop/go_qmp.py tests/interop/go-qmp/main.go
