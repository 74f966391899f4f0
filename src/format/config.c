/* SPDX-License-Identifier: MIT */
/*
 * config.c: the configuration section. QEMU's loader accepts its three
 * subsections in any order and fails on unknown configuration/ names; we do
 * the same, and we always emit them in QEMU's fixed order.
 */
#include "format/config.h"

#include <errno.h>
#include <string.h>

#include "format/qemu.h"

/* QEMU's MigrationCapability enum, in order (9.0 .. master, union of all). */
static const char *const cap_order[] = {
	"xbzrle", "rdma-pin-all", "auto-converge", "zero-blocks", "events",
	"postcopy-ram", "x-colo", "release-ram", "block", "return-path",
	"pause-before-switchover", "multifd", "dirty-bitmaps", "postcopy-blocktime",
	"late-block-activate", "x-ignore-shared", "validate-uuid",
	"background-snapshot", "zero-copy-send", "postcopy-preempt",
	"switchover-ack", "dirty-limit", "mapped-ram",
};

static unsigned cap_rank(const char *name)
{
	for (unsigned i = 0; i < sizeof(cap_order) / sizeof(cap_order[0]); i++)
		if (!strcmp(cap_order[i], name))
			return i;
	return 1000; /* not QEMU's: after all of QEMU's */
}

uint64_t mre_config_page_size(const struct mre_config *cfg)
{
	return cfg->has_page_bits ? (uint64_t)1 << cfg->page_bits : MRE_PAGE_SIZE_DEFAULT;
}

bool mre_config_has_cap(const struct mre_config *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->ncaps; i++)
		if (!strcmp(cfg->caps[i], name))
			return true;
	return false;
}

int mre_config_set_cap(struct mre_config *cfg, const char *name, bool on)
{
	size_t len = strlen(name);
	unsigned i, rank;

	if (len == 0 || len > 255)
		return -EINVAL;
	for (i = 0; i < cfg->ncaps; i++) {
		if (!strcmp(cfg->caps[i], name)) {
			if (!on) {
				memmove(cfg->caps[i], cfg->caps[i + 1], (cfg->ncaps - i - 1) * sizeof(cfg->caps[0]));
				cfg->ncaps--;
			}
			return 0;
		}
	}
	if (!on)
		return 0;
	if (cfg->ncaps == MRE_CONFIG_MAX_CAPS)
		return -E2BIG;
	rank = cap_rank(name);
	for (i = 0; i < cfg->ncaps && cap_rank(cfg->caps[i]) <= rank; i++)
		;
	memmove(cfg->caps[i + 1], cfg->caps[i], (cfg->ncaps - i) * sizeof(cfg->caps[0]));
	memcpy(cfg->caps[i], name, len + 1);
	cfg->ncaps++;
	return 0;
}

static int parse_subsection(struct mre_rd *rd, struct mre_config *cfg, unsigned *seen,
			    struct mre_err *err)
{
	uint64_t at = mre_rd_pos(rd);
	char name[256];
	uint32_t version, v;
	unsigned bit;
	int r;

