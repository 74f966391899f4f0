/* SPDX-License-Identifier: MIT */
/*
 * fuzz_policy.c: fuzz harness for the policy boundary: whatever a Lua hook
 * returns must become a valid plan or a clear error, and mre_plan_validate
 * must accept exactly the plans the engine can run.
 *
 * The first input byte picks a mode:
 *  - generated (most inputs): the bytes drive a small generator that writes
 *    a policy whose hooks return tables of plan fields (known and unknown
 *    keys; integers at and around every limit, floats, NaN, huge strings,
 *    nested tables, functions, the facts themselves, header tables of each
 *    format), possibly after reading the facts or raising errors;
 *  - raw: the rest of the input is the policy source itself;
 *  - plan: the rest fills a struct mre_plan field by field, enums and
 *    strings included, for mre_plan_validate alone.
 * The policy is written to a memfd and loaded by path (/proc/self/fd/N)
 * with tight instruction and time budgets, then every hook is called with
 * fixed facts. Oracles: a plan a hook produced is always valid, renders as
 * JSON and copies; a plan mre_plan_validate accepts has every field in its
 * documented range.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/policy.h"
#include "util/bytes.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/wbuf.h"

#include "fuzz_util.h"

/* ---- the input as a stream of choices ----------------------------------- */

struct in {
	const uint8_t *p;
	size_t n;
};

static unsigned take(struct in *in, unsigned range)
{
	unsigned v;

	if (!in->n || !range)
		return 0;
	v = *in->p++;
	in->n--;
	return v % range;
}

static uint64_t take64(struct in *in)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < 8; i++)
		v = v << 8 | take(in, 256);
	return v;
}

/* ---- the Lua generator ------------------------------------------------------ */

static const char *const field_names[] = {
	"channels", "io", "direct_io", "direct_io_fallback", "alignment", "compression",
	"chunk_size", "max_bandwidth", "header", "checksum", "sync", "prealloc", "verify",
	"name", "level", "Channels", "", "channels ",
};

static const char *const strings[] = {
	"none", "zstd", "zstd:1", "zstd:19", "zstd:0", "zstd:20", "zstd:01", "zstd:9x", "lz4",
	"auto", "threads", "uring", "crc32c", "fdatasync", "json", "libvirt", "raw", "", "\\0",
	"<domain/>", "QEVM\\0\\0\\0\\3\\7", "MREIMG\\r\\n", "LibvirtQemudSave",
};

static const char *const ints[] = {
	"0", "1", "-1", "2", "255", "256", "257", "4095", "4096", "4097", "65536", "65535",
	"1 << 20", "(1 << 30)", "(1 << 30) + 1", "1 << 31", "1 << 32", "16 * 1024 * 1024",
	"16 * 1024 * 1024 + 1", "1 << 62", "math.maxinteger", "math.mininteger", "-4096",
	"host.cpus", "vm.ram_bytes", "target.dio_align", "target.free_bytes",
};

static const char *const floats[] = {
	"0.5", "4096.0", "1e308", "-0.0", "0/0", "1/0", "-1/0", "2^53", "2^63", "2^64", "256.0",
	"1048576.0", "vm.zero_ratio", "3.0000000001",
};

static const char *const facts[] = {
	"vm", "target", "host", "params", "vm.blocks", "vm.labels", "vm.name", "target.path",
	"params.capabilities", "vm.blocks[1]", "mre", "mre.MiB", "string", "print",
};

static void gen_value(struct in *in, struct mre_wbuf *wb, unsigned depth);

static void gen_string(struct in *in, struct mre_wbuf *wb)
{
	unsigned len = take(in, 24);

	mre_wbuf_u8(wb, '"');
	for (unsigned i = 0; i < len; i++)
		mre_wbuf_printf(wb, "\\x%02x", take(in, 256));
	mre_wbuf_u8(wb, '"');
}

