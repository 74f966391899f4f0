#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The QEMU bridge against QEMU 10 doing the same job, measured in one run.

    bench/bridge.py [--size 2G] [--dir /var/tmp/mre-bench] [--reps 3] [--channels 2]

The guest is QEMU 10 (TCG, paused, -machine pc) whose RAM is a file in
/dev/shm written by `mrengine generate` (a third zero, a third
repeated-byte, a third random pages, fixed seed). Every run starts a fresh
QEMU and times from the QMP command (`migrate` / `migrate-incoming`) to
`completed`; page caches are dropped before every run. Runs:

save (the image on --dir):
  - QEMU `exec:cat > /dev/null`: how fast QEMU produces its stream at all
  - QEMU `exec:cat > FILE`, the old trick (QEMU < 8.2 has no file:)
  - QEMU `file:` sequential save
  - QEMU mapped-ram + multifd N + direct-io save (QEMU's fastest)
  - QEMU `exec:mrengine ingest` (channels N, direct-io on), durable
    (fdatasync; QEMU itself never syncs), and with --no-sync
restore (fresh anonymous guest RAM):
  - QEMU mapped-ram + multifd N + direct-io restore of QEMU's own image
  - QEMU `exec:mrengine emit` of mrengine's image (channels N, direct-io)
  - QEMU `file:` sequential restore
shared memory (the guest's RAM is the shared file, x-ignore-shared on):
  - QEMU `exec:mrengine ingest --ram ram0=FILE` (N channels, direct-io)

Ratios are QEMU's time divided by mrengine's (above 1: mrengine is faster).
Prints a table, and the same as Markdown into bench/out/bridge-*.md.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
from qmp import QMP  # noqa: E402

MRE = os.path.abspath(os.environ.get("MRENGINE", os.path.join(HERE, "..", "src", "mrengine")))
QEMU = os.environ.get("MRE_QEMU", "qemu-system-x86_64")


def sh(cmd):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def drop_caches():
    try:
        subprocess.run(["sync"], check=True)
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def rm(path):
    if os.path.exists(path):
        os.unlink(path)


class Bench:
    def __init__(self, a):
        self.a = a
        self.dir = a.dir
        self.rows = []
        self.cmds = []
        os.makedirs(self.dir, exist_ok=True)
        os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
        self.can_drop = drop_caches()
        self.ram = "/dev/shm/mre-bench-bridge-%s.ram" % a.size
        if not os.path.exists(self.ram):
            sh([MRE, "generate", "--size", a.size, "--mix", "33,33,34", "--seed", "1", self.ram])
        self.bytes = os.path.getsize(self.ram)

    def qemu(self, backend, incoming, caps, params, uri, wait_path=None):
        """Start QEMU, run one migration, return (seconds, query-migrate).
        With @wait_path, the time runs until that file exists too: QEMU
        says completed when its last byte is in the pipe, the command
        behind exec: finishes a moment later."""
        sock = os.path.join(self.dir, "bridge-qmp.sock")
        rm(sock)
        cmd = [QEMU, "-machine", "pc,memory-backend=ram0", "-accel", "tcg", "-m", self.a.size, "-nodefaults",
               "-display", "none", "-S", "-qmp", "unix:%s,server=on,wait=off" % sock, "-object", backend]
        if incoming:
            cmd += ["-incoming", "defer"]
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            for _ in range(500):
                if os.path.exists(sock):
                    break
                time.sleep(0.01)
            c = QMP(sock, negotiate=True)
            c.cmd("migrate-set-capabilities",
                  {"capabilities": [{"capability": k, "state": True} for k in caps]})
            c.cmd("migrate-set-parameters", dict({"max-bandwidth": 1 << 40}, **params))
            drop_caches()
            t = time.monotonic()
            c.cmd("migrate-incoming" if incoming else "migrate", {"uri": uri})
            while True:
                r = c.cmd("query-migrate")
                if r.get("status") == "completed":
                    break
                if r.get("status") in ("failed", "cancelled"):
                    raise RuntimeError("QEMU: migration %s: %s" % (r.get("status"), r.get("error-desc")))
                time.sleep(0.002)
            while wait_path and not os.path.exists(wait_path):
                time.sleep(0.001)
            dt = time.monotonic() - t
            c.execute("quit")
            return dt, r
        finally:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()

    def src(self, shared=False):
        return "memory-backend-file,id=ram0,size=%s,mem-path=%s,share=on" % (self.a.size, self.ram)

    def dst(self):
        return "memory-backend-ram,id=ram0,size=%s" % self.a.size

    def median(self, what, fn, out=None):
        ts = []
        for _ in range(self.a.reps):
            if out:
                rm(out)
            ts.append(fn())
        t = statistics.median(ts)
        print("%-58s %7.3f s %7.0f MB/s of RAM   (runs: %s)" % (what, t, self.bytes / t / 1e6,
                                                                 ", ".join("%.2f" % x for x in ts)), flush=True)
        return t

    def row(self, group, what, t, base=None, cmd=""):
        self.rows.append((group, what, t, base))
        if cmd:
            self.cmds.append((what, cmd))

    def run(self):
        a, ch = self.a, self.a.channels
        img = os.path.join(self.dir, "bridge-mre.img")
        qimg = os.path.join(self.dir, "bridge-qemu.img")
        seq = os.path.join(self.dir, "bridge-seq.mig")
        mr = {"multifd-channels": ch, "direct-io": True}
        ingest = "%s ingest --channels %d --direct-io on" % (MRE, ch)
        print("guest RAM %s (%s), images in %s, caches %sdropped, %d runs each, median" %
              (a.size, self.ram, self.dir, "" if self.can_drop else "NOT ", a.reps))

        # ---- save --------------------------------------------------------------------------
        q_null = self.median("QEMU exec:cat > /dev/null (the stream's own speed)", lambda: self.qemu(
            self.src(), False, ["events"], {}, "exec:cat > /dev/null")[0])
        q_cat = self.median("QEMU exec:cat > FILE (sequential, not synced)", lambda: self.qemu(
            self.src(), False, ["events"], {}, "exec:cat > " + seq, seq)[0], seq)
        q_seq = self.median("QEMU file: sequential save", lambda: self.qemu(
            self.src(), False, ["events"], {}, "file:" + seq)[0], seq)
        q_mr = self.median("QEMU mapped-ram+multifd %d+direct-io save" % ch, lambda: self.qemu(
            self.src(), False, ["events", "mapped-ram", "multifd"], mr, "file:" + qimg)[0], qimg)
        m_in = self.median("QEMU exec:mrengine ingest (x%d, dio, fdatasync)" % ch, lambda: self.qemu(
            self.src(), False, ["events"], {}, "exec:%s %s" % (ingest, img), img)[0], img)
        m_ns = self.median("QEMU exec:mrengine ingest --no-sync", lambda: self.qemu(
            self.src(), False, ["events"], {}, "exec:%s --no-sync %s" % (ingest, img), img)[0], img)
        self.row("save", "QEMU `exec:cat > /dev/null` (the stream's own speed)", q_null, cmd='migrate "exec:cat > /dev/null"')
        self.row("save", "QEMU `exec:cat > FILE` (sequential, not synced)", q_cat, cmd='migrate "exec:cat > %s"' % seq)
        self.row("save", "QEMU `file:` sequential save", q_seq, cmd='migrate "file:%s"' % seq)
        self.row("save", "QEMU mapped-ram + multifd %d + direct-io save" % ch, q_mr,
                 cmd='caps mapped-ram, multifd; multifd-channels=%d, direct-io=on; migrate "file:%s"' % (ch, qimg))
        self.row("save", "QEMU `exec:mrengine ingest` (durable)", m_in, (q_seq / m_in, q_mr / m_in),
                 cmd='migrate "exec:%s %s"' % (ingest, img))
        self.row("save", "QEMU `exec:mrengine ingest --no-sync`", m_ns, (q_seq / m_ns, q_mr / m_ns))
        st = os.stat(img)
        print("mrengine image: %d bytes, %d allocated" % (st.st_size, st.st_blocks * 512))

        # ---- restore -----------------------------------------------------------------------
        emit = "%s emit --channels %d --direct-io on" % (MRE, ch)
        q_rmr = self.median("QEMU mapped-ram+multifd %d+direct-io restore" % ch, lambda: self.qemu(
            self.dst(), True, ["events", "mapped-ram", "multifd"], mr, "file:" + qimg)[0])
        q_rseq = self.median("QEMU file: sequential restore", lambda: self.qemu(
            self.dst(), True, ["events"], {}, "file:" + seq)[0])
        m_em = self.median("QEMU exec:mrengine emit (x%d, dio)" % ch, lambda: self.qemu(
            self.dst(), True, ["events"], {}, "exec:%s %s" % (emit, img))[0])
        self.row("restore", "QEMU mapped-ram + multifd %d + direct-io restore" % ch, q_rmr)
        self.row("restore", "QEMU `file:` sequential restore", q_rseq)
        self.row("restore", "QEMU `exec:mrengine emit`", m_em, (q_rseq / m_em, q_rmr / m_em),
                 cmd='migrate-incoming "exec:%s %s"' % (emit, img))

        # ---- shared memory -----------------------------------------------------------------
        m_sh = self.median("QEMU x-ignore-shared, exec:mrengine ingest --ram", lambda: self.qemu(
            self.src(), False, ["events", "x-ignore-shared"], {},
            "exec:%s --ram ram0=%s %s" % (ingest, self.ram, img), img)[0], img)
        self.row("shared memory", "QEMU x-ignore-shared + `exec:mrengine ingest --ram` (durable)", m_sh,
                 (q_seq / m_sh, q_mr / m_sh),
                 cmd='caps x-ignore-shared; migrate "exec:%s --ram ram0=%s %s"' % (ingest, self.ram, img))
        for p in (img, qimg, seq):
            rm(p)
        self.write_md()

    def write_md(self):
        out = os.path.join(HERE, "out", "bridge-%s.md" % time.strftime("%Y%m%d-%H%M%S"))
        with open(out, "w") as f:
            f.write("Guest RAM %s (generated mix 33,33,34), images in %s, %d runs, medians.\n\n" %
                    (self.a.size, self.dir, self.a.reps))
            f.write("| | run | s | MB/s of RAM | QEMU sequential / this | QEMU mapped-ram / this |\n"
                    "|---|---|---|---|---|---|\n")
            for group, what, t, base in self.rows:
                f.write("| %s | %s | %.2f | %.0f | %s | %s |\n" % (
                    group, what, t, self.bytes / t / 1e6, "%.2fx" % base[0] if base else "",
                    "%.2fx" % base[1] if base else ""))
            f.write("\nCommands:\n\n")
            for what, cmd in self.cmds:
                f.write("- %s: `%s`\n" % (what, cmd))
        print("written to", out)
        for group, what, t, base in self.rows:
            if base:
                print("%-62s QEMU sequential/this %.2fx, QEMU mapped-ram/this %.2fx" % (what, base[0], base[1]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default=os.environ.get("BENCH_SIZE", "2G"))
    ap.add_argument("--dir", default=os.environ.get("BENCH_DIR", "/var/tmp/mre-bench"))
    ap.add_argument("--reps", type=int, default=int(os.environ.get("BENCH_REPS", "3")))
    ap.add_argument("--channels", type=int, default=2)
    Bench(ap.parse_args()).run()


if __name__ == "__main__":
    main()
