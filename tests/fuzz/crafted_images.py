# SPDX-License-Identifier: MIT
"""Hostile images: every offset, length and count an attacker controls in
an image file is checked before mrengine uses it. Images saved by
mrengine are edited field by field (CRCs made valid again, so that the
checks behind them are what is tested) and given to inspect, verify,
extract and restore. Each must refuse with exit status 1 and a message
naming the problem, never crash or read or write out of bounds (this
test runs under ASan+UBSan in CI), never leave an extract output behind,
and never leave a restore target half-written."""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from taptest import TAP  # noqa: E402
import crafted  # noqa: E402

SRCDIR = os.environ.get("srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
MRENGINE = os.environ.get("MRENGINE", os.path.join(SRCDIR, "src", "mrengine"))
KIB = 1024

t = TAP()
tmp = tempfile.mkdtemp(prefix="mre-crafted-")


def path(name):
    return os.path.join(tmp, name)


def run(*args):
    p = subprocess.run([MRENGINE] + list(args), capture_output=True, text=True, cwd=tmp)
    return p.returncode, p.stderr


def ram_file(name, size, seed):
    """A RAM backing with a page mix: data, zero and repeated-byte pages."""
    import random
    rnd = random.Random(seed)
    out = bytearray()
    for i in range(size // 4096):
        kind = i % 3
        out += (rnd.randbytes(4096) if kind == 0 else bytes(4096) if kind == 1
                else bytes([i & 0xFF or 1]) * 4096)
    with open(path(name), "wb") as f:
        f.write(out)
    return path(name)


def save(name, *opts, blocks=(("pc.ram", 128 * KIB), ("vga", 64 * KIB))):
    with open(path("a4k.lua"), "w") as f:
        f.write("return { on_save = function() return { alignment = 4096 } end }\n")
    args = ["save", "-q", "-O", path(name)]
    for i, (bid, size) in enumerate(blocks):
        args += ["-object", "memory-backend-file,id=%s,size=%d,mem-path=%s" %
                 (bid, size, ram_file("ram%d.bin" % i, size, i + 1))]
    rc, err = run(*(args + list(opts)))
    if rc:
        t.bail("cannot save the base image %s: %s" % (name, err))
    with open(path(name), "rb") as f:
        return f.read()


def restore_args(img, blocks):
    args = ["restore", img]
    for bid, size in blocks:
        args += ["-object", "memory-backend-file,id=%s,size=%d,mem-path=%s" %
                 (bid, size, path("target-" + bid))]
    return args


BLOCKS = (("pc.ram", 128 * KIB), ("vga", 64 * KIB))


def refused(what, data, needle, commands=("inspect", "verify", "extract", "restore")):
    """Every command refuses @data with exit 1 and @needle in its message."""
    img = path("crafted.img")
    with open(img, "wb") as f:
        f.write(data)
    for cmd in commands:
        out = path("extract.raw")
        if cmd == "inspect":
            rc, err = run("inspect", img)
        elif cmd == "verify":
            rc, err = run("verify", img)
        elif cmd == "extract":
            rc, err = run("extract", "--block", BLOCKS[0][0], "--output", out, img)
        else:
            for bid, size in BLOCKS:
                with open(path("target-" + bid), "wb") as f:
                    f.write(b"\x5a" * size)
            rc, err = run(*restore_args(img, BLOCKS))
        t.ok(rc == 1 and needle in err, "%s: %s refuses it" % (what, cmd),
             "exit %d (1 expected), stderr:\n%s\nexpected to contain: %s" % (rc, err, needle))
        if cmd == "extract":
            t.ok(not os.path.exists(out), "%s: extract leaves no output" % what)
            if os.path.exists(out):
                os.unlink(out)
        if cmd == "restore":
            # refused before a byte is written (the old content stays) or,
            # once writing began, the target is left clearly unusable
            sizes = [os.path.getsize(path("target-" + bid)) for bid, _ in BLOCKS]
            intact = all(open(path("target-" + bid), "rb").read() == b"\x5a" * size
                         for bid, size in BLOCKS)
            t.ok(intact or 0 in sizes, "%s: restore leaves no half-written target" % what,
                 "target sizes %r" % sizes)


def main():
    plain = save("plain.img")
    info = crafted.inspect(MRENGINE, path("plain.img"))
    tr = crafted.trailer_parse(plain)
    t.ok(tr is not None and len(tr["blocks"]) == 2, "the base image has a trailer with 2 blocks")
    rc, err = run("verify", path("plain.img"))
    t.eq(rc, 0, "the base image verifies")

    # -- the trailer must describe the stream's blocks, one for one --------
    t2 = dict(tr, blocks=tr["blocks"][:1])
    refused("trailer listing 1 of 2 blocks", crafted.trailer_replace(plain, t2),
            "trailer: 1 RAM blocks, but the stream has 2", ("inspect", "verify", "restore"))
    t2 = dict(tr, blocks=[[b"pc.ram", 1, [0]], tr["blocks"][1]])
    refused("trailer with a block of the wrong page count", crafted.trailer_replace(plain, t2),
            "trailer: block 0 is 'pc.ram' of 1 pages", ("verify", "restore"))
    t2 = dict(tr, blocks=[[b"pc.rom", 32, tr["blocks"][0][2]], tr["blocks"][1]])
    refused("trailer naming another block", crafted.trailer_replace(plain, t2),
            "trailer: block 0 is 'pc.rom'", ("verify", "restore"))
    # restore checks the checksums of the pages it read, chunk by chunk:
    # 512 pages are two checksum chunks, a trailer with one must not do
    big = save("big.img", blocks=(("pc.ram", 2048 * KIB),))
    btr = crafted.trailer_parse(big)
    t2 = dict(btr, blocks=[[b"pc.ram", 256, btr["blocks"][0][2][:1]]])
    with open(path("big-short.img"), "wb") as f:
        f.write(crafted.trailer_replace(big, t2))
    rc, err = run(*restore_args(path("big-short.img"), (("pc.ram", 2048 * KIB),)))
    t.ok(rc == 1 and "trailer: block 0 is 'pc.ram' of 256 pages" in err,
         "trailer with fewer checksum chunks than the block: restore refuses it", err)
    t2 = dict(tr, chunk_pages=1 << 20,
              blocks=[[bid, n, [0] if crcs else []] for bid, n, crcs in tr["blocks"]])
    refused("trailer with 4 GiB checksum chunks", crafted.trailer_replace(plain, t2),
            "exceed 16777216 bytes", ("verify", "restore"))
    t2 = dict(tr, stream_end=tr["stream_end"] - 1)
    refused("trailer describing another stream", crafted.trailer_replace(plain, t2),
            "trailer describes a stream at", ("verify", "restore"))
    d = bytearray(plain)
    struct.pack_into("<Q", d, len(d) - 16, len(d) + 1)
    refused("trailer longer than the file", bytes(d), "trailer length", ("verify", "restore"))

    # -- mapped-ram offsets -------------------------------------------------
    b0 = info["blocks"][0]
    refused("pages region past the end of the file",
            crafted.mr_header_set(plain, b0["header-offset"], pages_offset=len(plain) // 4096 * 4096),
            "extends beyond the end of the file")
    refused("pages region before its bitmap",
            crafted.mr_header_set(plain, b0["header-offset"], pages_offset=0),
            "overlaps the bitmap")
    refused("bitmap inside the block header",
            crafted.mr_header_set(plain, b0["header-offset"], bitmap_offset=b0["header-offset"]),
            "overlaps the block header")
    refused("pages offset that wraps around",
            crafted.mr_header_set(plain, b0["header-offset"], pages_offset=(1 << 64) - 4096),
            "offsets overflow")
    d = bytearray(plain)
    d[b0["bitmap-offset"] + 7] |= 0x80   # page 63 of a 32-page block
    refused("bitmap bit beyond the block", bytes(d), "bitmap has page 63 set")
    d = bytearray(plain)
    struct.pack_into(">Q", d, b0["entry-offset"] + 1 + len("pc.ram"), 1 << 62)
    refused("block longer than the RAM total", bytes(d), "exceeds what remains of the total")

    # -- compressed chunks ------------------------------------------------------
    comp = save("comp.img", "--compress", "lz4", "--chunk-size", "64K")
    cinfo = crafted.inspect(MRENGINE, path("comp.img"))
    ctr = crafted.trailer_parse(comp)
    table = cinfo["blocks"][0]["pages-offset"]
    off, length, flags, crc = crafted.chunk_entry(comp, table, 0)
    data_end = ctr["offset"]
    # the data area must hold the lie: a stored length the check alone refuses
    big = 64 * KIB + 8 * KIB
    if data_end - cinfo["stream-end"] < big:
        comp = comp[:ctr["offset"]] + bytes(big) + crafted.trailer_build(
            dict(ctr, offset=0))
        ctr = crafted.trailer_parse(comp)
        data_end = ctr["offset"]
    start = (cinfo["stream-end"] + 4095) & ~4095
    refused("compressed chunk stored longer than the chunk",
            crafted.chunk_entry_set(comp, table, 0, start, big, 0, crc),
            "chunk 0: stored length %d is invalid" % big)
    refused("raw chunk shorter than the chunk",
            crafted.chunk_entry_set(comp, table, 0, off, 4096, 1, crc),
            "chunk 0: stored length 4096 is invalid")
    refused("chunk stored inside the stream",
            crafted.chunk_entry_set(comp, table, 0, 0, 100, 0, crc),
            "outside the data area")
    refused("chunk stored past the data area",
            crafted.chunk_entry_set(comp, table, 0, data_end - 10, 100, 0, crc),
            "outside the data area")
    refused("chunk whose end wraps around",
            crafted.chunk_entry_set(comp, table, 0, (1 << 64) - 16, 100, 0, crc),
            "outside the data area")
    refused("zero chunk with stored bytes",
            crafted.chunk_entry_set(comp, table, 0, off, 100, 2, crc),
            "a zero chunk with stored bytes")
    refused("chunk with unknown flags",
            crafted.chunk_entry_set(comp, table, 0, off, length, 4, crc),
            "unknown flags 0x4")
    # a page with data whose bit is clear: restore (which goes by the chunk)
    # and extract (which went by the bitmap) would give different memory.
    # Restore, like verify, finds it first by the metadata checksum.
    d = bytearray(comp)
    d[cinfo["blocks"][0]["bitmap-offset"]] &= 0xFE   # page 0 holds data
    refused("compressed block whose bitmap misses a page with data", bytes(d),
            "page 0 holds data in chunk 0 but its bitmap bit is clear", ("extract",))
    refused("compressed block whose bitmap misses a page with data", bytes(d),
            "does not match its checksum", ("restore",))
    with open(path("crafted.img"), "wb") as f:
        f.write(bytes(d))
    rc, err = run("verify", path("crafted.img"))
    t.ok(rc == 1 and "does not match its checksum" in err, "verify finds it by the metadata checksum", err)
    d = bytearray(comp)
    struct.pack_into("<Q", d, table + 24, 1 << 40)
    refused("chunk table with 2^40 entries", bytes(d), "chunks, but the block needs")

    # -- headers in front of the stream ------------------------------------------
    hdr = save("hdr.img", "--header", "mrengine")
    hinfo = crafted.inspect(MRENGINE, path("hdr.img"))
    so = hinfo["stream-offset"]
    refused("mrengine header pointing past the file",
            crafted.mrheader_set(hdr, state=1, stream_offset=(len(hdr) // 4096 + 2) * 4096), "no QEMU stream at offset")
    refused("mrengine header with 4 GiB of metadata",
            crafted.mrheader_set(hdr, meta_len=0xFFFFFFFF), "cannot hold")
    rc, err = run("verify", path("hdr.img"))
    t.eq((rc, err), (0, ""), "the header image verifies")
    d = crafted.mrheader_set(hdr, state=1)
    with open(path("inprogress.img"), "wb") as f:
        f.write(d)
    rc, err = run("verify", path("inprogress.img"))
    t.ok(rc == 1 and "never completed" in err, "a header still 'in progress' fails verify", err)
    lv = bytearray(b"LibvirtQemudSave" + struct.pack("<IIII", 2, 0xFFFFFF00, 0, 6) + bytes(60))
    refused("libvirt header with a 4 GiB XML length", bytes(lv) + hdr[so:], "no QEMU stream at offset",
            ("inspect", "verify"))

    shutil.rmtree(tmp)
    sys.exit(t.done())


main()
