# SPDX-License-Identifier: MIT
"""Drive a real QEMU (>= 10) for interop tests: start paused x86 guests with
known RAM, save them with `migrate` to files (plain, offset=, fdsets,
multifd, direct-io), restore with `migrate-incoming`, and dump guest RAM
with pmemsave.

    qemu_bin = qemu.find_qemu()               # or raises qemu.Skip(reason)
    with qemu.Workdir() as wd, qemu.QEMU(wd, "src", mem="64M",
            patterns=[(0x100000, 4 << 20, 1)]) as vm:
        vm.setup_migration(mapped_ram=True, multifd=4, direct_io=False)
        vm.migrate_file(wd.path + "/vm.mig")
        vm.pmemsave(0, 64 << 20, wd.path + "/ram")

Every QEMU is started with -S (the guest never runs unless asked), dies
with the test process (PR_SET_PDEATHSIG), and is stopped by quit() -- or
killed if it does not exit in time -- when its `with` block ends. Work
files live in a temporary directory under $TMPDIR that Workdir removes.
"""
import ctypes
import mmap
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pattern
from qmp import QMP, QMPError

MIN_MAJOR = 10
PC_DIMM_GPA = 0x100000000   # first pc-dimm when the low RAM ends below 4 GiB


class Skip(Exception):
    """The environment cannot run QEMU tests; the message says why."""


class MigrationError(Exception):
    """A migration ended in state failed or cancelled."""


def qemu_version(path):
    """(major, minor, micro) of a QEMU binary; raises OSError/ValueError."""
    out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
    m = re.search(r"version (\d+)\.(\d+)\.(\d+)", out)
    if not m:
        raise ValueError("no version in %r" % out[:80])
    return tuple(int(x) for x in m.groups())


def find_qemu(min_major=MIN_MAJOR):
    """Path of a qemu-system-x86_64 of at least `min_major`: $MRE_QEMU, or
    the one on PATH. Raises Skip with the reason otherwise."""
    path = os.environ.get("MRE_QEMU") or shutil.which("qemu-system-x86_64")
    if not path:
        raise Skip("qemu-system-x86_64 not found (install QEMU >= %d or set MRE_QEMU)" % min_major)
    try:
        version = qemu_version(path)
    except (OSError, ValueError, subprocess.SubprocessError) as e:
        raise Skip("cannot read the version of %s: %s" % (path, e))
    if version[0] < min_major:
        raise Skip("%s is QEMU %d.%d.%d; these tests need QEMU >= %d (mapped-ram, direct-io)"
                   % ((path,) + version + (min_major,)))
    return path


def odirect_ok(directory):
    """True if a file in `directory` accepts O_DIRECT: 1 MiB written at
    offset 1 MiB from an aligned buffer, as QEMU's own test probes it."""
    path = os.path.join(directory, ".odirect-probe")
    buf = mmap.mmap(-1, 1 << 20)   # page-aligned
    buf.write(b"\x5a" * (1 << 20))
    try:
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_DIRECT, 0o600)
    except OSError:
        return False
    try:
        return os.pwritev(fd, [buf], 1 << 20) == 1 << 20
    except OSError:
        return False
    finally:
        os.close(fd)
        os.unlink(path)
        buf.close()


def uring_ok():
    """True if this kernel lets us set up an io_uring (a container's seccomp
    profile, or kernel.io_uring_disabled, may refuse it)."""
    libc = ctypes.CDLL(None, use_errno=True)
    params = ctypes.create_string_buffer(120)   # struct io_uring_params, zeroed
    fd = libc.syscall(425, 1, params)            # io_uring_setup, on every arch
    if fd < 0:
        return False
    os.close(fd)
    return True


