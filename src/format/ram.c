/* SPDX-License-Identifier: MIT */
/* ram.c: bitmap arithmetic and small encoders for the ram section. */
#include "format/ram.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "format/qemu.h"
#include "format/stream.h"
#include "util/bytes.h"

void mre_bitmap_from_le(uint64_t *bm, uint64_t nwords)
{
#if __BYTE_ORDER == __BIG_ENDIAN
	for (uint64_t i = 0; i < nwords; i++)
		bm[i] = le64toh(bm[i]);
#else
	(void)bm;
	(void)nwords;
#endif
}

void mre_bitmap_to_le(uint64_t *bm, uint64_t nwords)
{
#if __BYTE_ORDER == __BIG_ENDIAN
	for (uint64_t i = 0; i < nwords; i++)
		bm[i] = htole64(bm[i]);
#else
	(void)bm;
	(void)nwords;
#endif
}

uint64_t mre_bitmap_count(const uint64_t *bm, uint64_t npages)
{
	uint64_t n = 0, words = npages / 64;

	for (uint64_t i = 0; i < words; i++)
		n += (uint64_t)__builtin_popcountll(bm[i]);
	if (npages % 64)
		n += (uint64_t)__builtin_popcountll(bm[words] & (((uint64_t)1 << (npages % 64)) - 1));
	return n;
}

/* Index of the first bit equal to @want at or after @from, or @npages. */
static uint64_t find_bit(const uint64_t *bm, uint64_t npages, uint64_t from, bool want)
{
	while (from < npages) {
		uint64_t w = bm[from / 64];

		if (!want)
			w = ~w;
		w &= ~(uint64_t)0 << (from % 64);
		if (w) {
			uint64_t i = from / 64 * 64 + (uint64_t)__builtin_ctzll(w);

			return i < npages ? i : npages;
		}
		from = (from / 64 + 1) * 64;
	}
	return npages;
}

bool mre_bitmap_next_run(const uint64_t *bm, uint64_t npages, uint64_t from,
			 uint64_t *start, uint64_t *end)
{
	uint64_t s = find_bit(bm, npages, from, true);

	if (s >= npages)
		return false;
	*start = s;
	*end = find_bit(bm, npages, s, false);
	return true;
}

void mre_mr_header_emit(struct mre_wbuf *wb, uint32_t version, uint64_t page_size,
			uint64_t bitmap_offset, uint64_t pages_offset)
{
	mre_wbuf_be32(wb, version);
	mre_wbuf_be64(wb, page_size);
	mre_wbuf_be64(wb, bitmap_offset);
	mre_wbuf_be64(wb, pages_offset);
}

void mre_mem_entry_emit(struct mre_wbuf *wb, const char *id, uint64_t used_length,
			bool has_gpa, uint64_t gpa)
{
	mre_wbuf_cstr8(wb, id);
	mre_wbuf_be64(wb, used_length);
	if (has_gpa)
		mre_wbuf_be64(wb, gpa);
}

/* XBZRLE's integers: one byte below 0x80, else two bytes (7 + 7 bits). */
static int uleb(const uint8_t *d, size_t len, size_t *pos, uint32_t *v)
{
	if (*pos >= len)
		return -1;
	if (d[*pos] < 0x80) {
		*v = d[(*pos)++];
		return 0;
	}
	if (*pos + 1 >= len || d[*pos + 1] >= 0x80)
		return -1;
	*v = (uint32_t)(d[*pos] & 0x7f) | (uint32_t)d[*pos + 1] << 7;
	*pos += 2;
	return 0;
}

int mre_xbzrle_apply(uint8_t *page, size_t page_size, const uint8_t *delta, size_t len,
		     struct mre_err *err)
{
	size_t pos = 0, cur = 0;

	while (pos < len) {
		uint32_t zrun, nzrun;

		if (uleb(delta, len, &pos, &zrun) || uleb(delta, len, &pos, &nzrun))
			return mre_err_set(err, MRE_EFORMAT, "XBZRLE: bad run length at delta byte %zu", pos);
		if (zrun == 0 && cur != 0)
			return mre_err_set(err, MRE_EFORMAT, "XBZRLE: empty unchanged run at delta byte %zu", pos);
		if (nzrun == 0)
			return mre_err_set(err, MRE_EFORMAT, "XBZRLE: empty changed run at delta byte %zu", pos);
		if (zrun > page_size - cur || nzrun > page_size - cur - zrun)
			return mre_err_set(err, MRE_EFORMAT, "XBZRLE: runs overflow the %zu-byte page", page_size);
		if (nzrun > len - pos)
			return mre_err_set(err, MRE_EFORMAT, "XBZRLE: changed run of %u bytes overruns the delta",
					   nzrun);
		cur += zrun;
		memcpy(page + cur, delta + pos, nzrun);
		cur += nzrun;
		pos += nzrun;
	}
	return 0;
}

int mre_mr_layout_block(uint64_t pos, const char *id, uint64_t used_length, uint64_t page_size,
			uint64_t align, bool has_gpa, struct mre_mr_layout *out)
{
	size_t idlen = strlen(id);
	uint64_t bm_end;

	if (idlen == 0 || idlen > 255 || !mre_is_pow2(align) || align < page_size)
		return -EINVAL;
	out->entry_offset = pos;
	out->header_offset = pos + 1 + idlen + 8 + (has_gpa ? 8 : 0);
	out->bitmap_offset = out->header_offset + MRE_MR_HEADER_SIZE;
	out->bitmap_bytes = mre_bitmap_bytes(used_length / page_size);
	if (!mre_add_ok(out->bitmap_offset, out->bitmap_bytes, &bm_end) ||
	    !mre_align_up(bm_end, align, &out->pages_offset) ||
	    !mre_add_ok(out->pages_offset, used_length, &out->end_offset))
		return -EOVERFLOW;
	return 0;
}

void mre_emit_ram_start(struct mre_wbuf *wb, uint32_t section_id, uint64_t total)
{
	mre_emit_section_start(wb, MRE_VM_SECTION_START, section_id, "ram", 0, MRE_RAM_SECTION_VERSION);
	mre_wbuf_be64(wb, total | MRE_RAM_MEM_SIZE);
}

void mre_emit_ram_end(struct mre_wbuf *wb, uint32_t section_id)
{
	mre_wbuf_be64(wb, MRE_RAM_EOS);
	mre_emit_footer(wb, section_id);
	mre_emit_section_short(wb, MRE_VM_SECTION_END, section_id);
	mre_wbuf_be64(wb, MRE_RAM_EOS);
	mre_emit_footer(wb, section_id);
}
