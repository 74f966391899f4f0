/* SPDX-License-Identifier: MIT */
/*
 * test_policy_runtime.c: the policy API driven from C: finding and loading,
 * load errors, each hook, the views a hook sees (contents and read-only),
 * plan conversion and its errors, the mre module, logging, budgets, taint
 * and rebuild, and the cost of a call.
 */
#include "tap.h"

#include <errno.h>
#include <sys/stat.h>
#include <time.h>

#include "util/log.h"

#include "../policy/fixture.h"

static struct mre_err err;

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

/* Load @src, expect failure with @needle in the message. */
static void load_fails(const char *file, const char *src, const char *needle, const char *what)
{
	struct mre_policy *p = fx_load(file, src, &err);

	ok(!p && err.code == MRE_EPOLICY, "%s: load fails with MRE_EPOLICY", what);
	like(err.msg, needle, "%s: message", what);
	mre_policy_free(p);
}

/* Run on_save of @src; returns rc; plan left in *plan. */
static int save_with(const char *src, struct mre_plan *plan)
{
	struct mre_facts_vm vm = fx_vm();
	struct mre_facts_target t = fx_target();
	struct mre_facts_host h = fx_host();
	struct mre_policy *p = fx_load("s.lua", src, &err);
	int rc;

	mre_plan_defaults(plan);
	if (!p) {
		diag("load failed: %s", err.msg);
		return -1;
	}
	mre_err_clear(&err);
	rc = mre_policy_on_save(p, &vm, &t, &h, NULL, plan, &err);
	mre_policy_free(p);
	return rc;
}

static void save_fails(const char *src, const char *needle, const char *what)
{
	struct mre_plan plan;
	int rc = save_with(src, &plan);

	is_int(rc, MRE_EPOLICY, "%s: on_save fails", what);
	like(err.msg, needle, "%s: message", what);
	is_int(plan.channels, 2, "%s: plan unchanged", what);
	mre_plan_free(&plan);
}

static void test_find(void)
{
	char out[4096], cwd[4096];

	fx_policy("findme.lua", "return {}");
	is_int(mre_policy_find(fx_write("findme.lua", "return {}", 9), out, sizeof(out), &err), 0,
	       "find: a path is used as given");
	mre_err_clear(&err);
	is_int(mre_policy_find("nosuch.lua", out, sizeof(out), &err), -ENOENT, "find: missing file");
	like(err.msg, "nosuch.lua: no such readable file", "find: missing file message");
	mre_err_clear(&err);
	is_int(mre_policy_find("nosuch-policy", out, sizeof(out), &err), -ENOENT, "find: unknown name");
	like(err.msg, "looked for nosuch-policy.lua in ./policies and ", "find: names where it looked");

	/* a bare name is found in ./policies */
	if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = 0;
	fx_policy("policies", "");  /* make sure the directory can be created below */
	unlink(fx_write("policies", "", 0));
	{
		char d[600];

		snprintf(d, sizeof(d), "%s/policies", fx_dir);
		mkdir(d, 0700);
		snprintf(d, sizeof(d), "%s/policies/local-one.lua", fx_dir);
		FILE *f = fopen(d, "w");
		fputs("return { name = \"local-one\" }", f);
		fclose(f);
	}
	if (chdir(fx_dir) == 0) {
		mre_err_clear(&err);
		is_int(mre_policy_find("local-one", out, sizeof(out), &err), 0, "find: bare name in ./policies");
		is_str(out, "policies/local-one.lua", "find: the path found");
		if (chdir(cwd)) {
		}
	} else {
		ok(0, "chdir");
		ok(0, "chdir");
	}
}

