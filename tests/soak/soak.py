# SPDX-License-Identifier: MIT
"""Soak: one QMP daemon, several clients, save / restore / cancel cycles
for MRE_SOAK_SECONDS (default 20; CI runs 120).

Clients, each on its own connection:
  driver   cycles: save -> verify the image -> scribble over the RAM ->
           restore -> compare the RAM with what was saved; every third
           cycle a save or a restore is cancelled at once;
  rival    starts saves of its own whenever the daemon is idle (and is
           refused while another job runs);
  poller   query-migrate, query-status, query-memdev, x-image-inspect;
  fds      add-fd with descriptors passed by SCM_RIGHTS, query-fdsets,
           remove-fd, getfd / closefd;
  churn    connects, sends a command (or garbage), disconnects.

What must hold: every save that completes gives an image `mrengine
verify` accepts; a cancelled save leaves nothing at its path and no
temporary file; a completed restore gives back exactly the saved RAM, a
cancelled one leaves the RAM backing emptied (never half-restored); and,
measured with every client paused at a barrier, the daemon's descriptor
count after warm-up never differs from the count at the end of warm-up
and its RSS stays within a small bound of it (RSS is skipped in sanitizer
builds, where it means little)."""
import os
import random
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmp"))
from daemon import MRENGINE, Daemon, Tap, sanitized  # noqa: E402
from qmp import QMP, QMPError  # noqa: E402

MIB = 1 << 20
SECONDS = float(os.environ.get("MRE_SOAK_SECONDS", "20"))
BLOCKS = (("pc.ram", 24 * MIB), ("vga", 2 * MIB))
RSS_SLACK_KIB = 8 * 1024

tap = Tap()
rnd = random.Random(1)


