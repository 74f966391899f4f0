/* SPDX-License-Identifier: MIT */
/*
 * test_engine.c: how the engine builds a plan: defaults, then the client's
 * explicit parameters (QEMU names and mrengine's x- ones), with QEMU's
 * precedence and clear errors for bad values.
 */
#include <errno.h>
#include <string.h>

#include "engine/engine.h"
#include "util/bytes.h"
#include "tap.h"

static int plan_of(struct mre_engine *e, enum mre_job_kind k, struct mre_param *p, unsigned n,
		   struct mre_plan *plan, struct mre_err *err)
{
	struct mre_facts_params params = { .n = n, .p = p };

	mre_err_clear(err);
	return mre_engine_plan(e, k, NULL, &params, plan, err);
}

#define B(nm, v, cap) { .name = nm, .type = MRE_PARAM_BOOL, .b = v, .set = true, .capability = cap }
#define I(nm, v) { .name = nm, .type = MRE_PARAM_INT, .i = v, .set = true }
#define S(nm, v) { .name = nm, .type = MRE_PARAM_STR, .s = v, .set = true }

int main(void)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_engine e;
	struct mre_plan p;

	mre_engine_init(&e, &err);

	is_int(plan_of(&e, MRE_JOB_SAVE, NULL, 0, &p, &err), 0, "defaults");
	ok(p.channels == 2 && !p.direct_io && p.compression == MRE_COMP_NONE && p.checksum == MRE_CSUM_CRC32C &&
	   p.sync == MRE_SYNC_FDATASYNC && !p.verify, "  2 channels, buffered, no compression, crc32c, fdatasync");
	mre_plan_free(&p);
	plan_of(&e, MRE_JOB_RESTORE, NULL, 0, &p, &err);
	ok(p.verify, "a restore checks checksums by default");
	mre_plan_free(&p);

	{
		struct mre_param v[] = { I("multifd-channels", 4), B("direct-io", true, false), I("max-bandwidth", 1000),
					 S("x-io", "threads"), B("x-sync", false, false), S("x-compression", "zstd:7"),
					 I("x-chunk-size", 65536), S("x-checksum", "none"), B("x-prealloc", true, false),
					 S("x-header", "mrengine") };

		is_int(plan_of(&e, MRE_JOB_SAVE, v, MRE_ARRAY_SIZE(v), &p, &err), 0, "every parameter (%s)", err.msg);
		ok(p.channels == 4 && p.direct_io && p.max_bandwidth == 1000 && p.io == MRE_PLAN_IO_THREADS &&
		   p.sync == MRE_SYNC_NONE && p.compression == MRE_COMP_ZSTD && p.level == 7 && p.chunk_size == 65536 &&
		   p.checksum == MRE_CSUM_NONE && p.prealloc && p.header == MRE_PLAN_HEADER_MRENGINE,
		   "  each lands in its plan field");
		mre_plan_free(&p);
	}
	{
		/* QEMU: with multifd off, multifd-channels has no effect */
		struct mre_param v[] = { I("multifd-channels", 4), B("multifd", false, true) };

		plan_of(&e, MRE_JOB_SAVE, v, 2, &p, &err);
		is_int(p.channels, 1, "multifd explicitly off means one channel, whatever multifd-channels says");
		mre_plan_free(&p);
		v[1].b = true;
		plan_of(&e, MRE_JOB_SAVE, v, 2, &p, &err);
		is_int(p.channels, 4, "multifd on: multifd-channels decides");
		mre_plan_free(&p);
	}
	{
		struct mre_param v[] = { I("multifd-channels", 4) };

		v[0].set = false;
		plan_of(&e, MRE_JOB_SAVE, v, 1, &p, &err);
		is_int(p.channels, 2, "a parameter the client did not set is not applied");
		mre_plan_free(&p);
	}
	{
		struct mre_param bad[][1] = { { S("x-io", "fast") }, { S("x-compression", "gzip") },
					      { S("x-checksum", "md5") }, { I("multifd-channels", 0) },
					      { I("x-chunk-size", 1000) } };
		static const char *const want[] = { "x-io", "x-compression", "x-checksum", "channels", "chunk_size" };

		for (size_t i = 0; i < MRE_ARRAY_SIZE(bad); i++) {
			is_int(plan_of(&e, MRE_JOB_SAVE, bad[i], 1, &p, &err) < 0, 1, "bad %s refused", want[i]);
			like(err.msg, want[i], "  the error names it");
		}
	}
	mre_engine_destroy(&e);
	return tap_done();
}
