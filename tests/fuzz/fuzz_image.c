/* SPDX-License-Identifier: MIT */
/*
 * fuzz_image.c: fuzz harness for everything that reads an image file. The
 * input is a whole file. It goes through header detection and the image
 * loader from memory (mre_src_mem), and, when it loads, through the code
 * that works on a descriptor: a memfd holding the same bytes is inspected
 * (JSON and text reports), verified, read page by page, extracted block by
 * block, restored into a VM of matching memfd blocks, re-written as the
 * compressed variant, and sent through the QEMU bridge: a mapped-ram image
 * is emitted as a stream and ingested back, a sequential stream ingested.
 * io_uring is switched off (seccomp) so that AddressSanitizer sees every
 * read.
 *
 * Oracles besides the sanitizers: the JSON report (what x-image-inspect
 * returns) must parse; when a block can be both extracted and restored,
 * the two copies of its content must be equal; an image written by the
 * transcoder or by ingest must verify, and one that went through emit and
 * ingest must hold the same memory; and no descriptor may be left open
 * after an input. Inputs whose work does not scale with their size (a
 * 64 TiB block of holes, a compressed block of millions of chunks) skip
 * the deep paths above a budget, so that each input runs in milliseconds.
 *
 * The mrengine header and the trailer carry CRCs that random mutation
 * almost never gets right, so every input also runs a second time with
 * both recomputed when that changes any byte: the fuzzer then explores
 * what lies behind a valid checksum.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cJSON.h>

#include "engine/emit.h"
#include "engine/extract.h"
#include "engine/imagefile.h"
#include "engine/ingest.h"
#include "engine/job.h"
#include "engine/report.h"
#include "engine/transcode.h"
#include "engine/verify.h"
#include "format/header.h"
#include "format/image.h"
#include "format/mrheader.h"
#include "format/trailer.h"
#include "io/chan.h"
#include "util/bytes.h"
#include "util/crc32c.h"
#include "util/log.h"
#include "util/wbuf.h"
#include "vm/vm.h"

#include "fuzz_util.h"

/* Guest bytes the deep paths may touch per input. */
#define WORK_BUDGET (8u << 20)
/* Pages read back per block through mre_imagefile_read_pages(). */
#define READ_PAGES 64u

static char workdir[256];

/*
 * The kernel's io_uring writes into buffers where AddressSanitizer cannot
 * see it: an overflow by a read would go unnoticed. Make io_uring_setup
 * fail (ENOSYS, as under a container's seccomp profile), so that every
 * channel falls back to pread/pwrite, which ASan checks.
 */
