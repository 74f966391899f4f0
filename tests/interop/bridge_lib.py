# SPDX-License-Identifier: MIT
"""Helpers of the QEMU bridge tests (bridge_files.py, bridge_qemu.py).

- Stream: builds QEMU sequential migration streams byte by byte (header,
  configuration, ram START/PART/END with PAGE, ZERO and XBZRLE records,
  device sections, EOF, vmdesc) while keeping a model of the RAM the
  stream leaves behind, so a test can compare an image with the truth.
- parse_blocks(): the RAM block list (ids, lengths, GPAs) and the
  capabilities of a sequential stream file.
- run(): mrengine with captured output; images_equal() and friends.
- QEMU 7.2: found through $MRE_QEMU72, or fetched once with `apt-get
  download` + `dpkg -x` into a cache outside the build tree ($MRE_CACHE,
  else $XDG_CACHE_HOME/mrengine or ~/.cache/mrengine), so that `make
  distclean` has nothing to remove and every build tree shares it.
"""
import json
import os
import shutil
import struct
import subprocess

PAGE = 4096
MiB = 1 << 20

RAM_ZERO, RAM_MEM_SIZE, RAM_PAGE, RAM_EOS, RAM_CONT, RAM_XBZRLE = 0x2, 0x4, 0x8, 0x10, 0x20, 0x40


def be16(v):
    return struct.pack(">H", v)


def be32(v):
    return struct.pack(">I", v)


def be64(v):
    return struct.pack(">Q", v)


def cstr8(s):
    b = s.encode()
    return bytes([len(b)]) + b


def uleb(v):
    """QEMU's small uleb128: one byte below 0x80, else two."""
    return bytes([v]) if v < 0x80 else bytes([(v & 0x7f) | 0x80, v >> 7])


def xbzrle(old, new):
    """Encode `new` as a delta against `old` (pairs of unchanged / changed runs)."""
    out = bytearray()
    i, n = 0, len(new)
    while i < n:
        z = i
        while i < n and old[i] == new[i] and i - z < 0x3fff:
            i += 1
        if i == n:
            break
        zrun = i - z
        s = i
        while i < n and old[i] != new[i] and i - s < 0x3fff:
            i += 1
        out += uleb(zrun) + uleb(i - s) + new[s:i]
    return bytes(out)


class Stream:
    """A sequential migration stream and the RAM it describes.

    blocks: [(id, length[, gpa])]; caps: capability names (enum order is the
    caller's business); ram_id: the ram section id."""

    def __init__(self, blocks, machine="pc-i440fx-7.2", caps=(), ram_id=2):
        self.blocks = [(b[0], b[1], b[2] if len(b) > 2 else 0) for b in blocks]
        self.ram = {b[0]: bytearray(b[1]) for b in self.blocks}
        self.caps = list(caps)
        self.ram_id = ram_id
        self.last = None
        self.b = bytearray(b"QEVM" + be32(3))
        self.b += b"\x07" + be32(len(machine)) + machine.encode()
        if self.caps:
            self.b += b"\x05" + cstr8("configuration/capabilities") + be32(1) + be32(len(self.caps))
            for c in self.caps:
                self.b += cstr8(c)
        self.devices = []

    def command(self, cmd, payload=b""):
        self.b += b"\x08" + be16(cmd) + be16(len(payload)) + payload

    def full(self, sid, name, body, instance=0, version=1):
        self.b += b"\x04" + be32(sid) + cstr8(name) + be32(instance) + be32(version) + body
        self.b += b"\x7e" + be32(sid)
        self.devices.append(name)

    def start(self):
        total = sum(b[1] for b in self.blocks)
        self.b += b"\x01" + be32(self.ram_id) + cstr8("ram") + be32(0) + be32(4) + be64(total | RAM_MEM_SIZE)
        for bid, length, gpa in self.blocks:
            self.b += cstr8(bid) + be64(length)
            if "x-ignore-shared" in self.caps:
                self.b += be64(gpa)
        self.b += be64(RAM_EOS) + b"\x7e" + be32(self.ram_id)

    def section(self, kind):
        """Open a PART (2) or END (3) section; close it with eos()."""
        self.b += bytes([kind]) + be32(self.ram_id)

    def eos(self):
        self.b += be64(RAM_EOS) + b"\x7e" + be32(self.ram_id)

    def _hdr(self, bid, page, flag):
        word = page * PAGE | flag
        if self.last == bid:
            self.b += be64(word | RAM_CONT)
        else:
            self.b += be64(word) + cstr8(bid)
            self.last = bid

    def page(self, bid, page, data):
        assert len(data) == PAGE
        self._hdr(bid, page, RAM_PAGE)
        self.b += data
        self.ram[bid][page * PAGE:(page + 1) * PAGE] = data

    def zero(self, bid, page, fill=0):
        self._hdr(bid, page, RAM_ZERO)
        self.b += bytes([fill])
        self.ram[bid][page * PAGE:(page + 1) * PAGE] = bytes([fill]) * PAGE

    def delta(self, bid, page, new):
        old = bytes(self.ram[bid][page * PAGE:(page + 1) * PAGE])
        enc = xbzrle(old, new)
        assert 0 < len(enc) <= PAGE
        self._hdr(bid, page, RAM_XBZRLE)
        self.b += b"\x01" + be16(len(enc)) + enc
        self.ram[bid][page * PAGE:(page + 1) * PAGE] = new

    def eof(self, vmdesc=None):
        self.b += b"\x00"
        if vmdesc is None:
            vmdesc = {"page_size": PAGE, "devices": [{"name": d, "instance_id": 0} for d in self.devices]}
        if vmdesc is not False:
            j = json.dumps(vmdesc).encode()
            self.b += b"\x06" + be32(len(j)) + j
        return bytes(self.b)


