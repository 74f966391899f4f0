/* SPDX-License-Identifier: MIT */
/*
 * test_bridge.c: the vmdesc member in which ingest keeps the GPAs of an
 * x-ignore-shared stream, and emit's reader of it: a round trip through
 * the member (block ids with quotes, backslashes and slashes), lookups
 * of absent blocks and absent members, and malformed members refused.
 */
#include <errno.h>
#include <string.h>

#include "engine/emit.h"
#include "tap.h"

static int lookup(const char *json, const char *id, uint64_t *gpa)
{
	return mre_emit_gpa_lookup(json, strlen(json), id, gpa);
}

int main(void)
{
	struct mre_block b[4];
	struct mre_wbuf wb;
	char json[1024];
	uint64_t gpa = 0;

	memset(b, 0, sizeof(b));
	strcpy(b[0].id, "ram0");
	b[0].has_gpa = true;
	b[0].gpa = 0;
	strcpy(b[1].id, "/rom@etc/acpi/tables");
	b[1].has_gpa = true;
	b[1].gpa = 0xfffc0000;
	strcpy(b[2].id, "odd \"id\" \\ here");
	b[2].has_gpa = true;
	b[2].gpa = UINT64_MAX;
	strcpy(b[3].id, "no-gpa");

	mre_wbuf_init(&wb);
	mre_wbuf_put(&wb, "{\"page_size\": 4096, ", 20);
	mre_emit_gpa_member(&wb, b, 4);
	mre_wbuf_put(&wb, ", \"devices\": []}", 16);
	mre_wbuf_u8(&wb, 0);
	ok(!mre_wbuf_err(&wb), "the member is written");
	diag("%s", (const char *)wb.data);
	like((const char *)wb.data, "\"" MRE_BRIDGE_GPA_KEY "\": {", "it is named " MRE_BRIDGE_GPA_KEY);
	is_int(lookup((const char *)wb.data, "ram0", &gpa), 1, "ram0 found");
	is_u64(gpa, 0, "  at GPA 0");
	is_int(lookup((const char *)wb.data, "/rom@etc/acpi/tables", &gpa), 1, "a ROM block found");
	is_u64(gpa, 0xfffc0000, "  at its GPA");
	is_int(lookup((const char *)wb.data, "odd \"id\" \\ here", &gpa), 1, "an id with a quote and a backslash");
	is_u64(gpa, UINT64_MAX, "  at GPA 2^64-1");
	is_int(lookup((const char *)wb.data, "no-gpa", &gpa), 0, "a block without a GPA is not listed");
	mre_wbuf_free(&wb);

	is_int(lookup("{\"page_size\": 4096, \"devices\": []}", "ram0", &gpa), 0, "no member: not found, no error");
	is_int(lookup("{\"x-mrengine-gpa\": {}}", "ram0", &gpa), 0, "an empty member");
	is_int(lookup("{\"x-mrengine-gpa\": {\"a\\/b\": 7}}", "a/b", &gpa), 1, "an escaped slash");
	is_u64(gpa, 7, "  its GPA");

	static const char *const bad[] = {
		"{\"x-mrengine-gpa\": 5}",
		"{\"x-mrengine-gpa\": {\"ram0\" 5}}",
		"{\"x-mrengine-gpa\": {\"ram0\": }}",
		"{\"x-mrengine-gpa\": {\"ram0\": -1}}",
		"{\"x-mrengine-gpa\": {\"ram0\": 99999999999999999999}}",
		"{\"x-mrengine-gpa\": {\"ram0",
		"{\"x-mrengine-gpa\": {\"x\": 1 \"ram0\": 2}}",
		"{\"x-mrengine-gpa\": {\"bad\\q\": 1}}",
		"{\"x-mrengine-gpa\"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(json, sizeof(json), "%s", bad[i]);
		is_int(lookup(json, "ram0", &gpa), -EINVAL, "malformed member refused: %s", bad[i]);
	}
	return tap_done();
}