static void test_load(void)
{
	struct mre_policy *p;

	p = fx_load("named.lua",
		    "-- comment\nreturn {\n name = \"my-policy\",\n description = \"d\",\n"
		    " on_save = function() end,\n on_complete = function() end,\n}\n",
		    &err);
	ok(p != NULL, "load a valid policy");
	if (p) {
		is_str(mre_policy_name(p), "my-policy", "name from the table");
		like(mre_policy_path(p), "/named.lua", "path");
		ok(mre_policy_has_hook(p, MRE_HOOK_SAVE), "has on_save");
		ok(!mre_policy_has_hook(p, MRE_HOOK_RESTORE), "no on_restore");
		ok(!mre_policy_has_hook(p, MRE_HOOK_PROGRESS), "no on_progress");
		ok(mre_policy_has_hook(p, MRE_HOOK_COMPLETE), "has on_complete");
	}
	mre_policy_free(p);
	p = fx_load("stem-name.lua", "return {}", &err);
	ok(p && !strcmp(mre_policy_name(p), "stem-name"), "name defaults to the file stem");
	mre_policy_free(p);
	p = fx_load("shebang.lua", "#!/usr/bin/env lua\nreturn { on_save = function() error('line 2') end }", &err);
	ok(p != NULL, "a first line starting with # is skipped");
	if (p) {
		struct mre_plan plan;

		mre_plan_defaults(&plan);
		mre_policy_on_save(p, NULL, NULL, NULL, NULL, &plan, &err);
		like(err.msg, "(shebang.lua:2)", "line numbers stay right after a # line");
	}
	mre_policy_free(p);

	load_fails("syntax.lua", "return {\n on_save = function()\n  x = = 1\n end }",
		   "policy syntax: load: ", "syntax error");
	like(err.msg, "(syntax.lua:3)", "syntax error: file and line");
	load_fails("notable.lua", "local x = 1\nreturn 42\n",
		   "policy notable: load: the policy must return a table of hooks (got number)",
		   "non-table result");
	like(err.msg, "(notable.lua:2)", "non-table result: line of the return");
	load_fails("nothing.lua", "local x = 1\n", "must return a table of hooks (got nil)",
		   "no result");
	load_fails("unknown.lua", "return {\n on_sav = function() end\n}\n",
		   "unknown key 'on_sav' in the policy table (allowed: name, description, on_save, on_restore, on_progress, on_complete)",
		   "unknown key");
	load_fails("notfn.lua", "return { on_save = { channels = 4 } }",
		   "'on_save' must be a function (got table)", "hook not a function");
	load_fails("numkey.lua", "return { 1, 2 }", "the policy table has a number key", "array entries");
	load_fails("badname.lua", "return { name = \"a b\" }", "'name' may only hold letters", "bad name");
	load_fails("namenum.lua", "return { name = 5 }", "'name' must be a string (got number)", "name not a string");
	load_fails("rterr.lua", "local t = nil\nlocal x = t.field\nreturn {}",
		   "policy rterr: load: attempt to index a nil value (local 't') (rterr.lua:2)",
		   "runtime error while loading");
	load_fails("loadloop.lua", "while true do end\nreturn {}",
		   "policy loadloop: load: instruction budget exceeded", "loop at load time");
	{
		static const char bin[] = "\x1bLuaT\x00\x19\x93\r\n\x1a\n\x04\x08\x08xV\x00\x00";
		struct mre_policy *q = NULL;

		mre_err_clear(&err);
		ok(mre_policy_load(fx_write("bin.lua", bin, sizeof(bin) - 1), NULL, &q, &err) == MRE_EPOLICY,
		   "binary chunk refused");
		like(err.msg, "binary chunks are refused", "binary chunk: message");
		mre_policy_free(q);
	}
}

static const char views_src[] =
	"local function eq(a, b, what)\n"
	"  if a ~= b then error(what .. ': got ' .. tostring(a) .. ', expected ' .. tostring(b), 2) end\n"
	"end\n"
	"return { on_save = function(vm, target, host, params)\n"
	"  eq(vm.name, 'web1', 'vm.name')\n"
	"  eq(vm.uuid, '5b0a7c4e-1111-2222-3333-444455556666', 'vm.uuid')\n"
	"  eq(vm.labels.tier, 'gold', 'labels.tier')\n"
	"  eq(vm.labels.env, 'prod', 'labels.env')\n"
	"  eq(vm.labels.nope, nil, 'missing label')\n"
	"  eq(vm.ram_bytes, 4 * mre.GiB + 16 * mre.MiB, 'ram_bytes')\n"
	"  eq(#vm.blocks, 2, '#blocks')\n"
	"  eq(vm.blocks[1].id, 'pc.ram', 'block id')\n"
	"  eq(vm.blocks[1].size, 4 * mre.GiB, 'block size')\n"
	"  eq(vm.blocks[2].backing, 'file', 'block backing')\n"
	"  eq(vm.blocks[2].page_size, 4096, 'page size')\n"
	"  eq(vm.running, true, 'running')\n"
	"  eq(vm.zero_ratio, 0.25, 'zero_ratio')\n"
	"  eq(vm.sample_compress_ratio, 0.5, 'compress ratio')\n"
	"  eq(target.kind, 'path', 'target.kind')\n"
	"  eq(target.path, '/var/lib/save/web1.img', 'target.path')\n"
	"  eq(target.fs_type, 'xfs', 'fs_type')\n"
	"  eq(target.direct_io, true, 'direct_io')\n"
	"  eq(target.dio_align, 4096, 'dio_align')\n"
	"  eq(target.free_bytes, 100 * mre.GiB, 'free_bytes')\n"
	"  eq(target.rotational, false, 'rotational')\n"
	"  eq(host.cpus, 8, 'cpus')\n"
	"  eq(host.mem_free, 32 * mre.GiB, 'mem_free')\n"
	"  eq(host.io_uring, true, 'io_uring')\n"
	"  eq(params['multifd-channels'], 4, 'multifd-channels')\n"
	"  eq(params['max-bandwidth'], 0, 'max-bandwidth')\n"
	"  eq(params['x-io'], 'threads', 'x-io')\n"
	"  eq(params.capabilities.multifd, true, 'multifd capability')\n"
	"  eq(params.capabilities['mapped-ram'], true, 'mapped-ram capability')\n"
	"  eq(params.multifd, nil, 'capabilities are not top-level')\n"
	"  eq(params.set['multifd-channels'], true, 'set by name')\n"
	"  eq(params.set['max-bandwidth'], nil, 'not set')\n"
	"  eq(#params.set, 2, '#set')\n"
	"  eq(params.set[1], 'multifd-channels', 'set[1]')\n"
	"  eq(params.set[2], 'multifd', 'set[2]')\n"
	"  eq(mre.explicit(params, 'multifd-channels'), 4, 'explicit')\n"
	"  eq(mre.explicit(params, 'max-bandwidth'), nil, 'explicit, not set')\n"
	"  local n = 0\n"
	"  for k, v in pairs(vm) do n = n + 1 end\n"
	"  eq(n, 8, 'pairs(vm) sees every field')\n"
	"  local ids = {}\n"
	"  for i, b in ipairs(vm.blocks) do ids[#ids + 1] = b.id end\n"
	"  eq(table.concat(ids, ','), 'pc.ram,vga.vram', 'ipairs over blocks')\n"
	"  eq(tostring(vm):match('^vm: '), 'vm: ', 'views are named')\n"
	"  eq(getmetatable(vm), 'read-only', 'metatable locked')\n"
	"  return { channels = 7 }\n"
	"end }\n";

