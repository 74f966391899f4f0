# SPDX-License-Identifier: MIT
"""Interop for save and restore: real QEMU >= 10 and mrengine, both ways.

1. mrengine saves a VM (one block "pc.ram", 64 MiB, seeded page mix) with
   several plans -- channels, io_uring or threads, direct-io, checksums,
   an mrengine header (QEMU loads it with offset=), the compressed variant
   expanded -- and a QEMU 10 guest (-incoming defer, mapped-ram) loads each
   image: its guest RAM must equal the VM's RAM (from 1 MiB up; below that
   the BIOS shadows differ).
2. QEMU 10 saves a guest (mapped-ram, with and without multifd and
   direct-io) and `mrengine restore` puts every block into memory-backend
   files: pc.ram must equal QEMU's pmemsave.
3. The recorded QEMU 10 vector restores the same way.
Skips (TAP) when no QEMU >= 10 is available.
"""
import json
import os
import subprocess
import sys

import qemu
from taptest import TAP

MiB = 1 << 20
RAM = 64 * MiB


def mrengine(*args):
    exe = os.environ.get("MRENGINE") or os.path.join(os.environ.get("builddir", "."), "src", "mrengine")
    return subprocess.run([exe] + [str(a) for a in args], capture_output=True, text=True, timeout=300)


def run_ok(t, desc, *args):
    r = mrengine(*args)
    t.ok(r.returncode == 0, desc, "exit %d: %s" % (r.returncode, r.stderr.strip()))
    return r.returncode == 0


def inspect(path):
    return json.loads(mrengine("inspect", "--json", path).stdout)


def same_from_1mib(a, b, t, desc):
    diff = qemu.files_equal(a, b, skip=MiB)
    t.ok(diff is None, desc, "first difference at byte %s" % diff)


def qemu_loads(t, wd, qbin, img, ram, desc, offset=None, multifd=0, direct_io=False):
    with qemu.QEMU(wd, "dst", mem="64M", incoming=True, qemu=qbin) as dst:
        dst.setup_migration(mapped_ram=True, multifd=multifd, direct_io=direct_io)
        try:
            dst.incoming_file(img, offset)
        except qemu.MigrationError as e:
            t.ok(False, "QEMU loads: " + desc, str(e))
            return
        dump = dst.pmemsave(0, RAM, wd.file("dst.dump"))
    same_from_1mib(dump, ram, t, "QEMU loads: %s; guest RAM equals the VM's" % desc)


def restore_blocks(t, wd, img, desc, *extra):
    """mrengine restore into one memory-backend-file per block; returns the pc.ram file."""
    objs = []
    target = None
    for i, b in enumerate(inspect(img)["blocks"]):
        path = wd.file("blk%d.ram" % i)
        if os.path.exists(path):
            os.unlink(path)
        objs += ["-object", "memory-backend-file,id=%s,size=%d,mem-path=%s" % (b["id"], b["used-length"], path)]
        if b["id"] == "pc.ram":
            target = path
    ok = run_ok(t, "mrengine restore: " + desc, "restore", "-q", img, *objs, *extra)
    return target if ok else None


