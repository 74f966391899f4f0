/* SPDX-License-Identifier: MIT */
/*
 * qemu.h: wire constants of QEMU's migration stream (facts, not code; see
 * doc/format.md). Shared by every encoder and decoder in src/format/.
 */
#ifndef MRE_FORMAT_QEMU_H
#define MRE_FORMAT_QEMU_H

#define MRE_QEMU_MAGIC 0x5145564Du   /* "QEVM" */
#define MRE_QEMU_VERSION 3u
#define MRE_QEMU_VERSION_COMPAT 2u   /* obsolete, refused */

/* top-level element types */
enum {
	MRE_VM_EOF = 0x00,
	MRE_VM_SECTION_START = 0x01,
	MRE_VM_SECTION_PART = 0x02,
	MRE_VM_SECTION_END = 0x03,
	MRE_VM_SECTION_FULL = 0x04,
	MRE_VM_SUBSECTION = 0x05,
	MRE_VM_VMDESCRIPTION = 0x06,
	MRE_VM_CONFIGURATION = 0x07,
	MRE_VM_COMMAND = 0x08,
	MRE_VM_SECTION_FOOTER = 0x7e,
};

/* QEMU_VM_COMMAND numbers */
enum {
	MRE_CMD_OPEN_RETURN_PATH = 1,
	MRE_CMD_PING = 2,
	MRE_CMD_POSTCOPY_ADVISE = 3,
	MRE_CMD_POSTCOPY_LISTEN = 4,
	MRE_CMD_POSTCOPY_RUN = 5,
	MRE_CMD_POSTCOPY_RAM_DISCARD = 6,
	MRE_CMD_PACKAGED = 7,
	MRE_CMD_ENABLE_COLO = 8,
	MRE_CMD_POSTCOPY_RESUME = 9,
	MRE_CMD_RECV_BITMAP = 10,
	MRE_CMD_SWITCHOVER_START = 11,
	MRE_CMD_MAX = 11,
};

/* RAM record flags (low bits of the be64 record word) */
enum {
	MRE_RAM_FULL = 0x001,
	MRE_RAM_ZERO = 0x002,
	MRE_RAM_MEM_SIZE = 0x004,
	MRE_RAM_PAGE = 0x008,
	MRE_RAM_EOS = 0x010,
	MRE_RAM_CONTINUE = 0x020,
	MRE_RAM_XBZRLE = 0x040,
	MRE_RAM_HOOK = 0x080,
	MRE_RAM_COMPRESS_PAGE = 0x100,
	MRE_RAM_MULTIFD_FLUSH = 0x200,
};

#define MRE_RAM_SECTION_VERSION 4u
#define MRE_XBZRLE_ENCODING 0x01

/* mapped-ram */
#define MRE_MR_HEADER_SIZE 28u
#define MRE_MR_VERSION 1u
#define MRE_MR_ALIGN_DEFAULT 0x100000u   /* 1 MiB, absolute file offsets */

#define MRE_PAGE_SIZE_DEFAULT 4096u      /* x86: configuration has no target-page-bits */

#endif