static void test_views(void)
{
	struct mre_facts_vm vm = fx_vm();
	struct mre_facts_target t = fx_target();
	struct mre_facts_host h = fx_host();
	struct mre_param pv[] = {
		{ .name = "multifd-channels", .type = MRE_PARAM_INT, .i = 4, .set = true },
		{ .name = "max-bandwidth", .type = MRE_PARAM_INT, .i = 0 },
		{ .name = "x-io", .type = MRE_PARAM_STR, .s = "threads" },
		{ .name = "multifd", .type = MRE_PARAM_BOOL, .b = true, .set = true, .capability = true },
		{ .name = "mapped-ram", .type = MRE_PARAM_BOOL, .b = true, .capability = true },
	};
	struct mre_facts_params params = { .n = 5, .p = pv };
	struct mre_policy *p = fx_load("views.lua", views_src, &err);
	struct mre_plan plan;
	int rc;

	mre_plan_defaults(&plan);
	ok(p != NULL, "views policy loads");
	if (!p)
		return;
	mre_err_clear(&err);
	rc = mre_policy_on_save(p, &vm, &t, &h, &params, &plan, &err);
	is_int(rc, 0, "every view field has the value of its fact");
	if (rc)
		diag("%s", err.msg);
	is_int(plan.channels, 7, "the plan from the hook");
	is_str(plan.policy, "views", "the plan names its policy");
	mre_plan_free(&plan);
	mre_policy_free(p);

	/* read-only, strict */
	save_fails("return { on_save = function(vm) vm.name = 'x' end }",
		   "policy s: on_save: cannot assign to 'vm.name': vm is read-only (s.lua:1)", "assign to vm.name");
	save_fails("return { on_save = function(vm) vm.labels.tier = 'x' end }",
		   "cannot assign to 'labels.tier'", "assign to a label");
	save_fails("return { on_save = function(vm) vm.blocks[1] = {} end }",
		   "cannot modify blocks", "replace a block");
	save_fails("return { on_save = function(vm) table.insert(vm.blocks, {}) end }",
		   "read-only", "table.insert into blocks");
	save_fails("return { on_save = function(vm, t, host, params) params.set.x = true end }",
		   "read-only", "assign into params.set");
	save_fails("return { on_save = function(vm) rawset(vm, 'name', 'x') end }",
		   "rawset: the table is read-only", "rawset on a view");
	save_fails("return { on_save = function(vm) setmetatable(vm, nil) end }",
		   "read-only", "setmetatable on a view");
	save_fails("return { on_save = function(vm)\n return { channels = vm.ram_byts }\nend }",
		   "vm has no field 'ram_byts' (fields: blocks, labels, name, ram_bytes, running, sample_compress_ratio, uuid, zero_ratio) (s.lua:2)", "typo in a view field");
}

