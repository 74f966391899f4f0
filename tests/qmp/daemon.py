# SPDX-License-Identifier: MIT
"""Helpers for the QMP daemon tests: start `mrengine --qmp unix:...` in a
scratch directory, connect clients (tests/lib/qmp.py), look at the
daemon's open descriptors, and print TAP."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from qmp import QMP, QMPError  # noqa: E402,F401

SRCDIR = os.environ.get("srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
MRENGINE = os.environ.get("MRENGINE", os.path.join(SRCDIR, "src", "mrengine"))


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, diag=None):
        self.n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, desc))
        if not cond:
            self.failed += 1
            for line in str(diag or "").splitlines():
                print("#   " + line)
        sys.stdout.flush()
        return cond

    def eq(self, got, want, desc):
        return self.ok(got == want, desc, "got:      %r\nexpected: %r" % (got, want))

    def like(self, got, needle, desc):
        return self.ok(isinstance(got, str) and needle in got, desc,
                       "got: %r\nexpected to contain: %r" % (got, needle))

    def skip(self, reason):
        self.n += 1
        print("ok %d # SKIP %s" % (self.n, reason))

    def done(self):
        print("1..%d" % self.n)
        return 1 if self.failed else 0


def skip_all(reason):
    print("1..0 # SKIP %s" % reason)
    sys.exit(0)


class Daemon:
    """mrengine --qmp unix:TMP/qmp.sock ARGS..., in its own scratch dir."""

    def __init__(self, args=(), tmp=None, extra_qmp=()):
        self.tmp = tmp or tempfile.mkdtemp(prefix="mre-qmpd-")
        self.own_tmp = tmp is None
        self.sock = os.path.join(self.tmp, "qmp.sock")
        cmd = [MRENGINE, "--qmp", "unix:%s,server=on,wait=off" % self.sock]
        for q in extra_qmp:
            cmd += ["--qmp", q]
        self.p = subprocess.Popen(cmd + list(args), cwd=self.tmp, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while not os.path.exists(self.sock):
            if self.p.poll() is not None or time.time() > deadline:
                raise RuntimeError("mrengine did not start: %r" % (self.p.communicate(),))
            time.sleep(0.01)

    @property
    def pid(self):
        return self.p.pid

    def path(self, name):
        return os.path.join(self.tmp, name)

    def client(self, negotiate=True, timeout=30.0):
        return QMP(self.sock, timeout=timeout, negotiate=negotiate)

    def fds(self):
        """{fd number: target} of the daemon's open descriptors."""
        d = "/proc/%d/fd" % self.pid
        out = {}
        for n in os.listdir(d):
            try:
                out[int(n)] = os.readlink(os.path.join(d, n))
            except OSError:
                pass
        return out

    def nfds(self):
        return len(self.fds())

    def settle_nfds(self, want, timeout=5.0):
        """Wait until the daemon holds @want descriptors (it reacts to a
        disconnect asynchronously); return the final count."""
        deadline = time.time() + timeout
        n = self.nfds()
        while n != want and time.time() < deadline:
            time.sleep(0.01)
            n = self.nfds()
        return n

    def alive(self):
        return self.p.poll() is None

    def stop(self, timeout=30.0):
        """quit over a fresh connection (or SIGTERM); returns the exit code."""
        if self.p.poll() is None:
            try:
                c = self.client()
                c.execute("quit")
                c.close()
            except Exception:
                self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.stderr = self.p.stderr.read().decode(errors="replace")
        self.p.stdout.close()
        self.p.stderr.close()
        if self.own_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if sanitizer_report(self.stderr):
            # a sanitizer build found something: make the caller's exit
            # status check fail, and show the report
            for line in self.stderr.splitlines()[:40]:
                print("# " + line)
            return -1000
        return self.p.returncode


def sanitizer_report(text):
    return "ERROR: AddressSanitizer" in text or "ERROR: LeakSanitizer" in text or \
        "runtime error:" in text


def sanitized():
    """True when mrengine was built with --enable-asan (RSS figures mean
    little then)."""
    try:
        with open(MRENGINE, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False
