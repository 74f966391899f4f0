# format: pure codecs of QEMU's stream and mapped-ram; no I/O syscalls,
# no Lua, no JSON library.
src_libmre_a_SOURCES += \
	src/format/qemu.h \
	src/format/rd.c src/format/rd.h \
	src/format/config.c src/format/config.h \
	src/format/ram.c src/format/ram.h \
	src/format/stream.c src/format/stream.h \
	src/format/image.c src/format/image.h \
	src/format/header.c src/format/header.h \
	src/format/mrheader.c src/format/mrheader.h \
	src/format/trailer.c src/format/trailer.h \
	src/format/chunked.c src/format/chunked.h
