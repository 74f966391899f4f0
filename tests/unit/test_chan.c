/* SPDX-License-Identifier: MIT */
/*
 * test_chan.c: the channel runner with both backends: data lands where it
 * should for every channel count and ring depth, reads past the end are
 * errors, a unit's error and a cancel stop the run and are reported, and
 * a producer-fed run (unknown length) ends cleanly on MRE_CHAN_NO_MORE.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/chan.h"
#include "tap.h"

#define UNIT 65536u
#define NUNITS 300u

struct ctx {
	uint8_t *buf;
	bool write;
	uint64_t fail_at;     /* unit that fails, or UINT64_MAX */
	atomic_bool *cancel;
	uint64_t cancel_at;
	atomic_uint done;
};

static int unit_fn(void *p, struct mre_chan *ch, uint64_t u, struct mre_err *err)
{
	struct ctx *c = p;
	/* odd split: two requests per unit, the second one short */
	size_t a = UNIT - 4096 * (u % 7), b = UNIT - a;
	int r;

	if (u == c->fail_at)
		return mre_err_set(err, -EPROTO, "unit %llu failed on purpose", (unsigned long long)u);
	if (c->cancel && u == c->cancel_at)
		atomic_store(c->cancel, true);
	if (c->write)
		r = mre_chan_write(ch, c->buf + u * UNIT, a, u * UNIT);
	else
		r = mre_chan_read(ch, c->buf + u * UNIT, a, u * UNIT);
	if (!r && b)
		r = c->write ? mre_chan_write(ch, c->buf + u * UNIT + a, b, u * UNIT + a)
			     : mre_chan_read(ch, c->buf + u * UNIT + a, b, u * UNIT + a);
	atomic_fetch_add(&c->done, 1);
	return r;
}

static void roundtrip(enum mre_io_backend be, unsigned nchan, unsigned depth, const uint8_t *data)
{
	char path[] = "/tmp/mre-chan-XXXXXX";
	int fd = mkstemp(path);
	struct mre_chan_cfg cfg = { .backend = be, .nchan = nchan, .depth = depth, .fd = fd };
	struct ctx c = { .buf = (uint8_t *)data, .write = true, .fail_at = UINT64_MAX };
	struct mre_err err = MRE_ERR_INIT;
	enum mre_io_backend used;
	uint8_t *back = calloc(NUNITS, UNIT);
	int r;

	unlink(path);
	r = mre_chan_run(&cfg, NUNITS, unit_fn, &c, &used, &err);
	is_int(r, 0, "%s x%u depth %u: write run", mre_io_backend_name(be), nchan, depth);
	is_int(used, be, "backend used is the one asked for");
	c.buf = back;
	c.write = false;
	r = mre_chan_run(&cfg, NUNITS, unit_fn, &c, NULL, &err);
	is_int(r, 0, "%s x%u depth %u: read run", mre_io_backend_name(be), nchan, depth);
	ok(!memcmp(back, data, (size_t)NUNITS * UNIT), "%s x%u depth %u: data read back equals data written",
	   mre_io_backend_name(be), nchan, depth);
	free(back);
	close(fd);
}

