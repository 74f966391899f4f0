# io: files, fdsets, channels (threads + io_uring), direct-io.
# The only module that includes <liburing.h>.
src_libmre_a_SOURCES += \
	src/io/file.c src/io/file.h \
	src/io/dio.c src/io/dio.h \
	src/io/chan.c src/io/chan.h src/io/chan_int.h src/io/chan_uring.c \
	src/io/outfile.c src/io/outfile.h \
	src/io/pipehold.c src/io/pipehold.h \
	src/io/fdset.c src/io/fdset.h
