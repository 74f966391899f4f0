# SPDX-License-Identifier: MIT
"""Conformance with a real QMP client library against real QEMU: builds
tests/interop/go-qmp (DigitalOcean's go-qemu `qmp` package, offline from
Debian's /usr/share/gocode), runs the same script against QEMU 10 and
against mrengine, and checks that both answer alike: the same error texts,
the same reply shapes (member names and JSON types; mrengine's own x-io,
x-channels and x-direct-io aside), the same MIGRATION status sequence for a save to a file.
Skips when Go, go-qemu or QEMU is missing."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmp"))
from daemon import MRENGINE, SRCDIR, Daemon, Tap, skip_all  # noqa: E402

GOPATH = "/usr/share/gocode"
# mrengine's own members (QEMU's "x-" convention); QEMU has x- members too
MRENGINE_ONLY = {"x-io", "x-channels", "x-direct-io"}
QEMU = shutil.which("qemu-system-x86_64")
tap = Tap()


def shape(v):
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if v is None:
        return "null"
    if isinstance(v, list):
        return [shape(x) for x in v]
    return {k: shape(x) for k, x in v.items() if k not in MRENGINE_ONLY}


def build(tmp):
    env = dict(os.environ, GOPATH=GOPATH, GO111MODULE="off", GOFLAGS="", GOPROXY="off",
               GOCACHE=os.path.join(tmp, "gocache"), CGO_ENABLED="0")
    exe = os.path.join(tmp, "goqmp")
    src = os.path.join(SRCDIR, "tests", "interop", "go-qmp", "main.go")
    r = subprocess.run(["go", "build", "-o", exe, src], env=env, capture_output=True, timeout=600)
    if r.returncode:
        tap.ok(False, "build the go-qemu client", r.stderr.decode())
        return None
    tap.ok(True, "build the go-qemu client offline (GO111MODULE=off, GOPATH=%s)" % GOPATH)
    return exe


def run_client(exe, sock, tmp, out):
    r = subprocess.run([exe, "-socket", sock, "-dir", tmp, "-out", out], capture_output=True,
                       timeout=300)
    if r.returncode:
        return None, r.stderr.decode()
    with open(out) as f:
        return json.load(f), None


def against_qemu(exe, tmp):
    sock = os.path.join(tmp, "qemu.sock")
    p = subprocess.Popen([QEMU, "-machine", "pc", "-accel", "tcg", "-m", "64M", "-nodefaults",
                          "-display", "none", "-S", "-qmp", "unix:%s,server=on,wait=off" % sock],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 30
        while not os.path.exists(sock) and p.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        rec, err = run_client(exe, sock, tmp, os.path.join(tmp, "qemu.json"))
    finally:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
        qerr = p.stderr.read().decode()
        p.stderr.close()
    if rec is None:
        tap.ok(False, "the script runs against QEMU", "%s\n%s" % (err, qerr))
    else:
        tap.ok(True, "the script runs against QEMU %s" % rec["version"]["package"])
    return rec


def against_mrengine(exe, tmp):
    d = Daemon(["-object", "memory-backend-memfd,id=pc.ram,size=64M"], tmp=tmp)
    try:
        rec, err = run_client(exe, d.sock, tmp, os.path.join(tmp, "mrengine.json"))
    finally:
        d.stop()
    tap.ok(rec is not None, "the script runs against mrengine", err)
    return rec


def compare(q, m):
    tap.eq(shape(m["version"]), shape(q["version"]), "greeting: the same version shape")
    tap.ok(m["version"]["qemu"]["major"] == q["version"]["qemu"]["major"] == 10 and
           m["version"]["qemu"]["minor"] == q["version"]["qemu"]["minor"],
           "greeting: both speak QEMU 10.0's protocol")
    tap.ok(isinstance(m["capabilities"], list), "greeting: capabilities is a list (QEMU %r, mrengine %r)"
           % (q["capabilities"], m["capabilities"]))
    qs = {s["name"]: s for s in q["steps"]}
    ms = {s["name"]: s for s in m["steps"]}
    tap.eq(list(ms), list(qs), "the same steps ran")
    for name, qstep in qs.items():
        mstep = ms.get(name, {})
        if "error" in qstep:
            tap.eq(mstep.get("error"), qstep["error"], "%s: the same error" % name)
        elif "error" in mstep:
            tap.ok(False, "%s: succeeds in both" % name, mstep["error"])
        elif name in ("query-migrate-capabilities", "query-migrate-before", "query-fdsets"):
            tap.eq(mstep.get("return"), qstep.get("return"), "%s: the same reply" % name)
        elif name == "query-migrate-parameters":
            want = {k: v for k, v in qstep["return"].items()}
            got = {k: v for k, v in mstep["return"].items() if k not in MRENGINE_ONLY}
            tap.eq(got, want, "%s: the same parameters and defaults" % name)
        else:
            tap.eq(shape(mstep.get("return")), shape(qstep.get("return")), "%s: the same reply shape" % name)
    tap.eq(m["events"], q["events"], "MIGRATION events: the same status sequence %r" % (q["events"],))
    tap.ok(m["passes"][:1] == q["passes"][:1] == [{"pass": 1}], "MIGRATION_PASS: pass 1 first",
           "QEMU %r, mrengine %r" % (q["passes"], m["passes"]))
    common = [st for st in q["polled"] if st in m["polled"]]
    tap.ok("completed" in common, "query-migrate seen completed by both (QEMU polled %r, mrengine %r)"
           % (q["polled"], m["polled"]))
    for st in common:
        tap.eq(shape(m["shapes"][st]), shape(q["shapes"][st]),
               "query-migrate in state %s: the same members and types" % st)


def main():
    if not shutil.which("go"):
        skip_all("Go is not installed")
    if not os.path.isdir(os.path.join(GOPATH, "src/github.com/digitalocean/go-qemu/qmp")):
        skip_all("go-qemu is not installed (Debian: golang-github-digitalocean-go-qemu-dev)")
    if not QEMU:
        skip_all("qemu-system-x86_64 is not installed")
    tmp = tempfile.mkdtemp(prefix="mre-goqmp-")
    try:
        exe = build(tmp)
        if exe:
            q = against_qemu(exe, tmp)
            m = against_mrengine(exe, tmp)
            if q and m:
                compare(q, m)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
