/* SPDX-License-Identifier: MIT */
/*
 * plan.c: the plan as plain C values: defaults, deep copy, validation and
 * JSON rendering. Validation is the single gate between whoever produced a
 * plan (a policy hook, QMP parameters, CLI flags) and the engine, so every
 * message names the field, the offending value and what would be accepted.
 * Nothing here knows about Lua.
 */
#include "policy/plan.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mre_plan_defaults(struct mre_plan *p)
{
	memset(p, 0, sizeof(*p));
	p->channels = 2;
	p->io = MRE_PLAN_IO_AUTO;
	p->direct_io = false;
	p->direct_io_fallback = false;
	p->alignment = 1u << 20;
	p->compression = MRE_COMP_NONE;
	p->level = 0;
	p->chunk_size = 1u << 20;
	p->max_bandwidth = 0;
	p->checksum = MRE_CSUM_CRC32C;
	p->sync = MRE_SYNC_FDATASYNC;
	p->prealloc = false;
	p->verify = false;
	p->header = MRE_PLAN_HEADER_NONE;
}

void mre_plan_free(struct mre_plan *p)
{
	if (!p)
		return;
	free(p->header_json);
	free(p->header_xml);
	free(p->header_raw);
	free(p->policy);
	p->header_json = NULL;
	p->header_xml = NULL;
	p->header_raw = NULL;
	p->header_raw_len = 0;
	p->policy = NULL;
}

static int dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