def parse_blocks(path):
    """Machine, capabilities and [(id, length, gpa or None)] of the sequential
    stream in `path` (inspect finds the ram START section)."""
    j = inspect(path)
    start = [s for s in j["sections"] if s["type"] == "START" and s["idstr"] == "ram"][0]["offset"]
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(1 << 16)
    caps = j["capabilities"]
    pos = 6 + data[5] + 8
    total = struct.unpack(">Q", data[pos:pos + 8])[0] & ~0xfff
    pos += 8
    blocks, seen = [], 0
    while seen < total:
        ln = data[pos]
        bid = data[pos + 1:pos + 1 + ln].decode()
        pos += 1 + ln
        length = struct.unpack(">Q", data[pos:pos + 8])[0]
        pos += 8
        gpa = None
        if "x-ignore-shared" in caps:
            gpa = struct.unpack(">Q", data[pos:pos + 8])[0]
            pos += 8
        blocks.append((bid, length, gpa))
        seen += length
    return j["machine"], caps, blocks


def mrengine(*args, stdin=None, input=None, stdout=subprocess.PIPE, env=None, timeout=300):
    """Run mrengine; stdout is captured unless a file (or DEVNULL) is given."""
    e = dict(os.environ)
    if env:
        e.update(env)
    if input is not None:
        stdin = None
    return subprocess.run([mrengine_path()] + [str(a) for a in args], stdin=stdin, input=input, stdout=stdout,
                          stderr=subprocess.PIPE, env=e, timeout=timeout)


def mrengine_path():
    return os.environ.get("MRENGINE") or os.path.abspath(os.path.join(os.environ.get("builddir", "."), "src",
                                                                        "mrengine"))


def inspect(path, *extra):
    r = mrengine("inspect", "--json", *extra, path)
    if r.returncode:
        raise RuntimeError("inspect %s: %s" % (path, r.stderr.decode(errors="replace")))
    return json.loads(r.stdout)


def vmdesc_of(path):
    """The vmdesc JSON object of an image or stream."""
    j = inspect(path)
    with open(path, "rb") as f:
        f.seek(j["vmdesc"]["offset"] + 5)
        return json.loads(f.read(j["vmdesc"]["length"]))


def element_bytes(path, kinds=("FULL", "COMMAND")):
    """[(type, idstr, bytes)] of the device sections (and commands) of a file."""
    j = inspect(path)
    out = []
    with open(path, "rb") as f:
        for s in j["sections"]:
            if s["type"] in kinds:
                f.seek(s["offset"])
                out.append((s["type"], s.get("idstr"), f.read(s["end"] - s["offset"])))
    return out


def extract(path, block, out):
    r = mrengine("extract", path, "--block", block, "--output", out)
    if r.returncode:
        raise RuntimeError("extract %s from %s: %s" % (block, path, r.stderr.decode(errors="replace")))
    with open(out, "rb") as f:
        data = f.read()
    os.unlink(out)
    return data


