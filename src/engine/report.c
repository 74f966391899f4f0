/* SPDX-License-Identifier: MIT */
/* report.c: the inspect report; reads only the parsed struct mre_image. */
#include "engine/report.h"

#include <inttypes.h>
#include <string.h>

#include "format/qemu.h"
#include "util/jsonw.h"
#include "util/size.h"

static void uuid_str(const uint8_t *u, char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

static const char *format_name(const struct mre_image *img)
{
	return img->compressed ? "mapped-ram-compressed" : img->mapped_ram ? "mapped-ram" : "sequential";
}

static uint64_t stored_bytes(const struct mre_image_block *ib)
{
	uint64_t n = 0;

	for (uint64_t i = 0; ib->chunks && i < ib->b.nchunks; i++)
		n += ib->chunks[i].len;
	return n;
}

void mre_report_json(const struct mre_imagefile *f, struct mre_wbuf *wb)
{
	const struct mre_image *img = f->img;
	struct mre_jsonw j;

	mre_jsonw_init(&j, wb);
	mre_jsonw_obj_begin(&j);
	mre_jsonw_kstr(&j, "file", f->path);
	mre_jsonw_ku64(&j, "file-size", f->size);
	mre_jsonw_ku64(&j, "stream-offset", img->stream_offset);
	mre_jsonw_ku64(&j, "stream-end", img->stream_end);
	mre_jsonw_kstr(&j, "format", format_name(img));
	mre_jsonw_key(&j, "header");
	mre_jsonw_obj_begin(&j);
	mre_jsonw_kstr(&j, "kind", mre_header_kind_name(f->header.kind));
	mre_jsonw_kbool(&j, "complete", f->header.complete || f->header.kind == MRE_HEADER_NONE ||
					f->header.kind == MRE_HEADER_FOREIGN);
	mre_jsonw_obj_end(&j);
	mre_jsonw_kstr(&j, "machine", img->cfg.machine);
	mre_jsonw_ku64(&j, "page-size", img->page_size);
	mre_jsonw_key(&j, "capabilities");
	mre_jsonw_arr_begin(&j);
	for (unsigned i = 0; i < img->cfg.ncaps; i++)
		mre_jsonw_str(&j, img->cfg.caps[i]);
	mre_jsonw_arr_end(&j);
	mre_jsonw_key(&j, "uuid");
	if (img->cfg.has_uuid) {
		char u[37];

		uuid_str(img->cfg.uuid, u);
		mre_jsonw_str(&j, u);
	} else {
		mre_jsonw_null(&j);
	}
	mre_jsonw_key(&j, "ram");
	if (img->ram_seen) {
		mre_jsonw_obj_begin(&j);
		mre_jsonw_ku64(&j, "section-id", img->ram_section_id);
		mre_jsonw_ku64(&j, "total", img->ram_total);
		mre_jsonw_obj_end(&j);
	} else {
		mre_jsonw_null(&j);
	}
	mre_jsonw_key(&j, "blocks");
	mre_jsonw_arr_begin(&j);
	for (unsigned i = 0; i < img->nblocks; i++) {
		const struct mre_image_block *ib = &img->blocks[i];

		mre_jsonw_obj_begin(&j);
		mre_jsonw_kstr(&j, "id", ib->b.id);
		mre_jsonw_ku64(&j, "used-length", ib->b.used_length);
		mre_jsonw_ku64(&j, "page-size", img->page_size);
		mre_jsonw_ku64(&j, "pages", ib->npages);
		mre_jsonw_ku64(&j, "present", ib->present);
		mre_jsonw_ku64(&j, "zero", ib->zero);
		mre_jsonw_ku64(&j, "entry-offset", ib->b.entry_offset);
		if (ib->b.has_gpa)
			mre_jsonw_ku64(&j, "gpa", ib->b.gpa);
		if (ib->b.has_page_size)
			mre_jsonw_ku64(&j, "host-page-size", ib->b.block_page_size);
		if (ib->b.mapped) {
			mre_jsonw_ku64(&j, "header-offset", ib->b.header_offset);
			mre_jsonw_ku64(&j, "bitmap-offset", ib->b.bitmap_offset);
			mre_jsonw_ku64(&j, "pages-offset", ib->b.pages_offset);
			mre_jsonw_kbool(&j, "ignored", ib->b.ignored);
		}
		if (ib->b.chunked) {
			mre_jsonw_key(&j, "compression");
			mre_jsonw_obj_begin(&j);
			mre_jsonw_kstr(&j, "algorithm", mre_chunk_alg_name(ib->b.chunk_alg));
			mre_jsonw_ku64(&j, "level", ib->b.chunk_level);
			mre_jsonw_ku64(&j, "chunk-size", ib->b.chunk_size);
			mre_jsonw_ku64(&j, "chunks", ib->b.nchunks);
			mre_jsonw_ku64(&j, "stored-bytes", stored_bytes(ib));
			mre_jsonw_obj_end(&j);
		}
		mre_jsonw_obj_end(&j);
	}
	mre_jsonw_arr_end(&j);
	mre_jsonw_key(&j, "sections");
	mre_jsonw_arr_begin(&j);
	for (size_t i = 0; i < img->nelems; i++) {
		const struct mre_elem *el = &img->elems[i];

		mre_jsonw_obj_begin(&j);
		mre_jsonw_kstr(&j, "type", mre_elem_type_name(el->type));
		mre_jsonw_ku64(&j, "offset", el->offset);
		mre_jsonw_ku64(&j, "end", el->end);
		switch (el->type) {
		case MRE_VM_SECTION_START:
		case MRE_VM_SECTION_PART:
		case MRE_VM_SECTION_END:
		case MRE_VM_SECTION_FULL:
			mre_jsonw_ku64(&j, "section-id", el->section_id);
			mre_jsonw_kstr(&j, "idstr", el->idstr);
			mre_jsonw_ku64(&j, "instance", el->instance);
			mre_jsonw_ku64(&j, "version", el->version);
			break;
		case MRE_VM_COMMAND:
			mre_jsonw_kstr(&j, "command", mre_cmd_name(el->cmd));
			mre_jsonw_ku64(&j, "length", el->cmd_len);
			break;
		}
		mre_jsonw_obj_end(&j);
	}
	mre_jsonw_arr_end(&j);
	mre_jsonw_key(&j, "vmdesc");
	if (img->has_vmdesc) {
		mre_jsonw_obj_begin(&j);
		mre_jsonw_ku64(&j, "offset", img->vmdesc_offset);
		mre_jsonw_ku64(&j, "length", img->vmdesc_len);
		mre_jsonw_obj_end(&j);
	} else {
		mre_jsonw_null(&j);
	}
	mre_jsonw_key(&j, "trailer");
	if (img->has_trailer) {
		mre_jsonw_obj_begin(&j);
		mre_jsonw_ku64(&j, "offset", img->trailer_offset);
		mre_jsonw_ku64(&j, "length", img->trailer_length);
		mre_jsonw_kbool(&j, "page-checksums", img->trailer.flags & MRE_TRAILER_F_PAGES);
		mre_jsonw_ku64(&j, "chunk-pages", img->trailer.chunk_pages);
		mre_jsonw_obj_end(&j);
	} else {
		mre_jsonw_null(&j);
	}
	mre_jsonw_obj_end(&j);
}

void mre_report_text(const struct mre_imagefile *f, FILE *out)
{
	const struct mre_image *img = f->img;
	uint64_t present = 0, zero = 0;
	char sz[32];

	fprintf(out, "file:           %s (%" PRIu64 " bytes)\n", f->path, f->size);
	fprintf(out, "stream:         0x%" PRIx64 " .. 0x%" PRIx64 "\n", img->stream_offset, img->stream_end);
	fprintf(out, "format:         %s\n", format_name(img));
	if (f->header.kind != MRE_HEADER_NONE)
		fprintf(out, "header:         %s%s\n", mre_header_kind_name(f->header.kind),
			f->header.kind == MRE_HEADER_FOREIGN ? "" : f->header.complete ? " (complete)" : " (IN PROGRESS)");
	if (img->has_trailer)
		fprintf(out, "trailer:        at 0x%" PRIx64 ", %s\n", img->trailer_offset,
			img->trailer.flags & MRE_TRAILER_F_PAGES ? "page checksums (CRC-32C)" : "metadata checksum only");
	else
		fprintf(out, "trailer:        none (no checksums)\n");
	fprintf(out, "machine:        %s\n", img->cfg.machine);
	fprintf(out, "page size:      %" PRIu64 "\n", img->page_size);
	fprintf(out, "capabilities:   ");
	for (unsigned i = 0; i < img->cfg.ncaps; i++)
		fprintf(out, "%s%s", i ? ", " : "", img->cfg.caps[i]);
	fprintf(out, "%s\n", img->cfg.ncaps ? "" : "(none)");
	if (img->cfg.has_uuid) {
		char u[37];

		uuid_str(img->cfg.uuid, u);
		fprintf(out, "uuid:           %s\n", u);
	}
	for (unsigned i = 0; i < img->nblocks; i++) {
		present += img->blocks[i].present;
		zero += img->blocks[i].zero;
	}
	fprintf(out, "ram:            %u blocks, %s, %" PRIu64 " pages with data, %" PRIu64 " zero\n",
		img->nblocks, mre_fmt_size(img->ram_total, sz, sizeof(sz)), present, zero);
	fprintf(out, "\n%-28s %12s %10s %10s %10s", "BLOCK", "LENGTH", "PAGES", "PRESENT", "ZERO");
	if (img->mapped_ram)
		fprintf(out, " %12s %12s", "BITMAP@", "PAGES@");
	fputc('\n', out);
	for (unsigned i = 0; i < img->nblocks; i++) {
		const struct mre_image_block *ib = &img->blocks[i];

		fprintf(out, "%-28s %12" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64, ib->b.id,
			ib->b.used_length, ib->npages, ib->present, ib->zero);
		if (ib->b.ignored)
			fprintf(out, " %25s", "(shared, not stored)");
		else if (ib->b.chunked)
			fprintf(out, "  %s, %" PRIu64 " chunks of %" PRIu64 " KiB, %" PRIu64 " bytes stored",
				mre_chunk_alg_name(ib->b.chunk_alg), ib->b.nchunks, ib->b.chunk_size >> 10,
				stored_bytes(ib));
		else if (ib->b.mapped)
			fprintf(out, " %#12" PRIx64 " %#12" PRIx64, ib->b.bitmap_offset, ib->b.pages_offset);
		fputc('\n', out);
	}
	fprintf(out, "\n%-12s %-8s %5s  %-32s %5s %5s %12s\n", "OFFSET", "TYPE", "ID", "NAME", "INST", "VER",
		"END");
	for (size_t i = 0; i < img->nelems; i++) {
		const struct mre_elem *el = &img->elems[i];

		fprintf(out, "%#-12" PRIx64 " %-8s ", el->offset, mre_elem_type_name(el->type));
		switch (el->type) {
		case MRE_VM_SECTION_START:
		case MRE_VM_SECTION_PART:
		case MRE_VM_SECTION_END:
		case MRE_VM_SECTION_FULL:
			fprintf(out, "%5u  %-32s %5u %5u", el->section_id, el->idstr, el->instance, el->version);
			break;
		case MRE_VM_COMMAND:
			fprintf(out, "%5s  %-32s %5s %5s", "", mre_cmd_name(el->cmd), "", "");
			break;
		default:
			fprintf(out, "%5s  %-32s %5s %5s", "", "", "", "");
		}
		fprintf(out, " %#12" PRIx64 "\n", el->end);
	}
}