def content(size, seed):
    """A page mix: 1/3 data, 1/3 zero, 1/3 one repeated byte."""
    r = random.Random(seed)
    page = 4096
    out = bytearray(size)
    for i in range(size // page):
        kind = i % 3
        if kind == 0:
            out[i * page:(i + 1) * page] = r.randbytes(page)
        elif kind == 2:
            out[i * page:(i + 1) * page] = bytes([(i % 255) + 1]) * page
    return bytes(out)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Soak:
    def __init__(self, d):
        self.d = d
        self.expect = {bid: content(size, i + 1) for i, (bid, size) in enumerate(BLOCKS)}
        self.deadline = time.time() + SECONDS
        self.stop = threading.Event()
        self.cond = threading.Condition()
        self.pausing = False
        self.gen = 0
        self.acks = 0
        self.errors = []
        self.lock = threading.Lock()
        self.stats = {"saves": 0, "restores": 0, "cancelled": 0, "refused": 0, "rival": 0,
                      "polls": 0, "fdops": 0, "connects": 0, "verified": 0}
        self.last_image = None
        self.ram_lock = threading.Lock()  # the test rewriting the RAM files

    def fail(self, msg):
        with self.lock:
            self.errors.append(msg)

    def count(self, key, n=1):
        with self.lock:
            self.stats[key] += n

    def ram_path(self, bid):
        return self.d.path("ram-" + bid)

    def write_ram(self):
        with self.ram_lock:
            self._write_ram()

    def _write_ram(self):
        for bid, _ in BLOCKS:
            with open(self.ram_path(bid), "r+b" if os.path.exists(self.ram_path(bid)) else "wb") as f:
                f.write(self.expect[bid])
                f.truncate()

    def scribble(self):
        with self.ram_lock:
            self._scribble()

    def _scribble(self):
        for bid, size in BLOCKS:
            with open(self.ram_path(bid), "r+b") as f:
                f.write(b"\xa5" * size)

    # -- the barrier at which the daemon's resources are measured --------------

    def checkpoint(self):
        """Called by the helpers between two operations: while a
        measurement is under way, report in and wait for its end."""
        with self.cond:
            if not self.pausing:
                return
            gen = self.gen
            self.acks += 1
            self.cond.notify_all()
            self.cond.wait_for(lambda: not self.pausing or self.gen != gen or self.stop.is_set())

    def measure(self, nhelpers):
        """(descriptors, RSS KiB) with every helper paused between two of
        its operations, or None when the soak is stopping."""
        with self.cond:
            self.gen += 1
            self.acks = 0
            self.pausing = True
            done = self.cond.wait_for(lambda: self.acks >= nhelpers or self.stop.is_set(), timeout=120)
        if done and not self.stop.is_set():
            time.sleep(0.05)  # the daemon reacts to disconnects asynchronously
            m = (self.d.nfds(), rss_kib(self.d.pid))
        else:
            m = None
            if not self.stop.is_set():
                self.fail("a client did not reach the measuring barrier")
        with self.cond:
            self.pausing = False
            self.cond.notify_all()
        return m

    # -- the clients ------------------------------------------------------------

    def wait_job(self, c, timeout=120):
        return c.wait_migration(timeout=timeout, poll=0.005)["status"]

    def start(self, c, name, args):
        """Start a job, retrying while a rival's job runs; False on stop."""
        while not self.stop.is_set():
            r = c.execute(name, args)
            if "error" not in r:
                return True
            if "in progress" not in r["error"]["desc"]:
                self.fail("%s %r: %s" % (name, args, r["error"]["desc"]))
                return False
            self.count("refused")
            time.sleep(0.002)
        return False

    def leftovers(self, name):
        return [f for f in os.listdir(self.d.tmp) if f.startswith("." + name + ".mrengine-")]

    def verify(self, path):
        v = subprocess.run([MRENGINE, "verify", "--quiet", path], capture_output=True, text=True)
        return v.returncode == 0, v.stderr

    def driver(self, c, cycle):
        """One cycle. Which job query-migrate shows may be the rival's once
        ours is over, so outcomes are judged by what is on disk and in RAM."""
        img = "drv-%d.img" % (cycle % 3)
        path = self.d.path(img)
        cancel_save = cycle % 3 == 1
        cancel_restore = cycle % 3 == 2
        if os.path.exists(path):
            os.unlink(path)
        if not self.start(c, "migrate", {"uri": "file:" + path}):
            return
        if cancel_save:
            c.cmd("migrate_cancel")
        self.wait_job(c)
        if self.leftovers(img):
            self.fail("cycle %d: a temporary file was left: %r" % (cycle, self.leftovers(img)))
        if not os.path.exists(path):
            if not cancel_save:
                self.fail("cycle %d: a save that nobody cancelled left no image" % cycle)
            self.count("cancelled")
            return
        ok, err = self.verify(path)
        if not ok:
            self.fail("cycle %d: a completed save does not verify: %s" % (cycle, err))
            return
        self.count("saves")
        self.count("verified")
        self.last_image = path
        # the rival may not save while the RAM is scribbled over or emptied
        with self.ram_lock:
            self._scribble()
            if not self.start(c, "migrate-incoming", {"uri": "file:" + path}):
                return
            if cancel_restore:
                c.cmd("migrate_cancel")
            self.wait_job(c)
            restored = True
            for bid, size in BLOCKS:
                with open(self.ram_path(bid), "rb") as f:
                    got = f.read()
                if got == self.expect[bid]:
                    continue
                restored = False
                if not cancel_restore or got != b"":
                    self.fail("cycle %d: block %s is neither restored nor emptied (%d bytes)%s" %
                              (cycle, bid, len(got), " after a cancel" if cancel_restore else ""))
            if restored:
                self.count("restores")
            else:
                self.count("cancelled")
                self._write_ram()

    def rival(self):
        """Saves of its own whenever the daemon is idle: the driver's are
        refused meanwhile. Its image must verify whenever it exists."""
        c = self.d.client()
        path = self.d.path("rival.img")
        while not self.stop.is_set():
            self.checkpoint()
            if os.path.exists(path):
                os.unlink(path)
            # a save is of memory that does not change meanwhile (a paused
            # guest): not while the test rewrites or scribbles over the RAM
            with self.ram_lock:
                r = c.execute("migrate", {"uri": "file:" + path})
                if "error" in r:
                    if "in progress" not in r["error"]["desc"]:
                        self.fail("rival migrate: %s" % r["error"]["desc"])
                    time.sleep(0.01 + rnd.random() * 0.02)
                    continue
                self.wait_job(c)
            c.events.clear()
            if os.path.exists(path):
                ok, err = self.verify(path)
                if not ok:
                    self.fail("rival: a completed save does not verify: %s" % err)
                self.count("rival")
            time.sleep(0.05)
        c.close()

    def poller(self):
        c = self.d.client()
        while not self.stop.is_set():
            self.checkpoint()
            c.cmd("query-migrate")
            c.cmd("query-status")
            c.cmd("query-memdev")
            if self.last_image:
                c.execute("x-image-inspect", {"filename": self.last_image})
            c.events.clear()
            self.count("polls")
            time.sleep(0.005)
        c.close()

    def fds(self):
        """Descriptors in and out of the registry; while a job opens its
        files the registry is frozen and says so, and the client retries."""
        c = self.d.client()

        def call(name, args, fds=None):
            while True:
                r = c.execute(name, args, fds=fds)
                if "error" not in r:
                    return r["return"]
                if "retry once it is active" not in r["error"]["desc"]:
                    raise QMPError(r)
                time.sleep(0.002)

        while not self.stop.is_set():
            self.checkpoint()
            fd = os.open(self.d.path("fdset.img"), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                r = call("add-fd", {"fdset-id": 7, "opaque": "soak"}, fds=[fd])
            finally:
                os.close(fd)
            call("query-fdsets", None)
            call("remove-fd", {"fdset-id": r["fdset-id"], "fd": r["fd"]})
            rp, wp = os.pipe()
            try:
                call("getfd", {"fdname": "soak"}, fds=[rp])
            finally:
                os.close(rp)
                os.close(wp)
            call("closefd", {"fdname": "soak"})
            c.events.clear()
            self.count("fdops")
            time.sleep(0.005)
        c.close()

    def churn(self):
        while not self.stop.is_set():
            self.checkpoint()
            c = QMP(self.d.sock, timeout=30)
            if rnd.random() < 0.5:
                c.cmd("qmp_capabilities")
                c.cmd("query-version")
            else:
                c.send_raw(b'{"execute": "qmp_capabilities"} {"execute": \x01 ]] "x" \n')
                c.send_raw(b'{"execute": "query-status", "id": [')  # left unfinished
            c.close()
            self.count("connects")
            time.sleep(0.005)


def main():
    d = Daemon()
    soak = Soak(d)
    soak.write_ram()
    c = d.client()
    for bid, size in BLOCKS:
        c.cmd("object-add", {"qom-type": "memory-backend-file", "id": bid, "size": size,
                             "mem-path": soak.ram_path(bid), "share": True})
    c.cmd("migrate-set-capabilities", {"capabilities": [
        {"capability": "mapped-ram", "state": True}, {"capability": "multifd", "state": True},
        {"capability": "events", "state": True}]})
    c.cmd("migrate-set-parameters", {"multifd-channels": 2})

    def guarded(f):
        def run():
            try:
                f()
            except Exception as e:  # noqa: BLE001 - any failure of a client fails the soak
                soak.fail("%s: %r" % (f.__name__, e))
                soak.stop.set()
                with soak.cond:
                    soak.cond.notify_all()
        return run

    helpers = [threading.Thread(target=guarded(f), daemon=True)
               for f in (soak.rival, soak.poller, soak.fds, soak.churn)]
    for t in helpers:
        t.start()

    samples = []
    cycle = 0
    warm_until = time.time() + min(5.0, SECONDS / 4)
    baseline = None
    try:
        while time.time() < soak.deadline and not soak.errors:
            soak.driver(c, cycle)
            c.events.clear()
            cycle += 1
            m = soak.measure(len(helpers))
            if m is None:
                break
            n, rss = m
            if time.time() < warm_until or cycle < 4:
                baseline = (n, max(rss, baseline[1] if baseline else 0))
                continue
            samples.append((n, rss))
    except (QMPError, OSError, EOFError, TimeoutError) as e:
        soak.fail("driver: %r" % e)
    soak.stop.set()
    for t in helpers:
        t.join(60)
    c.close()

    s = soak.stats
    tap.ok(not soak.errors, "%d cycles in %.0fs without a failure" % (cycle, SECONDS),
           "\n".join(soak.errors[:10]))
    tap.ok(s["saves"] > 0 and s["restores"] > 0 and s["verified"] == s["saves"],
           "saves completed and verified (%d), restores byte-exact (%d)" % (s["saves"], s["restores"]))
    tap.ok(all(not t.is_alive() for t in helpers), "every client finished")
    tap.ok(samples, "the daemon was measured after warm-up (%d samples)" % len(samples))
    fds = sorted(set(n for n, _ in samples))
    tap.ok(baseline and fds == [baseline[0]],
           "descriptor count flat after warm-up (%s; warm-up %s)" % (fds, baseline and baseline[0]))
    if sanitized():
        tap.skip("RSS is not meaningful in a sanitizer build")
    else:
        top = max((r for _, r in samples), default=0)
        tap.ok(baseline and top <= baseline[1] + RSS_SLACK_KIB,
               "RSS flat after warm-up (max %d KiB, warm-up %d KiB, slack %d KiB)" %
               (top, baseline[1] if baseline else 0, RSS_SLACK_KIB))
    tap.ok(d.alive(), "the daemon is still serving")
    tap.eq(d.stop(), 0, "the daemon exits cleanly (no sanitizer report)")
    print("# %s" % ", ".join("%s %d" % kv for kv in sorted(s.items())))
    sys.exit(tap.done())


main()
