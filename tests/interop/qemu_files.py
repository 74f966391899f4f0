# SPDX-License-Identifier: MIT
"""Interop: files written by a real QEMU >= 10 read by mrengine.

Paused guests with seeded RAM patterns are saved by QEMU in every file
variant it has -- mapped-ram with 1, 2 and 4 multifd channels, with and
without direct-io, `file:...,offset=4096`, fdsets with one fd and with two
(the second O_DIRECT), the sequential stream, 64 MiB and 256 MiB guests and
a guest with a pc-dimm RAM block -- and each file is checked with
`mrengine verify`, `mrengine inspect --json` (format, blocks, offsets,
QEMU's mapped-ram layout rule) and `mrengine extract`, whose output must
equal QEMU's own pmemsave of the same guest-physical range. Two files are
also restored into a second QEMU to show the harness's restore path works.
Skips (TAP) when no QEMU >= 10 is available.
"""
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Optional

import qemu
from taptest import TAP

MiB = 1 << 20
MR_ALIGN = MiB


@dataclass
class Variant:
    name: str
    mapped_ram: bool = True
    multifd: int = 0
    direct_io: bool = False
    offset: Optional[int] = None
    fdset: int = 0          # descriptors passed with add-fd; 0: plain file: URI
    keep: bool = False      # keep file and dump for a restore test


@dataclass
class Guest:
    name: str
    mem: str
    patterns: list
    dimm: Optional[tuple] = None


G64 = Guest("64M", "64M", [(MiB, 4 * MiB, 1)])
G256 = Guest("256M", "256M", [(MiB, 4 * MiB, 2), (64 * MiB, 8 * MiB, 3)])
GDIMM = Guest("128M+dimm", "128M", [(MiB, 4 * MiB, 4)], dimm=(64 * MiB, 5))

PLAN = [
    (G64, [
        Variant("mapped-ram, 1 channel"),
        Variant("mapped-ram, multifd 2", multifd=2),
        Variant("mapped-ram, multifd 2, direct-io", multifd=2, direct_io=True),
        Variant("mapped-ram, multifd 4", multifd=4),
        Variant("mapped-ram, multifd 4, direct-io", multifd=4, direct_io=True),
        Variant("mapped-ram, offset=4096", offset=4096),
        Variant("mapped-ram, fdset with 1 fd, offset=4096", fdset=1, offset=4096),
        Variant("mapped-ram, fdset with 2 fds (O_DIRECT), multifd 4, direct-io",
                multifd=4, direct_io=True, fdset=2, keep=True),
        Variant("sequential file:", mapped_ram=False, keep=True),
    ]),
    (G256, [
        Variant("mapped-ram, multifd 2", multifd=2),
        Variant("sequential file:", mapped_ram=False),
    ]),
    (GDIMM, [
        Variant("mapped-ram, 1 channel"),
        Variant("mapped-ram, multifd 2", multifd=2),
    ]),
]


def mrengine(*args):
    exe = os.environ.get("MRENGINE") or os.path.join(os.environ.get("builddir", "."), "src", "mrengine")
    return subprocess.run([exe] + list(args), capture_output=True, text=True, timeout=300)


def nonzero_pages_of_file(path, skip=0):
    zero = bytes(4096)
    n = 0
    with open(path, "rb") as f:
        f.seek(skip)
        while True:
            chunk = f.read(MiB)
            if not chunk:
                return n
            n += sum(1 for i in range(0, len(chunk), 4096) if chunk[i:i + 4096] != zero)