static void test_plans(void)
{
	struct mre_plan plan;

	is_int(save_with("return { on_save = function(vm, target, host)\n"
			 " return { channels = host.cpus, io = 'uring', direct_io = true, alignment = 2 * mre.MiB,\n"
			 "  compression = 'zstd:5', chunk_size = 4 * mre.MiB, max_bandwidth = 100 * mre.MiB,\n"
			 "  checksum = 'none', sync = 'none', prealloc = true, direct_io_fallback = true,\n"
			 "  header = mre.header.json({ owner = 'ops', n = 3, tags = { 'a', 'b' }, nested = { ok = true, r = 0.5 } }) }\n"
			 "end }",
			 &plan),
	       0, "a full plan");
	is_int(plan.channels, 8, "channels");
	is_int(plan.io, MRE_PLAN_IO_URING, "io");
	ok(plan.direct_io && plan.direct_io_fallback && plan.prealloc, "booleans");
	is_u64(plan.alignment, 2 << 20, "alignment");
	ok(plan.compression == MRE_COMP_ZSTD && plan.level == 5, "compression zstd:5");
	is_u64(plan.chunk_size, 4 << 20, "chunk_size");
	is_u64(plan.max_bandwidth, 100 << 20, "max_bandwidth");
	is_int(plan.checksum, MRE_CSUM_NONE, "checksum");
	is_int(plan.sync, MRE_SYNC_NONE, "sync");
	is_int(plan.header, MRE_PLAN_HEADER_MRENGINE, "json header");
	is_str(plan.header_json,
	       "{\"n\": 3, \"nested\": {\"ok\": true, \"r\": 0.5}, \"owner\": \"ops\", \"tags\": [\"a\", \"b\"]}",
	       "header data as JSON, keys sorted");
	mre_plan_free(&plan);

	is_int(save_with("return { on_save = function(vm) return { header = mre.header.libvirt('<domain/>') } end }", &plan),
	       0, "libvirt header");
	ok(plan.header == MRE_PLAN_HEADER_LIBVIRT && plan.header_xml && !strcmp(plan.header_xml, "<domain/>"),
	   "libvirt header carries the XML");
	mre_plan_free(&plan);
	is_int(save_with("return { on_save = function(vm) return { header = 'MAGIC\\0bytes' } end }", &plan),
	       0, "raw header string");
	ok(plan.header == MRE_PLAN_HEADER_RAW && plan.header_raw_len == 11 &&
		   !memcmp(plan.header_raw, "MAGIC\0bytes", 11),
	   "raw header bytes verbatim, NUL included");
	mre_plan_free(&plan);
	is_int(save_with("return { on_save = function() return nil end }", &plan), 0, "nil: no opinion");
	ok(plan.channels == 2 && plan.policy == NULL, "nil leaves the plan as it was");
	mre_plan_free(&plan);
	is_int(save_with("return { on_save = function() return { compression = 'zstd' } end }", &plan), 0,
	       "bare zstd");
	ok(plan.compression == MRE_COMP_ZSTD && plan.level == 0, "zstd at the library level");
	mre_plan_free(&plan);
	is_int(save_with("return { on_save = function() return { channels = 4.0 } end }", &plan), 0,
	       "an integral float is an integer");
	is_int(plan.channels, 4, "4.0 channels");
	mre_plan_free(&plan);

	save_fails("return { on_save = function() return { chanels = 4 } end }",
		   "unknown plan field \"chanels\" (allowed: alignment, channels, checksum, chunk_size, compression, direct_io, direct_io_fallback, header, io, max_bandwidth, prealloc, sync)",
		   "unknown plan key");
	save_fails("return { on_save = function() return { 4 } end }", "unknown plan field 1", "array plan");
	save_fails("return { on_save = function() return { channels = '4' } end }",
		   "plan field 'channels': \"4\" is not a number (allowed: an integer from 1 to 256)",
		   "channels as a string");
	save_fails("return { on_save = function() return { channels = 2.5 } end }",
		   "plan field 'channels': 2.5 is not an integer", "fractional channels");
	save_fails("return { on_save = function() return { channels = 0 } end }",
		   "plan field 'channels': 0 is not allowed (allowed: an integer from 1 to 256)", "0 channels");
	save_fails("return { on_save = function() return { channels = 300 } end }",
		   "plan field 'channels': 300 is not allowed", "300 channels");
	save_fails("return { on_save = function() return { io = 'fast' } end }",
		   "plan field 'io': \"fast\" is not allowed (allowed: \"auto\", \"threads\", \"uring\")", "io fast");
	save_fails("return { on_save = function() return { direct_io = 1 } end }",
		   "plan field 'direct_io': 1 is not a boolean (allowed: true, false)", "direct_io 1");
	save_fails("return { on_save = function() return { alignment = 3000 } end }",
		   "plan field 'alignment': 3000 is not allowed (allowed: a power of two from 4096", "alignment 3000");
	save_fails("return { on_save = function() return { alignment = 2 * mre.GiB } end }",
		   "plan field 'alignment': 2147483648 is not allowed", "alignment 2 GiB");
	save_fails("return { on_save = function() return { compression = 'zstd:42' } end }",
		   "plan field 'compression': \"zstd:42\" is not allowed (allowed: \"none\", \"zstd\", \"zstd:1\"..\"zstd:19\", \"lz4\")",
		   "zstd:42");
	save_fails("return { on_save = function() return { chunk_size = 1000 } end }",
		   "plan field 'chunk_size': 1000 is not allowed", "chunk 1000");
	save_fails("return { on_save = function() return { max_bandwidth = -1 } end }",
		   "plan field 'max_bandwidth': -1 is not allowed (allowed: an integer >= 0", "negative bandwidth");
	save_fails("return { on_save = function() return { checksum = 'md5' } end }",
		   "plan field 'checksum': \"md5\" is not allowed (allowed: \"none\", \"crc32c\")", "checksum md5");
	save_fails("return { on_save = function() return { sync = 'fsync' } end }",
		   "plan field 'sync': \"fsync\" is not allowed (allowed: \"fdatasync\", \"none\")", "sync fsync");
	save_fails("return { on_save = function() return { verify = true } end }",
		   "plan field 'verify' does not apply to a save", "verify in a save plan");
	save_fails("return { on_save = function() return { header = 5 } end }",
		   "plan field 'header': 5 is not a header", "header 5");
	save_fails("return { on_save = function() return { header = { format = 'xml' } } end }",
		   "plan field 'header.format': \"xml\" is not allowed (allowed: \"json\", \"libvirt\", \"raw\", \"none\")",
		   "header format xml");
	save_fails("return { on_save = function() return { header = { format = 'json', data = { f = print } } } end }",
		   "'print' is not available in a policy; use mre.log", "print is gone");
	save_fails("return { on_save = function() return { header = { format = 'json', data = { f = type } } } end }",
		   "plan field 'header': data at data.f is a function", "function in header data");
	save_fails("return { on_save = function() return { header = { format = 'json', data = { x = 0/0 } } } end }",
		   "data at data.x is not a finite number", "NaN in header data");
	save_fails("return { on_save = function() local t = {} local c = t for i = 1, 40 do c.n = {} c = c.n end\n"
		   " return { header = mre.header.json(t) } end }",
		   "nested deeper than 16 levels", "deep header data");
	save_fails("return { on_save = function() return { header = { format = 'json', data = { 1, 2 } } } end }",
		   "json data must be a table of named fields", "list as header data");
	save_fails("return { on_save = function() return { header = { format = 'json', data = { 1, a = 2 } } } end }",
		   "mixes names and array indexes", "mixed header data");
	save_fails("return { on_save = function() return { header = { format = 'libvirt', xml = 'a', data = 1 } } end }",
		   "format \"libvirt\" takes no 'data'", "libvirt with data");
	save_fails("return { on_save = function() return { header = { format = 'json', data = {}, extra = 1 } } end }",
		   "unknown key \"extra\" (allowed: format, data, xml)", "header extra key");
	save_fails("return { on_save = function() return 'fast' end }",
		   "the hook returned \"fast\" (allowed: a plan table, or nil for no opinion)", "string result");
	save_fails("return { on_save = function() return { direct_io = true, alignment = 4096 * 3 } end }",
		   "alignment': 12288 is not allowed", "alignment 12 KiB");
	save_fails("return {\n on_save = function()\n  return { channels = 'x' }\n end }",
		   "(s.lua:2)", "conversion errors point at the hook's definition");
}

