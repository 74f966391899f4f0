# SPDX-License-Identifier: MIT
"""Golden QMP transcripts: runs every tests/qmp/*.qmp against
`mrengine --qmp stdio` and prints TAP, one test per expected message.

File format (one directive per line):
    # comment                  ignored, as are blank lines
    ! setup SHELL-COMMAND      run before mrengine starts (cwd = the scratch dir)
    ! args ARGS...             extra mrengine arguments (shell words)
    ! fd N FILE MODE           mrengine inherits FILE opened as descriptor N
                               (MODE: r, w or rw, optionally ",direct")
    > JSON                     send the value (re-serialised compactly) + "\\n"
    >> TEXT                    send TEXT verbatim + "\\n"; \\xNN escapes are decoded
    >>- TEXT                   the same without the newline
    >@ FILE                    send the bytes of FILE (in the scratch dir)
    < JSON                     the next message from mrengine must equal JSON
    ! eof                      close stdin; mrengine must exit 0 with no more output
@TMP@ is replaced by a scratch directory in every line.

Comparison is structural (key order ignored; booleans, numbers, strings
distinct). In expected values these strings are wildcards: "$any", "$int",
"$number", "$string", "$bool", "$array", "$object", and "$re:PATTERN"
(a string matching the regular expression). An expected event without a
"timestamp" member accepts any well-formed timestamp.
"""
import glob
import json
import os
import re
import select
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

SRCDIR = os.environ.get("srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
MRENGINE = os.environ.get("MRENGINE", os.path.join(SRCDIR, "src", "mrengine"))
TIMEOUT = 10.0
sys.setrecursionlimit(20000)


def match(exp, got, path="$"):
    """None if @got matches @exp, else a description of the difference."""
    if isinstance(exp, str) and exp.startswith("$"):
        kinds = {
            "$any": lambda v: True,
            "$int": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "$number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "$string": lambda v: isinstance(v, str),
            "$bool": lambda v: isinstance(v, bool),
            "$array": lambda v: isinstance(v, list),
            "$object": lambda v: isinstance(v, dict),
        }
        if exp.startswith("$re:"):
            if isinstance(got, str) and re.search(exp[4:], got):
                return None
            return "%s: %r does not match /%s/" % (path, got, exp[4:])
        if exp in kinds:
            return None if kinds[exp](got) else "%s: %r is not %s" % (path, got, exp)
    if isinstance(exp, bool) or isinstance(got, bool):
        return None if exp is got else "%s: %r != %r" % (path, got, exp)
    if isinstance(exp, (int, float)) and isinstance(got, (int, float)):
        return None if exp == got else "%s: %r != %r" % (path, got, exp)
    if type(exp) is not type(got):
        return "%s: %r is not of the type of %r" % (path, got, exp)
    if isinstance(exp, dict):
        if "event" in got and "timestamp" not in exp and "timestamp" in got:
            ts = got["timestamp"]
            if not (isinstance(ts, dict) and set(ts) == {"seconds", "microseconds"}):
                return "%s.timestamp: malformed %r" % (path, ts)
            got = {k: v for k, v in got.items() if k != "timestamp"}
        if set(exp) != set(got):
            return "%s: keys %s != %s" % (path, sorted(got), sorted(exp))
        for k in exp:
            d = match(exp[k], got[k], "%s.%s" % (path, k))
            if d:
                return d
        return None
    if isinstance(exp, list):
        if len(exp) != len(got):
            return "%s: %d elements, expected %d" % (path, len(got), len(exp))
        for i, (e, g) in enumerate(zip(exp, got)):
            d = match(e, g, "%s[%d]" % (path, i))
            if d:
                return d
        return None
    return None if exp == got else "%s: %r != %r" % (path, got, exp)


class Session:
    def __init__(self, args, tmp, fds):
        def place_fds():
            for n, fd in fds.items():
                os.dup2(fd, n)
        self.p = subprocess.Popen([MRENGINE] + args + ["--qmp", "stdio"], cwd=tmp,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, pass_fds=list(fds),
                                  preexec_fn=place_fds if fds else None)
        for fd in fds.values():
            os.close(fd)
        fds.clear()
        self.buf = b""

    def send(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def recv(self, timeout=TIMEOUT):
        deadline = time.time() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                return None
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if not r:
                return None
            chunk = os.read(self.p.stdout.fileno(), 1 << 20)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def close(self):
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        self.p.stdin = None
        try:
            rest, err = self.p.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rest, err = self.p.communicate()
        return self.buf + rest, err, self.p.returncode


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, diag=None):
        self.n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, desc))
        if not cond:
            self.failed += 1
            for line in (diag or "").splitlines():
                print("#   " + line)
        sys.stdout.flush()


