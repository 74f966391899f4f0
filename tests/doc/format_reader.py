# SPDX-License-Identifier: MIT
"""An independent reader of mrengine images, written from doc/format.md only.

It locates the stream, parses it (configuration, sections, block list,
mapped-ram headers, bitmaps, chunk tables, device sections found by their
footers, EOF, vmdesc), decodes the mrengine and libvirt headers and the
trailer, recomputes every checksum the page defines (header CRC, trailer
CRC, meta_crc, page-chunk folds, chunk CRCs) and rebuilds every block's
content. The results are compared with `mrengine inspect --json`,
`mrengine verify` and `mrengine extract` on images written in every variant
the page describes. If doc/format.md and the code drift apart, this fails.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

from taptest import TAP

MRENGINE = os.environ.get("MRENGINE", "src/mrengine")
SRCDIR = os.environ.get("srcdir", ".")

# ---- CRC-32C (section 1) ---------------------------------------------------

_T = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _T.append(_c)


def crc32c(data, crc=0):
    c = crc ^ 0xFFFFFFFF
    t = _T
    for b in data:
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def be(d, o, n):
    return int.from_bytes(d[o:o + n], "big")


def le(d, o, n):
    return int.from_bytes(d[o:o + n], "little")


class Bad(Exception):
    pass


# ---- section 2: finding the stream ------------------------------------------

SIG = b"QEVM\x00\x00\x00\x03\x07"


def detect(d):
    if d[:9] == SIG:
        return {"kind": "none", "complete": True}, 0
    if d[:8] == b"MREIMG\r\n" and len(d) >= 64:
        h = mrheader(d)
        if d[h["stream_offset"]:h["stream_offset"] + 9] != SIG:
            raise Bad("mrengine header: no stream")
        return {"kind": "mrengine", "complete": h["state"] == 2, "mr": h}, h["stream_offset"]
    if d[:16] in (b"LibvirtQemudSave", b"LibvirtQemudPart") and len(d) >= 92:
        version, data_len = le(d, 16, 4), le(d, 20, 4)
        if version > 2:
            data_len = be(d, 20, 4)
        off = 92 + data_len
        if d[off:off + 9] != SIG:
            raise Bad("libvirt header: no stream")
        return {"kind": "libvirt", "complete": d[:16] == b"LibvirtQemudSave"}, off
    for off in range(512, min(64 << 20, len(d)), 512):
        if d[off:off + 9] == SIG:
            return {"kind": "foreign", "complete": True}, off
    raise Bad("no stream")


# ---- section 4.1 -------------------------------------------------------------

def mrheader(d):
    h = dict(version=le(d, 8, 4), state=le(d, 12, 4), stream_offset=le(d, 16, 8),
             stream_end=le(d, 24, 8), trailer_offset=le(d, 32, 8), trailer_length=le(d, 40, 8),
             m=le(d, 48, 4), crc=le(d, 52, 4))
    if h["version"] != 1 or h["state"] not in (1, 2) or h["stream_offset"] % 4096 or \
            h["stream_offset"] < 64 + h["m"]:
        raise Bad("mrengine header fields")
    fixed = bytearray(d[:64])
    fixed[52:56] = b"\0\0\0\0"
    meta = d[64:64 + h["m"]]
    if crc32c(meta, crc32c(fixed)) != h["crc"]:
        raise Bad("mrengine header CRC")
    h["meta"] = json.loads(meta)
    if any(d[64 + h["m"]:h["stream_offset"]]):
        raise Bad("mrengine header padding is not zero")
    return h


# ---- section 3: the stream ---------------------------------------------------

class Rd:
    def __init__(self, d, pos):
        self.d, self.pos = d, pos

    def take(self, n):
        if self.pos + n > len(self.d):
            raise Bad("truncated at 0x%x" % self.pos)
        b = self.d[self.pos:self.pos + n]
        self.pos += n
        return b

    def u(self, n):
        return int.from_bytes(self.take(n), "big")

    def cstr8(self):
        s = self.take(self.u(1))
        if not s or any(c < 0x20 or c > 0x7E for c in s):
            raise Bad("bad cstr8 at 0x%x" % self.pos)
        return s.decode()


CMD_LEN = {1: 0, 2: 4, 4: 0, 5: 0, 8: 0, 9: 0, 11: 0}
CMD_NAMES = {1: "OPEN_RETURN_PATH", 2: "PING", 3: "POSTCOPY_ADVISE", 4: "POSTCOPY_LISTEN",
             5: "POSTCOPY_RUN", 6: "POSTCOPY_RAM_DISCARD", 8: "ENABLE_COLO",
             9: "POSTCOPY_RESUME", 10: "RECV_BITMAP", 11: "SWITCHOVER_START"}
TYPES = {1: "START", 2: "PART", 3: "END", 4: "FULL", 8: "COMMAND", 0: "EOF"}


def parse_stream(d, off):
    r = Rd(d, off)
    if r.take(9) != SIG:
        raise Bad("stream header")
    st = {"d": d, "offset": off, "caps": [], "page_size": 4096, "blocks": [], "sections": [],
          "uuid": None, "ram": None, "vmdesc": None, "ram_open": False}
    n = r.u(4)
    st["machine"] = r.take(n).decode()
    while r.pos < len(d) and d[r.pos] == 0x05:
        r.pos += 1
        name = r.cstr8()
        if r.u(4) != 1:
            raise Bad("subsection version")
        if name == "configuration/target-page-bits":
            st["page_size"] = 1 << r.u(4)
        elif name == "configuration/capabilities":
            st["caps"] = [r.cstr8() for _ in range(r.u(4))]
        elif name == "configuration/uuid":
            u = r.take(16).hex()
            st["uuid"] = "-".join((u[:8], u[8:12], u[12:16], u[16:20], u[20:]))
        else:
            raise Bad("unknown subsection " + name)
    mapped = "mapped-ram" in st["caps"]
    shared = "x-ignore-shared" in st["caps"]
    st["compressed"] = "x-mrengine-compressed" in st["caps"]
    st["format"] = ("mapped-ram-compressed" if st["compressed"]
                    else "mapped-ram" if mapped else "sequential")
    ps = st["page_size"]
    while True:
        el = {"offset": r.pos}
        t = r.u(1)
        el["type"] = TYPES[t]
        if t in (1, 4):
            el["section-id"] = r.u(4)
            el["idstr"] = r.cstr8()
            el["instance"] = r.u(4)
            el["version"] = r.u(4)
            if el["idstr"] == "ram":
                st["ram"] = {"section-id": el["section-id"]}
                st["ram_open"] = True
                ram_body(r, st, mapped, shared, ps)
            else:
                r.pos += footer_scan(d, r.pos, el["section-id"], st)
            footer(r, el["section-id"])
        elif t in (2, 3):
            el["section-id"] = r.u(4)
            el.update(idstr="ram", instance=0, version=4)
            ram_body(r, st, mapped, shared, ps)
            footer(r, el["section-id"])
            if t == 3:
                st["ram_open"] = False
        elif t == 8:
            cmd, ln = r.u(2), r.u(2)
            el["command"], el["length"] = CMD_NAMES[cmd], ln
            r.take(ln)
        el["end"] = r.pos
        st["sections"].append(el)
        if t == 0:
            break
    if r.pos < len(d) and d[r.pos] == 0x06:
        el = {"type": "VMDESC", "offset": r.pos}
        r.pos += 1
        ln = r.u(4)
        json.loads(r.take(ln))
        el["end"] = r.pos
        st["sections"].append(el)
        st["vmdesc"] = {"offset": el["offset"], "length": ln}
    st["end"] = r.pos
    return st


def footer(r, sid):
    if r.u(1) != 0x7E or r.u(4) != sid:
        raise Bad("footer at 0x%x" % r.pos)


def plausible(d, p, st):
    """Section 3.7: is a well-formed element at p?"""
    if p >= len(d):
        return False
    t = d[p]
    if t == 0:
        return p + 1 == len(d) or d[p + 1] == 0x06
    if t in (1, 4):
        n = d[p + 5] if p + 5 < len(d) else 0
        return n > 0 and p + 6 + n + 8 <= len(d) and all(0x20 <= c <= 0x7E for c in d[p + 6:p + 6 + n])
    if t in (2, 3):
        return st["ram_open"] and be(d, p + 1, 4) == st["ram"]["section-id"]
    if t == 8:
        cmd, ln = be(d, p + 1, 2), be(d, p + 3, 2)
        if cmd == 3:
            return ln in (0, 16)
        return cmd in CMD_NAMES and CMD_LEN.get(cmd, ln) == ln
    return False


def footer_scan(d, pos, sid, st):
    pat = b"\x7e" + sid.to_bytes(4, "big")
    i = pos
    while True:
        i = d.find(pat, i)
        if i < 0:
            raise Bad("no footer")
        if plausible(d, i + 5, st):
            return i - pos
        i += 1


def ram_body(r, st, mapped, shared, ps):
    while True:
        at = r.pos
        w = r.u(8)
        flags, addr = w & (ps - 1), w & ~(ps - 1)
        if flags == 0x10:
            return
        if flags == 0x04:
            st["ram"]["total"] = addr
            remaining = addr
            while remaining:
                b = {"entry-offset": r.pos, "id": r.cstr8(), "used-length": r.u(8)}
                b["page-size"] = ps
                b["pages"] = b["used-length"] // ps
                if shared:
                    b["gpa"] = r.u(8)
                if mapped:
                    mr_block(r, st, b, ps)
                st["blocks"].append(b)
                remaining -= b["used-length"]
            continue
        if mapped:
            raise Bad("record 0x%x at 0x%x in a mapped-ram stream" % (flags, at))
        raise Bad("sequential records are not read by this test")


def mr_block(r, st, b, ps):
    d = st["d"]
    b["header-offset"] = r.pos
    version, hps, bm, po = r.u(4), r.u(8), r.u(8), r.u(8)
    b.update({"bitmap-offset": bm, "pages-offset": po})
    if bm == 0 and po == 0 and "x-ignore-shared" in st["caps"]:
        b["ignored"] = True
        b["present"], b["zero"] = 0, b["pages"]
        return
    b["ignored"] = False
    if hps != ps or bm < b["header-offset"] + 28:
        raise Bad("mapped-ram header")
    nbytes = (b["pages"] + 63) // 64 * 8
    bits = int.from_bytes(d[bm:bm + nbytes], "little")
    if bits >> b["pages"]:
        raise Bad("bit beyond the block")
    b["bits"] = bits
    b["present"] = bin(bits).count("1")
    b["zero"] = b["pages"] - b["present"]
    if version == 1:
        if po % ps or po < bm + nbytes:
            raise Bad("pages offset")
        r.pos = po + b["used-length"]
    elif version == 0x4D430001:
        if not st["compressed"] or po % 8 or po < bm + nbytes:
            raise Bad("chunk table placement")
        if d[po:po + 8] != b"MRECHUNK":
            raise Bad("chunk table magic")
        alg, level, cs, n = le(d, po + 8, 4), le(d, po + 12, 4), le(d, po + 16, 8), le(d, po + 24, 8)
        if alg not in (1, 2) or cs & (cs - 1) or not (64 << 10) <= cs <= (16 << 20) or \
                n != -(-b["used-length"] // cs):
            raise Bad("chunk table header")
        b["compression"] = {"algorithm": {1: "zstd", 2: "lz4"}[alg], "level": level,
                            "chunk-size": cs, "chunks": n}
        b["table"] = [struct.unpack_from("<QIII", d, po + 40 + 24 * i) for i in range(n)]
        b["compression"]["stored-bytes"] = sum(e[1] for e in b["table"])
        r.pos = po + 40 + 24 * n
    else:
        raise Bad("mapped-ram header version")


# ---- section 5: the trailer ---------------------------------------------------

def trailer(d, st):
    if len(d) - st["end"] < 16 or d[-8:] != b"MREDONE\n":
        return None
    ln = le(d, len(d) - 16, 8)
    if ln > len(d) - st["end"] or ln > (256 << 20):
        raise Bad("trailer length")
    t0 = len(d) - ln
    t = d[t0:]
    body = ln - 20
    if t[:8] != b"MRETRAIL" or crc32c(t[:body]) != le(t, body, 4):
        raise Bad("trailer magic/CRC")
    tr = dict(offset=t0, length=ln, version=le(t, 8, 4), flags=le(t, 12, 4), so=le(t, 16, 8),
              se=le(t, 24, 8), alg=le(t, 32, 4), cp=le(t, 36, 4), meta_crc=le(t, 40, 4),
              nblocks=le(t, 44, 4), blocks=[])
    if tr["version"] != 1 or tr["alg"] != 1 or (tr["so"], tr["se"]) != (st["offset"], st["end"]):
        raise Bad("trailer fields")
    pos = 48
    for _ in range(tr["nblocks"]):
        n = t[pos]
        bid = t[pos + 1:pos + 1 + n].decode()
        pages = le(t, pos + 1 + n, 8)
        pos += 9 + n
        crcs = []
        if tr["flags"] & 1:
            nc = -(-pages // tr["cp"])
            crcs = [le(t, pos + 4 * i, 4) for i in range(nc)]
            pos += 4 * nc
        tr["blocks"].append((bid, pages, crcs))
    if pos != body:
        raise Bad("trailer entries do not fill the body")
    return tr


def meta_crc(d, st):
    crc, pos = 0, st["offset"]
    for b in st["blocks"]:
        if b["ignored"]:
            end = b["header-offset"] + 28
            crc = crc32c(d[pos:end], crc)
            pos = end
            continue
        end = b["bitmap-offset"] + (b["pages"] + 63) // 64 * 8
        crc = crc32c(d[pos:end], crc)
        if "table" in b:
            tlen = 40 + 24 * len(b["table"])
            crc = crc32c(d[b["pages-offset"]:b["pages-offset"] + tlen], crc)
            pos = b["pages-offset"] + tlen
        else:
            pos = b["pages-offset"] + b["used-length"]
    return crc32c(d[pos:st["end"]], crc)


def fold(acc, idx, page_crc):
    return crc32c(idx.to_bytes(4, "little") + page_crc.to_bytes(4, "little"), acc)


# ---- section 6 / 13: block content -------------------------------------------

def lz4_block(src, size):
    out, i = bytearray(), 0
    while i < len(src):
        tok = src[i]
        i += 1
        n = tok >> 4
        if n == 15:
            while True:
                x = src[i]
                i += 1
                n += x
                if x != 255:
                    break
        out += src[i:i + n]
        i += n
        if i >= len(src):
            break
        off = src[i] | src[i + 1] << 8
        i += 2
        m = tok & 15
        if m == 15:
            while True:
                x = src[i]
                i += 1
                m += x
                if x != 255:
                    break
        m += 4
        for _ in range(m):
            out.append(out[-off])
    if len(out) != size:
        raise Bad("lz4 size")
    return bytes(out)


def chunk(d, b, c, data_start, data_end):
    off, ln, flags, crc = b["table"][c]
    cs = b["compression"]["chunk-size"]
    size = min(cs, b["used-length"] - c * cs)
    if flags == 2:
        if off or ln:
            raise Bad("zero chunk with bytes")
        out = bytes(size)
    elif flags == 1:
        out = d[off:off + ln]
        if ln != size:
            raise Bad("raw chunk length")
    elif flags == 0:
        if not (data_start <= off and off + ln <= data_end and ln <= cs + cs // 8 + 65536):
            raise Bad("chunk outside the data area")
        if b["compression"]["algorithm"] == "zstd":
            out = subprocess.run(["zstd", "-q", "-d", "-c"], input=d[off:off + ln],
                                 stdout=subprocess.PIPE, check=True).stdout
        else:
            out = lz4_block(d[off:off + ln], size)
    else:
        raise Bad("chunk flags")
    if len(out) != size or crc32c(out) != crc:
        raise Bad("chunk %d CRC" % c)
    return out


def content(d, st, b, data_end):
    ps = b["page-size"]
    if "table" in b:
        data = b"".join(chunk(d, b, c, st["end"], data_end) for c in range(len(b["table"])))
        # pages with their bit clear must be zero
        for i in range(b["pages"]):
            if not b["bits"] >> i & 1 and any(data[i * ps:(i + 1) * ps]):
                raise Bad("page %d has data but no bit" % i)
        return data
    out = bytearray(b["used-length"])
    for i in range(b["pages"]):
        if b["bits"] >> i & 1:
            out[i * ps:(i + 1) * ps] = d[b["pages-offset"] + i * ps:b["pages-offset"] + (i + 1) * ps]
    return bytes(out)


def page_checksums(st, tr, contents):
    cp = tr["cp"]
    for b, (bid, pages, crcs), data in zip(st["blocks"], tr["blocks"], contents):
        if bid != b["id"] or pages != b["pages"]:
            raise Bad("trailer block list differs from the stream's")
        ps = b["page-size"]
        for c, want in enumerate(crcs):
            acc = 0
            for p in range(c * cp, min((c + 1) * cp, pages)):
                if not b["ignored"] and b["bits"] >> p & 1:
                    acc = fold(acc, p - c * cp, crc32c(data[p * ps:(p + 1) * ps]))
            if acc != want:
                raise Bad("block %s chunk %d checksum" % (bid, c))


def read_image(path):
    """Everything doc/format.md says about one file."""
    with open(path, "rb") as f:
        d = f.read()
    header, off = detect(d)
    st = parse_stream(d, off)
    tr = trailer(d, st)
    data_end = tr["offset"] if tr else len(d)
    contents = [None if b["ignored"] else content(d, st, b, data_end) for b in st["blocks"]]
    if tr:
        if meta_crc(d, st) != tr["meta_crc"]:
            raise Bad("meta_crc")
        if tr["flags"] & 1:
            page_checksums(st, tr, contents)
        if not st["compressed"] and tr["offset"] != st["end"]:
            raise Bad("plain trailer not at stream_end")
    if header["kind"] == "mrengine" and header["complete"]:
        h = header["mr"]
        if h["stream_end"] != st["end"] or (tr and (h["trailer_offset"], h["trailer_length"]) !=
                                             (tr["offset"], tr["length"])):
            raise Bad("mrengine header positions")
    return d, header, st, tr, contents


# ---- the test ----------------------------------------------------------------

def run(*args, **kw):
    return subprocess.run([MRENGINE] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, **kw)


def compare(t, name, path):
    try:
        d, header, st, tr, contents = read_image(path)
    except (Bad, IndexError, KeyError, ValueError, subprocess.CalledProcessError) as e:
        t.ok(False, "%s: read from doc/format.md alone" % name, repr(e))
        return
    t.ok(True, "%s: read from doc/format.md alone, every checksum holds" % name)
    js = json.loads(run("inspect", "--json", path).stdout)
    mine = {
        "file-size": len(d), "stream-offset": st["offset"], "stream-end": st["end"],
        "format": st["format"], "header": {"kind": header["kind"], "complete": header["complete"]},
        "machine": st["machine"], "page-size": st["page_size"], "capabilities": st["caps"],
        "uuid": st["uuid"], "ram": st["ram"], "vmdesc": st["vmdesc"],
        "trailer": tr and {"offset": tr["offset"], "length": tr["length"],
                           "page-checksums": bool(tr["flags"] & 1), "chunk-pages": tr["cp"]},
        "sections": [{k: v for k, v in s.items()} for s in st["sections"]],
        "blocks": [{k: v for k, v in b.items() if k not in ("bits", "table")} for b in st["blocks"]],
    }
    theirs = {k: js[k] for k in mine}
    t.eq(mine, theirs, "%s: the same layout as inspect --json" % name)
    v = run("verify", path)
    t.ok(v.returncode == 0, "%s: mrengine verify agrees" % name, v.stderr)
    same = True
    with tempfile.TemporaryDirectory() as tmp:
        for b, data in zip(st["blocks"], contents):
            if data is None:
                continue
            out = os.path.join(tmp, "x")
            run("extract", path, "--block", b["id"], "--output", out)
            with open(out, "rb") as f:
                same &= f.read() == data
    t.ok(same, "%s: block contents equal mrengine extract" % name)


def main():
    t = TAP()
    with tempfile.TemporaryDirectory() as tmp:
        j = lambda *p: os.path.join(tmp, *p)  # noqa: E731
        run("generate", "--size", "1M", "--seed", "7", j("ram.raw"), check=True)
        run("generate", "--size", "64K", "--seed", "3", "--mix", "0,50,50", j("rom.raw"), check=True)
        # a device section whose body contains false footers
        dev = (b"\x04" + (7).to_bytes(4, "big") + b"\x05dev.x" + (0).to_bytes(4, "big") +
               (1).to_bytes(4, "big") + b"\x7e\x00\x00\x00\x07\x99body\x7e\x00\x00\x00\x07\x01" +
               b"\x7e\x00\x00\x00\x07")
        with open(j("dev.bin"), "wb") as f:
            f.write(dev)
        vm = ["-object", "memory-backend-file,id=pc.ram,size=1M,mem-path=%s,share=on" % j("ram.raw"),
              "-object", "memory-backend-file,id=pc.rom,size=64K,mem-path=%s,share=on" % j("rom.raw"),
              "--name", "vm1", "--label", "tier=gold", "-q"]
        with open(j("pre.img"), "wb") as f:
            f.write(b"MGMT" * 2048)
        cases = [
            ("plain", []),
            ("device state", ["--device-state", j("dev.bin")]),
            ("mrengine header, no checksums", ["--header", "mrengine", "--checksum", "none"]),
            ("zstd:5, 64 KiB chunks, header", ["--compress", "zstd:5", "--chunk-size", "64K",
                                               "--header", "mrengine"]),
            ("lz4", ["--compress", "lz4"]),
            ("libvirt header", ["--policy", os.path.join(SRCDIR, "policies", "libvirt-header.lua")]),
        ]
        for name, extra in cases:
            if "--compress" in extra and extra[extra.index("--compress") + 1].startswith("zstd") and \
                    not shutil.which("zstd"):
                t.skip("the zstd program is not installed", name)
                continue
            out = j(name.replace(" ", "_").replace(",", "") + ".img")
            r = run("save", *vm, "--output", out, *extra)
            if r.returncode:
                t.ok(False, "%s: save" % name, r.stderr)
                continue
            compare(t, name, out)
        r = run("save", *vm, "--output", "file:%s,offset=8192" % j("pre.img"))
        t.ok(r.returncode == 0, "offset=8192: save", r.stderr)
        compare(t, "file:PATH,offset=8192", j("pre.img"))
        run("compress", "--compress", "lz4", "--chunk-size", "128K", j("plain.img"), j("c.img"))
        compare(t, "compress", j("c.img"))
        run("expand", j("c.img"), j("e.img"))
        compare(t, "expand", j("e.img"))
        vec = None
        for v in (os.path.join(SRCDIR, "..", "shared", "vectors"), os.environ.get("MRE_VECTORS", "")):
            if v and os.path.exists(os.path.join(v, "a_new_mapped_ram.mig.zst")):
                vec = os.path.join(v, "a_new_mapped_ram.mig.zst")
        if vec and shutil.which("zstd"):
            subprocess.run(["zstd", "-q", "-d", "--sparse", "-f", vec, "-o", j("q.mig")], check=True)
            compare(t, "QEMU 10 mapped-ram file", j("q.mig"))
            for v, extra in (("f_old72_sequential_exec", []), ("f_new_sequential_file", ["--header", "mrengine"])):
                src = os.path.join(os.path.dirname(vec), v + ".mig.zst")
                subprocess.run(["zstd", "-q", "-d", "--sparse", "-f", src, "-o", j(v + ".mig")], check=True)
                r = run("convert", "-q", *extra, j(v + ".mig"), j(v + ".img"))
                t.ok(r.returncode == 0, "%s: convert to an image" % v, r.stderr)
                compare(t, "%s converted" % v, j(v + ".img"))
        else:
            t.skip("no QEMU vectors", "QEMU files")
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