static void test_direct_io_refusal(void)
{
	struct mre_facts_target t = fx_target();
	struct mre_facts_host h = fx_host();
	struct mre_plan plan;
	struct mre_policy *p = fx_load("dio.lua", "return { on_save = function(vm, target) return { direct_io = true } end }", &err);

	t.direct_io = false;
	t.fs_type = "tmpfs";
	t.path = "/dev/shm/x";
	mre_plan_defaults(&plan);
	mre_err_clear(&err);
	is_int(mre_policy_on_save(p, NULL, &t, &h, NULL, &plan, &err), MRE_EPOLICY,
	       "direct_io refused when the target cannot");
	like(err.msg, "plan field 'direct_io': true, but the target /dev/shm/x (tmpfs) does not support O_DIRECT",
	     "direct_io refusal message");
	mre_policy_free(p);
	p = fx_load("dio2.lua", "return { on_save = function() return { direct_io = true, direct_io_fallback = true } end }", &err);
	mre_err_clear(&err);
	is_int(mre_policy_on_save(p, NULL, &t, &h, NULL, &plan, &err), 0, "with direct_io_fallback it is accepted");
	mre_plan_free(&plan);
	mre_policy_free(p);
}

static void test_other_hooks(void)
{
	struct mre_facts_image img = {
		.path = "/img", .format = "mapped-ram", .compression = "none", .header = "libvirt",
		.checksums = true, .page_size = 4096, .ram_bytes = 1 << 30, .present_bytes = 1 << 20,
		.nblocks = 1, .blocks = fx_blocks,
	};
	struct mre_facts_stats st = { .status = "active", .total = 100, .transferred = 40,
				      .remaining = 60, .elapsed_ms = 500, .mbps = 12.5 };
	struct mre_facts_result res = { .status = "failed", .error = "disk full", .kind = "save",
					.bytes = 40, .duration_ms = 900, .mbps = 3.5 };
	struct mre_facts_host h = fx_host();
	struct mre_plan plan;
	uint64_t bw = 0;
	struct mre_policy *p = fx_load(
		"hooks.lua",
		"return {\n"
		" on_restore = function(image, vm, host, params)\n"
		"  assert(image.path == '/img' and image.format == 'mapped-ram' and image.header == 'libvirt')\n"
		"  assert(image.checksums and image.page_size == 4096 and image.present_bytes == mre.MiB)\n"
		"  assert(image.blocks[1].id == 'pc.ram' and image.ram_bytes == mre.GiB and image.compression == 'none')\n"
		"  return { channels = host.cpus, verify = image.checksums, io = 'threads' }\n"
		" end,\n"
		" on_progress = function(s)\n"
		"  assert(s.status == 'active' and s.total == 100 and s.transferred + s.remaining == 100)\n"
		"  assert(s.elapsed_ms == 500 and s.mbps == 12.5 and s.zero_pages == 0 and s.normal_pages == 0)\n"
		"  if s.transferred < s.total then return { max_bandwidth = 50 * mre.MiB } end\n"
		" end,\n"
		" on_complete = function(r)\n"
		"  assert(r.status == 'failed' and r.error == 'disk full' and r.kind == 'save')\n"
		"  assert(r.bytes == 40 and r.duration_ms == 900 and r.mbps == 3.5)\n"
		"  mre.log('warn', 'save of %d bytes %s: %s', r.bytes, r.status, r.error)\n"
		" end,\n"
		"}\n",
		&err);

	ok(p != NULL, "hooks policy loads");
	if (!p) {
		diag("%s", err.msg);
		return;
	}
	mre_plan_defaults(&plan);
	mre_err_clear(&err);
	is_int(mre_policy_on_restore(p, &img, NULL, &h, NULL, &plan, &err), 0, "on_restore sees the image");
	if (err.code)
		diag("%s", err.msg);
	ok(plan.channels == 8 && plan.verify && plan.io == MRE_PLAN_IO_THREADS, "restore plan applied");
	mre_plan_free(&plan);
	mre_err_clear(&err);
	is_int(mre_policy_on_progress(p, &st, &bw, &err), 1, "on_progress returns a bandwidth");
	is_u64(bw, 50 << 20, "the bandwidth");
	st.transferred = 100;
	st.remaining = 0;
	bw = 0;
	mre_err_clear(&err);
	is_int(mre_policy_on_progress(p, &st, &bw, &err), 0, "on_progress returning nil: no change");
	if (err.code)
		diag("%s", err.msg);
	is_u64(bw, 0, "bandwidth untouched");
	is_int(mre_policy_on_complete(p, &res, &err), 0, "on_complete sees the result");
	mre_err_clear(&err);
	is_int(mre_policy_on_save(p, NULL, NULL, NULL, NULL, &plan, &err), 0, "a missing hook is no opinion");
	mre_policy_free(p);

	p = fx_load("badhooks.lua",
		    "return {\n on_restore = function() return { compression = 'zstd' } end,\n"
		    " on_progress = function() return { max_bandwidth = 1, channels = 2 } end,\n"
		    " on_complete = function() return 1 end }\n",
		    &err);
	mre_plan_defaults(&plan);
	mre_err_clear(&err);
	is_int(mre_policy_on_restore(p, &img, NULL, &h, NULL, &plan, &err), MRE_EPOLICY, "restore plan with compression");
	like(err.msg, "policy badhooks: on_restore: plan field 'compression' does not apply to a restore (allowed: channels, direct_io, direct_io_fallback, io, verify) (badhooks.lua:2)",
	     "restore plan fields");
	mre_err_clear(&err);
	is_int(mre_policy_on_progress(p, &st, &bw, &err), MRE_EPOLICY, "progress result with channels");
	like(err.msg, "on_progress: unknown field \"channels\" in the progress result (allowed: max_bandwidth)",
	     "progress result fields");
	mre_err_clear(&err);
	is_int(mre_policy_on_complete(p, &res, &err), MRE_EPOLICY, "on_complete returning a value");
	like(err.msg, "on_complete: the hook returned a number (allowed: nothing)", "on_complete result");
	mre_policy_free(p);
}

