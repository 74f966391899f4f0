# tests: policy (plan validation, the Lua runtime and its sandbox, shipped
# policies, facts, policy-check)
POLICY_TESTS = \
	tests/unit/test_policy_plan
check_PROGRAMS += $(POLICY_TESTS)
TESTS += $(POLICY_TESTS)
tests_unit_test_policy_plan_SOURCES = tests/unit/test_policy_plan.c tests/tap.h
tests_unit_test_policy_plan_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_policy_plan_LDADD = $(MRE_LIBS)
POLICY_TESTS += tests/unit/test_policy_runtime
tests_unit_test_policy_runtime_SOURCES = tests/unit/test_policy_runtime.c tests/tap.h tests/policy/fixture.h
tests_unit_test_policy_runtime_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_policy_runtime_LDADD = $(MRE_LIBS)
POLICY_TESTS += tests/sandbox/runner
tests_sandbox_runner_SOURCES = tests/sandbox/runner.c tests/tap.h tests/policy/fixture.h
tests_sandbox_runner_CPPFLAGS = $(TEST_CPPFLAGS)
tests_sandbox_runner_LDADD = $(MRE_LIBS)
# every hostile policy the runner finds (keep in sync with the directory)
EXTRA_DIST += \
	tests/sandbox/binary-chunk.lua \
	tests/sandbox/collectgarbage-stop.lua \
	tests/sandbox/coroutine-loop.lua \
	tests/sandbox/coroutine-resume-loop.lua \
	tests/sandbox/coroutine-yield-loop.lua \
	tests/sandbox/debug.lua \
	tests/sandbox/dofile.lua \
	tests/sandbox/env-alias.lua \
	tests/sandbox/error-table.lua \
	tests/sandbox/g-assign.lua \
	tests/sandbox/g-field-assign.lua \
	tests/sandbox/getmetatable-g.lua \
	tests/sandbox/hook-not-function.lua \
	tests/sandbox/io.lua \
	tests/sandbox/load.lua \
	tests/sandbox/loadfile.lua \
	tests/sandbox/loop-pcall.lua \
	tests/sandbox/loop-progress.lua \
	tests/sandbox/loop-sort.lua \
	tests/sandbox/loop-tostring.lua \
	tests/sandbox/loop-xpcall-handler.lua \
	tests/sandbox/loop.lua \
	tests/sandbox/memory-load.lua \
	tests/sandbox/memory-pcall.lua \
	tests/sandbox/memory-rep-once.lua \
	tests/sandbox/memory-rep.lua \
	tests/sandbox/memory-table.lua \
	tests/sandbox/os.lua \
	tests/sandbox/package.lua \
	tests/sandbox/pattern-backtrack.lua \
	tests/sandbox/pattern-gsub-method.lua \
	tests/sandbox/pairs-leak.lua \
	tests/sandbox/print.lua \
	tests/sandbox/rawset-g.lua \
	tests/sandbox/rawset-library.lua \
	tests/sandbox/recursion-pcall.lua \
	tests/sandbox/recursion.lua \
	tests/sandbox/require.lua \
	tests/sandbox/returns-bad-value.lua \
	tests/sandbox/returns-huge-header.lua \
	tests/sandbox/returns-nothing.lua \
	tests/sandbox/returns-number.lua \
	tests/sandbox/returns-string.lua \
	tests/sandbox/returns-unknown-field.lua \
	tests/sandbox/returns-wrong-type.lua \
	tests/sandbox/setmetatable-g.lua \
	tests/sandbox/setmetatable-gc.lua \
	tests/sandbox/string-dump-method.lua \
	tests/sandbox/string-dump.lua \
	tests/sandbox/string-metatable.lua \
	tests/sandbox/undeclared-read.lua \
	tests/sandbox/undeclared-write.lua \
	tests/sandbox/unknown-key.lua \
	tests/sandbox/write-math.lua \
	tests/sandbox/write-mre-header.lua \
	tests/sandbox/write-mre.lua \
	tests/sandbox/write-string.lua
POLICY_TESTS += tests/unit/test_policy_shipped
tests_unit_test_policy_shipped_SOURCES = tests/unit/test_policy_shipped.c tests/tap.h tests/policy/fixture.h
tests_unit_test_policy_shipped_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_policy_shipped_LDADD = $(MRE_LIBS)
POLICY_TESTS += tests/unit/test_policy_facts
tests_unit_test_policy_facts_SOURCES = tests/unit/test_policy_facts.c tests/tap.h
tests_unit_test_policy_facts_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_policy_facts_LDADD = $(MRE_LIBS)
TESTS += tests/policy/policy_check.sh tests/policy/cli_policies.sh
EXTRA_DIST += tests/policy/policy_check.sh tests/policy/fixture.h tests/policy/cli_policies.sh