static void gen_table(struct in *in, struct mre_wbuf *wb, unsigned depth, bool plan_keys)
{
	unsigned n = take(in, 6);

	mre_wbuf_u8(wb, '{');
	for (unsigned i = 0; i < n; i++) {
		switch (take(in, 5)) {
		case 0:
		case 1:
			if (plan_keys) {
				mre_wbuf_printf(wb, "[\"%s\"] = ",
						field_names[take(in, MRE_ARRAY_SIZE(field_names))]);
				break;
			}
			/* fall through */
		case 2:
			mre_wbuf_printf(wb, "[%s] = ", ints[take(in, MRE_ARRAY_SIZE(ints))]);
			break;
		case 3:
			mre_wbuf_u8(wb, '[');
			gen_string(in, wb);
			mre_wbuf_printf(wb, "] = ");
			break;
		default:
			break; /* positional */
		}
		gen_value(in, wb, depth + 1);
		mre_wbuf_printf(wb, ", ");
	}
	mre_wbuf_u8(wb, '}');
}

static void gen_header(struct in *in, struct mre_wbuf *wb, unsigned depth)
{
	switch (take(in, 6)) {
	case 0:
		mre_wbuf_printf(wb, "{ format = \"json\", data = ");
		gen_table(in, wb, depth + 1, false);
		mre_wbuf_printf(wb, " }");
		break;
	case 1:
		mre_wbuf_printf(wb, "{ format = \"libvirt\", xml = ");
		gen_value(in, wb, depth + 1);
		mre_wbuf_printf(wb, " }");
		break;
	case 2:
		mre_wbuf_printf(wb, "{ format = \"raw\", data = ");
		gen_value(in, wb, depth + 1);
		mre_wbuf_printf(wb, " }");
		break;
	case 3:
		mre_wbuf_printf(wb, "{ format = \"%s\" }", strings[take(in, MRE_ARRAY_SIZE(strings))]);
		break;
	case 4:
		mre_wbuf_printf(wb, "string.rep(\"A\", %u)", 1u << take(in, 26));
		break;
	default:
		gen_table(in, wb, depth + 1, false);
		break;
	}
}

static void gen_value(struct in *in, struct mre_wbuf *wb, unsigned depth)
{
	switch (depth > 4 ? take(in, 4) : take(in, 12)) {
	case 0:
		mre_wbuf_printf(wb, "%s", ints[take(in, MRE_ARRAY_SIZE(ints))]);
		break;
	case 1:
		mre_wbuf_printf(wb, "\"%s\"", strings[take(in, MRE_ARRAY_SIZE(strings))]);
		break;
	case 2:
		mre_wbuf_printf(wb, "%s", take(in, 2) ? "true" : "false");
		break;
	case 3:
		mre_wbuf_printf(wb, "%lld", (long long)take64(in));
		break;
	case 4:
		mre_wbuf_printf(wb, "%s", floats[take(in, MRE_ARRAY_SIZE(floats))]);
		break;
	case 5:
		gen_string(in, wb);
		break;
	case 6:
		gen_table(in, wb, depth, take(in, 2));
		break;
	case 7:
		gen_header(in, wb, depth);
		break;
	case 8:
		mre_wbuf_printf(wb, "%s", facts[take(in, MRE_ARRAY_SIZE(facts))]);
		break;
	case 9:
		mre_wbuf_printf(wb, "function() return 1 end");
		break;
	case 10:
		mre_wbuf_printf(wb, "setmetatable({}, { __index = function() return 1 end })");
		break;
	default:
		mre_wbuf_printf(wb, "nil");
		break;
	}
}

/* Statements before the return: read facts, loop, fail. */
static void gen_body(struct in *in, struct mre_wbuf *wb, const char *arg)
{
	switch (take(in, 10)) {
	case 0:
		mre_wbuf_printf(wb, "  for k, v in pairs(%s) do local _ = tostring(k) .. tostring(v) end\n", arg);
		break;
	case 1:
		mre_wbuf_printf(wb, "  error(\"policy says no\")\n");
		break;
	case 2:
		mre_wbuf_printf(wb, "  error({})\n");
		break;
	case 3:
		mre_wbuf_printf(wb, "  local t = {} for i = 1, %u do t[i] = i end\n", 1u << take(in, 24));
		break;
	case 4:
		mre_wbuf_printf(wb, "  while true do end\n");
		break;
	case 5:
		mre_wbuf_printf(wb, "  %s.x = 1\n", arg);
		break;
	case 6:
		mre_wbuf_printf(wb, "  mre.log(\"info\", tostring(%s))\n", arg);
		break;
	default:
		break;
	}
}