	if ((r = mre_rd_cstr8(rd, name, "configuration subsection name", err)) ||
	    (r = mre_rd_be32(rd, &version, "configuration subsection version", err)))
		return r;
	if (!strcmp(name, "configuration/target-page-bits"))
		bit = 1;
	else if (!strcmp(name, "configuration/capabilities"))
		bit = 2;
	else if (!strcmp(name, "configuration/uuid"))
		bit = 4;
	else
		return mre_err_set(err, MRE_EFORMAT, "offset 0x%llx: unknown configuration subsection '%s'",
				   (unsigned long long)at, name);
	if (*seen & bit)
		return mre_err_set(err, MRE_EFORMAT, "offset 0x%llx: subsection '%s' appears twice",
				   (unsigned long long)at, name);
	*seen |= bit;
	if (version != 1)
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x%llx: subsection '%s' has version %u, expected 1",
				   (unsigned long long)at, name, version);
	switch (bit) {
	case 1:
		if ((r = mre_rd_be32(rd, &v, "target-page-bits", err)))
			return r;
		if (v < 10 || v > 16)
			return mre_err_set(err, MRE_EFORMAT,
					   "offset 0x%llx: target-page-bits %u out of range (10..16)",
					   (unsigned long long)at, v);
		cfg->has_page_bits = true;
		cfg->page_bits = v;
		return 0;
	case 2:
		if ((r = mre_rd_be32(rd, &v, "capability count", err)))
			return r;
		if (v > MRE_CONFIG_MAX_CAPS)
			return mre_err_set(err, MRE_EFORMAT,
					   "offset 0x%llx: %u capabilities listed, at most %u are supported",
					   (unsigned long long)at, v, MRE_CONFIG_MAX_CAPS);
		for (uint32_t i = 0; i < v; i++) {
			uint64_t cat = mre_rd_pos(rd);

			if ((r = mre_rd_cstr8(rd, cfg->caps[i], "capability name", err)))
				return r;
			for (uint32_t j = 0; j < i; j++)
				if (!strcmp(cfg->caps[i], cfg->caps[j]))
					return mre_err_set(err, MRE_EFORMAT,
							   "offset 0x%llx: capability '%s' listed twice",
							   (unsigned long long)cat, cfg->caps[i]);
			cfg->ncaps = i + 1;
		}
		return 0;
	default:
		cfg->has_uuid = true;
		return mre_rd_bytes(rd, cfg->uuid, 16, "uuid", err);
	}
}

int mre_config_parse(struct mre_rd *rd, struct mre_config *cfg, struct mre_err *err)
{
	uint64_t at = mre_rd_pos(rd);
	unsigned seen = 0;
	uint32_t len;
	int r;

	memset(cfg, 0, sizeof(*cfg));
	if ((r = mre_rd_be32(rd, &len, "machine name length", err)))
		return r;
	if (len == 0 || len > 255)
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x%llx: machine name length %u out of range (1..255)",
				   (unsigned long long)at, len);
	if ((r = mre_rd_bytes(rd, cfg->machine, len, "machine name", err)))
		return r;
	cfg->machine[len] = 0;
	for (uint32_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)cfg->machine[i];

		if (c < 0x20 || c > 0x7e)
			return mre_err_set(err, MRE_EFORMAT,
					   "offset 0x%llx: machine name contains byte 0x%02x",
					   (unsigned long long)at + 4 + i, c);
	}
	for (;;) {
		ssize_t got = mre_rd_fill(rd, 1, err);

		if (got < 0)
			return (int)got;
		if (got == 0 || mre_rd_ptr(rd)[0] != MRE_VM_SUBSECTION)
			return 0;
		mre_rd_advance(rd, 1);
		if ((r = parse_subsection(rd, cfg, &seen, err)))
			return r;
	}
}

void mre_config_emit(struct mre_wbuf *wb, const struct mre_config *cfg)
{
	size_t len = strlen(cfg->machine);

	mre_wbuf_u8(wb, MRE_VM_CONFIGURATION);
	mre_wbuf_be32(wb, (uint32_t)len);
	mre_wbuf_put(wb, cfg->machine, len);
	if (cfg->has_page_bits) {
		mre_wbuf_u8(wb, MRE_VM_SUBSECTION);
		mre_wbuf_cstr8(wb, "configuration/target-page-bits");
		mre_wbuf_be32(wb, 1);
		mre_wbuf_be32(wb, cfg->page_bits);
	}
	if (cfg->ncaps) {
		mre_wbuf_u8(wb, MRE_VM_SUBSECTION);
		mre_wbuf_cstr8(wb, "configuration/capabilities");
		mre_wbuf_be32(wb, 1);
		mre_wbuf_be32(wb, cfg->ncaps);
		for (unsigned i = 0; i < cfg->ncaps; i++)
			mre_wbuf_cstr8(wb, cfg->caps[i]);
	}
	if (cfg->has_uuid) {
		mre_wbuf_u8(wb, MRE_VM_SUBSECTION);
		mre_wbuf_cstr8(wb, "configuration/uuid");
		mre_wbuf_be32(wb, 1);
		mre_wbuf_put(wb, cfg->uuid, 16);
	}
}