def first_diff(a, b, skip=0):
    """None if a[skip:] == b[skip:], else the first differing offset."""
    if a[skip:] == b[skip:]:
        return None
    n = min(len(a), len(b))
    for i in range(skip, n, PAGE):
        if a[i:i + PAGE] != b[i:i + PAGE]:
            for k in range(i, min(i + PAGE, n)):
                if a[k] != b[k]:
                    return k
    return n


def leftovers(directory, keep=()):
    """Files in `directory` other than `keep` (temporary files a failure left)."""
    return sorted(f for f in os.listdir(directory) if f not in keep)


# ---- QEMU 7.2 -------------------------------------------------------------------

Q72_PACKAGES = ("qemu-system-x86", "qemu-system-common", "qemu-system-data")


def cache_dir(name):
    base = os.environ.get("MRE_CACHE")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or (os.path.join(os.environ["HOME"], ".cache")
                                                    if os.environ.get("HOME") else None)
        base = os.path.join(xdg, "mrengine") if xdg else "/tmp/mrengine-cache-%d" % os.getuid()
    return os.path.join(base, name)


def _q72_version():
    out = subprocess.run(["apt-cache", "policy", "qemu-system-x86"], capture_output=True, text=True,
                         timeout=60).stdout
    for line in out.splitlines():
        tok = line.replace("***", "").split()
        if tok and tok[0].startswith("1:7.2+"):
            return tok[0]
    return None


def find_qemu72(cache_dir, log=None):
    """Path of a runnable QEMU 7.2 (a wrapper script that sets its module
    directory and firmware path), or raise RuntimeError saying why not."""
    env = os.environ.get("MRE_QEMU72")
    if env:
        if not os.access(env, os.X_OK):
            raise RuntimeError("$MRE_QEMU72=%s is not executable" % env)
        return env
    wrapper = os.path.join(cache_dir, "qemu72")
    root = os.path.join(cache_dir, "root")
    if not os.path.exists(wrapper):
        if not shutil.which("apt-get") or not shutil.which("dpkg"):
            raise RuntimeError("no $MRE_QEMU72 and no apt-get/dpkg to fetch QEMU 7.2")
        version = _q72_version()
        if not version:
            raise RuntimeError("apt-cache knows no qemu-system-x86 7.2 (Debian 12's); set $MRE_QEMU72")
        os.makedirs(cache_dir, exist_ok=True)
        dl = os.path.join(cache_dir, "debs")
        os.makedirs(dl, exist_ok=True)
        binver = version
        srcver = version.split("+b")[0] if "+b" in version.split("dfsg")[-1] else version
        for pkg, ver in (("qemu-system-x86", binver), ("qemu-system-common", binver), ("qemu-system-data", srcver)):
            r = subprocess.run(["apt-get", "download", "%s=%s" % (pkg, ver)], cwd=dl, capture_output=True,
                               text=True, timeout=300)
            if r.returncode:
                raise RuntimeError("apt-get download %s=%s failed: %s" % (pkg, ver, r.stderr.strip()[-300:]))
        for deb in os.listdir(dl):
            subprocess.run(["dpkg", "-x", os.path.join(dl, deb), root], check=True, timeout=300)
        shutil.rmtree(dl, ignore_errors=True)
        bios = "/usr/share/seabios"
        with open(wrapper + ".tmp", "w") as f:
            f.write("#!/bin/sh\n# QEMU 7.2 unpacked from Debian 12's packages (%s)\n" % version)
            f.write("R='%s'\n" % root)
            f.write("QEMU_MODULE_DIR=\"$R/usr/lib/x86_64-linux-gnu/qemu\" exec \"$R/usr/bin/qemu-system-x86_64\" "
                    "-L \"$R/usr/share/qemu\" -L %s \"$@\"\n" % bios)
        os.chmod(wrapper + ".tmp", 0o755)
        os.rename(wrapper + ".tmp", wrapper)
    out = subprocess.run([wrapper, "--version"], capture_output=True, text=True, timeout=30).stdout
    if "version 7.2" not in out:
        raise RuntimeError("%s does not run as QEMU 7.2: %r" % (wrapper, out[:100]))
    return wrapper