static void test_mre_module(void)
{
	struct mre_plan plan;

	is_int(save_with("return { on_save = function()\n"
			 " assert(mre.KiB == 1024 and mre.MiB == 1024 * 1024 and mre.GiB == 1 << 30 and mre.TiB == 1 << 40)\n"
			 " local t0 = mre.now() assert(type(t0) == 'number' and t0 > 0 and mre.now() >= t0)\n"
			 " assert(mre.clamp(5, 1, 4) == 4 and mre.clamp(0, 1, 4) == 1 and mre.clamp(3, 1, 4) == 3)\n"
			 " assert(mre.pow2_floor(7) == 4 and mre.pow2_floor(8) == 8 and mre.pow2_floor(1) == 1)\n"
			 " local h = mre.header.json({ a = 1 }) assert(h.format == 'json' and h.data.a == 1)\n"
			 " h = mre.header.libvirt('<x/>') assert(h.format == 'libvirt' and h.xml == '<x/>')\n"
			 " assert(mre.xml_escape([[a<b>&'\"]]) == 'a&lt;b&gt;&amp;&apos;&quot;')\n"
			 " local m = mre.merge({ a = 1, b = 2 }, { b = 3 }) assert(m.a == 1 and m.b == 3)\n"
			 " assert(mre.all(mre.always, mre.label('tier', 'gold'))(" "{ labels = { tier = 'gold' } }))\n"
			 " assert(not mre.any(mre.ram_at_least(10))({ ram_bytes = 5, labels = {} }))\n"
			 " assert(collectgarbage('count') > 0)\n"
			 " local s = ('x'):rep(3) assert(s:upper() == 'XXX' and #s == 3)\n"
			 " local a, b = ('db-12'):match('^(%a+)%-(%d+)$') assert(a == 'db' and b == '12')\n"
			 " assert(('a.b.c'):gsub('%.', '/') == 'a/b/c' and ('x*y'):find('*', 1, true) == 2)\n"
			 " local n = 0 for w in ('k1=v1,k2=v2'):gmatch('(%w+)=(%w+)') do n = n + 1 end assert(n == 2)\n"
			 " local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end)\n"
			 " assert(co(1) == 2 and co(5) == 10)\n"
			 " local ok, e = pcall(error, 'caught') assert(not ok and e == 'caught')\n"
			 " return { channels = 3 }\n"
			 "end }",
			 &plan),
	       0, "the mre module, libraries and pcall work");
	if (err.code)
		diag("%s", err.msg);
	is_int(plan.channels, 3, "mre module checks passed");
	mre_plan_free(&plan);
	save_fails("return { on_save = function()\n local x = mre.clamp('a', 1, 2)\nend }",
		   "mre.clamp(x, lo, hi) takes three numbers (s.lua:2)", "prelude errors point at the policy line");
	save_fails("return { on_save = function()\n mre.log('loud', 'x')\nend }",
		   "mre.log: level \"loud\" is not one of debug, info, warn, error (s.lua:2)", "bad log level");
	save_fails("return { on_save = function()\n mre.log('info', {})\nend }",
		   "mre.log: the message must be a string", "log of a table");
}