static void no_io_uring(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { MRE_ARRAY_SIZE(f), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		fuzz_die("cannot install the seccomp filter: %s", strerror(errno));
	if (mre_io_uring_available())
		fuzz_die("io_uring is still available");
}

static void setup(void)
{
	if (workdir[0])
		return;
	no_io_uring();
	mre_log_set_level(MRE_LOG_ERROR);
	fuzz_mkdtemp(workdir, sizeof(workdir), "mre-fuzz-image");
}

/* Guest bytes that verify, extract and restore would produce or check. */
static uint64_t deep_work(const struct mre_image *img)
{
	uint64_t work = 0;

	for (unsigned i = 0; i < img->nblocks; i++) {
		const struct mre_image_block *ib = &img->blocks[i];

		if (ib->b.ignored)
			continue;
		/* restore and extract size their output by the block length */
		work += ib->b.used_length;
	}
	return work;
}

/* Extract block @bi to a file and return its content (NULL on failure). */
static uint8_t *extract(struct mre_imagefile *f, unsigned bi)
{
	const struct mre_image_block *ib = &f->img->blocks[bi];
	struct mre_err err = MRE_ERR_INIT;
	char path[300];
	uint8_t *buf = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s/extract.raw", workdir);
	if (mre_extract_block(f, ib->b.id, path, &err))
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fuzz_die("extract succeeded but %s cannot be opened: %s", path, strerror(errno));
	buf = fuzz_xmalloc(ib->b.used_length);
	if (fuzz_pread_exact(fd, buf, ib->b.used_length, 0))
		fuzz_die("extract of '%s' did not produce %llu bytes", ib->b.id,
			 (unsigned long long)ib->b.used_length);
	close(fd);
	unlink(path);
	return buf;
}

/*
 * Restore the image into a VM whose blocks match it, then compare each
 * block with what extract produces from the same file: two independent
 * readers of one image must agree.
 */
static void restore_and_compare(struct mre_imagefile *f, const char *path)
{
	const struct mre_image *img = f->img;
	struct mre_err err = MRE_ERR_INIT;
	struct mre_job *job = NULL;
	struct mre_plan plan;
	struct mre_vm vm;
	int r;

	mre_vm_init(&vm);
	for (unsigned i = 0; i < img->nblocks; i++) {
		struct mre_object_props p = {
			.qom_type = "memory-backend-memfd",
			.id = img->blocks[i].b.id,
			.size = img->blocks[i].b.used_length,
		};

		if (mre_vm_add_object(&vm, &p, NULL, &err))
			goto out;  /* an id or size a VM cannot have */
	}
	mre_plan_defaults(&plan);
	plan.channels = 1;
	plan.io = MRE_PLAN_IO_THREADS;
	plan.verify = true;
	r = mre_job_start(MRE_JOB_RESTORE, &vm, NULL, &(struct mre_job_target){ .path = path }, &plan, &job,
			  &err);
	if (!r)
		r = mre_job_wait(job, &err);
	mre_job_free(job);
	if (r)
		goto out;
	for (unsigned i = 0; i < img->nblocks; i++) {
		const struct mre_image_block *ib = &img->blocks[i];
		struct mre_ramblock *rb = mre_vm_find(&vm, ib->b.id);
		uint8_t *want, *got;

		if (ib->b.ignored || !(want = extract(f, i)))
			continue;
		got = fuzz_xmalloc(ib->b.used_length);
		if (fuzz_pread_exact(rb->fd, got, ib->b.used_length, 0))
			fuzz_die("restored block '%s' cannot be read back", ib->b.id);
		if (memcmp(want, got, ib->b.used_length))
			fuzz_die("block '%s': restore and extract disagree on its content", ib->b.id);
		free(want);
		free(got);
	}
out:
	mre_vm_destroy(&vm);
}

/* Re-write as the compressed variant: whatever the writer produces must verify. */
static void transcode(struct mre_imagefile *f)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_transcode_result res;
	struct mre_verify_result vres;
	struct mre_imagefile out;
	struct mre_plan plan;
	char path[300];

	snprintf(path, sizeof(path), "%s/transcoded.img", workdir);
	mre_plan_defaults(&plan);
	plan.channels = 1;
	plan.io = MRE_PLAN_IO_THREADS;
	plan.compression = MRE_COMP_LZ4;
	plan.chunk_size = 64u << 10;
	plan.alignment = 4096;
	plan.sync = MRE_SYNC_NONE;
	if (mre_transcode(f, &(struct mre_transcode_opts){ .plan = &plan, .path = path }, &res, &err)) {
		unlink(path);
		return;
	}
	if (mre_imagefile_open(&out, path, -1, MRE_OFFSET_AUTO, 0, &err))
		fuzz_die("the transcoder wrote an image that does not load: %s", err.msg);
	if (mre_verify(&out, &(struct mre_verify_opts){ .channels = 1 }, &vres, &err))
		fuzz_die("the transcoder wrote an image that does not verify: %s", err.msg);
	mre_imagefile_close(&out);
	unlink(path);
}

/* Each block of image @a must extract to the same content from image @b. */
static void same_content(struct mre_imagefile *a, struct mre_imagefile *b, const char *what)
{
	for (unsigned i = 0; i < a->img->nblocks; i++) {
		const struct mre_image_block *ib = &a->img->blocks[i];
		int j = mre_image_find_block(b->img, ib->b.id);
		uint8_t *x, *y;

		if (ib->b.ignored)
			continue;
		if (j < 0)
			fuzz_die("%s: block '%s' is missing", what, ib->b.id);
		x = extract(a, i);
		y = extract(b, (unsigned)j);
		if (!x != !y || (x && memcmp(x, y, ib->b.used_length)))
			fuzz_die("%s: block '%s' %s", what, ib->b.id,
				 !x != !y ? "extracts from one image only" : "has another content");
		free(x);
		free(y);
	}
}

