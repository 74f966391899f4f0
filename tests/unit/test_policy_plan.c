/* SPDX-License-Identifier: MIT */
/* test_policy_plan.c: plan defaults, copy, validation messages and JSON. */
#include "tap.h"

#include <errno.h>

#include "policy/plan.h"
#include "util/wbuf.h"

static void expect_invalid(struct mre_plan *p, const char *needle, const char *what)
{
	struct mre_err err = MRE_ERR_INIT;

	is_int(mre_plan_validate(p, &err), -EINVAL, "%s is refused", what);
	like(err.msg, needle, "%s: message names field, value and what is allowed", what);
	mre_plan_defaults(p);
}

static char *json_of(const struct mre_plan *p)
{
	static char out[4096];
	struct mre_wbuf wb;
	struct mre_jsonw j;

	mre_wbuf_init(&wb);
	mre_jsonw_init(&j, &wb);
	mre_plan_json(p, &j);
	snprintf(out, sizeof(out), "%.*s", (int)wb.len, (const char *)wb.data);
	mre_wbuf_free(&wb);
	return out;
}

int main(void)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_plan p, q;
	enum mre_compression c;
	int level;

	mre_plan_defaults(&p);
	is_int(p.channels, 2, "default: 2 channels");
	is_int(p.io, MRE_PLAN_IO_AUTO, "default: auto io");
	ok(!p.direct_io, "default: no direct-io");
	is_u64(p.alignment, 1 << 20, "default: 1 MiB alignment");
	is_int(p.compression, MRE_COMP_NONE, "default: no compression");
	is_u64(p.chunk_size, 1 << 20, "default: 1 MiB chunks");
	is_int(p.checksum, MRE_CSUM_CRC32C, "default: crc32c");
	is_int(p.sync, MRE_SYNC_FDATASYNC, "default: fdatasync");
	is_int(p.header, MRE_PLAN_HEADER_NONE, "default: no header");
	is_int(mre_plan_validate(&p, &err), 0, "defaults are valid");

	p.channels = 0;
	expect_invalid(&p, "channels: 0 is out of range (allowed: 1..256)", "channels 0");
	p.channels = 257;
	expect_invalid(&p, "channels: 257", "channels 257");
	p.channels = 256;
	is_int(mre_plan_validate(&p, NULL), 0, "256 channels are valid");
	mre_plan_defaults(&p);
	p.io = (enum mre_plan_io)7;
	expect_invalid(&p, "allowed: auto, threads, uring", "io 7");
	p.alignment = 3 << 20;
	expect_invalid(&p, "alignment: 3145728 is not allowed (a power of two from 4096", "alignment 3 MiB");
	p.alignment = 2048;
	expect_invalid(&p, "alignment: 2048", "alignment 2 KiB");
	p.alignment = 2ull << 30;
	expect_invalid(&p, "alignment: 2147483648", "alignment 2 GiB");
	p.alignment = 4096;
	is_int(mre_plan_validate(&p, NULL), 0, "4 KiB alignment is valid");
	p.alignment = 1u << 30;
	is_int(mre_plan_validate(&p, NULL), 0, "1 GiB alignment is valid");
	mre_plan_defaults(&p);
	p.chunk_size = 32 * 1024;
	expect_invalid(&p, "chunk_size: 32768 is not allowed (a power of two from 65536", "chunk 32 KiB");
	p.chunk_size = 32u << 20;
	expect_invalid(&p, "chunk_size: 33554432", "chunk 32 MiB");
	p.chunk_size = 3u << 20;
	expect_invalid(&p, "chunk_size: 3145728", "chunk 3 MiB");
	p.compression = MRE_COMP_ZSTD;
	p.level = 20;
	expect_invalid(&p, "zstd level 20 is out of range", "zstd level 20");
	p.compression = MRE_COMP_LZ4;
	p.level = 3;
	expect_invalid(&p, "only applies to zstd", "lz4 with a level");
	p.max_bandwidth = (uint64_t)INT64_MAX + 1;
	expect_invalid(&p, "max_bandwidth: 9223372036854775808 is out of range", "huge bandwidth");
	p.checksum = (enum mre_checksum)5;
	expect_invalid(&p, "allowed: none, crc32c", "checksum 5");
	p.sync = (enum mre_sync)5;
	expect_invalid(&p, "allowed: fdatasync, none", "sync 5");
	p.header = MRE_PLAN_HEADER_LIBVIRT;
	expect_invalid(&p, "needs the domain XML", "libvirt header without XML");
	p.header = MRE_PLAN_HEADER_MRENGINE;
	expect_invalid(&p, "needs its data as a JSON object", "json header without data");
	p.header = MRE_PLAN_HEADER_RAW;
	expect_invalid(&p, "raw header bytes are empty", "raw header without bytes");
	p.header = (enum mre_plan_header)9;
	expect_invalid(&p, "allowed: none, json, libvirt, raw", "header kind 9");

	/* compression names */
	is_int(mre_compression_parse("none", &c, &level), 0, "parse none");
	is_int(c, MRE_COMP_NONE, "none");
	is_int(mre_compression_parse("zstd", &c, &level), 0, "parse zstd");
	ok(c == MRE_COMP_ZSTD && level == 0, "zstd, library level");
	is_int(mre_compression_parse("zstd:1", &c, &level), 0, "parse zstd:1");
	is_int(level, 1, "zstd:1 level");
	is_int(mre_compression_parse("zstd:19", &c, &level), 0, "parse zstd:19");
	is_int(level, 19, "zstd:19 level");
	is_int(mre_compression_parse("lz4", &c, &level), 0, "parse lz4");
	is_int(c, MRE_COMP_LZ4, "lz4");
	ok(mre_compression_parse("zstd:0", &c, &level) == -EINVAL, "zstd:0 refused");
	ok(mre_compression_parse("zstd:20", &c, &level) == -EINVAL, "zstd:20 refused");
	ok(mre_compression_parse("zstd:05", &c, &level) == -EINVAL, "zstd:05 refused");
	ok(mre_compression_parse("zstd:", &c, &level) == -EINVAL, "zstd: refused");
	ok(mre_compression_parse("zstd:1x", &c, &level) == -EINVAL, "zstd:1x refused");
	ok(mre_compression_parse("gzip", &c, &level) == -EINVAL, "gzip refused");
	is_str(mre_compression_name(MRE_COMP_ZSTD), "zstd", "compression name");
	is_str(mre_plan_io_name(MRE_PLAN_IO_URING), "uring", "io name");

	/* deep copy */
	mre_plan_defaults(&p);
	p.header = MRE_PLAN_HEADER_LIBVIRT;
	p.header_xml = strdup("<domain/>");
	p.policy = strdup("x");
	p.header_raw = malloc(3);
	memcpy(p.header_raw, "abc", 3);
	p.header_raw_len = 3;
	is_int(mre_plan_copy(&q, &p, &err), 0, "copy");
	ok(q.header_xml != p.header_xml && !strcmp(q.header_xml, "<domain/>"), "copy owns its XML");
	ok(q.header_raw != p.header_raw && !memcmp(q.header_raw, "abc", 3), "copy owns its raw bytes");
	is_str(q.policy, "x", "copy keeps the policy name");
	mre_plan_free(&p);
	ok(!p.header_xml && !p.policy, "free clears the pointers");
	mre_plan_free(&q);

	/* JSON */
	mre_plan_defaults(&p);
	p.compression = MRE_COMP_ZSTD;
	p.level = 3;
	p.header = MRE_PLAN_HEADER_MRENGINE;
	p.header_json = strdup("{\"a\": 1}");
	is_str(json_of(&p),
	       "{\"channels\": 2, \"io\": \"auto\", \"direct_io\": false, \"direct_io_fallback\": false, "
	       "\"alignment\": 1048576, \"compression\": \"zstd:3\", \"chunk_size\": 1048576, "
	       "\"max_bandwidth\": 0, \"checksum\": \"crc32c\", \"sync\": \"fdatasync\", "
	       "\"prealloc\": false, \"verify\": false, \"header\": {\"format\": \"json\", \"data\": {\"a\": 1}}, "
	       "\"policy\": null}",
	       "plan JSON");
	mre_plan_free(&p);
	return tap_done();
}
