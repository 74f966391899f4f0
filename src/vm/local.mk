# vm: RAM blocks and their backings (memfd, file, fdset), VM metadata.
src_libmre_a_SOURCES += \
	src/vm/vm.c src/vm/vm.h
