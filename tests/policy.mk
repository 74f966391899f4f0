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
