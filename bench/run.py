#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""mrengine benchmarks: save and restore speed as ratios against the
machine's own limits and against QEMU 10, all measured in one run.

    bench/run.py [--size 4G] [--dir /var/tmp/mre-bench] [--reps 3] [--quick]

The guest RAM is a file in /dev/shm written by `mrengine generate` (a third
zero, a third repeated-byte, a third random pages, fixed seed), plus the
all-zero and all-random extremes. Baselines on the same bytes and the same
filesystem: fio O_DIRECT sequential write/read (io_uring, 1 MiB, depth 8),
dd of the RAM file, and QEMU 10 saving/restoring a guest whose RAM *is* that
file (mapped-ram + multifd + direct-io, same channel count), timed from
`migrate` to `completed`. Caches are dropped before every restore and every
baseline read. Prints a table and writes it (Markdown) to bench/out/.
Timings are medians over --reps runs; the machine is noisy, so compare the
ratios, which are measured side by side.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
from qmp import QMP  # noqa: E402

MRE = os.environ.get("MRENGINE", os.path.join(HERE, "..", "src", "mrengine"))
QEMU = os.environ.get("MRE_QEMU", "qemu-system-x86_64")


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, **kw)


PEAK_RSS = {}


def timed_cmd(cmd, key=None):
    """Run cmd; return its wall time, and remember its peak RSS (KiB) under key."""
    t = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.monotonic() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode:
        raise RuntimeError("%s failed: %s" % (" ".join(cmd), p.stderr.read().decode()))
    if key:
        PEAK_RSS[key] = max(PEAK_RSS.get(key, 0), ru.ru_maxrss)
    return dt


def drop_caches():
    try:
        sh(["sync"])
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def parse_size(s):
    units = {"K": 10, "M": 20, "G": 30, "T": 40}
    return int(s[:-1]) << units[s[-1].upper()] if s[-1].upper() in units else int(s)


def timed(fn, reps):
    ts = []
    for _ in range(reps):
        t = fn()
        ts.append(t)
    return statistics.median(ts), ts


def allocated(path):
    st = os.stat(path)
    return st.st_size, st.st_blocks * 512


