# io: files, fdsets, channels (threads + io_uring), direct-io.
# The only module that includes <liburing.h>.
src_libmre_a_SOURCES += \
	src/io/file.c src/io/file.h \
	src/io/fdset.c src/io/fdset.h
