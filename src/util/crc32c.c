/* SPDX-License-Identifier: MIT */
/*
 * crc32c.c: CRC-32C. The implementation is chosen once, on first use: the
 * x86 crc32 instruction when cpuid reports SSE4.2, otherwise tables,
 * slicing 8 bytes per step.
 *
 * The instruction has a latency of three cycles but can start one per
 * cycle, so long inputs are cut into blocks of three equal parts whose
 * CRCs run side by side; the three are then joined with the CRC's
 * linearity: crc(A || B) = shift(crc(A), |B|) ^ crc0(B), where shift
 * multiplies by x^(8|B|) modulo the polynomial, a linear map precomputed
 * as four 256-entry tables for the one part length used.
 */
#include "util/crc32c.h"

#include <pthread.h>
#include <string.h>

#define POLY 0x82F63B78u

static uint32_t table[8][256];
#define PART 1360u                 /* 3 parts = 4080 bytes: a 4 KiB page is one block */
static uint32_t shift_part[4][256]; /* x -> x * x^(8 PART) mod P, by byte of x */
static uint32_t (*impl)(uint32_t, const uint8_t *, size_t);
static pthread_once_t once = PTHREAD_ONCE_INIT;

static uint32_t crc_table(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len && ((uintptr_t)p & 7)) {
		crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
		len--;
	}
	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		w ^= crc;
		crc = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^
		      table[4][(w >> 24) & 0xff] ^ table[3][(w >> 32) & 0xff] ^ table[2][(w >> 40) & 0xff] ^
		      table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__)
static inline uint32_t shift_by_part(uint32_t x)
{
	return shift_part[0][x & 0xff] ^ shift_part[1][(x >> 8) & 0xff] ^ shift_part[2][(x >> 16) & 0xff] ^
	       shift_part[3][x >> 24];
}

__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = crc;

	while (len && ((uintptr_t)p & 7)) {
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
		len--;
	}
	while (len >= 3 * PART) {
		uint64_t a = c, b = 0, d = 0;

		for (size_t i = 0; i < PART; i += 8) {
			uint64_t wa, wb, wd;

			memcpy(&wa, p + i, 8);
			memcpy(&wb, p + PART + i, 8);
			memcpy(&wd, p + 2 * PART + i, 8);
			a = __builtin_ia32_crc32di(a, wa);
			b = __builtin_ia32_crc32di(b, wb);
			d = __builtin_ia32_crc32di(d, wd);
		}
		c = shift_by_part(shift_by_part((uint32_t)a) ^ (uint32_t)b) ^ (uint32_t)d;
		p += 3 * PART;
		len -= 3 * PART;
	}
	while (len >= 32) {
		uint64_t w[4];

		memcpy(w, p, 32);
		c = __builtin_ia32_crc32di(c, w[0]);
		c = __builtin_ia32_crc32di(c, w[1]);
		c = __builtin_ia32_crc32di(c, w[2]);
		c = __builtin_ia32_crc32di(c, w[3]);
		p += 32;
		len -= 32;
	}
	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}
#endif

static void init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
		table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			table[t][i] = table[0][table[t - 1][i] & 0xff] ^ (table[t - 1][i] >> 8);
	impl = crc_table;
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("sse4.2")) {
		/* shift_part[k][v]: the raw CRC register holding v << 8k, run over PART zero bytes */
		static const uint8_t zeros[PART];

		for (int k = 0; k < 4; k++)
			for (uint32_t v = 0; v < 256; v++)
				shift_part[k][v] = crc_table(v << (8 * k), zeros, PART);
		impl = crc_sse42;
	}
#endif
}

uint32_t mre_crc32c(uint32_t crc, const void *data, size_t len)
{
	pthread_once(&once, init);
	return ~impl(~crc, data, len);
}

const char *mre_crc32c_impl(void)
{
	pthread_once(&once, init);
	return impl == crc_table ? "table" : "sse4.2";
}
