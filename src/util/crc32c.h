/* SPDX-License-Identifier: MIT */
/*
 * crc32c.h: CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, initial
 * and final XOR 0xFFFFFFFF): the checksum of page data in mrengine images.
 * Uses the SSE4.2 crc32 instruction when the CPU has it, else a table
 * (slicing by 8). Thread-safe.
 */
#ifndef MRE_UTIL_CRC32C_H
#define MRE_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: crc32c(crc32c(0, a), b) == crc32c(0, a || b). */
uint32_t mre_crc32c(uint32_t crc, const void *data, size_t len);

/* "sse4.2" or "table": which implementation runs. */
const char *mre_crc32c_impl(void);

#endif
