/* SPDX-License-Identifier: MIT */
/*
 * split.c: the byte-level state machine behind split.h. It only finds
 * where a value ends; lexical and grammar checks happen in json.c once the
 * value is complete, so nothing here needs to look back at earlier bytes.
 */
#include "qmp/split.h"

#include <stdio.h>
#include <string.h>

static const char ERR_SIZE[] = "JSON message size limit exceeded (1048576 bytes)";
static const char ERR_DEPTH[] = "JSON nesting depth limit exceeded";
static const char ERR_CLOSE[] = "JSON parse error, expecting value";

void mre_qmp_split_init(struct mre_qmp_split *sp)
{
	memset(sp, 0, sizeof(*sp));
	mre_wbuf_init(&sp->msg);
}

void mre_qmp_split_free(struct mre_qmp_split *sp)
{
	mre_wbuf_free(&sp->msg);
}

bool mre_qmp_split_idle(const struct mre_qmp_split *sp)
{
	return sp->state == MRE_SPLIT_IDLE && !sp->discard;
}

static void reset(struct mre_qmp_split *sp)
{
	sp->state = MRE_SPLIT_IDLE;
	sp->depth = 0;
	sp->discard = false;
	mre_wbuf_reset(&sp->msg);
	/* a refused multi-megabyte value must not keep its buffer */
	if (sp->msg.cap > 64 * 1024) {
		mre_wbuf_free(&sp->msg);
		mre_wbuf_init(&sp->msg);
	}
}

bool mre_qmp_split_finish(struct mre_qmp_split *sp)
{
	if (sp->ready) {
		sp->ready = false;
		reset(sp);
	}
	if (sp->state == MRE_SPLIT_SCALAR && !sp->discard) {
		sp->ready = true;
		return true;
	}
	return false;
}

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_delim(unsigned char c)
{
	return is_ws(c) || c == '{' || c == '}' || c == '[' || c == ']' || c == ',' || c == ':' ||
	       c == '"' || c == '\'' || c < 0x20;
}

enum mre_qmp_split_result mre_qmp_split_feed(struct mre_qmp_split *sp, const char *data,
					      size_t len, size_t *used, const char **errmsg)
{
	size_t i = 0;

	if (sp->ready) {
		sp->ready = false;
		reset(sp);
	}
	for (; i < len; i++) {
		unsigned char c = (unsigned char)data[i];
		bool in_str = sp->state == MRE_SPLIT_STRING || sp->state == MRE_SPLIT_ESCAPE;

		/* Control characters: JSON forbids them raw inside strings, and
		 * QEMU treats any outside strings (but whitespace) as a request to
		 * drop the partial value and start over. */
		if (c < 0x20 && (in_str || !is_ws(c))) {
			reset(sp);
			snprintf(sp->errbuf, sizeof(sp->errbuf), "JSON parse error, stray '\\u%04X'", c);
			*errmsg = sp->errbuf;
			*used = i + 1;
			return MRE_SPLIT_ERROR;
		}
		switch (sp->state) {
		case MRE_SPLIT_IDLE:
			if (is_ws(c))
				continue;
			if (c == '}' || c == ']') {
				*errmsg = ERR_CLOSE;
				*used = i + 1;
				return MRE_SPLIT_ERROR;
			}
			if (c == '{' || c == '[') {
				sp->state = MRE_SPLIT_VALUE;
				sp->depth = 1;
			} else if (c == '"' || c == '\'') {
				sp->state = MRE_SPLIT_STRING;
				sp->quote = (char)c;
			} else {
				sp->state = MRE_SPLIT_SCALAR;
			}
			break;
		case MRE_SPLIT_SCALAR:
			if (is_delim(c)) {
				/* the delimiter belongs to what follows */
				if (sp->discard) {
					reset(sp);
					i--; /* unsigned wrap is defined; the loop's i++ undoes it */
					continue;
				}
				sp->ready = true;
				*used = i;
				return MRE_SPLIT_MSG;
			}
			break;
		case MRE_SPLIT_VALUE:
			if (c == '{' || c == '[') {
				if (++sp->depth > MRE_QMP_MAX_DEPTH && !sp->discard) {
					sp->discard = true;
					mre_wbuf_reset(&sp->msg);
					*errmsg = ERR_DEPTH;
					*used = i + 1;
					return MRE_SPLIT_ERROR;
				}
			} else if (c == '}' || c == ']') {
				if (--sp->depth == 0) {
					if (sp->discard) {
						reset(sp);
						continue;
					}
					mre_wbuf_u8(&sp->msg, c);
					sp->ready = true;
					*used = i + 1;
					return MRE_SPLIT_MSG;
				}
			} else if (c == '"' || c == '\'') {
				sp->state = MRE_SPLIT_STRING;
				sp->quote = (char)c;
			}
			break;
		case MRE_SPLIT_STRING:
			if (c == '\\') {
				sp->state = MRE_SPLIT_ESCAPE;
			} else if (c == (unsigned char)sp->quote) {
				if (sp->depth == 0) {
					/* a top-level string */
					if (sp->discard) {
						reset(sp);
						continue;
					}
					mre_wbuf_u8(&sp->msg, c);
					sp->ready = true;
					*used = i + 1;
					return MRE_SPLIT_MSG;
				}
				sp->state = MRE_SPLIT_VALUE;
			}
			break;
		case MRE_SPLIT_ESCAPE:
			sp->state = MRE_SPLIT_STRING;
			break;
		}
		if (sp->discard)
			continue;
		if (sp->msg.len >= MRE_QMP_MAX_MSG) {
			/* keep following the structure so the rest of this value
			 * is skipped, not misread as new values */
			sp->discard = true;
			mre_wbuf_reset(&sp->msg);
			*errmsg = ERR_SIZE;
			*used = i + 1;
			return MRE_SPLIT_ERROR;
		}
		mre_wbuf_u8(&sp->msg, c);
		if (mre_wbuf_err(&sp->msg)) {
			reset(sp);
			*errmsg = "out of memory";
			*used = i + 1;
			return MRE_SPLIT_ERROR;
		}
	}
	*used = len;
	return MRE_SPLIT_MORE;
}
