# util: depends on nothing but libc.
src_libmre_a_SOURCES += \
	src/util/bytes.h \
	src/util/err.c src/util/err.h \
	src/util/log.c src/util/log.h \
	src/util/size.c src/util/size.h \
	src/util/wbuf.c src/util/wbuf.h \
	src/util/jsonw.c src/util/jsonw.h \
	src/util/zero.h \
	src/util/crc32c.c src/util/crc32c.h \
	src/util/sbitmap.c src/util/sbitmap.h \
	src/util/testpoint.c src/util/testpoint.h
