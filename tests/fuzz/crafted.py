# SPDX-License-Identifier: MIT
"""Crafting hostile images from real ones: the byte-level edits the fuzz
harnesses, the crafted-image test and the regression corpus share.

An image is parsed just enough to find the fields an attacker would edit
(the mapped-ram headers through `mrengine inspect --json`, the chunk table
and the trailer by their documented layouts), edited, and written back.
The trailer and the mrengine header carry CRC-32C checksums; the edits
recompute them, because the point is what lies behind a valid checksum."""
import json
import struct
import subprocess

_CRC_TABLE = []


def crc32c(data, crc=0):
    """CRC-32C (Castagnoli), as in src/util/crc32c.c."""
    if not _CRC_TABLE:
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
            _CRC_TABLE.append(c)
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = _CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def inspect(mrengine, path):
    out = subprocess.run([mrengine, "inspect", "--json", path], check=True,
                         capture_output=True).stdout
    return json.loads(out)


# ---- trailer -----------------------------------------------------------------

def trailer_parse(data):
    """The trailer at the end of @data as a dict (None if there is none)."""
    if len(data) < 16 or data[-8:] != b"MREDONE\n":
        return None
    length = struct.unpack_from("<Q", data, len(data) - 16)[0]
    t = data[len(data) - length:]
    _ver, flags, so, se, alg, cp, mc, nb = struct.unpack_from("<IIQQIIII", t, 8)
    pos, blocks = 48, []
    for _ in range(nb):
        n = t[pos]
        bid = bytes(t[pos + 1:pos + 1 + n])
        pos += 1 + n
        npages = struct.unpack_from("<Q", t, pos)[0]
        pos += 8
        crcs = []
        if flags & 1:
            nch = (npages + cp - 1) // cp
            crcs = list(struct.unpack_from("<%dI" % nch, t, pos))
            pos += 4 * nch
        blocks.append([bid, npages, crcs])
    return {"offset": len(data) - length, "flags": flags, "stream_offset": so,
            "stream_end": se, "algorithm": alg, "chunk_pages": cp, "meta_crc": mc,
            "blocks": blocks}


def trailer_build(t):
    """Encode @t (as trailer_parse returns it) with a correct CRC and length."""
    b = b"MRETRAIL" + struct.pack("<IIQQIIII", 1, t["flags"], t["stream_offset"],
                                  t["stream_end"], t["algorithm"], t["chunk_pages"],
                                  t["meta_crc"], len(t["blocks"]))
    for bid, npages, crcs in t["blocks"]:
        b += bytes([len(bid)]) + bid + struct.pack("<Q", npages)
        b += b"".join(struct.pack("<I", c) for c in crcs)
    b += struct.pack("<I", crc32c(b))
    return b + struct.pack("<Q", len(b) + 16) + b"MREDONE\n"


def trailer_replace(data, t):
    return bytes(data[:t["offset"]]) + trailer_build(t)


# ---- chunk tables ------------------------------------------------------------

CHUNK_HDR = 40
CHUNK_ENTRY = 24


def chunk_entry(data, table, i):
    """(offset, len, flags, crc) of entry @i of the chunk table at @table."""
    return struct.unpack_from("<QIII", data, table + CHUNK_HDR + i * CHUNK_ENTRY)


def chunk_entry_set(data, table, i, offset, length, flags, crc):
    d = bytearray(data)
    struct.pack_into("<QIIII", d, table + CHUNK_HDR + i * CHUNK_ENTRY, offset, length, flags,
                     crc, 0)
    return bytes(d)


# ---- mapped-ram block header --------------------------------------------------

def mr_header_set(data, header_offset, bitmap_offset=None, pages_offset=None):
    """Rewrite a block's MappedRamHeader offsets (big-endian, QEMU's)."""
    d = bytearray(data)
    if bitmap_offset is not None:
        struct.pack_into(">Q", d, header_offset + 12, bitmap_offset)
    if pages_offset is not None:
        struct.pack_into(">Q", d, header_offset + 20, pages_offset)
    return bytes(d)


# ---- mrengine header ----------------------------------------------------------

def mrheader_set(data, **fields):
    """Rewrite fields of the mrengine header and recompute its CRC."""
    offs = {"state": (12, "<I"), "stream_offset": (16, "<Q"), "stream_end": (24, "<Q"),
            "trailer_offset": (32, "<Q"), "trailer_length": (40, "<Q"),
            "meta_len": (48, "<I")}
    d = bytearray(data)
    for k, v in fields.items():
        off, fmt = offs[k]
        struct.pack_into(fmt, d, off, v)
    meta_len = struct.unpack_from("<I", d, 48)[0]
    fixed = bytearray(d[:64])
    fixed[52:56] = b"\0\0\0\0"
    meta = bytes(d[64:64 + meta_len])
    struct.pack_into("<I", d, 52, crc32c(meta, crc32c(bytes(fixed))))
    return bytes(d)
