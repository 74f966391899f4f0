# SPDX-License-Identifier: MIT
"""The QEMU bridge on files, without running QEMU.

- The recorded QEMU streams (7.2 `exec:cat >`, 10.0 `file:`) are ingested
  as plain, compressed and header-prefixed images: every page above 1 MiB
  equals QEMU's own pmemsave of the guest, the machine type, ram section id
  and every device section are carried over byte for byte, and the
  configuration (stream and vmdesc) says mapped-ram.
- emit turns the images back into streams with the same device sections,
  no capability (QEMU 7.2 refuses mapped-ram) and the same pages; convert
  does both directions offline and agrees with ingest and emit.
- Synthetic streams exercise what QEMU rarely shows on a paused guest:
  pages sent again (several passes), ZERO records clearing pages, XBZRLE
  deltas (also on a page still in flight, and on a zero page), a fill byte,
  CONTINUE across sections, with 1..4 channels, both I/O backends and
  direct-io; the result must equal the model of the stream.
- Shared memory (x-ignore-shared): --ram fills the skipped block from its
  backing, drops x-ignore-shared and records the GPAs; emit
  --ignore-shared brings them back and sends no page of the block.
- Bad input of every kind fails with a message and leaves no file.
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile

import bridge_lib as B
from taptest import TAP

MiB = B.MiB
PAGE = B.PAGE


def find_vectors():
    """The QEMU vectors: $MRE_VECTORS, or ../shared/vectors beside the checkout."""
    src = os.environ.get("srcdir", ".")
    for d in (os.environ.get("MRE_VECTORS"), os.path.join(src, "..", "shared", "vectors"),
              os.path.join(src, "..", "..", "shared", "vectors")):
        if d and os.path.exists(os.path.join(d, "f_old72_sequential_exec.mig.zst")):
            return d
    return None


def unzstd(src, dst):
    subprocess.run(["zstd", "-d", "-q", "-f", "--sparse", src, "-o", dst], check=True, timeout=120)


class Files:
    def __init__(self, t, wd):
        self.t = t
        self.wd = wd

    def p(self, name):
        return os.path.join(self.wd, name)

    # -- recorded QEMU streams ---------------------------------------------------

    def vector(self, vdir, name, machine, ram_id):
        t = self.t
        mig, ram = self.p(name + ".mig"), self.p(name + ".ram")
        unzstd(os.path.join(vdir, name + ".mig.zst"), mig)
        unzstd(os.path.join(vdir, name + ".ram.zst"), ram)
        with open(ram, "rb") as f:
            dump = f.read()
        orig_dev = B.element_bytes(mig)
        orig_desc = B.vmdesc_of(mig)
        emitted = {}
        pc_plain = None
        for variant, flags in (("plain", []), ("zstd", ["--compress", "zstd"]), ("lz4", ["--compress", "lz4"]),
                               ("header", ["--header", "mrengine"])):
            label = "%s, %s" % (name, variant)
            img = self.p(name + "-" + variant + ".img")
            with open(mig, "rb") as f:
                r = B.mrengine("ingest", *flags, img, stdin=f)
            if not t.ok(r.returncode == 0, "%s: ingest exits 0" % label, r.stderr.decode()):
                continue
            r = B.mrengine("verify", img)
            t.ok(r.returncode == 0, "%s: verify passes (structure, completeness, checksums)" % label,
                 r.stderr.decode())
            j = B.inspect(img)
            caps = ["mapped-ram"] + (["x-mrengine-compressed"] if variant in ("zstd", "lz4") else [])
            t.eq((j["machine"], j["capabilities"], j["ram"]["section-id"]), (machine, caps, ram_id),
                 "%s: machine type and ram section id kept, capabilities %s" % (label, caps))
            pc = B.extract(img, "pc.ram", self.p("x.out"))
            if variant == "plain":
                pc_plain = pc
            diff = B.first_diff(pc, dump[:len(pc)], skip=MiB)
            t.ok(len(pc) == 64 * MiB and diff is None,
                 "%s: pc.ram equals QEMU's pmemsave from 1 MiB on" % label, "first difference at %s" % diff)
            t.ok(B.element_bytes(img) == orig_dev,
                 "%s: all %d device sections are the stream's, byte for byte" % (label, len(orig_dev)))
            desc = B.vmdesc_of(img)
            t.ok(desc["devices"] == orig_desc["devices"] and
                 desc["configuration"]["subsections"][0]["vmsd_name"] == "configuration/capabilities",
                 "%s: vmdesc keeps the devices, its configuration lists the capabilities" % label)
            if variant == "header":
                t.eq((j["header"]["kind"], j["stream-offset"] % 4096, j["stream-offset"] > 0), ("mrengine", 0, True),
                     "%s: mrengine header, stream at an aligned offset" % label)
            # back to a stream
            out = self.p(name + "-" + variant + ".emit")
            with open(out, "wb") as f:
                r = B.mrengine("emit", img, stdout=f)
            if not t.ok(r.returncode == 0, "%s: emit exits 0" % label, r.stderr.decode()):
                continue
            m, c, blocks = B.parse_blocks(out)
            t.eq((m, c), (machine, []), "%s: emitted stream has the machine type and no capability" % label)
            t.ok(B.element_bytes(out) == orig_dev, "%s: emitted stream has the device sections verbatim" % label)
            with open(out, "rb") as f:
                emitted[variant] = f.read()
            img2 = self.p(name + "-" + variant + ".again.img")
            with open(out, "rb") as f:
                r = B.mrengine("ingest", img2, stdin=f)
            if t.ok(r.returncode == 0, "%s: the emitted stream ingests again" % label, r.stderr.decode()):
                t.ok(B.extract(img2, "pc.ram", self.p("y.out")) == pc, "%s: and gives the same pc.ram" % label)
                os.unlink(img2)
            os.unlink(out)
        t.ok(len(set(emitted.values())) == 1 and len(emitted) == 4,
             "%s: plain, zstd, lz4 and header images emit the same stream" % name)
        # convert, both ways
        cimg, cmig = self.p(name + ".conv.img"), self.p(name + ".conv.mig")
        r = B.mrengine("convert", mig, cimg)
        if t.ok(r.returncode == 0, "%s: convert stream -> image" % name, r.stderr.decode()):
            t.ok(B.extract(cimg, "pc.ram", self.p("z.out")) == B.extract(self.p(name + "-plain.img"), "pc.ram",
                                                                         self.p("w.out")),
                 "%s: convert gives the image ingest gives" % name)
        r = B.mrengine("convert", self.p(name + "-zstd.img"), cmig)
        if t.ok(r.returncode == 0, "%s: convert compressed image -> stream" % name, r.stderr.decode()):
            with open(cmig, "rb") as f:
                t.ok(f.read() == emitted.get("plain"), "%s: convert writes the stream emit writes" % name)
        # a policy decides the plan (compact-archive: zstd)
        img = self.p(name + ".pol.img")
        pol = os.path.join(os.environ.get("srcdir", "."), "policies", "compact-archive.lua")
        with open(mig, "rb") as f:
            r = B.mrengine("ingest", "--policy", pol, img, stdin=f)
        t.ok(r.returncode == 0 and "x-mrengine-compressed" in B.inspect(img)["capabilities"] and
             B.extract(img, "pc.ram", self.p("i.out")) == pc_plain,
             "%s: ingest --policy compact-archive writes the compressed image it asks for" % name, r.stderr.decode())
        os.unlink(img)
        # --input (a path, a descriptor) and file:PATH,offset=N
        img = self.p(name + ".in.img")
        r = B.mrengine("ingest", "--input", mig, img, stdin=subprocess.DEVNULL)
        t.ok(r.returncode == 0 and B.extract(img, "pc.ram", self.p("i.out")) == pc_plain,
             "%s: ingest --input PATH" % name, r.stderr.decode())
        os.unlink(img)
        fd = os.open(mig, os.O_RDONLY)
        try:
            r = subprocess.run([B.mrengine_path(), "ingest", "--input", str(fd), img], pass_fds=(fd,),
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        finally:
            os.close(fd)
        t.ok(r.returncode == 0 and B.extract(img, "pc.ram", self.p("i.out")) == pc_plain,
             "%s: ingest --input FD" % name, r.stderr.decode())
        with open(img, "wb") as f:
            f.write(b"H" * 8192)
        with open(mig, "rb") as f:
            r = B.mrengine("ingest", "file:%s,offset=8192" % img, stdin=f)
        ok = r.returncode == 0 and open(img, "rb").read(8192) == b"H" * 8192
        t.ok(ok and B.inspect(img, "--offset", "8192")["stream-offset"] == 8192 and
             B.extract(img, "pc.ram", self.p("i.out")) == pc_plain,
             "%s: ingest to file:PATH,offset=8192 keeps the 8 KiB before the stream" % name, r.stderr.decode())
        for f in os.listdir(self.wd):
            if f.startswith(name):
                os.unlink(self.p(f))

    # -- synthetic streams ------------------------------------------------------------

    def synthetic(self):
        """Three passes over two blocks with every record kind."""
        rnd = random.Random(7)
        s = B.Stream([("pc.ram", 4 * MiB), ("vga.vram", 1 * MiB)], machine="pc-q35-8.2")
        s.full(3, "timer", b"\x00" * 24)
        s.start()
        pages = {"pc.ram": 1024, "vga.vram": 256}

        def rpage():
            return rnd.randbytes(PAGE)

        # pass 1: every page, in a PART, data, zero or a repeated byte
        s.section(2)
        for bid in ("pc.ram", "vga.vram"):
            for p in range(pages[bid]):
                k = rnd.randrange(3)
                if k == 0:
                    s.page(bid, p, rpage())
                elif k == 1:
                    s.zero(bid, p)
                else:
                    s.page(bid, p, bytes([rnd.randrange(1, 256)]) * PAGE)
        s.eos()
        # pass 2: a later section, starting with CONTINUE on the previous block
        s.section(2)
        for p in rnd.sample(range(pages["vga.vram"]), 60):
            s.page("vga.vram", p, rpage())
        for p in sorted(rnd.sample(range(pages["pc.ram"]), 300)):
            k = rnd.randrange(4)
            cur = bytes(s.ram["pc.ram"][p * PAGE:(p + 1) * PAGE])
            if k == 0:
                s.zero("pc.ram", p)
            elif k == 1 and any(cur):
                new = bytearray(cur)
                for _ in range(rnd.randrange(1, 40)):
                    new[rnd.randrange(PAGE)] = rnd.randrange(256)
                if bytes(new) != cur:
                    s.delta("pc.ram", p, bytes(new))
            else:
                s.page("pc.ram", p, rpage())
        # the same page twice in one section, then a delta on it while in flight
        s.page("pc.ram", 5, rpage())
        s.page("pc.ram", 5, rpage())
        new = bytearray(s.ram["pc.ram"][5 * PAGE:6 * PAGE])
        new[100:110] = b"0123456789"
        s.delta("pc.ram", 5, bytes(new))
        # a delta on a zero page, a ZERO with a fill byte (QEMU <= 8.1 accepted one)
        s.zero("pc.ram", 7)
        new = bytearray(PAGE)
        new[4000:4010] = b"abcdefghij"
        s.delta("pc.ram", 7, bytes(new))
        s.zero("pc.ram", 9, fill=0x5a)
        s.eos()
        s.command(11)      # SWITCHOVER_START
        # END: the last dirty pages
        s.section(3)
        for p in range(0, pages["pc.ram"], 97):
            s.page("pc.ram", p, rpage())
        s.zero("vga.vram", 3)
        s.eos()
        s.full(4, "cpu", bytes(range(200)))
        s.full(5, "0000:00:02.0/vga", b"\x7e\x00\x00\x00\x05" * 20)   # footer-like bytes inside a section
        data = s.eof()
        return s, data

    def synthetic_runs(self):
        t = self.t
        s, data = self.synthetic()
        variants = [("1 channel, threads", ["--channels", "1", "--io", "threads"]),
                    ("4 channels, io_uring", ["--channels", "4", "--io", "uring"]),
                    ("3 channels, auto, direct-io", ["--channels", "3", "--direct-io", "on"]),
                    ("2 channels, lz4", ["--compress", "lz4"])]
        for label, flags in variants:
            img = self.p("synth.img")
            r = B.mrengine("ingest", *flags, img, input=data)
            err = r.stderr.decode()
            if r.returncode and ("io_uring is not available" in err or "O_DIRECT" in err or "direct" in err):
                t.skip(err.strip()[:100], "synthetic stream, %s" % label)
                continue
            if not t.ok(r.returncode == 0, "synthetic stream, %s: ingest exits 0" % label, err):
                continue
            ok = all(B.extract(img, bid, self.p("s.out")) == bytes(s.ram[bid]) for bid in s.ram)
            t.ok(ok, "synthetic stream, %s: both blocks equal the model (re-sent, zero, XBZRLE, fill)" % label)
            j = B.inspect(img)
            want = sum(1 for bid in s.ram for i in range(0, len(s.ram[bid]), PAGE) if any(s.ram[bid][i:i + PAGE]))
            t.eq(sum(b["present"] for b in j["blocks"]), want,
                 "synthetic stream, %s: exactly the non-zero pages are present" % label)
            if label.startswith("1 channel"):
                st = os.stat(img)
                t.ok(st.st_blocks * 512 <= 5 * MiB + 256 * 1024,
                     "synthetic stream: the image allocates no more than the RAM (%d KiB for 5 MiB of RAM, "
                     "%d KiB of stream)" % (st.st_blocks // 2, len(data) // 1024))
                t.ok(B.element_bytes(img, ("FULL", "COMMAND")) == B.element_bytes(self.p("synth.mig"), ("FULL",
                                                                                                          "COMMAND"))
                     if self.write(self.p("synth.mig"), data) else False,
                     "synthetic stream: device sections (one with footer-like bytes) and SWITCHOVER_START kept")
                out = self.p("synth.emit")
                with open(out, "wb") as f:
                    r = B.mrengine("emit", img, stdout=f)
                t.ok(r.returncode == 0 and B.element_bytes(out) == B.element_bytes(img),
                     "synthetic stream: emit keeps them too", r.stderr.decode())
                m, c, blocks = B.parse_blocks(out)
                t.eq((m, c, blocks), ("pc-q35-8.2", [], [("pc.ram", 4 * MiB, None), ("vga.vram", MiB, None)]),
                     "synthetic stream: emitted block list")
                r = B.mrengine("emit", "--zero-pages", img, stdout=subprocess.PIPE)
                with open(out, "wb") as f:
                    f.write(r.stdout)
                j2 = B.inspect(out)
                t.ok(r.returncode == 0 and all(b["present"] + b["zero"] == b["pages"] for b in j2["blocks"]),
                     "synthetic stream: emit --zero-pages", r.stderr.decode())
            os.unlink(img)
        for f in ("synth.emit", "synth.mig"):
            if os.path.exists(self.p(f)):
                os.unlink(self.p(f))

    @staticmethod
    def write(path, data):
        with open(path, "wb") as f:
            f.write(data)
        return True

    # -- shared memory (x-ignore-shared) --------------------------------------------------

    def shared(self):
        t = self.t
        rnd = random.Random(11)
        shm_data = bytearray(2 * MiB)
        for p in range(0, 512, 3):
            shm_data[p * PAGE:(p + 1) * PAGE] = rnd.randbytes(PAGE)
        backing = self.p("ram0.shm")
        with open(backing, "wb") as f:
            f.write(shm_data)
        s = B.Stream([("ram0", 2 * MiB, 0), ("pc.bios", 256 * 1024, 0xfffc0000)], machine="pc-i440fx-10.0",
                     caps=["x-ignore-shared"], ram_id=1)
        s.start()
        s.section(2)
        for p in range(64):
            s.page("pc.bios", p, rnd.randbytes(PAGE))
        s.eos()
        s.section(3)
        s.eos()
        s.full(3, "timer", b"\x01" * 24)
        data = s.eof()
        img = self.p("shared.img")
        r = B.mrengine("ingest", "--ram", "ram0=" + backing, img, input=data)
        if t.ok(r.returncode == 0, "x-ignore-shared stream + --ram: ingest exits 0", r.stderr.decode()):
            t.ok(B.extract(img, "ram0", self.p("o")) == bytes(shm_data) and
                 B.extract(img, "pc.bios", self.p("o")) == bytes(s.ram["pc.bios"]),
                 "x-ignore-shared + --ram: the shared block comes from its backing, the others from the stream")
            t.eq(B.inspect(img)["capabilities"], ["mapped-ram"],
                 "x-ignore-shared + --ram: the image does not need x-ignore-shared")
            t.eq(B.vmdesc_of(img).get("x-mrengine-gpa"), {"ram0": 0, "pc.bios": 0xfffc0000},
                 "x-ignore-shared + --ram: the GPAs are kept in the vmdesc")
            out = self.p("shared.emit")
            with open(out, "wb") as f:
                r = B.mrengine("emit", "--ignore-shared", "ram0", img, stdout=f)
            if t.ok(r.returncode == 0, "emit --ignore-shared ram0 exits 0", r.stderr.decode()):
                m, caps, blocks = B.parse_blocks(out)
                t.eq((caps, blocks), (["x-ignore-shared"], [("ram0", 2 * MiB, 0), ("pc.bios", 256 * 1024, 0xfffc0000)]),
                     "emit --ignore-shared: x-ignore-shared, every block with its recorded GPA")
                j = B.inspect(out)
                t.eq([(b["id"], b["present"]) for b in j["blocks"]], [("ram0", 0), ("pc.bios", 64)],
                     "emit --ignore-shared: no page of the shared block")
            r = B.mrengine("emit", "--ignore-shared", "ram0=0x40000000", img, stdout=subprocess.PIPE)
            with open(out, "wb") as f:
                f.write(r.stdout)
            t.eq(B.parse_blocks(out)[2][0], ("ram0", 2 * MiB, 0x40000000), "emit --ignore-shared ID=GPA overrides")
            r = B.mrengine("emit", "--ignore-shared", "nope", img, stdout=subprocess.DEVNULL)
            t.ok(r.returncode == 1 and b"no RAM block 'nope'" in r.stderr, "emit --ignore-shared of an unknown block fails",
                 r.stderr.decode())
        # the reverse: restore only the shared block into a new backing
        target = self.p("ram0.restored")
        r = B.mrengine("restore", "--partial", img, "-object",
                       "memory-backend-file,id=ram0,size=2M,mem-path=%s,share=on" % target)
        t.ok(r.returncode == 0 and open(target, "rb").read() == bytes(shm_data),
             "restore --partial fills the shared backing with the block", r.stderr.decode())
        r = B.mrengine("restore", img, "-object", "memory-backend-file,id=ram0,size=2M,mem-path=%s,share=on" % target)
        t.ok(r.returncode == 1 and b"pc.bios" in r.stderr, "restore without --partial refuses the image's other blocks",
             r.stderr.decode())
        # without --ram: x-ignore-shared stays, with a warning naming the block
        img2 = self.p("shared-kept.img")
        r = B.mrengine("ingest", img2, input=data)
        if t.ok(r.returncode == 0 and b"'ram0'" in r.stderr, "x-ignore-shared stream without --ram: a warning names ram0",
                r.stderr.decode()):
            j = B.inspect(img2)
            t.eq(j["capabilities"], ["x-ignore-shared", "mapped-ram"],
                 "x-ignore-shared stream without --ram: the image keeps x-ignore-shared (enum order)")
            out = self.p("kept.emit")
            with open(out, "wb") as f:
                r = B.mrengine("emit", img2, stdout=f)
            t.eq(B.parse_blocks(out)[1:], (["x-ignore-shared"], [("ram0", 2 * MiB, 0), ("pc.bios", 256 * 1024, 0xfffc0000)]),
                 "... and emit gives x-ignore-shared and the GPAs back from the block list")
        # misuse
        r = B.mrengine("ingest", "--ram", "pc.bios=" + backing, self.p("bad.img"), input=data)
        t.ok(r.returncode == 1 and b"pages of block 'pc.bios', given with --ram" in r.stderr and
             not os.path.exists(self.p("bad.img")),
             "--ram for a block the stream carries: refused, no image", r.stderr.decode())
        r = B.mrengine("ingest", "--ram", "nope=" + backing, self.p("bad.img"), input=data)
        t.ok(r.returncode == 1 and b"no RAM block 'nope'" in r.stderr, "--ram for an unknown block fails",
             r.stderr.decode())
        plain = B.Stream([("ram0", 2 * MiB)], machine="pc-i440fx-10.0")
        plain.start()
        plain.section(3)
        plain.page("ram0", 0, b"x" * PAGE)
        plain.eos()
        r = B.mrengine("ingest", "--ram", "ram0=" + backing, self.p("bad.img"), input=plain.eof())
        t.ok(r.returncode == 1 and b"x-ignore-shared" in r.stderr,
             "--ram with a stream that has no x-ignore-shared fails", r.stderr.decode())
        for f in ("shared.img", "shared-kept.img", "ram0.shm", "ram0.restored", "shared.emit", "kept.emit"):
            if os.path.exists(self.p(f)):
                os.unlink(self.p(f))

    # -- bad input ---------------------------------------------------------------------------

    def bad(self, vdir):
        t = self.t
        mig = self.p("v.mig")
        unzstd(os.path.join(vdir, "f_old72_sequential_exec.mig.zst"), mig)
        with open(mig, "rb") as f:
            good = f.read()
        j = B.inspect(mig)
        secs = j["sections"]
        end_of_ram = [s for s in secs if s["type"] == "END"][0]["end"]
        cuts = [("nothing", 0), ("in the header", 6), ("in the configuration", 12),
                ("in the block list", 60), ("in a page", 4000), ("between pages", secs[1]["offset"] + 13 + 8 + 7 + 4096),
                ("at the end of the ram section", end_of_ram), ("in a device section", end_of_ram + 20),
                ("before EOF", j["vmdesc"]["offset"] - 1), ("in the vmdesc", j["vmdesc"]["offset"] + 500),
                ("one byte short", len(good) - 1)]
        for label, n in cuts:
            self.refuse("truncated stream (%s, %d bytes)" % (label, n), good[:n], ("truncated", "offset"))
        rnd = random.Random(3)
        self.refuse("random bytes", rnd.randbytes(100000), ("magic",))
        self.refuse("an image given as a stream", self.make_image(mig), ("mapped-ram",))
        # a page for a block that is not in the list
        s = B.Stream([("pc.ram", MiB)])
        s.start()
        s.section(3)
        s.page("pc.ram", 1, b"a" * PAGE)
        s.last = "nope"
        s.b += B.be64(2 * PAGE | B.RAM_PAGE) + B.cstr8("vga.vram") + b"b" * PAGE
        s.eos()
        self.refuse("a page of an unknown block", s.eof(), ("unknown RAM block 'vga.vram'",))
        # a page beyond its block
        s = B.Stream([("pc.ram", MiB)])
        s.start()
        s.section(3)
        s.page("pc.ram", 300, b"a" * PAGE)
        s.eos()
        self.refuse("a page outside its block", s.eof(), ("outside RAM block",))
        # an iterative section mrengine does not know (7.2 block migration)
        s = B.Stream([("pc.ram", MiB)])
        s.b += b"\x01" + B.be32(1) + B.cstr8("block") + B.be32(0) + B.be32(1) + B.be64(2) + b"\x7e" + B.be32(1)
        s.start()
        s.section(3)
        s.eos()
        self.refuse("an unsupported iterative section ('block')", s.eof(), ("'block'", "not supported"))
        # postcopy
        s = B.Stream([("pc.ram", MiB)])
        s.command(4)
        s.start()
        s.section(3)
        s.eos()
        self.refuse("a postcopy stream (POSTCOPY_LISTEN)", s.eof(), ("POSTCOPY_LISTEN",))
        # legacy compression (QEMU <= 9.0 'compress')
        s = B.Stream([("pc.ram", MiB)])
        s.start()
        s.section(3)
        s.b += B.be64(0x100) + B.cstr8("pc.ram") + B.be32(10) + b"x" * 10
        s.eos()
        self.refuse("a zlib-compressed page (legacy 'compress')", s.eof(), ("compress",))
        # XBZRLE that overruns the page
        s = B.Stream([("pc.ram", MiB)])
        s.start()
        s.section(3)
        s.b += B.be64(B.RAM_XBZRLE) + B.cstr8("pc.ram") + b"\x01" + B.be16(6) + B.uleb(0) + B.uleb(0x3fff) + b"abc"
        s.eos()
        self.refuse("a broken XBZRLE delta", s.eof(), ("XBZRLE", "xbzrle"))
        # no ram section
        s = B.Stream([("pc.ram", MiB)])
        s.full(1, "timer", b"\x00" * 8)
        self.refuse("a stream without RAM", s.eof(), ("ram",))
        # ingest keeps an older image at the path when it fails
        out = self.p("keep.img")
        with open(out, "wb") as f:
            f.write(b"old")
        r = B.mrengine("ingest", out, input=good[:len(good) // 2])
        left = B.leftovers(self.wd, ("keep.img", "v.mig", "img.tmp"))
        t.ok(r.returncode == 1 and open(out, "rb").read() == b"old" and left == [],
             "a failed ingest leaves the older file at the path untouched, and no temporary file", repr(left))
        os.unlink(out)
        # emit: a reader that goes away, a stream instead of an image
        img = self.p("e.img")
        B.mrengine("ingest", img, input=good)
        exe = B.mrengine_path()
        p = subprocess.run("'%s' emit '%s' | head -c 1000 > /dev/null; exit ${PIPESTATUS[0]}" % (exe, img),
                           shell=True, executable="/bin/bash", capture_output=True, timeout=60)
        t.ok(p.returncode == 1 and b"writing the stream" in p.stderr,
             "emit into a pipe closed early fails with a message (no SIGPIPE death)", p.stderr.decode())
        r = B.mrengine("emit", mig, stdout=subprocess.DEVNULL)
        t.ok(r.returncode == 1 and b"already a sequential stream" in r.stderr, "emit of a stream is refused",
             r.stderr.decode())
        # corrupt one data page: emit (verifying) must refuse
        bj = B.inspect(img)["blocks"][0]
        with open(img, "rb") as f:
            data = f.read()
        off = None
        for i in range(256, bj["pages"]):
            o = bj["pages-offset"] + i * PAGE
            if any(data[o:o + PAGE]):
                off = o
                break
        with open(img, "r+b") as f:
            f.seek(off)
            f.write(bytes([data[off] ^ 0xff]))
        r = B.mrengine("emit", img, stdout=subprocess.DEVNULL)
        t.ok(r.returncode == 1 and b"checksum" in r.stderr.lower(), "emit refuses a page that fails its checksum",
             r.stderr.decode())
        r = B.mrengine("emit", "--no-verify", img, stdout=subprocess.DEVNULL)
        t.ok(r.returncode == 0, "emit --no-verify sends it anyway", r.stderr.decode())
        for f in ("e.img", "v.mig", "img.tmp"):
            if os.path.exists(self.p(f)):
                os.unlink(self.p(f))
        # usage
        for args, what in ((["ingest"], "ingest without OUTPUT"), (["emit"], "emit without IMAGE"),
                           (["ingest", "--ram", "x", "o"], "--ram without =PATH"),
                           (["emit", "--compress", "zstd", "x"], "emit --compress"),
                           (["convert", "a"], "convert with one file"), (["ingest", "--channels", "0", "o"],
                                                                        "--channels 0")):
            r = B.mrengine(*args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            t.eq(r.returncode, 2, "usage error: %s exits 2" % what)

    def make_image(self, mig):
        img = self.p("img.tmp")
        with open(mig, "rb") as f:
            B.mrengine("ingest", img, stdin=f)
        with open(img, "rb") as f:
            return f.read()

    def refuse(self, label, data, words):
        t = self.t
        out = self.p("refused.img")
        r = B.mrengine("ingest", out, input=data)
        err = r.stderr.decode(errors="replace")
        t.ok(r.returncode == 1 and any(w in err for w in words) and not os.path.exists(out) and
             not [f for f in os.listdir(self.wd) if "refused" in f],
             "%s: ingest fails with a message, no image, no temporary file" % label, err.strip())


def main():
    t = TAP()
    vdir = find_vectors()
    wd = tempfile.mkdtemp(prefix="mre-bridge.")
    try:
        f = Files(t, wd)
        if vdir:
            f.vector(vdir, "f_old72_sequential_exec", "pc-i440fx-7.2", 2)
            f.vector(vdir, "f_new_sequential_file", "pc-i440fx-10.0", 1)
        else:
            t.skip("shared/vectors not found (set MRE_VECTORS)", "recorded QEMU streams")
        f.synthetic_runs()
        f.shared()
        if vdir:
            f.bad(vdir)
    finally:
        shutil.rmtree(wd, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