static void gen_policy(struct in *in, struct mre_wbuf *wb)
{
	static const struct {
		const char *name, *args, *first;
	} hooks[] = {
		{ "on_save", "vm, target, host, params", "vm" },
		{ "on_restore", "image, vm, host, params", "image" },
		{ "on_progress", "stats", "stats" },
		{ "on_complete", "result", "result" },
	};

	mre_wbuf_printf(wb, "return {\n  name = \"fuzz\",\n");
	for (unsigned h = 0; h < MRE_ARRAY_SIZE(hooks); h++) {
		if (!take(in, 4))
			continue;
		mre_wbuf_printf(wb, "  %s = function(%s)\n", hooks[h].name, hooks[h].args);
		gen_body(in, wb, hooks[h].first);
		mre_wbuf_printf(wb, "  return ");
		if (take(in, 4))
			gen_table(in, wb, 0, true);
		else
			gen_value(in, wb, 0);
		mre_wbuf_printf(wb, "\n  end,\n");
	}
	mre_wbuf_printf(wb, "}\n");
}

/* ---- facts ------------------------------------------------------------------- */

static const struct mre_facts_block blocks[] = {
	{ "pc.ram", 1ull << 30, 4096, "memfd" },
	{ "vga.vram", 16ull << 20, 4096, "file" },
};
static const char *const label_keys[] = { "tier" };
static const char *const label_values[] = { "gold" };
static const struct mre_param params[] = {
	{ .name = "multifd-channels", .type = MRE_PARAM_INT, .i = 4, .set = true },
	{ .name = "direct-io", .type = MRE_PARAM_BOOL, .b = true, .set = true },
	{ .name = "max-bandwidth", .type = MRE_PARAM_INT, .i = 1 << 20 },
	{ .name = "mapped-ram", .type = MRE_PARAM_BOOL, .b = true, .set = true, .capability = true },
	{ .name = "tls-creds", .type = MRE_PARAM_STR, .s = "" },
};

static void call_hooks(struct mre_policy *p)
{
	const struct mre_facts_vm vm = {
		.name = "web1", .uuid = "", .nlabels = 1, .label_keys = label_keys,
		.label_values = label_values, .ram_bytes = (1ull << 30) + (16ull << 20), .nblocks = 2,
		.blocks = blocks, .running = true, .zero_ratio = 0.5, .sample_compress_ratio = 0.25,
	};
	const struct mre_facts_target target = {
		.kind = "path", .path = "/var/lib/save/web1.img", .fs_type = "ext4", .direct_io = true,
		.dio_align = 4096, .free_bytes = 1ull << 40,
	};
	const struct mre_facts_host host = { .cpus = 2, .mem_free = 8ull << 30, .io_uring = true };
	const struct mre_facts_params prm = { MRE_ARRAY_SIZE(params), params };
	const struct mre_facts_image image = {
		.path = "web1.img", .format = "mapped-ram", .compression = "none", .header = "none",
		.checksums = true, .page_size = 4096, .ram_bytes = vm.ram_bytes, .present_bytes = 1 << 20,
		.nblocks = 2, .blocks = blocks,
	};
	const struct mre_facts_stats stats = { .status = "active", .total = 1 << 30, .transferred = 1 << 20 };
	const struct mre_facts_result result = { .status = "completed", .error = "", .kind = "save" };
	struct mre_err err = MRE_ERR_INIT;
	struct mre_plan plan;
	uint64_t bw = 0;

	for (unsigned kind = 0; kind < 2; kind++) {
		int r;

		mre_plan_defaults(&plan);
		mre_err_clear(&err);
		r = kind == 0 ? mre_policy_on_save(p, &vm, &target, &host, &prm, &plan, &err)
			      : mre_policy_on_restore(p, &image, &vm, &host, &prm, &plan, &err);
		if (!r) {
			struct mre_err verr = MRE_ERR_INIT;
			struct mre_plan copy;
			struct mre_wbuf wb;
			struct mre_jsonw j;

			if (mre_plan_validate(&plan, &verr))
				fuzz_die("%s accepted an invalid plan: %s", kind ? "on_restore" : "on_save", verr.msg);
			if (mre_plan_copy(&copy, &plan, &verr))
				fuzz_die("copying a plan failed: %s", verr.msg);
			mre_wbuf_init(&wb);
			mre_jsonw_init(&j, &wb);
			mre_plan_json(&copy, &j);
			if (!wb.len || wb.data[0] != '{' || wb.data[wb.len - 1] != '}')
				fuzz_die("a plan rendered as something else than a JSON object");
			mre_wbuf_free(&wb);
			mre_plan_free(&copy);
		} else if (!err.msg[0]) {
			fuzz_die("a hook failed without saying why (code %d)", r);
		}
		mre_plan_free(&plan);
	}
	mre_err_clear(&err);
	if (mre_policy_on_progress(p, &stats, &bw, &err) < 0 && !err.msg[0])
		fuzz_die("on_progress failed without saying why");
	mre_err_clear(&err);
	if (mre_policy_on_complete(p, &result, &err) < 0 && !err.msg[0])
		fuzz_die("on_complete failed without saying why");
}