int mre_plan_copy(struct mre_plan *dst, const struct mre_plan *src, struct mre_err *err)
{
	struct mre_plan tmp = *src;

	tmp.header_json = tmp.header_xml = tmp.policy = NULL;
	tmp.header_raw = NULL;
	if (dup_str(&tmp.header_json, src->header_json) || dup_str(&tmp.header_xml, src->header_xml) ||
	    dup_str(&tmp.policy, src->policy))
		goto oom;
	if (src->header_raw && src->header_raw_len) {
		tmp.header_raw = malloc(src->header_raw_len);
		if (!tmp.header_raw)
			goto oom;
		memcpy(tmp.header_raw, src->header_raw, src->header_raw_len);
	} else {
		tmp.header_raw_len = 0;
	}
	*dst = tmp;
	return 0;
oom:
	mre_plan_free(&tmp);
	return mre_err_set(err, -ENOMEM, "plan: out of memory copying the plan");
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

const char *mre_plan_io_name(enum mre_plan_io io)
{
	switch (io) {
	case MRE_PLAN_IO_AUTO:
		return "auto";
	case MRE_PLAN_IO_THREADS:
		return "threads";
	case MRE_PLAN_IO_URING:
		return "uring";
	}
	return "?";
}

const char *mre_compression_name(enum mre_compression c)
{
	switch (c) {
	case MRE_COMP_NONE:
		return "none";
	case MRE_COMP_ZSTD:
		return "zstd";
	case MRE_COMP_LZ4:
		return "lz4";
	}
	return "?";
}

static const char *checksum_name(enum mre_checksum c)
{
	return c == MRE_CSUM_NONE ? "none" : c == MRE_CSUM_CRC32C ? "crc32c" : "?";
}

static const char *sync_name(enum mre_sync s)
{
	return s == MRE_SYNC_FDATASYNC ? "fdatasync" : s == MRE_SYNC_NONE ? "none" : "?";
}

static const char *header_name(enum mre_plan_header h)
{
	switch (h) {
	case MRE_PLAN_HEADER_NONE:
		return "none";
	case MRE_PLAN_HEADER_MRENGINE:
		return "json";
	case MRE_PLAN_HEADER_LIBVIRT:
		return "libvirt";
	case MRE_PLAN_HEADER_RAW:
		return "raw";
	}
	return "?";
}

int mre_compression_parse(const char *s, enum mre_compression *c, int *level)
{
	if (!s)
		return -EINVAL;
	if (!strcmp(s, "none")) {
		*c = MRE_COMP_NONE;
		*level = 0;
		return 0;
	}
	if (!strcmp(s, "lz4")) {
		*c = MRE_COMP_LZ4;
		*level = 0;
		return 0;
	}
	if (!strcmp(s, "zstd")) {
		*c = MRE_COMP_ZSTD;
		*level = 0;
		return 0;
	}
	if (!strncmp(s, "zstd:", 5)) {
		const char *d = s + 5;
		int v = 0;

		/* one or two digits, no sign, no leading zero, 1..19 */
		if (d[0] < '1' || d[0] > '9')
			return -EINVAL;
		v = d[0] - '0';
		if (d[1]) {
			if (d[1] < '0' || d[1] > '9' || d[2])
				return -EINVAL;
			v = v * 10 + (d[1] - '0');
		}
		if (v < 1 || v > 19)
			return -EINVAL;
		*c = MRE_COMP_ZSTD;
		*level = v;
		return 0;
	}
	return -EINVAL;
}

int mre_plan_validate(const struct mre_plan *p, struct mre_err *err)
{
	const char *pre = "plan: ";

	if (p->channels < 1 || p->channels > MRE_PLAN_MAX_CHANNELS)
		return mre_err_set(err, -EINVAL, "%schannels: %u is out of range (allowed: 1..%u)", pre,
				   p->channels, MRE_PLAN_MAX_CHANNELS);
	if ((unsigned)p->io > MRE_PLAN_IO_URING)
		return mre_err_set(err, -EINVAL, "%sio: %d is not a backend (allowed: auto, threads, uring)",
				   pre, (int)p->io);
	if (!is_pow2(p->alignment) || p->alignment < MRE_PLAN_MIN_ALIGN ||
	    p->alignment > MRE_PLAN_MAX_ALIGN)
		return mre_err_set(err, -EINVAL,
				   "%salignment: %" PRIu64
				   " is not allowed (a power of two from 4096 (4 KiB) to 1073741824 (1 GiB))",
				   pre, p->alignment);
	if ((unsigned)p->compression > MRE_COMP_LZ4)
		return mre_err_set(err, -EINVAL,
				   "%scompression: %d is not a method (allowed: none, zstd, zstd:1..zstd:19, lz4)",
				   pre, (int)p->compression);
	if (p->compression == MRE_COMP_ZSTD && (p->level < 0 || p->level > 19))
		return mre_err_set(err, -EINVAL,
				   "%scompression: zstd level %d is out of range (allowed: zstd, zstd:1..zstd:19)",
				   pre, p->level);
	if (p->compression != MRE_COMP_ZSTD && p->level != 0)
		return mre_err_set(err, -EINVAL,
				   "%scompression: a level (%d) only applies to zstd (allowed: zstd:1..zstd:19)",
				   pre, p->level);
	if (!is_pow2(p->chunk_size) || p->chunk_size < MRE_PLAN_MIN_CHUNK ||
	    p->chunk_size > MRE_PLAN_MAX_CHUNK)
		return mre_err_set(err, -EINVAL,
				   "%schunk_size: %" PRIu64
				   " is not allowed (a power of two from 65536 (64 KiB) to 16777216 (16 MiB))",
				   pre, p->chunk_size);
	if (p->max_bandwidth > (uint64_t)INT64_MAX)
		return mre_err_set(err, -EINVAL,
				   "%smax_bandwidth: %" PRIu64 " is out of range (allowed: 0 (unlimited)..%" PRId64
				   " bytes/s)",
				   pre, p->max_bandwidth, INT64_MAX);
	if ((unsigned)p->checksum > MRE_CSUM_CRC32C)
		return mre_err_set(err, -EINVAL, "%schecksum: %d is not allowed (allowed: none, crc32c)", pre,
				   (int)p->checksum);
	if ((unsigned)p->sync > MRE_SYNC_NONE)
		return mre_err_set(err, -EINVAL, "%ssync: %d is not allowed (allowed: fdatasync, none)", pre,
				   (int)p->sync);
	switch (p->header) {
	case MRE_PLAN_HEADER_NONE:
		break;
	case MRE_PLAN_HEADER_MRENGINE:
		if (!p->header_json || p->header_json[0] != '{')
			return mre_err_set(err, -EINVAL,
					   "%sheader: format \"json\" needs its data as a JSON object", pre);
		break;
	case MRE_PLAN_HEADER_LIBVIRT:
		if (!p->header_xml || !p->header_xml[0])
			return mre_err_set(err, -EINVAL,
					   "%sheader: format \"libvirt\" needs the domain XML (a non-empty string)",
					   pre);
		break;
	case MRE_PLAN_HEADER_RAW:
		if (!p->header_raw || !p->header_raw_len)
			return mre_err_set(err, -EINVAL, "%sheader: raw header bytes are empty", pre);
		break;
	default:
		return mre_err_set(err, -EINVAL,
				   "%sheader: kind %d is not allowed (allowed: none, json, libvirt, raw)", pre,
				   (int)p->header);
	}
	return 0;
}

void mre_plan_json(const struct mre_plan *p, struct mre_jsonw *j)
{
	char comp[16];

	if (p->compression == MRE_COMP_ZSTD && p->level > 0)
		snprintf(comp, sizeof(comp), "zstd:%d", p->level);
	else
		snprintf(comp, sizeof(comp), "%s", mre_compression_name(p->compression));

	mre_jsonw_obj_begin(j);
	mre_jsonw_ku64(j, "channels", p->channels);
	mre_jsonw_kstr(j, "io", mre_plan_io_name(p->io));
	mre_jsonw_kbool(j, "direct_io", p->direct_io);
	mre_jsonw_kbool(j, "direct_io_fallback", p->direct_io_fallback);
	mre_jsonw_ku64(j, "alignment", p->alignment);
	mre_jsonw_kstr(j, "compression", comp);
	mre_jsonw_ku64(j, "chunk_size", p->chunk_size);
	mre_jsonw_ku64(j, "max_bandwidth", p->max_bandwidth);
	mre_jsonw_kstr(j, "checksum", checksum_name(p->checksum));
	mre_jsonw_kstr(j, "sync", sync_name(p->sync));
	mre_jsonw_kbool(j, "prealloc", p->prealloc);
	mre_jsonw_kbool(j, "verify", p->verify);
	mre_jsonw_key(j, "header");
	if (p->header == MRE_PLAN_HEADER_NONE) {
		mre_jsonw_null(j);
	} else {
		mre_jsonw_obj_begin(j);
		mre_jsonw_kstr(j, "format", header_name(p->header));
		switch (p->header) {
		case MRE_PLAN_HEADER_MRENGINE:
			mre_jsonw_key(j, "data");
			if (p->header_json)
				mre_jsonw_raw(j, p->header_json, strlen(p->header_json));
			else
				mre_jsonw_null(j);
			break;
		case MRE_PLAN_HEADER_LIBVIRT:
			mre_jsonw_kstr(j, "xml", p->header_xml ? p->header_xml : "");
			break;
		case MRE_PLAN_HEADER_RAW:
			mre_jsonw_ku64(j, "length", p->header_raw_len);
			break;
		default:
			break;
		}
		mre_jsonw_obj_end(j);
	}
	mre_jsonw_key(j, "policy");
	if (p->policy)
		mre_jsonw_str(j, p->policy);
	else
		mre_jsonw_null(j);
	mre_jsonw_obj_end(j);
}
