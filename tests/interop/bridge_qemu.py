# SPDX-License-Identifier: MIT
"""The QEMU bridge against real QEMU 10 (and QEMU 7.2 when it can be had).

Every check compares guest RAM from 1 MiB up (QEMU's pmemsave) between
the guest that was saved and the guest that loaded the result.

- QEMU 10 migrates a paused guest to `exec:mrengine ingest` as a plain, a
  compressed and a header-prefixed image; QEMU 10 loads each (expanded,
  or with offset=), and loads each again streamed by `exec:mrengine emit`.
  A mapped-ram file QEMU 10 wrote itself loads through emit, and as a
  sequential file made by convert.
- A QEMU 7.2 stream (the recorded vector, and a live QEMU 7.2 if
  available): the images load in QEMU 10 with -machine pc-i440fx-7.2, the
  emitted stream loads in QEMU 10 and in QEMU 7.2.
- Shared memory: a guest on memory-backend-file,share=on migrated with
  x-ignore-shared sends no RAM; `ingest --ram` reads it from the backing
  and QEMU 10 loads the image without x-ignore-shared. Back: `restore
  --partial` into a new backing, then QEMU loads `emit --ignore-shared`
  with x-ignore-shared; the GPAs are the ones the first stream carried.
- Live: a running guest whose memory changes during the migration (qtest
  writes, xbzrle on) gives an image no larger than RAM plus metadata that
  equals the guest as it stopped.
- Failure: an output that cannot be created, a 16 MiB tmpfs that fills up,
  and an ingest killed while making the pages durable each make QEMU
  report the migration failed, and leave no image.
"""
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

import bridge_lib as B
import qemu
from taptest import TAP

MiB = B.MiB
M = B.mrengine_path()


class Guest(qemu.QEMU):
    """qemu.QEMU plus a machine type, RAM from a memory backend (a shared
    file, or anonymous memory named ram0) and a qtest socket."""

    def __init__(self, wd, name, machine=None, backend=None, qtest=False, old=False, **kw):
        super().__init__(wd, name, **kw)
        a = self.args
        self.old = old
        if machine or backend:
            m = (machine or "pc") + (",memory-backend=ram0" if backend else "")
            a[a.index("-machine") + 1] = m
        if backend == "ram":
            a += ["-object", "memory-backend-ram,id=ram0,size=%d" % self.mem]
        elif backend:
            a += ["-object", "memory-backend-file,id=ram0,size=%d,mem-path=%s,share=on" % (self.mem, backend)]
        self.qtest_sock = None
        if qtest:
            self.qtest_sock = wd.file(name + ".qtest")
            a += ["-qtest", "unix:%s,server=on,wait=off" % self.qtest_sock, "-qtest-log", "/dev/null"]

    def migrate(self, uri, timeout=300.0):
        """Save to `uri` and wait for *this* migration's end: QEMU 7.2 may
        still report the previous migration's "completed" just after
        `migrate` returns, so the end is taken from the MIGRATION event
        (the caller enabled events)."""
        self.qmp.events = [e for e in self.qmp.events if e["event"] != "MIGRATION"]
        self.cmd("migrate", {"uri": uri})
        self.qmp.wait_event("MIGRATION", lambda d: d.get("status") in ("completed", "failed", "cancelled"),
                            timeout)
        return self.wait_migration(timeout)

    def incoming(self, uri, caps=()):
        self.set_caps(dict({"events": True}, **{c: True for c in caps}))
        if self.old:   # QEMU 7.2 has no exit-on-error
            self.cmd("migrate-incoming", {"uri": uri})
            return self.wait_migration()
        return self.migrate_incoming(uri)

    def dump(self, name):
        return read(self.pmemsave(0, self.mem, self.wd.file(name)))


