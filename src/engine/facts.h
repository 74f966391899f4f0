/* SPDX-License-Identifier: MIT */
/*
 * facts.h: gathering the facts a policy hook is shown (policy/facts.h) from
 * the real system: the host (CPUs allowed by affinity, MemAvailable,
 * io_uring), the target (filesystem, O_DIRECT support and alignment, free
 * space, rotational) and the VM (blocks, labels, and a cheap content sample
 * giving zero_ratio and sample_compress_ratio).
 *
 * Each *_facts struct owns the storage its public `f` member points into;
 * fill it with the gather call, read `f`, release it with the matching
 * free call (a no-op for the fixed-size ones). Gathering never writes to
 * the target or to guest memory. Control thread only.
 */
#ifndef MRE_ENGINE_FACTS_H
#define MRE_ENGINE_FACTS_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/facts.h"
#include "util/err.h"

struct mre_vm;

struct mre_host_facts {
	struct mre_facts_host f;
};

/* Never fails: unknown values are reported as 1 CPU / 0 bytes / false. */
void mre_facts_host(struct mre_host_facts *h);

struct mre_target_facts {
	struct mre_facts_target f;
	char kind[8];
	char path[4096];
	char fs_type[32];
};

/*
 * A target path: the file, or the directory where it will be created when
 * it does not exist yet. Fails only if neither can be examined.
 */
int mre_facts_target_path(struct mre_target_facts *t, const char *path, struct mre_err *err);
/* An open descriptor (an fdset member); @display is shown as target.path. */
int mre_facts_target_fd(struct mre_target_facts *t, int fd, const char *display,
			struct mre_err *err);

/* How many pages the VM content sample reads, at most. */
#define MRE_FACTS_SAMPLE_PAGES 256u

struct mre_vm_facts {
	struct mre_facts_vm f;
	char uuid[40];
	struct mre_facts_block *blocks;
	const char **keys;
	const char **values;
	/* sample statistics (also folded into f.zero_ratio / f.sample_compress_ratio) */
	unsigned sampled_pages;
	unsigned zero_pages;
	uint64_t sample_usec;
};

/*
 * Describe @vm. With @sample, map the blocks read-only where they are not
 * mapped yet and read up to MRE_FACTS_SAMPLE_PAGES pages spread over all
 * blocks (bounded to a few milliseconds); a block that cannot be mapped is
 * left out of the sample. Without a sample both ratios are 0. The strings
 * point into @vm, which must outlive @v.
 */
int mre_facts_vm(struct mre_vm_facts *v, struct mre_vm *vm, bool sample, struct mre_err *err);
void mre_facts_vm_free(struct mre_vm_facts *v);

struct mre_image_facts {
	struct mre_facts_image f;
	char path[4096];
	struct mre_facts_block *blocks;
};

/* What inspect knows about the image at @path (stream offset found
 * automatically): layout, header kind, page size, present bytes. */
int mre_facts_image(struct mre_image_facts *i, const char *path, struct mre_err *err);
void mre_facts_image_free(struct mre_image_facts *i);

/*
 * The content estimate on its own: over @npages pages of @len bytes at
 * @pages[i], the share of all-zero pages, and compressed/original size of
 * the non-zero ones (zstd level 1; 0 when all are zero). Exposed for tests.
 */
void mre_facts_estimate(const uint8_t *const *pages, unsigned npages, uint64_t len,
			double *zero_ratio, double *compress_ratio);

#endif
