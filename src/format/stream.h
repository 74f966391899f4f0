/* SPDX-License-Identifier: MIT */
/*
 * stream.h: the one parser of QEMU migration streams.
 *
 * mre_walk_run() reads a stream (sequential or mapped-ram) from a struct
 * mre_rd and reports what it finds through callbacks: the configuration,
 * each top-level element with its file offsets, each RAM block of the
 * MEM_SIZE list, and each sequential page record. Device sections are
 * opaque: their end is found by their footer, and the caller may copy the
 * bytes [offset, end) verbatim. Every count, length and offset is checked
 * before use and every error names the file offset.
 *
 * The walker stops after the vmdesc (or after EOF when there is none) and
 * leaves the reader there; anything after it (mrengine's trailer) is the
 * caller's business.
 */
#ifndef MRE_FORMAT_STREAM_H
#define MRE_FORMAT_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format/config.h"
#include "format/rd.h"
#include "format/ram.h"

#define MRE_MAX_BLOCKS 65536u
#define MRE_MAX_VMDESC (64u * 1024 * 1024)
/* The most RAM a stream may declare (MEM_SIZE total): 64 TiB. */
#define MRE_MAX_RAM (64ULL << 40)

/* A top-level element of the stream. */
struct mre_elem {
	uint8_t type;          /* MRE_VM_* */
	uint32_t section_id;   /* sections */
	char idstr[256];       /* sections (PART/END: copied from their START) */
	uint32_t instance;
	uint32_t version;
	uint16_t cmd;          /* MRE_VM_COMMAND */
	uint16_t cmd_len;
	uint64_t offset;       /* the type byte */
	uint64_t end;          /* one past the footer / payload */
};

enum mre_page_kind {
	MRE_PAGE_DATA,    /* data: page_size bytes */
	MRE_PAGE_ZERO,    /* every byte equals fill */
	MRE_PAGE_XBZRLE,  /* data: a delta of len bytes against the current page */
};

struct mre_walk_ops {
	/* After the configuration section. */
	int (*config)(void *u, const struct mre_config *cfg, struct mre_err *err);
	/* After each complete top-level element (also EOF and the vmdesc). */
	int (*elem)(void *u, const struct mre_elem *el, struct mre_err *err);
	/* After each MEM_SIZE entry (and, for mapped-ram, its header). */
	int (*block)(void *u, unsigned idx, const struct mre_block *b, struct mre_err *err);
	/* Each sequential page record, in stream order; @data is only valid
	 * during the call. */
	int (*page)(void *u, unsigned block, uint64_t offset, enum mre_page_kind kind,
		    const uint8_t *data, size_t len, uint8_t fill, struct mre_err *err);
	/* The vmdesc JSON (only if want_vmdesc); not NUL-terminated. */
	int (*vmdesc)(void *u, const char *json, size_t len, struct mre_err *err);
};

struct mre_walk {
	/* set by the caller before mre_walk_run() (zero = defaults) */
	bool want_vmdesc;
	/* results, valid during callbacks and after the run */
	struct mre_config cfg;
	uint64_t page_size;
	bool mapped_ram;
	bool ignore_shared;
	bool compressed;           /* mrengine's compressed variant */
	uint64_t stream_offset;   /* the "QEVM" magic */
	uint64_t config_end;
	bool ram_seen;            /* a "ram" START section was read */
	uint32_t ram_section_id;
	uint64_t ram_total;       /* MEM_SIZE total */
	struct mre_block *blocks;
	unsigned nblocks;
	bool postcopy_advise;     /* MEM_SIZE may carry hugepage sizes */
	uint64_t eof_offset;      /* the EOF byte, or 0 */
	bool has_vmdesc;
	uint64_t vmdesc_offset;   /* the 0x06 byte */
	uint64_t vmdesc_len;
	uint64_t end;             /* one past the last byte parsed */
	/* internal */
	int last_block;
	unsigned ram_sections;    /* START/PART/END seen for ram */
	bool ram_ended;
	uint8_t *page_buf;        /* XBZRLE scratch */
};

void mre_walk_init(struct mre_walk *w);
void mre_walk_free(struct mre_walk *w);

/* Parse from the reader's position (which must be the "QEVM" magic). */
int mre_walk_run(struct mre_walk *w, struct mre_rd *rd, const struct mre_walk_ops *ops, void *u,
		 struct mre_err *err);

/* Name of an element type ("START", "FULL", "COMMAND", ...). */
const char *mre_elem_type_name(uint8_t type);
/* Name of a QEMU_VM_COMMAND ("SWITCHOVER_START", ...) or "UNKNOWN". */
const char *mre_cmd_name(uint16_t cmd);

/* Encoders for the framing. */
void mre_emit_file_header(struct mre_wbuf *wb);
void mre_emit_section_start(struct mre_wbuf *wb, uint8_t type, uint32_t id, const char *idstr,
			    uint32_t instance, uint32_t version);
void mre_emit_section_short(struct mre_wbuf *wb, uint8_t type, uint32_t id);
void mre_emit_footer(struct mre_wbuf *wb, uint32_t id);
void mre_emit_command(struct mre_wbuf *wb, uint16_t cmd, const void *payload, uint16_t len);
/* EOF, then the vmdesc element when @json is not NULL. */
void mre_emit_eof(struct mre_wbuf *wb, const char *json, size_t len);

#endif
