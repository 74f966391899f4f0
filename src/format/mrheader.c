/* SPDX-License-Identifier: MIT */
/* mrheader.c: encoding and checking of mrengine's prepended header. */
#include "format/mrheader.h"

#include <errno.h>
#include <string.h>

#include "util/bytes.h"
#include "util/crc32c.h"

static uint32_t header_crc(const uint8_t *fixed, const char *meta, uint32_t meta_len)
{
	uint8_t tmp[MRE_MRHEADER_FIXED];

	memcpy(tmp, fixed, sizeof(tmp));
	memset(tmp + 52, 0, 4);
	return mre_crc32c(mre_crc32c(0, tmp, sizeof(tmp)), meta, meta_len);
}

uint64_t mre_mrheader_stream_offset(uint32_t meta_len, uint64_t align)
{
	uint64_t need = MRE_MRHEADER_FIXED + meta_len, off = need;

	if (align < 4096)
		align = 4096;
	mre_align_up(need, align, &off);
	return off;
}

void mre_mrheader_encode(const struct mre_mrheader *h, struct mre_wbuf *wb)
{
	size_t start = wb->len;
	uint8_t *fixed;

	mre_wbuf_put(wb, MRE_MRHEADER_MAGIC, 8);
	mre_wbuf_le32(wb, h->version ? h->version : 1);
	mre_wbuf_le32(wb, h->state);
	mre_wbuf_le64(wb, h->stream_offset);
	mre_wbuf_le64(wb, h->stream_end);
	mre_wbuf_le64(wb, h->trailer_offset);
	mre_wbuf_le64(wb, h->trailer_length);
	mre_wbuf_le32(wb, h->meta_len);
	mre_wbuf_le32(wb, 0);
	mre_wbuf_le64(wb, 0);
	mre_wbuf_put(wb, h->meta, h->meta_len);
	if (mre_wbuf_err(wb))
		return;
	fixed = wb->data + start;
	mre_put_le32(fixed + 52, header_crc(fixed, h->meta, h->meta_len));
	if (h->stream_offset > MRE_MRHEADER_FIXED + h->meta_len)
		mre_wbuf_zero(wb, h->stream_offset - MRE_MRHEADER_FIXED - h->meta_len);
}

int mre_mrheader_decode(const uint8_t *buf, size_t len, struct mre_mrheader *h, struct mre_err *err)
{
	if (len < MRE_MRHEADER_FIXED || memcmp(buf, MRE_MRHEADER_MAGIC, 8))
		return mre_err_set(err, MRE_EFORMAT, "offset 0x0: not an mrengine header");
	memset(h, 0, sizeof(*h));
	h->version = mre_get_le32(buf + 8);
	h->state = mre_get_le32(buf + 12);
	h->stream_offset = mre_get_le64(buf + 16);
	h->stream_end = mre_get_le64(buf + 24);
	h->trailer_offset = mre_get_le64(buf + 32);
	h->trailer_length = mre_get_le64(buf + 40);
	h->meta_len = mre_get_le32(buf + 48);
	if (h->version != 1)
		return mre_err_set(err, MRE_EFORMAT, "offset 0x8: mrengine header version %u not supported (expected 1)",
				   h->version);
	if (h->state != MRE_MRHEADER_IN_PROGRESS && h->state != MRE_MRHEADER_COMPLETE)
		return mre_err_set(err, MRE_EFORMAT, "offset 0xc: mrengine header state %u is not 1 or 2", h->state);
	if (h->meta_len > MRE_MRHEADER_MAX_META || h->stream_offset % 4096 ||
	    h->stream_offset < MRE_MRHEADER_FIXED + (uint64_t)h->meta_len)
		return mre_err_set(err, MRE_EFORMAT,
				   "offset 0x10: mrengine header: stream offset 0x%llx cannot hold %u bytes of metadata (or is not 4 KiB-aligned)",
				   (unsigned long long)h->stream_offset, h->meta_len);
	if (h->state == MRE_MRHEADER_COMPLETE &&
	    (h->stream_end <= h->stream_offset ||
	     (h->trailer_offset && h->trailer_offset < h->stream_end)))
		return mre_err_set(err, MRE_EFORMAT, "offset 0x18: mrengine header: inconsistent stream end / trailer offsets");
	if (len < MRE_MRHEADER_FIXED + (size_t)h->meta_len)
		return (int)(MRE_MRHEADER_FIXED + h->meta_len);
	h->meta = (const char *)buf + MRE_MRHEADER_FIXED;
	if (header_crc(buf, h->meta, h->meta_len) != mre_get_le32(buf + 52))
		return mre_err_set(err, MRE_EFORMAT, "offset 0x34: mrengine header checksum mismatch");
	return 0;
}
