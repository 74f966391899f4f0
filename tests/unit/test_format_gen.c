/* SPDX-License-Identifier: MIT */
/*
 * test_format_gen.c: writes the synthetic streams of test_format_synth.c to
 * files, with the guest content each RAM block must have, so that the shell
 * tests can run `mrengine inspect/verify/extract` on streams whose every
 * byte is known (XBZRLE, CONTINUE across sections, ZERO over data, ...),
 * which real QEMU files do not exercise. Not a test by itself.
 *
 *   test_format_gen DIR   ->  DIR/seq.mig         sequential stream
 *                             DIR/seq.BLOCK.raw   expected content per block
 *                             DIR/mapped.mig      mapped-ram, 4 KiB aligned
 *                             DIR/mapped.BLOCK.raw
 *                             DIR/mapped-off.mig  mapped-ram after 4096 'X'
 *                                                 bytes, 1 MiB aligned
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_format_synth.h"

static int write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "test_format_gen: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Block ids become file names: '/' and '@' are replaced. */
static void block_file(char *out, size_t n, const char *prefix, const char *id)
{
	size_t k = (size_t)snprintf(out, n, "%s.", prefix);

	for (; *id && k + 5 < n; id++)
		out[k++] = (*id == '/' || *id == '@') ? '_' : *id;
	snprintf(out + k, n - k, ".raw");
}

static int write_blocks(const char *dir, const char *prefix, const struct synth *s, bool sequential)
{
	for (unsigned b = 0; b < s->nblocks; b++) {
		size_t len = s->blk[b].used;
		uint8_t *buf = calloc(1, len);
		char name[300];
		int r;

		for (unsigned p = 0; p < s->blk[b].npages; p++) {
			uint8_t *page = buf + p * s->page_size;

			if (sequential)
				synth_sequential_page(s, b, p, page);
			else if (s->blk[b].present_mask >> p & 1)
				for (size_t k = 0; k < s->page_size; k++)
					page[k] = synth_byte(b, p, k);
		}
		block_file(name, sizeof(name), prefix, s->blk[b].id);
		r = write_file(dir, name, buf, len);
		free(buf);
		if (r)
			return r;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct synth_opts plain = { 0 }, off = { .prefix = 4096, .align = 0x100000 };
	struct synth s;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: test_format_gen DIR\n");
		return 2;
	}
	synth_sequential(&s, &plain);
	r = write_file(argv[1], "seq.mig", s.wb.data, s.wb.len) || write_blocks(argv[1], "seq", &s, true);
	synth_free(&s);
	if (r)
		return 1;
	synth_mapped(&s, &plain);
	r = write_file(argv[1], "mapped.mig", s.wb.data, s.wb.len) || write_blocks(argv[1], "mapped", &s, false);
	synth_free(&s);
	if (r)
		return 1;
	synth_mapped(&s, &off);
	r = write_file(argv[1], "mapped-off.mig", s.wb.data, s.wb.len);
	synth_free(&s);
	return r ? 1 : 0;
}