class QTest:
    """The qtest protocol: write guest memory while the guest runs."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.f = self.s.makefile("rw")

    def cmd(self, line):
        self.f.write(line + "\n")
        self.f.flush()
        while True:
            r = self.f.readline()
            if not r:
                raise EOFError("qtest closed")
            if not r.startswith("IRQ"):
                return r.strip()


def settle(path, timeout=60.0):
    """Wait for ingest to put the image at `path`. QEMU reports "completed"
    once its last byte is in the pipe; ingest then writes the end of the
    image and renames it into place (QEMU waits for it to exit, but a QMP
    client may hear "completed" first)."""
    deadline = time.time() + timeout
    while not os.path.exists(path):
        if time.time() > deadline:
            return False
        time.sleep(0.005)
    return True


def read(path):
    with open(path, "rb") as f:
        return f.read()


def ingest_summary(log):
    """The numbers of ingest's --verbose summary line in a QEMU log."""
    m = re.search(r"ingest: .* (\d+) ram sections, (\d+) page / (\d+) zero / (\d+) xbzrle records \((\d+) re-sent\)",
                  log)
    return dict(zip(("sections", "page", "zero", "xbzrle", "resent"), map(int, m.groups()))) if m else None


class Run:
    def __init__(self, t, wd, qemu10, qemu72):
        self.t = t
        self.wd = wd
        self.q10 = qemu10
        self.q72 = qemu72

    def f(self, name):
        return self.wd.file(name)

    def same(self, got, want, label):
        diff = B.first_diff(got, want[:len(got)], skip=MiB)
        return self.t.ok(len(got) == len(want) and diff is None, label, "first difference at %s" % diff)

    def load_image(self, img, want, label, machine=None, mem="64M"):
        """QEMU 10 loads an image (plain, compressed via expand, any header)."""
        t = self.t
        j = B.inspect(img)
        path = img
        if "x-mrengine-compressed" in j["capabilities"]:
            path = img + ".expanded"
            r = B.mrengine("expand", img, path)
            if not t.ok(r.returncode == 0, "%s: mrengine expand" % label, r.stderr.decode()):
                return
        off = B.inspect(path)["stream-offset"]
        uri = "file:%s%s" % (path, ",offset=%d" % off if off else "")
        with Guest(self.wd, "dst", machine=machine, mem=mem, incoming=True, qemu=self.q10) as dst:
            try:
                dst.incoming(uri, ("mapped-ram",))
            except (qemu.MigrationError, qemu.QMPError) as e:
                t.ok(False, "%s: QEMU 10 loads %s" % (label, uri.split("/")[-1]), str(e) + "\n" + dst.log_text())
                return
            self.same(dst.dump("dst.ram"), want, "%s: QEMU 10 loads it (%s) and guest RAM is equal" %
                      (label, "expanded" if path != img else "offset=%d" % off if off else "file:"))
        if path != img:
            os.unlink(path)

    def load_emit(self, img, want, label, machine=None, old=False, extra=""):
        t = self.t
        who = "QEMU 7.2" if old else "QEMU 10"
        with Guest(self.wd, "dst", machine=machine, incoming=True, qemu=self.q72 if old else self.q10, old=old) as dst:
            try:
                dst.incoming("exec:%s emit -v %s%s" % (M, extra, img))
            except (qemu.MigrationError, qemu.QMPError) as e:
                t.ok(False, "%s: %s loads exec:mrengine emit" % (label, who), str(e) + "\n" + dst.log_text())
                return
            self.same(dst.dump("dst.ram"), want, "%s: %s loads exec:mrengine emit and guest RAM is equal" %
                      (label, who))

    # -- QEMU 10 -> ingest -> QEMU 10 --------------------------------------------------------

    VARIANTS = (("plain", ""), ("zstd", "--compress zstd "), ("mrengine header", "--header mrengine "))

    def qemu10_stream(self):
        t = self.t
        with Guest(self.wd, "src", mem="64M", patterns=[(MiB, 4 * MiB, 1)], qemu=self.q10) as src:
            src.set_caps({"events": True})
            src.set_params({"max-bandwidth": 1 << 40})
            for name, flags in self.VARIANTS:
                label = "QEMU 10 stream, %s" % name
                img = self.f("q10-%s.img" % name.split()[-1])
                src.make_migratable()
                want = src.dump("src.ram")
                try:
                    src.migrate("exec:%s ingest -v %s%s" % (M, flags, img))
                except (qemu.MigrationError, qemu.QMPError) as e:
                    t.ok(False, "%s: migrate exec:mrengine ingest" % label, str(e) + "\n" + src.log_text())
                    continue
                t.ok(settle(img) and B.mrengine("verify", img).returncode == 0,
                     "%s: migrate to exec:mrengine ingest completes with a verified image" % label)
                self.load_image(img, want, label)
                self.load_emit(img, want, label)
                os.unlink(img)

    # -- QEMU 7.2 --------------------------------------------------------------------------

    def qemu72_vector(self, vdir):
        t = self.t
        mig, ram = self.f("v72.mig"), self.f("v72.ram")
        for src, dst in (("f_old72_sequential_exec.mig.zst", mig), ("f_old72_sequential_exec.ram.zst", ram)):
            subprocess.run(["zstd", "-d", "-q", "-f", "--sparse", os.path.join(vdir, src), "-o", dst], check=True)
        want = read(ram)
        for name, flags in self.VARIANTS:
            label = "QEMU 7.2 stream (recorded), %s" % name
            img = self.f("v72-%s.img" % name.split()[-1])
            with open(mig, "rb") as f:
                r = B.mrengine("ingest", *flags.split(), img, stdin=f)
            if not t.ok(r.returncode == 0, "%s: ingest" % label, r.stderr.decode()):
                continue
            self.load_image(img, want, label, machine="pc-i440fx-7.2")
            if name == "plain":
                self.load_emit(img, want, label, machine="pc-i440fx-7.2")
            if self.q72 and name != "mrengine header":
                self.load_emit(img, want, label, old=True)
            os.unlink(img)
        os.unlink(mig)
        os.unlink(ram)

    def qemu10_native(self, vdir):
        """A mapped-ram image QEMU 10 wrote itself (SWITCHOVER_START between
        the ram sections), streamed by emit and converted to a file."""
        t = self.t
        img, ram, seq = self.f("a.img"), self.f("a.ram"), self.f("a.seq")
        for src, dst in (("a_new_mapped_ram.mig.zst", img), ("a_new_mapped_ram.ram.zst", ram)):
            subprocess.run(["zstd", "-d", "-q", "-f", "--sparse", os.path.join(vdir, src), "-o", dst], check=True)
        want = read(ram)
        self.load_emit(img, want, "QEMU 10's own mapped-ram file")
        r = B.mrengine("convert", img, seq)
        if t.ok(r.returncode == 0, "QEMU 10's own mapped-ram file: convert to a sequential file", r.stderr.decode()):
            with Guest(self.wd, "dst", incoming=True, qemu=self.q10) as dst:
                try:
                    dst.incoming("file:" + seq)
                    self.same(dst.dump("dst.ram"), want, "QEMU 10's own mapped-ram file: QEMU 10 loads the converted "
                              "sequential file (no mapped-ram); guest RAM is equal")
                except (qemu.MigrationError, qemu.QMPError) as e:
                    t.ok(False, "QEMU 10 loads the converted file", str(e) + "\n" + dst.log_text())
        for p in (img, ram, seq):
            os.unlink(p)

    def qemu72_live(self):
        t = self.t
        with Guest(self.wd, "src72", mem="64M", patterns=[(MiB, 4 * MiB, 2)], qemu=self.q72, old=True) as src:
            src.set_caps({"events": True})
            src.set_params({"max-bandwidth": 1 << 40})
            for name, flags in self.VARIANTS:
                label = "QEMU 7.2 stream (live), %s" % name
                img = self.f("l72-%s.img" % name.split()[-1])
                src.make_migratable()
                want = src.dump("src.ram")
                try:
                    src.migrate("exec:%s ingest -v %s%s" % (M, flags, img))
                except (qemu.MigrationError, qemu.QMPError) as e:
                    t.ok(False, "%s: QEMU 7.2 migrates to exec:mrengine ingest" % label, str(e) + "\n" + src.log_text())
                    continue
                t.ok(settle(img) and B.inspect(img)["machine"] == "pc-i440fx-7.2",
                     "%s: QEMU 7.2 migrates to exec:mrengine ingest, the image has machine pc-i440fx-7.2" % label)
                self.load_image(img, want, label, machine="pc-i440fx-7.2")
                if name != "mrengine header":
                    self.load_emit(img, want, label, old=True)
                os.unlink(img)

    # -- shared memory -----------------------------------------------------------------------

    def shared(self):
        t = self.t
        shm_src = "/dev/shm/mre-bridge-src-%d" % os.getpid()
        shm_dst = "/dev/shm/mre-bridge-dst-%d" % os.getpid()
        img, orig = self.f("shared.img"), self.f("shared-orig.mig")
        try:
            with Guest(self.wd, "ssrc", mem="64M", patterns=[(MiB, 4 * MiB, 3)], backend=shm_src,
                       qemu=self.q10) as src:
                src.set_caps({"events": True, "x-ignore-shared": True})
                src.set_params({"max-bandwidth": 1 << 40})
                want = src.dump("src.ram")
                try:
                    r = src.migrate("exec:tee %s | %s ingest -v --ram ram0=%s %s" % (orig, M, shm_src, img))
                except (qemu.MigrationError, qemu.QMPError) as e:
                    t.ok(False, "shared memory: migrate with x-ignore-shared to exec:mrengine ingest --ram",
                         str(e) + "\n" + src.log_text())
                    return
                ok = settle(img)
                sent = os.path.getsize(orig)
                t.ok(sent < 2 * MiB and ok,
                     "shared memory: QEMU sends only device state and the block list (%d KiB for 64 MiB); "
                     "ingest --ram reads the rest from the backing" % (sent // 1024))
            j = B.inspect(img)
            t.eq(j["capabilities"], ["mapped-ram"], "shared memory: the image does not need x-ignore-shared")
            with Guest(self.wd, "sdst", mem="64M", backend="ram", incoming=True, qemu=self.q10) as dst:
                try:
                    dst.incoming("file:" + img, ("mapped-ram",))
                    self.same(dst.dump("dst.ram"), want, "shared memory: QEMU 10 without shared memory and without "
                              "x-ignore-shared loads the image; guest RAM is equal")
                except (qemu.MigrationError, qemu.QMPError) as e:
                    t.ok(False, "shared memory: QEMU 10 loads the image", str(e) + "\n" + dst.log_text())
            # back: RAM into a new shared backing, device state by emit
            r = B.mrengine("restore", "--partial", img, "-object",
                           "memory-backend-file,id=ram0,size=64M,mem-path=%s,share=on" % shm_dst)
            t.ok(r.returncode == 0, "shared memory: mrengine restore --partial fills a new backing", r.stderr.decode())
            emitted = self.f("shared.emit")
            with open(emitted, "wb") as f:
                B.mrengine("emit", "--ignore-shared", "ram0", img, stdout=f)
            _, c0, b0 = B.parse_blocks(orig)
            _, c1, b1 = B.parse_blocks(emitted)
            t.ok(c1 == c0 == ["x-ignore-shared"] and b1 == b0 and all(g is not None for _, _, g in b1),
                 "shared memory: emit --ignore-shared gives the block list with the GPAs of QEMU's stream",
                 "%r\n%r" % (b0, b1))
            with Guest(self.wd, "sdst2", mem="64M", backend=shm_dst, incoming=True, qemu=self.q10) as dst:
                try:
                    dst.incoming("exec:%s emit -v --ignore-shared ram0 %s" % (M, img), ("x-ignore-shared",))
                    self.same(dst.dump("dst.ram"), want, "shared memory: QEMU 10 on the restored backing loads "
                              "exec:mrengine emit --ignore-shared with x-ignore-shared; guest RAM is equal")
                except (qemu.MigrationError, qemu.QMPError) as e:
                    t.ok(False, "shared memory: QEMU 10 loads emit --ignore-shared", str(e) + "\n" + dst.log_text())
        finally:
            for p in (shm_src, shm_dst, img, orig, self.f("shared.emit")):
                if os.path.exists(p):
                    os.unlink(p)

    # -- live ---------------------------------------------------------------------------------------

    def live(self):
        t = self.t
        img = self.f("live.img")
        with Guest(self.wd, "live", mem="128M", patterns=[(MiB, 8 * MiB, 4)], qtest=True, qemu=self.q10) as src:
            qt = QTest(src.qtest_sock)
            src.set_caps({"events": True, "xbzrle": True, "pause-before-switchover": True})
            # slow enough for several passes, never converging while the guest writes
            src.set_params({"max-bandwidth": 8 << 20, "downtime-limit": 1})
            src.cmd("cont")
            src.cmd("migrate", {"uri": "exec:%s ingest -v %s" % (M, img)})
            rnd = random.Random(9)
            writing, writes, continued, deadline = True, 0, False, time.time() + 120
            while time.time() < deadline:
                st = src.cmd("query-migrate")
                s = st.get("status")
                if s in ("completed", "failed", "cancelled"):
                    break
                if s == "pre-switchover" and not continued:
                    # the guest is stopped; every write so far is in the last pass.
                    # Once only: QEMU may still report pre-switchover a moment
                    # after the continue, and a second one would be refused.
                    src.cmd("migrate-continue", {"state": "pre-switchover"})
                    continued = True
                elif s == "active" and writing:
                    writing = st["ram"]["dirty-sync-count"] < 8
                    for _ in range(128):
                        addr = 0x2000000 + rnd.randrange(0, 1 << 20) // 8 * 8
                        qt.cmd("writeq %#x %#x" % (addr, rnd.getrandbits(64)))
                        writes += 1
                time.sleep(0.005)
            if not t.ok(s == "completed", "live: a running guest migrates to exec:mrengine ingest (%s)" % s,
                        str(st) + "\n" + src.log_text()):
                return
            want = src.dump("src.ram")
            passes = st["ram"]["dirty-sync-count"]
            settle(img)
            deadline = time.time() + 30
            while not ingest_summary(src.log_text()) and time.time() < deadline:
                time.sleep(0.01)   # ingest prints its summary as it exits
            summ = ingest_summary(src.log_text())
        t.ok(passes >= 3 and summ and summ["resent"] > 0 and summ["sections"] > 3,
             "live: %d passes, %d guest writes during the migration, pages sent again: %s" %
             (passes, writes, summ), src.log_text()[-2000:])
        if summ:
            t.diag("live: %d XBZRLE records applied" % summ["xbzrle"])
        st = os.stat(img)
        j = B.inspect(img)
        ram = sum(b["used-length"] for b in j["blocks"])
        t.ok(st.st_blocks * 512 <= ram and st.st_size <= ram + len(j["blocks"]) * MiB + 2 * MiB,
             "live: the image is no larger than RAM plus metadata (%d bytes, %d allocated, RAM %d)" %
             (st.st_size, st.st_blocks * 512, ram))
        self.load_image(img, want, "live", mem="128M")
        os.unlink(img)

    # -- failures -------------------------------------------------------------------------------

    def expect_failure(self, src, uri, label):
        t = self.t
        src.make_migratable()
        try:
            src.migrate(uri)
        except qemu.MigrationError as e:
            t.ok(True, "%s: QEMU reports the migration failed (%s)" % (label, str(e).split(": ", 2)[-1][:80]))
            return
        except qemu.QMPError as e:
            t.ok(True, "%s: QEMU refuses the migration (%s)" % (label, e))
            return
        t.ok(False, "%s: QEMU reports the migration failed" % label, "it completed\n" + src.log_text())

    def failures(self):
        t = self.t
        with Guest(self.wd, "fsrc", mem="64M", patterns=[(MiB, 40 * MiB, 5)], qemu=self.q10) as src:
            src.set_caps({"events": True})
            src.set_params({"max-bandwidth": 1 << 40})
            self.expect_failure(src, "exec:%s ingest /nonexistent-dir/vm.img" % M,
                                "ingest into a directory that does not exist")
            self.tmpfs(src)
        self.hold()

    def tmpfs(self, src):
        t = self.t
        mnt = tempfile.mkdtemp(prefix="mre-full.", dir=self.wd.path)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mnt], capture_output=True, text=True)
        if r.returncode:
            t.skip("cannot mount a tmpfs here (%s)" % (r.stderr.strip() or "not root"),
                   "ingest onto a full filesystem")
            os.rmdir(mnt)
            return
        try:
            self.expect_failure(src, "exec:%s ingest %s/vm.img" % (M, mnt), "ingest onto a 16 MiB tmpfs (28 MiB of data)")
            t.eq(os.listdir(mnt), [], "full tmpfs: no image and no temporary file are left")
            st = os.statvfs(mnt)
            t.ok(st.f_bfree * st.f_frsize >= 15 * MiB, "full tmpfs: the space is given back")
        finally:
            subprocess.run(["umount", mnt], capture_output=True)
            os.rmdir(mnt)

    def hold(self):
        """Kill ingest while it makes the pages durable (the ram END
        section): QEMU must still be writing, and so must fail."""
        t = self.t
        img = self.f("hold.img")
        points = []
        with Guest(self.wd, "h1", mem="64M", patterns=[(MiB, 4 * MiB, 6)], qemu=self.q10) as src:
            src.set_caps({"events": True})
            src.set_params({"max-bandwidth": 1 << 40})
            src.migrate("exec:env MRENGINE_TESTPOINTS=1 %s ingest %s" % (M, img))
            settle(img)
            points = re.findall(r"testpoint (\d+) (.*)", src.log_text())
        os.unlink(img)
        first = [int(n) for n, name in points if name.strip() == "a bitmap"]
        if not t.ok(first, "hold: ingest's test points are listed", repr(points[:10])):
            return
        with Guest(self.wd, "h2", mem="64M", patterns=[(MiB, 4 * MiB, 6)], qemu=self.q10) as src:
            src.set_caps({"events": True})
            src.set_params({"max-bandwidth": 1 << 40})
            self.expect_failure(src, "exec:env MRENGINE_KILL_AT=%d %s ingest %s" % (first[0], M, img),
                                "ingest killed while making the pages durable (test point %d)" % first[0])
        t.ok(not os.path.exists(img), "hold: no image after the killed ingest")