def decode_raw(text):
    return re.sub(rb"\\x([0-9a-fA-F]{2})", lambda m: bytes([int(m.group(1), 16)]),
                  text.encode())


def run_file(path, tap):
    name = os.path.basename(path)
    tmp = tempfile.mkdtemp(prefix="mre-qmp-")
    args, sess, fds = [], None, {}
    try:
        for lineno, raw in enumerate(open(path, encoding="utf-8"), 1):
            line = raw.rstrip("\n").replace("@TMP@", tmp)
            where = "%s:%d" % (name, lineno)
            if not line.strip() or line.startswith("#"):
                continue
            if line.startswith("! setup "):
                subprocess.run(line[8:], shell=True, cwd=tmp, check=True)
                continue
            if line.startswith("! args "):
                args += shlex.split(line[7:])
                continue
            if line.startswith("! fd "):
                n, fname, mode = line[5:].split()
                flags = {"r": os.O_RDONLY, "w": os.O_WRONLY, "rw": os.O_RDWR}[mode.split(",")[0]]
                if ",direct" in mode:
                    flags |= os.O_DIRECT
                fds[int(n)] = os.open(os.path.join(tmp, fname), flags | os.O_CREAT, 0o600)
                continue
            if sess is None:
                sess = Session(args, tmp, fds)
            if line.startswith("! eof"):
                rest, err, rc = sess.close()
                clean = not re.search(rb"ERROR: (Address|Leak)Sanitizer|runtime error:", err)
                tap.ok(rc == 0 and not rest.strip() and clean, "%s: clean exit at end of input" % where,
                       "exit %s, output %r, stderr %r" % (rc, rest[:500], err[:500]))
                sess = None
            elif line.startswith(">@ "):
                with open(os.path.join(tmp, line[3:].strip()), "rb") as f:
                    sess.send(f.read())
            elif line.startswith(">>- "):
                sess.send(decode_raw(line[4:]))
            elif line.startswith(">> "):
                sess.send(decode_raw(line[3:]) + b"\n")
            elif line.startswith("> "):
                sess.send(json.dumps(json.loads(line[2:])).encode() + b"\n")
            elif line.startswith("< "):
                exp = json.loads(line[2:])
                got = sess.recv()
                if got is None:
                    tap.ok(False, "%s: %s" % (where, line[2:80]), "no message (timeout or EOF)")
                    continue
                try:
                    gotv = json.loads(got)
                    diff = match(exp, gotv)
                except ValueError as e:
                    diff = "not JSON: %s" % e
                if not got.endswith(b"\r"):
                    diff = diff or "message does not end with CRLF"
                try:
                    got.decode("ascii")
                except UnicodeDecodeError:
                    diff = diff or "message is not pure ASCII"
                tap.ok(diff is None, "%s: %s" % (where, line[2:80]),
                       "%s\ngot: %s" % (diff, got[:1000].decode(errors="replace")))
            else:
                tap.ok(False, "%s: unknown directive" % where, line)
        if sess is not None:
            rest, err, rc = sess.close()
            tap.ok(not rest.strip(), "%s: no unexpected output at the end" % name,
                   "output %r, stderr %r" % (rest[:1000], err[:500]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    files = sys.argv[1:] or sorted(glob.glob(os.path.join(SRCDIR, "tests", "qmp", "*.qmp")))
    if not os.access(MRENGINE, os.X_OK):
        print("1..0 # SKIP %s not built" % MRENGINE)
        return 0
    tap = Tap()
    for f in files:
        run_file(f, tap)
    print("1..%d" % tap.n)
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
