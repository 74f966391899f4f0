# policy
src_libmre_a_SOURCES += \
	src/policy/plan.c src/policy/plan.h
