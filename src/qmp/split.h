/* SPDX-License-Identifier: MIT */
/*
 * split.h: cuts a QMP input byte stream into complete top-level JSON values
 * without parsing them. It tracks strings (double- and single-quoted, as
 * QEMU accepts both), escapes and bracket nesting, so values may arrive
 * several per read or split across reads, with or without newlines.
 *
 * Limits keep it bounded: a value larger than MRE_QMP_MAX_MSG bytes or
 * nested deeper than MRE_QMP_MAX_DEPTH is refused once and then skipped to
 * its end without being stored. A control character (other than TAB, CR
 * and LF outside strings) is an error that resets the splitter at once:
 * this is QEMU's way for a client to resynchronise. Pure: no I/O, no JSON
 * library.
 */
#ifndef MRE_QMP_SPLIT_H
#define MRE_QMP_SPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/wbuf.h"

#define MRE_QMP_MAX_MSG (1u << 20)
/* cJSON's compiled-in CJSON_NESTING_LIMIT; QEMU's own limit is 1024. */
#define MRE_QMP_MAX_DEPTH 1000u

enum mre_qmp_split_state {
	MRE_SPLIT_IDLE,     /* between values */
	MRE_SPLIT_VALUE,    /* inside an object or array */
	MRE_SPLIT_STRING,
	MRE_SPLIT_ESCAPE,
	MRE_SPLIT_SCALAR,   /* a bare top-level token: number, keyword, garbage */
};

struct mre_qmp_split {
	struct mre_wbuf msg;             /* the value being collected */
	enum mre_qmp_split_state state;
	char quote;                      /* '"' or '\'' inside a string */
	uint64_t depth;
	bool discard;                    /* refused value: track it, store nothing */
	bool ready;                      /* msg holds a complete value */
	char errbuf[96];
};

void mre_qmp_split_init(struct mre_qmp_split *sp);
void mre_qmp_split_free(struct mre_qmp_split *sp);

enum mre_qmp_split_result {
	MRE_SPLIT_MORE = 0,   /* all of @data consumed, no complete value yet */
	MRE_SPLIT_MSG = 1,    /* a value is complete: sp->msg.data, sp->msg.len */
	MRE_SPLIT_ERROR = 2,  /* *errmsg says why ("JSON parse error, ...") */
};

/*
 * Consume bytes from @data until a value completes or an error is found;
 * *used tells how many were consumed (the rest must be fed again). A
 * completed value stays in sp->msg until the next call.
 */
enum mre_qmp_split_result mre_qmp_split_feed(struct mre_qmp_split *sp, const char *data,
					      size_t len, size_t *used, const char **errmsg);

/* True when no partial value is pending. */
bool mre_qmp_split_idle(const struct mre_qmp_split *sp);

/* End of input: a pending bare top-level token (e.g. "1" with no newline)
 * is complete after all. True if sp->msg now holds a value. */
bool mre_qmp_split_finish(struct mre_qmp_split *sp);

#endif
