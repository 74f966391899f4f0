/* SPDX-License-Identifier: MIT */
/*
 * runner.c: the sandbox escape suite. Every each tests/sandbox/NAME.lua is a
 * hostile or broken policy whose first line is "-- expect: REGEX" (POSIX
 * extended; "# expect:" for the binary chunk) and whose optional second
 * line "-- hook: NAME" picks the hook to call (default on_save). Each must
 * fail with MRE_EPOLICY, a message of the form "policy NAME: HOOK: message
 * (file.lua:LINE)" that matches REGEX, within its budget; calling it again
 * must fail the same way (the state is rebuilt, nothing crashes); and a
 * good policy must load and run afterwards. Last, two policies loaded at
 * once must not see each other's globals.
 */
#include "tap.h"

#include <dirent.h>
#include <regex.h>
#include <time.h>

#include "../policy/fixture.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int call(struct mre_policy *p, const char *hook, struct mre_err *err)
{
	struct mre_facts_vm vm = fx_vm();
	struct mre_facts_target t = fx_target();
	struct mre_facts_host h = fx_host();
	struct mre_facts_stats st = { .status = "active", .total = 100 };
	struct mre_facts_result res = { .status = "completed", .kind = "save" };
	struct mre_facts_image img = { .path = "/i", .format = "mapped-ram" };
	struct mre_plan plan;
	uint64_t bw;
	int rc;

	mre_plan_defaults(&plan);
	mre_err_clear(err);
	if (!strcmp(hook, "on_progress"))
		rc = mre_policy_on_progress(p, &st, &bw, err);
	else if (!strcmp(hook, "on_complete"))
		rc = mre_policy_on_complete(p, &res, err);
	else if (!strcmp(hook, "on_restore"))
		rc = mre_policy_on_restore(p, &img, &vm, &h, NULL, &plan, err);
	else
		rc = mre_policy_on_save(p, &vm, &t, &h, NULL, &plan, err);
	mre_plan_free(&plan);
	return rc < 0 ? rc : 0;
}

static bool matches(const char *re, const char *s)
{
	regex_t r;
	bool m;

	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB)) {
		diag("bad regex: %s", re);
		return false;
	}
	m = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return m;
}

static void good_policy_still_works(const char *after)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_policy *p = fx_load("good.lua", "return { on_save = function(vm, t, host) return { channels = host.cpus } end }", &err);
	struct mre_facts_host h = fx_host();
	struct mre_plan plan;

	mre_plan_defaults(&plan);
	ok(p && mre_policy_on_save(p, NULL, NULL, &h, NULL, &plan, &err) == 0 && plan.channels == 8,
	   "after %s a good policy loads and runs", after);
	mre_plan_free(&plan);
	mre_policy_free(p);
}

