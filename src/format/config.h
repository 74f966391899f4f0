/* SPDX-License-Identifier: MIT */
/*
 * config.h: QEMU's configuration section (machine type, target page bits,
 * validated capabilities, UUID): parse, re-emit, edit the capability list.
 */
#ifndef MRE_FORMAT_CONFIG_H
#define MRE_FORMAT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "format/rd.h"
#include "util/wbuf.h"

#define MRE_CONFIG_MAX_CAPS 32

struct mre_config {
	char machine[256];
	bool has_page_bits;
	uint32_t page_bits;
	unsigned ncaps;
	char caps[MRE_CONFIG_MAX_CAPS][256];
	bool has_uuid;
	uint8_t uuid[16];
};

/* Target page size implied by the configuration (4096 when absent). */
uint64_t mre_config_page_size(const struct mre_config *cfg);

bool mre_config_has_cap(const struct mre_config *cfg, const char *name);
/*
 * Add or remove a capability, keeping QEMU's MigrationCapability enum order
 * (names QEMU does not know go last). -EINVAL for a bad name, -E2BIG if the
 * list is full.
 */
int mre_config_set_cap(struct mre_config *cfg, const char *name, bool on);

/* Parse the body that follows the 0x07 marker (the marker already read). */
int mre_config_parse(struct mre_rd *rd, struct mre_config *cfg, struct mre_err *err);

/* Emit 0x07 and the body. */
void mre_config_emit(struct mre_wbuf *wb, const struct mre_config *cfg);

/* The "configuration" member of the vmdesc JSON for @cfg (QEMU >= 8.2 shape). */
void mre_config_vmdesc(struct mre_wbuf *wb, const struct mre_config *cfg);

/* A whole vmdesc JSON: {"configuration": ..., "page_size": N, "devices": [...]}
 * with @devices the inside of the devices array (may be NULL). */
void mre_vmdesc_build(struct mre_wbuf *wb, const struct mre_config *cfg, uint64_t page_size,
		      const char *devices);

/*
 * Copy the vmdesc JSON @json with its "configuration" member replaced by
 * one describing @cfg (or inserted first when the vmdesc has none, as in
 * QEMU 7.2's). -EINVAL if @json is not a JSON object.
 */
int mre_vmdesc_set_config(const char *json, size_t len, const struct mre_config *cfg,
			  struct mre_wbuf *out);

#endif