class Bench:
    def __init__(self, args):
        self.a = args
        self.size = parse_size(args.size)
        self.dir = args.dir
        self.rows = []
        self.can_drop = drop_caches()
        os.makedirs(self.dir, exist_ok=True)
        os.makedirs(os.path.join(HERE, "out"), exist_ok=True)

    # ---- workloads -------------------------------------------------------
    def ram(self, mix):
        path = "/dev/shm/mre-bench-%s-%s.ram" % (self.a.size, mix.replace(",", "-"))
        if not os.path.exists(path):
            sh([MRE, "generate", "--size", self.a.size, "--mix", mix, "--seed", "1", path])
        return path

    def present_bytes(self, ram):
        out = sh([MRE, "save", "-q", "--no-sync", "-object",
                  "memory-backend-file,id=pc.ram,size=%s,mem-path=%s" % (self.a.size, ram),
                  "--output", "/dev/shm/mre-bench-probe.img"])
        info = json.loads(sh([MRE, "inspect", "--json", "/dev/shm/mre-bench-probe.img"]).stdout)
        os.unlink("/dev/shm/mre-bench-probe.img")
        return sum(b["present"] for b in info["blocks"]) * 4096

    # ---- mrengine ----------------------------------------------------------
    def mre_save(self, ram, img, io, ch, dio):
        def once():
            if os.path.exists(img):
                os.unlink(img)
            drop_caches()
            return timed_cmd([MRE, "save", "-q", "-object",
                              "memory-backend-file,id=pc.ram,size=%s,mem-path=%s" % (self.a.size, ram),
                              "--output", img, "--io", io, "--channels", str(ch), "--direct-io", dio],
                             "save")
        return timed(once, self.a.reps)

    def mre_restore(self, img, io, ch, dio):
        target = "/dev/shm/mre-bench-restore.ram"

        def once():
            if os.path.exists(target):
                os.unlink(target)
            drop_caches()
            return timed_cmd([MRE, "restore", "-q", img, "-object",
                              "memory-backend-file,id=pc.ram,size=%s,mem-path=%s" % (self.a.size, target),
                              "--io", io, "--channels", str(ch), "--direct-io", dio], "restore")
        r = timed(once, self.a.reps)
        os.unlink(target)
        return r

    # ---- baselines ---------------------------------------------------------
    def fio(self, rw, nbytes, path):
        mib = max(1, nbytes >> 20)
        if rw == "write" and os.path.exists(path):
            os.unlink(path)
        drop_caches()
        out = sh(["fio", "--name=b", "--filename=" + path, "--rw=" + rw, "--bs=1M", "--direct=1",
                  "--ioengine=io_uring", "--iodepth=8", "--size=%dM" % mib, "--fallocate=none",
                  "--output-format=json"]).stdout
        job = json.loads(out)["jobs"][0][rw if rw == "write" else "read"]
        return (mib << 20) / (job["runtime"] / 1000.0) if job["runtime"] else float("nan")

    def dd_save(self, ram, out):
        def once():
            if os.path.exists(out):
                os.unlink(out)
            drop_caches()
            t = time.monotonic()
            sh(["dd", "if=" + ram, "of=" + out, "bs=1M", "conv=fdatasync"])
            return time.monotonic() - t
        return timed(once, self.a.reps)

    def qemu_available(self):
        if not shutil.which(QEMU):
            return False
        v = sh([QEMU, "--version"]).stdout.split()[3]
        return int(v.split(".")[0]) >= 10

    def qemu_run(self, ram, img, ch, incoming):
        sock = os.path.join(self.dir, "qmp.sock")
        if os.path.exists(sock):
            os.unlink(sock)
        cmd = [QEMU, "-machine", "pc,memory-backend=pc.ram", "-accel", "tcg", "-m", self.a.size,
               "-nodefaults", "-display", "none", "-S",
               "-object", "memory-backend-file,id=pc.ram,size=%s,mem-path=%s,share=on" % (self.a.size, ram),
               "-qmp", "unix:%s,server=on,wait=off" % sock]
        if incoming:
            cmd += ["-incoming", "defer"]
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            c = QMP(sock, negotiate=True)
            caps = [{"capability": "mapped-ram", "state": True},
                    {"capability": "multifd", "state": True}]
            c.cmd("migrate-set-capabilities", {"capabilities": caps})
            c.cmd("migrate-set-parameters", {"multifd-channels": ch, "direct-io": True,
                                             "max-bandwidth": 1 << 40})
            if not incoming and os.path.exists(img):
                os.unlink(img)
            drop_caches()
            t = time.monotonic()
            c.cmd("migrate-incoming" if incoming else "migrate", {"uri": "file:" + img})
            while True:
                s = c.cmd("query-migrate").get("status")
                if s == "completed":
                    break
                if s == "failed":
                    raise RuntimeError("QEMU migration failed")
                time.sleep(0.002)
            dt = time.monotonic() - t
            c.execute("quit")
            return dt
        finally:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()

    # ---- the run -----------------------------------------------------------
    def row(self, what, nbytes, secs, base=None, qemu=None, note=""):
        mbps = nbytes / secs / 1e6
        self.rows.append((what, nbytes, secs, mbps, base, qemu, note))
        r = "%-48s %8.3f s %8.0f MB/s" % (what, secs, mbps)
        if base:
            r += "  %5.0f%% of device" % (100 * base)
        if qemu:
            r += "  %5.2fx QEMU" % qemu
        print(r + ("  " + note if note else ""), flush=True)

    def run(self):
        a = self.a
        mixed = self.ram("33,33,34")
        present = self.present_bytes(mixed)
        print("RAM %s, %d MiB of present pages; target %s; caches %sdropped" %
              (a.size, present >> 20, self.dir, "" if self.can_drop else "NOT "))
        fio_path = os.path.join(self.dir, "fio.dat")
        dev_w = statistics.median(self.fio("write", present, fio_path) for _ in range(a.reps))
        dev_r = statistics.median(self.fio("read", present, fio_path) for _ in range(a.reps))
        os.unlink(fio_path)
        self.row("fio O_DIRECT write (io_uring 1M qd8)", present, present / dev_w, note="device limit")
        self.row("fio O_DIRECT read (io_uring 1M qd8)", present, present / dev_r, note="device limit")
        t, _ = self.dd_save(mixed, os.path.join(self.dir, "dd.out"))
        os.unlink(os.path.join(self.dir, "dd.out"))
        self.row("dd bs=1M conv=fdatasync of the RAM file", self.size, t)

        img = os.path.join(self.dir, "mre.img")
        qemu_img = os.path.join(self.dir, "qemu.img")
        channels = [1, 2] if a.quick else [1, 2, 4]
        have_qemu = self.qemu_available()
        qsave = {}
        qrest = {}
        if have_qemu:
            target = "/dev/shm/mre-bench-qemu-restore.ram"
            for ch in channels:
                ts = [self.qemu_run(mixed, qemu_img, ch, False) for _ in range(a.reps)]
                qsave[ch] = statistics.median(ts)
                self.row("QEMU 10 save mapped-ram+multifd %d+dio" % ch, self.size, qsave[ch],
                         base=(present / qsave[ch]) / dev_w)
                rs = []
                for _ in range(a.reps):
                    if os.path.exists(target):
                        os.unlink(target)
                    sh(["truncate", "-s", a.size, target])
                    rs.append(self.qemu_run(target, qemu_img, ch, True))
                os.unlink(target)
                qrest[ch] = statistics.median(rs)
                self.row("QEMU 10 restore mapped-ram+multifd %d+dio" % ch, self.size, qrest[ch],
                         base=(present / qrest[ch]) / dev_r)
            os.unlink(qemu_img)
        else:
            print("QEMU >= 10 not found: QEMU comparisons skipped")

        for io in ("uring", "threads"):
            for ch in channels:
                for dio in ("on", "off"):
                    t, _ = self.mre_save(mixed, img, io, ch, dio)
                    self.row("mrengine save %s x%d dio=%s" % (io, ch, dio), self.size, t,
                             base=(present / t) / dev_w,
                             qemu=(qsave[ch] / t) if dio == "on" and ch in qsave else None)
                    t, _ = self.mre_restore(img, io, ch, dio)
                    self.row("mrengine restore %s x%d dio=%s" % (io, ch, dio), self.size, t,
                             base=(present / t) / dev_r,
                             qemu=(qrest[ch] / t) if dio == "on" and ch in qrest else None)
        size, alloc = allocated(img)
        print("image: %d bytes logical, %d allocated (stat -c '%%s %%b'); peak RSS so far %s KiB" %
              (size, alloc, json.dumps(PEAK_RSS)))
        os.unlink(img)

        # tmpfs: the page-cache limit, per channel-core
        shm_img = "/dev/shm/mre-bench.img"
        for ch in channels:
            t, _ = self.mre_save(mixed, shm_img, "uring", ch, "off")
            self.row("mrengine save to /dev/shm uring x%d" % ch, self.size, t,
                     note="%.2f GB/s per channel" % (self.size / t / 1e9 / ch))
        os.unlink(shm_img)

        # extremes
        zero = self.ram("100,0,0")
        t, _ = self.mre_save(zero, img, "uring", 2, "on")
        size, alloc = allocated(img)
        self.row("mrengine save all-zero guest", self.size, t, note="allocated %d KiB" % (alloc >> 10))
        rnd = self.ram("0,0,100")
        t, _ = self.mre_save(rnd, img, "uring", 2, "on")
        self.row("mrengine save all-random guest uring x2 dio", self.size, t,
                 base=(self.size / t) / dev_w)
        t, _ = self.mre_restore(img, "uring", 2, "on")
        self.row("mrengine restore all-random guest uring x2 dio", self.size, t,
                 base=(self.size / t) / dev_r)
        os.unlink(img)
        self.compression(mixed)
        self.policy_cost()
        self.write_md(present)

    def compression(self, ram):
        """compact-archive against the zstd CLI on the same RAM file (issue 5)."""
        a = self.a
        img = os.path.join(self.dir, "archive.img")
        policy = os.path.join(HERE, "..", "policies", "compact-archive.lua")
        zst = os.path.join(self.dir, "ram.zst")
        target = "/dev/shm/mre-bench-restore.ram"

        def save():
            if os.path.exists(img):
                os.unlink(img)
            drop_caches()
            return timed_cmd([MRE, "save", "-q", "-object",
                              "memory-backend-file,id=pc.ram,size=%s,mem-path=%s" % (a.size, ram),
                              "--output", img, "--policy", policy], "compressed save")

        def restore():
            if os.path.exists(target):
                os.unlink(target)
            drop_caches()
            return timed_cmd([MRE, "restore", "-q", img, "--policy", policy, "-object",
                              "memory-backend-file,id=pc.ram,size=%s,mem-path=%s" % (a.size, target)])

        def zsave():
            drop_caches()
            return timed_cmd(["sh", "-c", "zstd -3 -T2 -q -c %s > %s && sync %s" % (ram, zst, zst)])

        def zrestore():
            if os.path.exists(target):
                os.unlink(target)
            drop_caches()
            return timed_cmd(["zstd", "-q", "-d", "-f", zst, "-o", target])

        ts, _ = timed(save, a.reps)
        tz, _ = timed(zsave, a.reps)
        tr, _ = timed(restore, a.reps)
        tzr, _ = timed(zrestore, a.reps)
        size, alloc = allocated(img)
        zsize = os.path.getsize(zst)
        self.row("compact-archive save (zstd:3, 4 MiB chunks)", self.size, ts,
                 note="%.2fx zstd -3 -T2's speed; file %d bytes = %.3fx zstd -3's %d" %
                 (tz / ts, alloc, alloc / zsize, zsize))
        self.row("zstd -3 -T2 of the raw RAM file (+ sync)", self.size, tz)
        self.row("compact-archive restore", self.size, tr, note="%.2fx zstd -d's speed" % (tzr / tr))
        self.row("zstd -d of it", self.size, tzr)
        for f in (img, zst, target):
            if os.path.exists(f):
                os.unlink(f)

    def policy_cost(self):
        """What evaluating a policy costs per save (policy-check reports it)."""
        out = sh([MRE, "policy-check", "--json", os.path.join(HERE, "..", "policies", "fast-snapshot.lua"),
                  "-object", "memory-backend-memfd,id=pc.ram,size=%s" % self.a.size, "--target", self.dir]).stdout
        info = json.loads(out)
        costs = info.get("cost") or info.get("costs") or {}
        print("policy evaluation (fast-snapshot on_save): %s" % json.dumps(costs))
        self.policy = costs

    def write_md(self, present):
        out = os.path.join(HERE, "out", "results-%s.md" % time.strftime("%Y%m%d-%H%M%S"))
        with open(out, "w") as f:
            f.write("peak RSS (KiB): %s; policy evaluation: %s\n\n" %
                    (json.dumps(PEAK_RSS), json.dumps(getattr(self, "policy", {}))))
            f.write("RAM %s (%d MiB present), target %s, reps %d\n\n" %
                    (self.a.size, present >> 20, self.dir, self.a.reps))
            f.write("| run | s | MB/s of RAM | vs device | vs QEMU | note |\n|---|---|---|---|---|---|\n")
            for what, nbytes, secs, mbps, base, qemu, note in self.rows:
                f.write("| %s | %.3f | %.0f | %s | %s | %s |\n" % (
                    what, secs, mbps, "%.0f%%" % (100 * base) if base else "",
                    "%.2fx" % qemu if qemu else "", note))
        print("written to", out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default=os.environ.get("BENCH_SIZE", "4G"))
    ap.add_argument("--dir", default=os.environ.get("BENCH_DIR", "/var/tmp/mre-bench"))
    ap.add_argument("--reps", type=int, default=int(os.environ.get("BENCH_REPS", "3")))
    ap.add_argument("--quick", action="store_true", help="1 and 2 channels only")
    Bench(ap.parse_args()).run()


if __name__ == "__main__":
    main()