def layout_problems(blocks):
    """QEMU's mapped-ram layout: bitmap right after the 28-byte header, pages
    at the next 1 MiB boundary after the bitmap, the next block's entry right
    after the previous page region."""
    bad = []
    for i, b in enumerate(blocks):
        bm_end = b["bitmap-offset"] + (b["pages"] + 63) // 64 * 8
        want_pages = -(-bm_end // MR_ALIGN) * MR_ALIGN
        if b["bitmap-offset"] != b["header-offset"] + 28:
            bad.append("%s: bitmap at %#x, header at %#x" % (b["id"], b["bitmap-offset"], b["header-offset"]))
        if b["pages-offset"] != want_pages:
            bad.append("%s: pages at %#x, expected %#x" % (b["id"], b["pages-offset"], want_pages))
        if i + 1 < len(blocks) and blocks[i + 1]["entry-offset"] != b["pages-offset"] + b["used-length"]:
            bad.append("%s: next entry at %#x" % (b["id"], blocks[i + 1]["entry-offset"]))
    return bad


class Run:
    def __init__(self, t, wd, qemu_bin, dio):
        self.t = t
        self.wd = wd
        self.qemu_bin = qemu_bin
        self.dio = dio
        self.machine = "pc-i440fx-%d.%d" % qemu.qemu_version(qemu_bin)[:2]
        self.kept = {}

    def check_guest(self, g, vm):
        t = self.t
        ok = True
        for addr, data in vm.expected.items():
            dump = vm.pmemsave(addr, len(data), self.wd.file("pattern.check"))
            with open(dump, "rb") as f:
                ok = ok and f.read() == data
        t.ok(ok, "%s guest: the seeded patterns are in guest RAM" % g.name)
        if g.dimm:
            t.eq(vm.dimm_addr(), qemu.PC_DIMM_GPA, "%s guest: query-memory-devices puts the pc-dimm at 4 GiB" % g.name)

    def save(self, g, vm, v, path):
        vm.make_migratable()
        dump = vm.pmemsave(0, vm.mem, self.wd.file("dump"))
        dimm_dump = vm.pmemsave(qemu.PC_DIMM_GPA, g.dimm[0], self.wd.file("dimm.dump")) if g.dimm else None
        vm.setup_migration(v.mapped_ram, v.multifd, v.direct_io)
        if v.offset:
            with open(path, "wb") as f:
                f.write(b"X" * v.offset)
        if v.fdset:
            vm.migrate_fdset(path, nfds=v.fdset, direct=v.direct_io, offset=v.offset)
        else:
            vm.migrate_file(path, v.offset)
        return dump, dimm_dump

    def check_file(self, g, vm, v, path, dump, dimm_dump):
        t = self.t
        label = "%s %s" % (g.name, v.name)
        if v.fdset:
            t.ok(1 not in vm.fdset_ids(), "%s: the fdset is gone after remove-fd" % label)
        if v.offset:
            with open(path, "rb") as f:
                t.ok(f.read(v.offset) == b"X" * v.offset and f.read(4) == b"QEVM",
                     "%s: the %d-byte prefix is preserved, the stream starts after it" % (label, v.offset))
        r = mrengine("verify", path)
        t.ok(r.returncode == 0, "%s: mrengine verify exits 0" % label, r.stderr)
        r = mrengine("inspect", "--json", path)
        if not t.ok(r.returncode == 0, "%s: mrengine inspect --json exits 0" % label, r.stderr):
            return
        j = json.loads(r.stdout)
        blocks = {b["id"]: b for b in j["blocks"]}
        facts = {
            "format": j["format"], "machine": j["machine"], "capabilities": j["capabilities"],
            "stream-offset": j["stream-offset"], "stream-end": j["stream-end"],
        }
        t.eq(facts, {
            "format": "mapped-ram" if v.mapped_ram else "sequential", "machine": self.machine,
            "capabilities": ["mapped-ram"] if v.mapped_ram else [],
            "stream-offset": v.offset or 0, "stream-end": os.path.getsize(path),
        }, "%s: inspect: format, machine, capabilities, stream bounds" % label)
        want = [("pc.ram", vm.mem)] + ([("mem1", g.dimm[0])] if g.dimm else [])
        t.eq([(b["id"], b["used-length"]) for b in j["blocks"][:len(want)]], want,
             "%s: inspect: the guest's RAM blocks come first, with their sizes" % label)
        t.ok(all(b["present"] + b["zero"] == b["pages"] == b["used-length"] // 4096 for b in j["blocks"])
             and "pc.bios" in blocks, "%s: inspect: present + zero == pages for every block" % label)
        if v.mapped_ram:
            bad = layout_problems(j["blocks"])
            t.ok(blocks["pc.ram"]["pages-offset"] == MiB and not bad,
                 "%s: inspect: pc.ram pages at 1 MiB; every region where QEMU's layout puts it" % label,
                 "\n".join(bad) + "\npc.ram pages-offset %#x" % blocks["pc.ram"]["pages-offset"])

        out = self.wd.file("pc.ram.out")
        r = mrengine("extract", path, "--block", "pc.ram", "--output", out)
        if t.ok(r.returncode == 0, "%s: mrengine extract --block pc.ram exits 0" % label, r.stderr):
            diff = qemu.files_equal(out, dump, skip=MiB)
            t.ok(os.path.getsize(out) == vm.mem and diff is None,
                 "%s: extracted pc.ram equals QEMU's pmemsave from 1 MiB to %d MiB" % (label, vm.mem >> 20),
                 "first difference at %s" % (hex(diff) if diff is not None else "-"))
            nz = nonzero_pages_of_file(dump, skip=MiB)
            present = blocks["pc.ram"]["present"]
            t.ok(nz <= present <= nz + 256, "%s: pc.ram present count fits the dump (%d pages with data above "
                 "1 MiB, %d present)" % (label, nz, present))
            os.unlink(out)
        if g.dimm:
            out = self.wd.file("mem1.out")
            r = mrengine("extract", path, "--block", "mem1", "--output", out)
            if t.ok(r.returncode == 0, "%s: mrengine extract --block mem1 exits 0" % label, r.stderr):
                diff = qemu.files_equal(out, dimm_dump)
                t.ok(diff is None, "%s: extracted mem1 equals pmemsave of the pc-dimm at 4 GiB" % label,
                     "first difference at %s" % (hex(diff) if diff is not None else "-"))
                t.eq(blocks["mem1"]["present"], nonzero_pages_of_file(dimm_dump),
                     "%s: mem1 present count == pages with data in the dump" % label)
                os.unlink(out)

    def run_guest(self, g, variants):
        t = self.t
        with qemu.QEMU(self.wd, "src-" + g.name.replace("+", "-"), mem=g.mem, patterns=g.patterns,
                       dimm=g.dimm, qemu=self.qemu_bin) as vm:
            self.check_guest(g, vm)
            for i, v in enumerate(variants):
                label = "%s %s" % (g.name, v.name)
                if v.direct_io and not self.dio:
                    t.skip("the filesystem of %s refuses O_DIRECT" % self.wd.path, label)
                    continue
                path = self.wd.file("%s-%d.mig" % (g.name.replace("+", "-"), i))
                start = time.time()
                try:
                    dump, dimm_dump = self.save(g, vm, v, path)
                except (qemu.MigrationError, qemu.QMPError, TimeoutError, OSError) as e:
                    t.ok(False, "%s: QEMU saves the guest" % label, str(e) + "\n" + vm.log_text())
                    continue
                t.ok(True, "%s: QEMU saves the guest (%.2f s)" % (label, time.time() - start))
                self.check_file(g, vm, v, path, dump, dimm_dump)
                if v.keep:
                    kept = self.wd.file("kept-%d.dump" % len(self.kept))
                    os.rename(dump, kept)
                    self.kept[v.name] = (v, path, kept)
                else:
                    os.unlink(path)

    def restore(self, v, path, dump):
        """QEMU loads a file the harness saved: the restore path works."""
        t = self.t
        label = "restore %s" % v.name
        decoy = [(MiB, 4 * MiB, 99)]
        with qemu.QEMU(self.wd, "dst", mem="64M", patterns=decoy, incoming=True, qemu=self.qemu_bin) as dst:
            before = dst.pmemsave(0, dst.mem, self.wd.file("dst.before"))
            t.ok(qemu.files_equal(before, dump, skip=MiB) is not None,
                 "%s: the destination starts with different RAM" % label)
            try:
                dst.setup_migration(v.mapped_ram, v.multifd, v.direct_io)
                if v.fdset:
                    dst.incoming_fdset(path, nfds=v.fdset, direct=v.direct_io, offset=v.offset)
                else:
                    dst.incoming_file(path, v.offset)
            except (qemu.MigrationError, qemu.QMPError, TimeoutError, OSError) as e:
                t.ok(False, "%s: QEMU restores the file" % label, str(e) + "\n" + dst.log_text())
                return
            t.ok(True, "%s: QEMU restores the file" % label)
            after = dst.pmemsave(0, dst.mem, self.wd.file("dst.after"))
            diff = qemu.files_equal(after, dump, skip=MiB)
            t.ok(diff is None, "%s: the restored RAM equals the source's from 1 MiB on" % label,
                 "first difference at %s" % (hex(diff) if diff is not None else "-"))


def main():
    t = TAP()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        qemu_bin = qemu.find_qemu()
    except qemu.Skip as e:
        t.skip_all(str(e))
    with qemu.Workdir("mre-interop.") as wd:
        dio = qemu.odirect_ok(wd.path)
        if not dio:
            t.diag("%s refuses O_DIRECT: direct-io variants are skipped" % wd.path)
        run = Run(t, wd, qemu_bin, dio)
        for g, variants in PLAN:
            try:
                run.run_guest(g, variants)
            except (RuntimeError, OSError, EOFError, TimeoutError, qemu.QMPError) as e:
                t.ok(False, "%s guest: QEMU runs" % g.name, str(e))
        for v, path, dump in run.kept.values():
            if v.direct_io and not dio:
                continue
            try:
                run.restore(v, path, dump)
            except (RuntimeError, OSError, EOFError, TimeoutError, qemu.QMPError) as e:
                t.ok(False, "restore %s: QEMU runs" % v.name, str(e))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