/* Capture what util/log writes to stderr while @fn runs. */
static char *capture_stderr(void (*fn)(void *), void *arg)
{
	static char buf[65536];
	char path[600];
	int saved = dup(2), fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/stderr.txt", fx_dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	fflush(stderr);
	dup2(fd, 2);
	fn(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	close(fd);
	return buf;
}

static void run_save(void *arg)
{
	struct mre_policy *p = arg;
	struct mre_plan plan;

	mre_plan_defaults(&plan);
	mre_err_clear(&err);
	mre_policy_on_save(p, NULL, NULL, NULL, NULL, &plan, &err);
	mre_plan_free(&plan);
}

static void test_log(void)
{
	struct mre_policy *p;
	const char *out;
	int lines = 0;

	mre_log_set_level(MRE_LOG_INFO);
	p = fx_load("logger.lua",
		    "return { on_save = function() mre.log('info', 'hello %s %d', 'world', 42)\n"
		    " mre.log('debug', 'hidden') mre.log('warn', 'two\\nlines') end }",
		    &err);
	out = capture_stderr(run_save, p);
	like(out, "mrengine: info: policy logger: hello world 42\n", "mre.log goes to the log, formatted");
	ok(!strstr(out, "hidden"), "levels above the log level are dropped");
	like(out, "mrengine: warning: policy logger: two\\x0alines\n", "one line per message");
	mre_policy_free(p);

	p = fx_load("flood.lua", "return { on_save = function() for i = 1, 500 do mre.log('info', 'n=' .. i) end end }", &err);
	out = capture_stderr(run_save, p);
	for (const char *s = out; (s = strstr(s, "policy flood: n=")); s++)
		lines++;
	ok(lines >= 20 && lines <= 22, "mre.log is rate-limited (500 calls, %d lines)", lines);
	mre_policy_free(p);
	mre_log_set_level(MRE_LOG_WARN);
}

static void test_taint(void)
{
	struct mre_facts_vm vm = fx_vm();
	struct mre_plan plan;
	struct mre_policy *p = fx_load(
		"counter.lua",
		"local calls = 0\n"
		"return { on_save = function(vm)\n"
		"  calls = calls + 1\n"
		"  if vm.name == 'loop' then while true do end end\n"
		"  if vm.name == 'bomb' then local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(64) .. i end end\n"
		"  if vm.name == 'fail' then error('plain failure') end\n"
		"  return { channels = calls }\n"
		"end }\n",
		&err);
	const char *names[] = { "loop", "bomb" };

	mre_plan_defaults(&plan);
	vm.name = "a";
	is_int(mre_policy_on_save(p, &vm, NULL, NULL, NULL, &plan, &err), 0, "call 1");
	is_int(plan.channels, 1, "state: 1 call");
	is_int(mre_policy_on_save(p, &vm, NULL, NULL, NULL, &plan, &err), 0, "call 2");
	is_int(plan.channels, 2, "state kept between calls: 2 calls");
	vm.name = "fail";
	mre_err_clear(&err);
	is_int(mre_policy_on_save(p, &vm, NULL, NULL, NULL, &plan, &err), MRE_EPOLICY, "a plain error");
	is_str(err.msg, "policy counter: on_save: plain failure (counter.lua:6)", "plain error message");
	vm.name = "a";
	is_int(mre_policy_on_save(p, &vm, NULL, NULL, NULL, &plan, &err), 0, "call after a plain error");
	is_int(plan.channels, 4, "a plain error does not rebuild the state");
	for (int k = 0; k < 2; k++) {
		vm.name = names[k];
		mre_err_clear(&err);
		is_int(mre_policy_on_save(p, &vm, NULL, NULL, NULL, &plan, &err), MRE_EPOLICY, "%s killed", names[k]);
		like(err.msg, k ? "policy counter: on_save: memory limit exceeded (16777216 bytes) (counter.lua:5)"
				: "policy counter: on_save: instruction budget exceeded (10000000 instructions) (counter.lua:4)",
		     "%s: message", names[k]);
		vm.name = "a";
		mre_err_clear(&err);
		is_int(mre_policy_on_save(p, &vm, NULL, NULL, NULL, &plan, &err), 0, "call after %s", names[k]);
		is_int(plan.channels, 1, "the state was rebuilt from source after %s", names[k]);
	}
	mre_plan_free(&plan);
	mre_policy_free(p);
}

static void test_limits_and_cost(void)
{
	struct mre_policy_limits lim = { .mem_bytes = 1 << 20, .instructions = 20000, .time_ms = 50 };
	struct mre_policy *p = NULL;
	struct mre_plan plan;
	uint64_t insn, us, t0;
	const char *path = fx_policy("limits.lua",
				     "return { on_save = function(vm)\n"
				     "  if vm.name == 'count' then local s = 0 for i = 1, 1000 do s = s + i end return { channels = 1 } end\n"
				     "  if vm.name == 'mem' then local t = {} for i = 1, 1e6 do t[i] = i end end\n"
				     "  if vm.name == 'slow' then local s = 0 for i = 1, 1e5 do s = s + #tostring(i):rep(200) end end\n"
				     "  if vm.name == 'loop' then while true do end end\n"
				     "end }\n");
	struct mre_facts_vm vm = fx_vm();

	is_int(mre_policy_load(path, &lim, &p, &err), 0, "load with limits");
	mre_plan_defaults(&plan);
	vm.name = "count";
	is_int(mre_policy_on_save(p, &vm, NULL, NULL, NULL, &plan, &err), 0, "a counted call");
	mre_policy_last_cost(p, MRE_HOOK_SAVE, &insn, &us);
	ok(insn >= 2000 && insn <= 2100, "instructions counted (%llu for a 1000-step loop)", (unsigned long long)insn);
	vm.name = "loop";
	t0 = now_us();
	mre_err_clear(&err);
	is_int(mre_policy_on_save(p, &vm, NULL, NULL, NULL, &plan, &err), MRE_EPOLICY, "budget of 20000 instructions");
	like(err.msg, "instruction budget exceeded (20000 instructions) (limits.lua:5)", "the configured budget");
	ok(now_us() - t0 < 50000, "stopped quickly");
	mre_policy_last_cost(p, MRE_HOOK_SAVE, &insn, &us);
	ok(insn > 20000 && insn < 20100, "the cost of a killed call is its budget (%llu)", (unsigned long long)insn);
	vm.name = "mem";
	mre_err_clear(&err);
	is_int(mre_policy_on_save(p, &vm, NULL, NULL, NULL, &plan, &err), MRE_EPOLICY, "1 MiB memory cap");
	like(err.msg, "exceeded", "memory or instructions stop a growing table");
	mre_policy_free(p);

	lim.instructions = 0;  /* default */
	lim.mem_bytes = 64 << 20;
	p = NULL;
	is_int(mre_policy_load(path, &lim, &p, &err), 0, "load with a 50 ms deadline");
	vm.name = "slow";
	t0 = now_us();
	mre_err_clear(&err);
	is_int(mre_policy_on_save(p, &vm, NULL, NULL, NULL, &plan, &err), MRE_EPOLICY, "deadline");
	like(err.msg, "time budget exceeded (50 ms) (limits.lua:4)", "the deadline message");
	ok(now_us() - t0 < 500000, "stopped near the deadline (%llu us)", (unsigned long long)(now_us() - t0));
	mre_plan_free(&plan);
	mre_policy_free(p);
}

static void test_speed(void)
{
	struct mre_facts_vm vm = fx_vm();
	struct mre_facts_target t = fx_target();
	struct mre_facts_host h = fx_host();
	struct mre_param pv[] = {
		{ .name = "multifd-channels", .type = MRE_PARAM_INT, .i = 4 },
		{ .name = "direct-io", .type = MRE_PARAM_BOOL, .b = false },
		{ .name = "max-bandwidth", .type = MRE_PARAM_INT, .i = 0 },
		{ .name = "multifd", .type = MRE_PARAM_BOOL, .b = true, .capability = true },
		{ .name = "mapped-ram", .type = MRE_PARAM_BOOL, .b = true, .capability = true },
	};
	struct mre_facts_params params = { .n = 5, .p = pv };
	char path[1024];
	struct mre_policy *p = NULL;
	struct mre_plan plan;
	uint64_t t0, total, insn, us;
	const int n = 2000;

	snprintf(path, sizeof(path), "%s/policies/fast-snapshot.lua", getenv("srcdir") ? getenv("srcdir") : ".");
	if (mre_policy_load(path, NULL, &p, &err)) {
		ok(0, "load fast-snapshot: %s", err.msg);
		return;
	}
	mre_plan_defaults(&plan);
	t0 = now_us();
	for (int i = 0; i < n; i++)
		if (mre_policy_on_save(p, &vm, &t, &h, &params, &plan, &err))
			break;
	total = now_us() - t0;
	mre_policy_last_cost(p, MRE_HOOK_SAVE, &insn, &us);
	diag("fast-snapshot on_save: %.1f us per call (%llu instructions)", (double)total / n,
	     (unsigned long long)insn);
	ok(total / n < 1000, "a hook call costs far below a millisecond (%.1f us)", (double)total / n);
	mre_plan_free(&plan);
	mre_policy_free(p);
}

int main(void)
{
	test_find();
	test_load();
	test_views();
	test_plans();
	test_direct_io_refusal();
	test_other_hooks();
	test_mre_module();
	test_log();
	test_taint();
	test_limits_and_cost();
	test_speed();
	return tap_done();
}