class Workdir:
    """A temporary directory under $TMPDIR, removed on exit."""

    def __init__(self, prefix="mre-qemu."):
        self.path = tempfile.mkdtemp(prefix=prefix)

    def file(self, name):
        return os.path.join(self.path, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def _die_with_parent():
    # runs in the child before exec: SIGKILL QEMU if the test process dies
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG


def parse_size(s):
    """'64M' -> 67108864 (binary suffixes, as QEMU's -m)."""
    m = re.fullmatch(r"(\d+)([KMGT]?)", s)
    if not m:
        raise ValueError("bad size %r" % s)
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[m.group(2)]


class QEMU:
    """One paused x86 guest (-machine pc, TCG) under QMP control.

    mem       main RAM (pc.ram), e.g. "64M"
    patterns  [(guest_phys_addr, size, seed)]: pattern.generate() data
              loaded with -device loader before the guest starts
    dimm      None or (size, seed): a memory-backend-ram "mem1" plugged as a
              pc-dimm (the machine gets slots=2,maxmem=1G) with its own
              pattern from its first byte
    incoming  start with -incoming defer (a restore target)
    """

    def __init__(self, workdir, name, mem="64M", patterns=(), dimm=None, incoming=False,
                 qemu=None, timeout=60.0):
        self.wd = workdir
        self.name = name
        self.mem = parse_size(mem)
        self.dimm = dimm
        self.sock = workdir.file(name + ".qmp")
        self.log = workdir.file(name + ".log")
        self.timeout = timeout
        self.proc = None
        self.qmp = None
        self.expected = {}   # guest physical address -> pattern bytes loaded there
        args = [qemu or find_qemu(), "-machine", "pc", "-accel", "tcg", "-nodefaults",
                "-display", "none", "-S", "-qmp", "unix:%s,server=on,wait=off" % self.sock]
        if dimm:
            args += ["-m", "%dM,slots=2,maxmem=1G" % (self.mem >> 20),
                     "-object", "memory-backend-ram,id=mem1,size=%d" % dimm[0],
                     "-device", "pc-dimm,id=dimm1,memdev=mem1"]
            patterns = list(patterns) + [(PC_DIMM_GPA, dimm[0], dimm[1])]
        else:
            args += ["-m", "%dM" % (self.mem >> 20)]
        for i, (addr, size, seed) in enumerate(patterns):
            path = workdir.file("%s.pattern%d" % (name, i))
            self.expected[addr] = pattern.write(path, size, seed)
            args += ["-device", "loader,file=%s,addr=%#x,force-raw=on" % (path, addr)]
        if incoming:
            args += ["-incoming", "defer"]
        self.args = args

    # -- process ------------------------------------------------------------

    def start(self):
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        deadline = time.time() + self.timeout
        while not os.path.exists(self.sock):
            if self.proc.poll() is not None:
                raise RuntimeError("QEMU %s exited with %s at startup: %s"
                                   % (self.name, self.proc.returncode, self.log_text()))
            if time.time() > deadline:
                raise RuntimeError("QEMU %s did not open its QMP socket" % self.name)
            time.sleep(0.01)
        self.qmp = QMP(self.sock, timeout=self.timeout, negotiate=True)
        return self

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read().strip()
        except OSError:
            return ""

    def quit(self, timeout=10.0):
        """Ask QEMU to quit; kill it if it is still there after `timeout`."""
        if self.proc is None:
            return
        try:
            if self.qmp and self.proc.poll() is None:
                self.qmp.cmd("quit")
        except (OSError, EOFError, QMPError, ValueError):
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.qmp:
            self.qmp.close()
        self.qmp = None
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.quit()

    # -- QMP ------------------------------------------------------------------

    def cmd(self, name, args=None, fds=None):
        return self.qmp.cmd(name, args, fds)

    def set_caps(self, caps):
        """caps: {"mapped-ram": True, ...}"""
        self.cmd("migrate-set-capabilities",
                 {"capabilities": [{"capability": k, "state": v} for k, v in caps.items()]})

    def set_params(self, params):
        self.cmd("migrate-set-parameters", params)

    def setup_migration(self, mapped_ram=True, multifd=0, direct_io=False):
        """Capabilities and parameters for a file migration: events on,
        mapped-ram and multifd as asked, unlimited bandwidth."""
        self.set_caps({"events": True, "mapped-ram": mapped_ram, "multifd": multifd > 0})
        params = {"max-bandwidth": 1 << 40, "direct-io": direct_io}
        if multifd:
            params["multifd-channels"] = multifd
        self.set_params(params)

    def status(self):
        return self.cmd("query-status")["status"]

    def make_migratable(self):
        """QEMU refuses to migrate a source again from 'postmigrate'; a
        cont + stop brings it back to 'paused' (the guest runs for an
        instant, so take a new pmemsave after this)."""
        if self.status() == "postmigrate":
            self.cmd("cont")
            self.cmd("stop")

    def wait_migration(self, timeout=300.0):
        r = self.qmp.wait_migration(timeout=timeout)
        if r.get("status") != "completed":
            raise MigrationError("%s: migration %s: %s" % (self.name, r.get("status"),
                                                          r.get("error-desc", "no error-desc")))
        return r

    @staticmethod
    def file_uri(path, offset=None):
        return "file:%s%s" % (path, ",offset=%d" % offset if offset is not None else "")

    def migrate(self, uri, timeout=300.0):
        """Save to `uri` and wait; returns query-migrate's final reply."""
        self.cmd("migrate", {"uri": uri})
        return self.wait_migration(timeout)

    def migrate_incoming(self, uri, timeout=300.0):
        """Restore from `uri` (QEMU started with incoming=True) and wait."""
        self.cmd("migrate-incoming", {"uri": uri, "exit-on-error": False})
        return self.wait_migration(timeout)

    def migrate_file(self, path, offset=None):
        return self.migrate(self.file_uri(path, offset))

    def incoming_file(self, path, offset=None):
        return self.migrate_incoming(self.file_uri(path, offset))

    # -- fdsets ---------------------------------------------------------------

    @staticmethod
    def open_fds(path, nfds, direct, incoming):
        """The descriptors a management layer passes for `path`: one, or two
        separately opened (the second with O_DIRECT when `direct`),
        write-only for saving, read-only for restoring."""
        if nfds not in (1, 2) or (direct and nfds != 2):
            raise ValueError("fdset migration takes 1 fd, or 2 fds with direct-io")
        mode = os.O_RDONLY if incoming else os.O_WRONLY
        fds = [os.open(path, mode | (0 if incoming else os.O_CREAT), 0o600)]
        if nfds == 2:
            fds.append(os.open(path, mode | (os.O_DIRECT if direct else 0)))
        return fds

    def add_fds(self, fdset_id, fds):
        """add-fd each descriptor (SCM_RIGHTS) to set `fdset_id`, then close
        our copies (QEMU keeps its own)."""
        try:
            for fd in fds:
                self.cmd("add-fd", {"fdset-id": fdset_id}, fds=[fd])
        finally:
            for fd in fds:
                os.close(fd)

    def fdset_ids(self):
        return [s["fdset-id"] for s in self.cmd("query-fdsets")]

    def _via_fdset(self, run, path, nfds, direct, offset, incoming, fdset_id):
        self.add_fds(fdset_id, self.open_fds(path, nfds, direct, incoming))
        try:
            return run(self.file_uri("/dev/fdset/%d" % fdset_id, offset))
        finally:
            self.cmd("remove-fd", {"fdset-id": fdset_id})

    def migrate_fdset(self, path, nfds=1, direct=False, offset=None, fdset_id=1):
        """Save into `path` through file:/dev/fdset/N; the set is removed
        afterwards."""
        return self._via_fdset(self.migrate, path, nfds, direct, offset, False, fdset_id)

    def incoming_fdset(self, path, nfds=1, direct=False, offset=None, fdset_id=1):
        return self._via_fdset(self.migrate_incoming, path, nfds, direct, offset, True, fdset_id)

    # -- memory ---------------------------------------------------------------

    def pmemsave(self, addr, size, path):
        """Write guest-physical [addr, addr+size) to `path`; returns path."""
        self.cmd("pmemsave", {"val": addr, "size": size, "filename": path})
        return path

    def memory_devices(self):
        return self.cmd("query-memory-devices")

    def dimm_addr(self):
        """Guest-physical address of the pc-dimm, as QEMU reports it."""
        devs = [d for d in self.memory_devices() if d["type"] == "dimm"]
        return devs[0]["data"]["addr"] if devs else None


def files_equal(a, b, skip=0, length=None, chunk=1 << 20):
    """Compare `length` bytes (default: to the end) of files a and b from
    offset `skip`; returns None if equal, else the first differing offset."""
    with open(a, "rb") as fa, open(b, "rb") as fb:
        fa.seek(skip)
        fb.seek(skip)
        pos = skip
        while length is None or pos < skip + length:
            n = chunk if length is None else min(chunk, skip + length - pos)
            x, y = fa.read(n), fb.read(n)
            if x != y:
                for i, (p, q) in enumerate(zip(x, y)):
                    if p != q:
                        return pos + i
                return pos + min(len(x), len(y))
            if not x:
                return None
            pos += len(x)
    return None