static void run_one(const char *dir, const char *file)
{
	char path[1024], line[1024], hook[32] = "on_save", expect[1024] = "", structure[256];
	struct mre_err err = MRE_ERR_INIT, err2 = MRE_ERR_INIT;
	struct mre_policy *p = NULL;
	uint64_t t0, ms;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "rb");
	if (!f) {
		ok(0, "%s: open", file);
		return;
	}
	if (fgets(line, sizeof(line), f)) {
		const char *e = strstr(line, "expect: ");

		if (e)
			snprintf(expect, sizeof(expect), "%s", e + 8);
		expect[strcspn(expect, "\n")] = 0;
	}
	if (fgets(line, sizeof(line), f) && !strncmp(line, "-- hook: ", 9)) {
		snprintf(hook, sizeof(hook), "%s", line + 9);
		hook[strcspn(hook, "\n")] = 0;
	}
	fclose(f);
	if (!expect[0]) {
		ok(0, "%s: first line states the expected error", file);
		return;
	}

	t0 = now_ms();
	rc = mre_policy_load(path, NULL, &p, &err);
	if (!rc)
		rc = call(p, hook, &err);
	ms = now_ms() - t0;
	ok(rc == MRE_EPOLICY, "%s: fails with MRE_EPOLICY", file);
	if (!matches(expect, err.msg)) {
		ok(0, "%s: message matches /%s/", file, expect);
		diag("got: %s", err.msg);
	} else {
		ok(1, "%s: %s", file, err.msg);
	}
	/* policy NAME: HOOK: message (file.lua:LINE) */
	snprintf(structure, sizeof(structure),
		 "^policy [A-Za-z0-9._-]+: (load|%s): .+ \\([A-Za-z0-9._-]+\\.lua:[0-9]+\\)$", hook);
	if (!matches(structure, err.msg) && !strstr(expect, "got nil")) {
		ok(0, "%s: names policy, hook, file and line", file);
		diag("got: %s", err.msg);
	} else {
		ok(1, "%s: names policy, hook, file and line", file);
	}
	ok(ms < 2500, "%s: stopped within its budget (%llu ms)", file, (unsigned long long)ms);
	if (p) {
		/* the same policy again: rebuilt if tainted, same failure, no crash */
		rc = call(p, hook, &err2);
		ok(rc == MRE_EPOLICY && !strcmp(err.msg, err2.msg), "%s: fails the same way when called again",
		   file);
		if (strcmp(err.msg, err2.msg))
			diag("second: %s", err2.msg);
	} else {
		ok(1, "%s: refused at load", file);
	}
	mre_policy_free(p);
	good_policy_still_works(file);
}

static int lua_file(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 4 && !strcmp(d->d_name + n - 4, ".lua");
}

static void isolation(void)
{
	struct mre_err err = MRE_ERR_INIT;
	struct mre_policy *a = fx_load("iso-a.lua",
				       "pcall(function() _G.shared = 'a' end)\n"
				       "pcall(rawset, _G, 'shared', 'a')\n"
				       "pcall(function() string.shared = 'a' end)\n"
				       "pcall(function() mre.shared = 'a' end)\n"
				       "local secret = 'a'\n"
				       "return { on_save = function() return { channels = 3 } end }\n",
				       &err);
	struct mre_policy *b;
	struct mre_plan plan;

	ok(a != NULL, "isolation: policy a loads (%s)", err.msg);
	b = fx_load("iso-b.lua",
		    "return { on_save = function()\n"
		    "  assert(rawget(_G, 'shared') == nil, '_G')\n"
		    "  assert(string.shared == nil and mre.shared == nil, 'libraries')\n"
		    "  assert(not pcall(function() return shared end), 'globals')\n"
		    "  assert(not pcall(function() return secret end), 'locals')\n"
		    "  return { channels = 5 }\n"
		    "end }\n",
		    &err);
	ok(b != NULL, "isolation: policy b loads (%s)", err.msg);
	mre_plan_defaults(&plan);
	ok(a && mre_policy_on_save(a, NULL, NULL, NULL, NULL, &plan, &err) == 0 && plan.channels == 3,
	   "isolation: a runs");
	ok(b && mre_policy_on_save(b, NULL, NULL, NULL, NULL, &plan, &err) == 0 && plan.channels == 5,
	   "isolation: b sees nothing of a (%s)", err.msg);
	mre_plan_free(&plan);
	mre_policy_free(a);
	mre_policy_free(b);
}

int main(void)
{
	const char *src = getenv("srcdir") ? getenv("srcdir") : ".";
	char dir[1024];
	struct dirent **list;
	int n;

	snprintf(dir, sizeof(dir), "%s/tests/sandbox", src);
	n = scandir(dir, &list, lua_file, alphasort);
	if (n <= 0)
		tap_skip_all("no sandbox tests found (is $srcdir set?)");
	for (int i = 0; i < n; i++) {
		run_one(dir, list[i]->d_name);
		free(list[i]);
	}
	free(list);
	isolation();
	diag("%d hostile policies", n);
	return tap_done();
}
