/* SPDX-License-Identifier: MIT */
/* header.c: locating the QEMU stream behind a prepended header. */
#include "format/header.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "format/mrheader.h"
#include "format/qemu.h"
#include "util/bytes.h"

#define LIBVIRT_HEADER_SIZE 92u

/* "QEVM", version 3, configuration marker: the first 9 bytes of a stream. */
static const uint8_t stream_sig[9] = { 'Q', 'E', 'V', 'M', 0, 0, 0, 3, MRE_VM_CONFIGURATION };

const char *mre_header_kind_name(enum mre_header_kind kind)
{
	switch (kind) {
	case MRE_HEADER_NONE: return "none";
	case MRE_HEADER_LIBVIRT: return "libvirt";
	case MRE_HEADER_MRENGINE: return "mrengine";
	case MRE_HEADER_FOREIGN: return "foreign";
	}
	return "unknown";
}

static int read_at(const struct mre_src *src, void *buf, size_t len, uint64_t off, size_t *got)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = src->read(src->ctx, (uint8_t *)buf + done, len - done, off + done);

		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r < 0)
			return (int)r;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	*got = done;
	return 0;
}

static bool sig_at(const struct mre_src *src, uint64_t off)
{
	uint8_t b[sizeof(stream_sig)];
	size_t got;

	return !read_at(src, b, sizeof(b), off, &got) && got == sizeof(b) &&
	       !memcmp(b, stream_sig, sizeof(b));
}

static int detect_libvirt(const struct mre_src *src, const uint8_t *h, struct mre_header_info *hi,
			  struct mre_err *err)
{
	uint32_t version = mre_get_le32(h + 16), data_len = mre_get_le32(h + 20);

	/* libvirt writes host order and byte-swaps on read when version looks
	 * swapped; x86 hosts write little-endian */
	if (version > 2) {
		version = mre_get_be32(h + 16);
		data_len = mre_get_be32(h + 20);
		hi->libvirt_format = mre_get_be32(h + 28);
	} else {
		hi->libvirt_format = mre_get_le32(h + 28);
	}
	hi->kind = MRE_HEADER_LIBVIRT;
	hi->complete = !memcmp(h, "LibvirtQemudSave", 16);
	hi->libvirt_version = version;
	hi->libvirt_data_len = data_len;
	hi->stream_offset = LIBVIRT_HEADER_SIZE + (uint64_t)data_len;
	if (!sig_at(src, hi->stream_offset))
		return mre_err_set(err, MRE_EFORMAT,
				   "libvirt header: no QEMU stream at offset 0x%llx (92 + data_len %u)",
				   (unsigned long long)hi->stream_offset, data_len);
	return 0;
}

int mre_header_detect(const struct mre_src *src, struct mre_header_info *hi, struct mre_err *err)
{
	uint8_t h[LIBVIRT_HEADER_SIZE];
	size_t got;
	int r;

	memset(hi, 0, sizeof(*hi));
	r = read_at(src, h, sizeof(h), 0, &got);
	if (r)
		return mre_err_sys(err, r, "reading the file header");
	if (got >= sizeof(stream_sig) && !memcmp(h, stream_sig, sizeof(stream_sig))) {
		hi->kind = MRE_HEADER_NONE;
		hi->complete = true;
		return 0;
	}
	if (got >= MRE_MRHEADER_FIXED && !memcmp(h, MRE_MRHEADER_MAGIC, 8)) {
		struct mre_mrheader mh;

		r = mre_mrheader_decode(h, got, &mh, err);
		if (r > 0) {
			/* the metadata is longer than what was read: read it all for the CRC */
			size_t need = (size_t)r;
			uint8_t *full = malloc(need);

			if (!full)
				return mre_err_set(err, -ENOMEM, "out of memory for the header");
			r = read_at(src, full, need, 0, &got);
			if (!r && got < need)
				r = mre_err_set(err, MRE_EFORMAT, "mrengine header: metadata truncated");
			else if (!r)
				r = mre_mrheader_decode(full, need, &mh, err);
			free(full);
		}
		if (r)
			return r < 0 ? r : mre_err_set(err, MRE_EFORMAT, "mrengine header: metadata truncated");
		hi->kind = MRE_HEADER_MRENGINE;
		hi->complete = mh.state == MRE_MRHEADER_COMPLETE;
		hi->stream_offset = mh.stream_offset;
		if (!sig_at(src, hi->stream_offset))
			return mre_err_set(err, MRE_EFORMAT, "mrengine header: no QEMU stream at offset 0x%llx",
					   (unsigned long long)hi->stream_offset);
		return 0;
	}
	if (got == sizeof(h) && (!memcmp(h, "LibvirtQemudSave", 16) || !memcmp(h, "LibvirtQemudPart", 16)))
		return detect_libvirt(src, h, hi, err);
	if (!src->seekable)
		return mre_err_set(err, MRE_EFORMAT, "no QEMU stream at the start of the input (bad magic)");
	for (uint64_t off = 512; off < MRE_HEADER_SCAN_LIMIT; off += 512) {
		if (src->size != MRE_SIZE_UNKNOWN && off + sizeof(stream_sig) > src->size)
			break;
		if (sig_at(src, off)) {
			hi->kind = MRE_HEADER_FOREIGN;
			hi->stream_offset = off;
			return 0;
		}
	}
	return mre_err_set(err, MRE_EFORMAT,
			   "no QEMU migration stream found (no \"QEVM\" magic at offset 0 or on a 512-byte boundary in the first 64 MiB); give --offset");
}