/*
 * The bridge: a QEMU stream in @fd (read from its start) -> an image with
 * mre_ingest(). Returns true with the image open in @out.
 */
static bool ingest(int fd, struct mre_imagefile *out)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_ingest_result res;
	struct mre_plan plan;
	char path[300];

	snprintf(path, sizeof(path), "%s/ingested.img", workdir);
	mre_plan_defaults(&plan);
	plan.channels = 1;
	plan.io = MRE_PLAN_IO_THREADS;
	plan.alignment = 4096;
	plan.sync = MRE_SYNC_NONE;
	if (lseek(fd, 0, SEEK_SET) ||
	    mre_ingest(&(struct mre_ingest_opts){ .plan = &plan, .fd = fd, .source = "fuzz", .path = path },
		       &res, &err)) {
		unlink(path);
		return false;
	}
	if (mre_imagefile_open(out, path, -1, MRE_OFFSET_AUTO, 0, &err))
		fuzz_die("ingest wrote an image that does not load: %s", err.msg);
	unlink(path);
	return true;
}

/*
 * A mapped-ram image -> a QEMU stream (emit) -> an image again (ingest):
 * what comes back must verify and hold the same memory.
 */
static void emit_and_ingest(struct mre_imagefile *f)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_emit_result res;
	struct mre_verify_result vres;
	struct mre_imagefile back;
	int fd = fuzz_memfd(NULL, 0);

	if (!mre_emit(f, &(struct mre_emit_opts){ .fd = fd, .channels = 1, .backend = MRE_IO_THREADS,
						  .verify = true },
		      &res, &err) &&
	    !res.ignore_shared) {
		if (!ingest(fd, &back))
			fuzz_die("ingest refuses the stream emit made");
		if (mre_verify(&back, &(struct mre_verify_opts){ .channels = 1 }, &vres, &err))
			fuzz_die("emit then ingest gives an image that does not verify: %s", err.msg);
		same_content(f, &back, "emit then ingest");
		mre_imagefile_close(&back);
	}
	close(fd);
}

/* A sequential stream through ingest: if it takes it, the image must verify. */
static void ingest_input(int fd)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_verify_result vres;
	struct mre_imagefile img;

	if (!ingest(fd, &img))
		return;
	if (mre_verify(&img, &(struct mre_verify_opts){ .channels = 1 }, &vres, &err))
		fuzz_die("ingest accepted a stream and wrote an image that does not verify: %s", err.msg);
	mre_imagefile_close(&img);
}