def main():
    t = TAP()
    try:
        qbin = qemu.find_qemu()
    except qemu.Skip as e:
        t.skip_all(str(e))
    with qemu.Workdir() as wd:
        dio = qemu.odirect_ok(wd.path)
        uring = qemu.uring_ok()
        ram = wd.file("vm.ram")
        mrengine("generate", "--size", "64M", "--seed", "21", ram)
        vm = "memory-backend-file,id=pc.ram,size=64M,mem-path=%s" % ram

        # 1. mrengine writes, QEMU reads
        plans = [
            ("defaults", [], 0),
            ("io_uring, 2 channels, direct-io", ["--io", "uring", "--channels", "2", "--direct-io", "on"], 2),
            ("threads, 1 channel, no checksums", ["--io", "threads", "--channels", "1", "--checksum", "none"], 0),
        ]
        for name, args, multifd in plans:
            if "--direct-io" in args and not dio:
                t.skip("the filesystem refuses O_DIRECT", name)
                continue
            if "uring" in args and not uring:
                t.skip("io_uring is refused here", name)
                continue
            img = wd.file("m.img")
            if run_ok(t, "mrengine save: " + name, "save", "-q", "-object", vm, "--output", img, *args):
                qemu_loads(t, wd, qbin, img, ram, name, multifd=multifd)
        img = wd.file("h.img")
        if run_ok(t, "mrengine save with an mrengine header", "save", "-q", "-object", vm, "--output", img,
                  "--header", "mrengine", "--name", "interop"):
            so = inspect(img)["stream-offset"]
            t.ok(so > 0, "the stream sits behind the header (offset %d)" % so)
            qemu_loads(t, wd, qbin, img, ram, "file:...,offset=%d behind the mrengine header" % so, offset=so)
        limg = wd.file("l.img")
        policy = os.path.join(os.environ.get("srcdir", "."), "policies", "libvirt-header.lua")
        if run_ok(t, "mrengine save with the libvirt-header policy", "save", "-q", "-object", vm,
                  "--output", limg, "--policy", policy):
            info = inspect(limg)
            t.eq(info["header"]["kind"], "libvirt", "the libvirt save-image header is recognised")
            qemu_loads(t, wd, qbin, limg, ram, "file:...,offset=%d behind the libvirt header" % info["stream-offset"],
                       offset=info["stream-offset"])
        zimg, eimg = wd.file("z.img"), wd.file("e.img")
        if (run_ok(t, "mrengine save --compress zstd", "save", "-q", "-object", vm, "--output", zimg,
                   "--compress", "zstd") and
                run_ok(t, "mrengine expand", "expand", zimg, eimg)):
            qemu_loads(t, wd, qbin, eimg, ram, "the expanded compressed image")

        # 2. QEMU writes (a live guest made here), mrengine restores
        with qemu.QEMU(wd, "src", mem="64M", patterns=[(MiB, 8 * MiB, 5), (32 * MiB, 4 * MiB, 6)],
                       qemu=qbin) as src:
            variants = [("mapped-ram, 1 channel", 0, False), ("mapped-ram, multifd 2", 2, False)]
            if dio:
                variants.append(("mapped-ram, multifd 2, direct-io", 2, True))
            for name, multifd, d in variants:
                src.make_migratable()
                dump = src.pmemsave(0, RAM, wd.file("src.dump"))
                src.setup_migration(mapped_ram=True, multifd=multifd, direct_io=d)
                qimg = wd.file("q.img")
                if os.path.exists(qimg):
                    os.unlink(qimg)
                src.migrate_file(qimg)
                for how, extra in [("", []), (", io_uring direct-io", ["--io", "uring", "--direct-io", "on"]),
                                   (", threads 1 channel", ["--io", "threads", "--channels", "1"])]:
                    if ("on" in extra and not dio) or ("uring" in extra and not uring):
                        continue
                    got = restore_blocks(t, wd, qimg, "QEMU's " + name + how, *extra)
                    if got:
                        same_from_1mib(got, dump, t, "QEMU's %s%s: pc.ram equals QEMU's pmemsave" % (name, how))

        # 3. the recorded QEMU 10 vector
        vectors = os.environ.get("MRE_VECTORS") or os.path.join(os.environ.get("srcdir", "."), "..", "shared",
                                                                "vectors")
        vec = os.path.join(vectors, "a_new_mapped_ram.mig.zst")
        if os.path.exists(vec):
            mig, dump = wd.file("a.mig"), wd.file("a.ram")
            subprocess.run(["zstd", "-q", "-d", "--sparse", "-f", vec, "-o", mig], check=True)
            subprocess.run(["zstd", "-q", "-d", "-f", vec.replace(".mig.", ".ram."), "-o", dump], check=True)
            got = restore_blocks(t, wd, mig, "the recorded QEMU 10 vector")
            if got:
                same_from_1mib(got, dump, t, "the recorded vector: pc.ram equals its pmemsave")
        else:
            t.skip("../shared/vectors not found", "the recorded QEMU 10 vector")
    sys.exit(t.done())


if __name__ == "__main__":
    main()
