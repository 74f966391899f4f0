/* SPDX-License-Identifier: MIT */
/*
 * test_format_synth.h: small synthetic QEMU migration streams for the format
 * tests, built only with mrengine's own encoders (mre_emit_*,
 * mre_config_emit, mre_mem_entry_emit, mre_mr_header_emit). Each builder
 * records the file offset of every field a test may want to check or
 * corrupt, so tests can assert what the parser reports and patch single
 * fields without re-deriving the layout. Test code only: nothing here is
 * linked into mrengine.
 */
#ifndef MRE_TESTS_FORMAT_SYNTH_H
#define MRE_TESTS_FORMAT_SYNTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/wbuf.h"

#define SYNTH_MAX_BLOCKS 4
#define SYNTH_MAX_ELEMS 16
#define SYNTH_MAX_RECS 16

/* Section ids used by the builders (arbitrary, as in a real QEMU). */
#define SYNTH_RAM_ID 2u
#define SYNTH_TIMER_ID 0u
#define SYNTH_CPU_ID 3u

struct synth_block {
	const char *id;
	unsigned npages;
	const char *present;  /* mapped-ram: one '1'/'0' per page (data/zero) */
	bool ignored;         /* mapped-ram + x-ignore-shared: 0/0 offsets */
};

struct synth_opts {
	unsigned page_bits;      /* 0: no target-page-bits subsection (4096) */
	uint64_t align;          /* mapped-ram pages alignment; 0: the page size */
	uint64_t prefix;         /* junk bytes ('X') before the stream */
	bool ignore_shared;      /* list x-ignore-shared and write GPAs */
	bool uuid;               /* add the configuration/uuid subsection */
	bool no_vmdesc;          /* end with EOF only */
	const struct synth_block *blocks;  /* NULL: the default set */
	unsigned nblocks;
};

/* One top-level element as written (type byte offset, one past its end). */
struct synth_elem {
	uint8_t type;
	uint64_t off, end;
};

/* One sequential page record as written. */
struct synth_rec {
	uint64_t off;          /* the record word */
	unsigned block;
	uint64_t addr;
	unsigned kind;         /* MRE_RAM_PAGE / ZERO / XBZRLE */
	bool cont;
	uint8_t fill;
	size_t len;            /* payload handed to the page callback */
};

struct synth {
	struct mre_wbuf wb;
	uint64_t page_size;
	uint64_t stream_offset;
	uint64_t config_end;       /* one past the configuration section */
	uint64_t ram_start;        /* the START type byte */
	uint64_t mem_size;         /* the MEM_SIZE record word */
	uint64_t total;
	unsigned nblocks;
	struct synth_block_pos {
		const char *id;
		unsigned npages;
		uint64_t used;
		uint64_t entry;    /* cstr8 id length byte */
		uint64_t length;   /* be64 used_length */
		uint64_t gpa;      /* be64 GPA (x-ignore-shared) */
		uint64_t header;   /* mapped-ram header */
		uint64_t bitmap, pages; /* mapped-ram offsets as written */
		unsigned present;  /* pages holding data (final state) */
		uint64_t present_mask; /* bit i = page i holds data */
	} blk[SYNTH_MAX_BLOCKS];
	uint64_t start_eos;        /* EOS word ending the START body */
	uint64_t start_footer;     /* footer of the ram START section */
	uint64_t cmd;              /* the SWITCHOVER_START command */
	uint64_t end_footer;       /* footer of the ram END section */
	uint64_t timer_body, timer_footer, cpu_footer;
	uint64_t eof;
	uint64_t vmdesc;           /* the 0x06 byte, or 0 */
	size_t nelems;
	struct synth_elem elems[SYNTH_MAX_ELEMS];
	size_t nrecs;
	struct synth_rec recs[SYNTH_MAX_RECS];
};

/* Byte @k of the data of page @page of block @block: never all zero. */
uint8_t synth_byte(unsigned block, uint64_t page, size_t k);

/* A mapped-ram file. */
void synth_mapped(struct synth *s, const struct synth_opts *o);

/*
 * A sequential stream exercising PAGE, ZERO (fill 0 and non-zero), XBZRLE,
 * CONTINUE within and across sections, block switches, MULTIFD_FLUSH,
 * SWITCHOVER_START, and an opaque device section containing a false
 * footer. Blocks: pc.ram (160 pages), pc.bios (2), /rom@etc/acpi/rsdp (1).
 */
void synth_sequential(struct synth *s, const struct synth_opts *o);

/* The final content of page @page of block @block of synth_sequential(). */
void synth_sequential_page(const struct synth *s, unsigned block, uint64_t page, uint8_t *out);

void synth_free(struct synth *s);

#endif