/* Everything that needs a descriptor, on a memfd with the input's bytes. */
static void deep(const uint8_t *data, size_t size)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_verify_result vres;
	struct mre_imagefile f;
	struct mre_wbuf wb;
	char path[64];
	FILE *null;
	bool ok;
	int fd = fuzz_memfd(data, size);

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (mre_imagefile_open(&f, path, -1, MRE_OFFSET_AUTO, 0, &err)) {
		close(fd);
		return;
	}
	mre_wbuf_init(&wb);
	mre_report_json(&f, &wb);
	{
		/* what x-image-inspect sends as its return value */
		cJSON *j = cJSON_ParseWithLength((const char *)wb.data, wb.len);

		if (!j)
			fuzz_die("inspect --json printed something that is not JSON: %.200s", (const char *)wb.data);
		cJSON_Delete(j);
	}
	mre_wbuf_free(&wb);
	null = fopen("/dev/null", "w");
	if (null) {
		mre_report_text(&f, null);
		fclose(null);
	}
	if (deep_work(f.img) > WORK_BUDGET)
		goto out;
	mre_err_clear(&err);
	ok = !mre_verify(&f, &(struct mre_verify_opts){ .channels = 2 }, &vres, &err);
	for (unsigned i = 0; i < f.img->nblocks; i++) {
		const struct mre_image_block *ib = &f.img->blocks[i];
		uint64_t n = MRE_MIN(ib->npages, (uint64_t)READ_PAGES);
		uint8_t *pages, *chunk;

		if (ib->b.ignored || !f.img->mapped_ram || !n)
			continue;
		pages = fuzz_xmalloc(n * f.img->page_size);
		chunk = fuzz_xmalloc(ib->b.chunked ? 2 * ib->b.chunk_size : 1);
		mre_err_clear(&err);
		mre_imagefile_read_pages(&f, i, ib->npages - n, n, pages, chunk, &err);
		free(pages);
		free(chunk);
	}
	if (f.img->mapped_ram && f.img->page_size == 4096) {
		restore_and_compare(&f, path);
		if (ok)
			emit_and_ingest(&f);
	} else {
		if (!f.img->mapped_ram && f.stream_offset == 0)
			ingest_input(fd);
		/* no VM to restore into: extract alone (sequential streams replay
		 * their records) */
		for (unsigned i = 0; i < f.img->nblocks; i++)
			if (!f.img->blocks[i].b.ignored)
				free(extract(&f, i));
	}
	if (ok)
		transcode(&f);
out:
	mre_imagefile_close(&f);
	close(fd);
}

static void run(const uint8_t *data, size_t size)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_header_info hi;
	struct mre_memsrc mem;
	struct mre_image *img;
	struct mre_src src;
	uint64_t off;

	mre_src_mem(&src, &mem, data, size);
	off = mre_header_detect(&src, &hi, &err) ? 0 : hi.stream_offset;
	mre_err_clear(&err);
	if (!mre_image_load(&src, off, MRE_IMAGE_NO_BITMAPS | MRE_IMAGE_STREAM_ONLY, &img, &err))
		mre_image_free(img);
	mre_err_clear(&err);
	if (mre_image_load(&src, off, 0, &img, &err))
		return;
	mre_image_free(img);
	deep(data, size);
}

/* A copy of @data with the mrengine header's and the trailer's CRCs made
 * right, or NULL when they already are (or there are none). */
static uint8_t *fix_checksums(const uint8_t *data, size_t size)
{
	uint8_t *c = fuzz_xmalloc(size ? size : 1);

	memcpy(c, data, size);
	if (size >= MRE_MRHEADER_FIXED && !memcmp(c, MRE_MRHEADER_MAGIC, 8)) {
		uint32_t meta = mre_get_le32(c + 48);

		if (meta <= size - MRE_MRHEADER_FIXED) {
			uint8_t fixed[MRE_MRHEADER_FIXED];

			memcpy(fixed, c, sizeof(fixed));
			memset(fixed + 52, 0, 4);
			mre_put_le32(c + 52, mre_crc32c(mre_crc32c(0, fixed, sizeof(fixed)),
							c + MRE_MRHEADER_FIXED, meta));
		}
	}
	if (size >= 48 + 4 + MRE_TRAILER_END && !memcmp(c + size - 8, MRE_TRAILER_DONE, 8)) {
		uint64_t len = mre_get_le64(c + size - MRE_TRAILER_END);

		if (len >= 48 + 4 + MRE_TRAILER_END && len <= size) {
			uint8_t *t = c + size - len;
			size_t body = (size_t)len - 4 - MRE_TRAILER_END;

			mre_put_le32(t + body, mre_crc32c(0, t, body));
		}
	}
	if (!memcmp(c, data, size)) {
		free(c);
		return NULL;
	}
	return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned fds;
	uint8_t *fixed;

	setup();
	fds = fuzz_count_fds();
	run(data, size);
	if ((fixed = fix_checksums(data, size))) {
		run(fixed, size);
		free(fixed);
	}
	if (fuzz_count_fds() != fds)
		fuzz_die("%u descriptors open after the input, %u before", fuzz_count_fds(), fds);
	return 0;
}
