/* SPDX-License-Identifier: MIT */
/*
 * test_imagefile.c: random single-page reads of a compressed image read
 * one chunk's stored bytes and no more (the bytes this process reads, from
 * /proc/self/io, are counted around each read), and return the page the
 * guest had. The image is written by the mrengine binary ($MRENGINE).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/imagefile.h"
#include "tap.h"

#define PS 4096u
#define RAM_SIZE (8u << 20)
#define CHUNK (64u << 10)

/* Bytes this process has read through read(2)-like calls so far. */
static uint64_t rchar(void)
{
	FILE *f = fopen("/proc/self/io", "r");
	char line[128];
	uint64_t v = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "rchar: %" SCNu64, &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static int run(const char *cmd)
{
	int r = system(cmd);

	if (r)
		diag("'%s' exited with %d", cmd, r);
	return r;
}

int main(void)
{
	const char *m = getenv("MRENGINE");
	char dir[] = "/tmp/mre-imagefile.XXXXXX", cmd[1024], ram[256], img[256];
	struct mre_err err = MRE_ERR_INIT;
	struct mre_imagefile f;
	uint8_t *want, *page, *chunkbuf;
	unsigned within = 0, right = 0, tries = 64;
	uint64_t most = 0, stored_most = 0;
	FILE *rf;

	if (!m || !mkdtemp(dir)) {
		printf("1..0 # SKIP no $MRENGINE or no temporary directory\n");
		return 0;
	}
	snprintf(ram, sizeof(ram), "%s/ram", dir);
	snprintf(img, sizeof(img), "%s/z.img", dir);
	snprintf(cmd, sizeof(cmd),
		 "'%s' generate --size %u --seed 7 '%s' && '%s' save -q --compress zstd:1 --chunk-size %u "
		 "-object memory-backend-file,id=pc.ram,size=%u,mem-path='%s' --output '%s'",
		 m, RAM_SIZE, ram, m, CHUNK, RAM_SIZE, ram, img);
	if (!ok(run(cmd) == 0, "a compressed image of 8 MiB in 64 KiB chunks"))
		return tap_done();
	want = malloc(RAM_SIZE);
	page = aligned_alloc(PS, PS);
	chunkbuf = aligned_alloc(PS, 2 * CHUNK);
	rf = fopen(ram, "rb");
	ok(want && page && chunkbuf && rf && fread(want, 1, RAM_SIZE, rf) == RAM_SIZE, "the guest's RAM read back");
	if (rf)
		fclose(rf);
	if (!ok(mre_imagefile_open(&f, img, -1, MRE_OFFSET_AUTO, 0, &err) == 0, "the image opens (%s)", err.msg))
		return tap_done();
	ok(f.img->nblocks == 1 && f.img->blocks[0].b.chunked && f.img->blocks[0].b.chunk_size == CHUNK,
	   "one block, stored in chunks");

	srand(11);
	for (unsigned i = 0; i < tries; i++) {
		uint64_t p = (uint64_t)rand() % (RAM_SIZE / PS);
		const struct mre_chunk *c = &f.img->blocks[0].chunks[p * PS / CHUNK];
		uint64_t before = rchar(), used;
		int r = mre_imagefile_read_pages(&f, 0, p, 1, page, chunkbuf, &err);

		used = rchar() - before;
		most = used > most ? used : most;
		stored_most = c->len > stored_most ? c->len : stored_most;
		/* the chunk's stored bytes, rounded out to whole pages at most */
		within += r == 0 && used <= ((uint64_t)c->len + 2 * PS) / PS * PS;
		right += r == 0 && !memcmp(page, want + p * PS, PS);
	}
	is_int(within, tries, "each random single-page read reads one chunk at most (%" PRIu64
	       " bytes at most; the largest stored chunk is %" PRIu64 ")", most, stored_most);
	is_int(right, tries, "... and returns the guest's page");
	mre_imagefile_close(&f);
	free(want);
	free(page);
	free(chunkbuf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	run(cmd);
	return tap_done();
}