void mre_config_vmdesc(struct mre_wbuf *wb, const struct mre_config *cfg)
{
	bool sub = false;

	mre_wbuf_printf(wb,
			"{\"vmsd_name\": \"configuration\", \"version\": 1, \"fields\": ["
			"{\"name\": \"len\", \"type\": \"uint32\", \"size\": 4}, "
			"{\"name\": \"name\", \"type\": \"buffer\", \"size\": %zu}]",
			strlen(cfg->machine));
	if (cfg->has_page_bits) {
		mre_wbuf_printf(wb, ", \"subsections\": [{\"vmsd_name\": \"configuration/target-page-bits\", "
				"\"version\": 1, \"fields\": [{\"name\": \"target_page_bits\", "
				"\"type\": \"uint32\", \"size\": 4}]}");
		sub = true;
	}
	if (cfg->ncaps) {
		mre_wbuf_printf(wb, "%s{\"vmsd_name\": \"configuration/capabilities\", \"version\": 1, "
				"\"fields\": [{\"name\": \"caps_count\", \"type\": \"uint32\", \"size\": 4}, "
				"{\"name\": \"capabilities\", ", sub ? ", " : ", \"subsections\": [");
		if (cfg->ncaps > 1)
			mre_wbuf_printf(wb, "\"array_len\": %u, ", cfg->ncaps);
		mre_wbuf_printf(wb, "\"type\": \"capability\", \"size\": %zu}]}", 1 + strlen(cfg->caps[0]));
		sub = true;
	}
	if (cfg->has_uuid) {
		mre_wbuf_printf(wb, "%s{\"vmsd_name\": \"configuration/uuid\", \"version\": 1, "
				"\"fields\": [{\"name\": \"uuid.data\", \"array_len\": 16, \"type\": \"uint8\", "
				"\"size\": 1}]}", sub ? ", " : ", \"subsections\": [");
		sub = true;
	}
	if (sub)
		mre_wbuf_u8(wb, ']');
	mre_wbuf_u8(wb, '}');
}

void mre_vmdesc_build(struct mre_wbuf *wb, const struct mre_config *cfg, uint64_t page_size,
		      const char *devices)
{
	mre_wbuf_printf(wb, "{\"configuration\": ");
	mre_config_vmdesc(wb, cfg);
	mre_wbuf_printf(wb, ", \"page_size\": %llu, \"devices\": [%s]}", (unsigned long long)page_size,
			devices ? devices : "");
}

/* Index just past the JSON value starting at json[i] (an object here), or 0. */
static size_t skip_value(const char *json, size_t len, size_t i)
{
	int depth = 0;
	bool str = false;

	for (; i < len; i++) {
		char ch = json[i];

		if (str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				str = false;
			continue;
		}
		if (ch == '"')
			str = true;
		else if (ch == '{' || ch == '[')
			depth++;
		else if ((ch == '}' || ch == ']') && --depth == 0)
			return i + 1;
	}
	return 0;
}

int mre_vmdesc_set_config(const char *json, size_t len, const struct mre_config *cfg,
			  struct mre_wbuf *out)
{
	static const char key[] = "\"configuration\"";
	size_t i = 0, rest;

	while (i < len && (json[i] == ' ' || json[i] == '\n'))
		i++;
	if (i >= len || json[i] != '{')
		return -EINVAL;
	i++;
	while (i < len && json[i] == ' ')
		i++;
	mre_wbuf_put(out, "{\"configuration\": ", 18);
	mre_config_vmdesc(out, cfg);
	if (len - i >= sizeof(key) - 1 && !memcmp(json + i, key, sizeof(key) - 1)) {
		/* skip the old member: "configuration", ':', the object, ',' */
		i += sizeof(key) - 1;
		while (i < len && (json[i] == ' ' || json[i] == ':'))
			i++;
		if (i >= len || json[i] != '{' || !(i = skip_value(json, len, i)))
			return -EINVAL;
		while (i < len && (json[i] == ' ' || json[i] == ','))
			i++;
	}
	rest = len - i;
	if (rest && json[i] != '}')
		mre_wbuf_put(out, ", ", 2);
	mre_wbuf_put(out, json + i, rest);
	return mre_wbuf_err(out);
}