static void failures(enum mre_io_backend be)
{
	char path[] = "/tmp/mre-chan-XXXXXX";
	int fd = mkstemp(path);
	uint8_t *buf = calloc(NUNITS, UNIT);
	struct mre_chan_cfg cfg = { .backend = be, .nchan = 2, .fd = fd };
	struct ctx c = { .buf = buf, .write = false, .fail_at = UINT64_MAX };
	struct mre_err err = MRE_ERR_INIT;
	atomic_bool cancel = false;
	int r;

	unlink(path);
	/* the file is empty: reading is an unexpected end of file */
	r = mre_chan_run(&cfg, 4, unit_fn, &c, NULL, &err);
	is_int(r, -ENODATA, "%s: read past the end fails", mre_io_backend_name(be));
	like(err.msg, "end of file", "%s: the error says so", mre_io_backend_name(be));

	mre_err_clear(&err);
	c.write = true;
	c.fail_at = 7;
	atomic_store(&c.done, 0);
	r = mre_chan_run(&cfg, NUNITS, unit_fn, &c, NULL, &err);
	is_int(r, -EPROTO, "%s: a unit's error ends the run", mre_io_backend_name(be));
	like(err.msg, "unit 7 failed on purpose", "%s: with the unit's message", mre_io_backend_name(be));
	ok(atomic_load(&c.done) < NUNITS, "%s: later units are not started", mre_io_backend_name(be));

	mre_err_clear(&err);
	c.fail_at = UINT64_MAX;
	c.cancel = &cancel;
	c.cancel_at = 5;
	cfg.cancel = &cancel;
	atomic_store(&c.done, 0);
	r = mre_chan_run(&cfg, NUNITS, unit_fn, &c, NULL, &err);
	is_int(r, MRE_ECANCELED, "%s: cancel ends the run", mre_io_backend_name(be));
	ok(atomic_load(&c.done) < NUNITS, "%s: a cancelled run stops early", mre_io_backend_name(be));
	free(buf);
	close(fd);
}

/* Units handed out until a shared counter runs dry: a queue's consumer. */
struct feed {
	atomic_uint left;
	atomic_uint taken;
};

static int feed_fn(void *p, struct mre_chan *ch, uint64_t u, struct mre_err *err)
{
	struct feed *f = p;
	unsigned n = atomic_load(&f->left);

	(void)ch;
	(void)u;
	(void)err;
	do {
		if (!n)
			return MRE_CHAN_NO_MORE;
	} while (!atomic_compare_exchange_weak(&f->left, &n, n - 1));
	atomic_fetch_add(&f->taken, 1);
	return 0;
}

static void open_ended(enum mre_io_backend be, unsigned nchan)
{
	struct mre_chan_cfg cfg = { .backend = be, .nchan = nchan, .fd = -1 };
	struct mre_err err = MRE_ERR_INIT;
	struct feed f;
	int r;

	atomic_init(&f.left, 1000);
	atomic_init(&f.taken, 0);
	r = mre_chan_run(&cfg, UINT64_MAX, feed_fn, &f, NULL, &err);
	is_int(r, 0, "%s x%u: an open-ended run ends without error on MRE_CHAN_NO_MORE",
	       mre_io_backend_name(be), nchan);
	is_int(atomic_load(&f.taken), 1000, "%s x%u: every queued unit was taken once", mre_io_backend_name(be), nchan);
}

int main(void)
{
	uint8_t *data = malloc((size_t)NUNITS * UNIT);
	enum mre_io_backend b;
	static const unsigned nchan[] = { 1, 2, 4 }, depth[] = { 1, 16 };

	for (size_t i = 0; i < (size_t)NUNITS * UNIT; i++)
		data[i] = (uint8_t)(i * 2654435761u >> 13);
	is_int(mre_io_backend_parse("uring", &b), 0, "parse 'uring'");
	is_int(b, MRE_IO_URING, "  = MRE_IO_URING");
	is_int(mre_io_backend_parse("nope", &b), -EINVAL, "parse rejects 'nope'");
	for (size_t n = 0; n < 3; n++)
		roundtrip(MRE_IO_THREADS, nchan[n], 0, data);
	failures(MRE_IO_THREADS);
	open_ended(MRE_IO_THREADS, 1);
	open_ended(MRE_IO_THREADS, 3);
	if (mre_io_uring_available()) {
		for (size_t n = 0; n < 3; n++)
			for (size_t d = 0; d < 2; d++)
				roundtrip(MRE_IO_URING, nchan[n], depth[d], data);
		failures(MRE_IO_URING);
		open_ended(MRE_IO_URING, 2);
	} else {
		diag("io_uring unavailable here: uring cases skipped");
	}
	free(data);
	return tap_done();
}