def find_vectors():
    src = os.environ.get("srcdir", ".")
    for d in (os.environ.get("MRE_VECTORS"), os.path.join(src, "..", "shared", "vectors"),
              os.path.join(src, "..", "..", "shared", "vectors")):
        if d and os.path.exists(os.path.join(d, "f_old72_sequential_exec.mig.zst")):
            return d
    return None


def main():
    t = TAP()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        q10 = qemu.find_qemu()
    except qemu.Skip as e:
        t.skip_all(str(e))
    try:
        q72 = B.find_qemu72(B.cache_dir("qemu72"))
        t.diag("QEMU 7.2: %s" % q72)
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        q72 = None
        t.diag("no QEMU 7.2, its live parts are skipped: %s" % e)
    vdir = find_vectors()
    with qemu.Workdir("mre-bridge-qemu.") as wd:
        run = Run(t, wd, q10, q72)
        parts = [("QEMU 10 stream", run.qemu10_stream),
                 ("QEMU 7.2 stream (recorded)", (lambda: run.qemu72_vector(vdir)) if vdir else None),
                 ("QEMU 10 mapped-ram file", (lambda: run.qemu10_native(vdir)) if vdir else None),
                 ("QEMU 7.2 stream (live)", run.qemu72_live if q72 else None),
                 ("shared memory", run.shared), ("live", run.live), ("failures", run.failures)]
        for name, fn in parts:
            if fn is None:
                t.skip("QEMU 7.2 unavailable" if "live" in name else "shared/vectors not found", name)
                continue
            start = time.time()
            try:
                fn()
            except (RuntimeError, OSError, EOFError, TimeoutError, qemu.QMPError, qemu.MigrationError) as e:
                t.ok(False, "%s: QEMU runs" % name, repr(e))
            t.diag("%s: %.1f s" % (name, time.time() - start))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