static void run_policy(const void *src, size_t len)
{
	static const struct mre_policy_limits limits = {
		.mem_bytes = 16u << 20, .instructions = 200000, .time_ms = 500,
	};
	struct mre_err err = MRE_ERR_INIT;
	struct mre_policy *p = NULL;
	char path[64];
	int fd = fuzz_memfd(src, len);

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (!mre_policy_load(path, &limits, &p, &err)) {
		call_hooks(p);
		mre_policy_free(p);
	} else if (!err.msg[0]) {
		fuzz_die("a policy failed to load without saying why");
	}
	close(fd);
}

/* ---- plans straight from bytes ------------------------------------------------ */

static void run_plan(struct in *in)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_plan p;
	char *s[3] = { NULL, NULL, NULL };

	mre_plan_defaults(&p);
	p.channels = (unsigned)take64(in);
	p.io = (enum mre_plan_io)(int)take64(in);
	p.direct_io = take(in, 2);
	p.alignment = take64(in);
	p.compression = (enum mre_compression)(int)take64(in);
	p.level = (int)take64(in);
	p.chunk_size = take64(in);
	p.max_bandwidth = take64(in);
	p.checksum = (enum mre_checksum)(int)take64(in);
	p.sync = (enum mre_sync)(int)take64(in);
	p.header = (enum mre_plan_header)(int)take(in, 6);
	for (unsigned i = 0; i < 3; i++) {
		size_t n = take(in, 16);

		if (!take(in, 4))
			continue;
		s[i] = fuzz_xmalloc(n + 1);
		for (size_t k = 0; k < n; k++)
			s[i][k] = (char)take(in, 256);
		s[i][n] = 0;
	}
	p.header_json = s[0];
	p.header_xml = s[1];
	if (s[2]) {
		p.header_raw = (uint8_t *)s[2];
		p.header_raw_len = strlen(s[2]);
	}
	if (!mre_plan_validate(&p, &err)) {
		struct mre_wbuf wb;
		struct mre_jsonw j;

		if (p.channels < 1 || p.channels > MRE_PLAN_MAX_CHANNELS || !mre_is_pow2(p.alignment) ||
		    p.alignment < MRE_PLAN_MIN_ALIGN || p.alignment > MRE_PLAN_MAX_ALIGN ||
		    !mre_is_pow2(p.chunk_size) || p.chunk_size < MRE_PLAN_MIN_CHUNK ||
		    p.chunk_size > MRE_PLAN_MAX_CHUNK || (unsigned)p.io > MRE_PLAN_IO_URING ||
		    (unsigned)p.compression > MRE_COMP_LZ4 || (unsigned)p.checksum > MRE_CSUM_CRC32C ||
		    (unsigned)p.sync > MRE_SYNC_NONE || p.max_bandwidth > (uint64_t)INT64_MAX ||
		    (unsigned)p.header > MRE_PLAN_HEADER_RAW)
			fuzz_die("mre_plan_validate accepted a plan out of range");
		mre_wbuf_init(&wb);
		mre_jsonw_init(&j, &wb);
		mre_plan_json(&p, &j);
		mre_wbuf_free(&wb);
	} else if (!err.msg[0]) {
		fuzz_die("mre_plan_validate refused a plan without saying why");
	}
	mre_plan_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	struct mre_wbuf wb;

	mre_log_set_level(MRE_LOG_ERROR);
	switch (take(&in, 8)) {
	case 0:
		run_policy(in.p, in.n);
		break;
	case 1:
		run_plan(&in);
		break;
	default:
		mre_wbuf_init(&wb);
		gen_policy(&in, &wb);
		if (mre_wbuf_err(&wb))
			fuzz_die("out of memory generating a policy");
		run_policy(wb.data, wb.len);
		mre_wbuf_free(&wb);
		break;
	}
	return 0;
}
