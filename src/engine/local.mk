# engine: the jobs (save, restore, ingest, emit, convert, extract, verify)
# that wire format, io, vm and policy together.
src_libmre_a_SOURCES += \
	src/engine/engine.c src/engine/engine.h \
	src/engine/facts.c src/engine/facts.h \
	src/engine/job.c src/engine/job.h src/engine/job_int.h \
	src/engine/writer.c src/engine/writer.h \
	src/engine/save.c \
	src/engine/restore.c \
	src/engine/uri.c src/engine/uri.h \
	src/engine/pattern.c src/engine/pattern.h \
	src/engine/imagefile.c src/engine/imagefile.h \
	src/engine/report.c src/engine/report.h \
	src/engine/extract.c src/engine/extract.h \
	src/engine/verify.c src/engine/verify.h \
	src/engine/check.c src/engine/check.h \
	src/engine/transcode.c src/engine/transcode.h \
	src/engine/ingest.c src/engine/ingest.h \
	src/engine/emit.c src/engine/emit.h
