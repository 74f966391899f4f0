# SPDX-License-Identifier: MIT
"""The daemon's and the tools' side of the trust boundaries described in
doc/security.md, each tried from outside: what a client, a file or the
host's limits can make mrengine do, and what they must not."""
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from taptest import TAP  # noqa: E402

SRCDIR = os.environ.get("srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
MRENGINE = os.environ.get("MRENGINE", os.path.join(SRCDIR, "src", "mrengine"))

t = TAP()
tmp = tempfile.mkdtemp(prefix="mre-bound-")


def daemon(sock, nofile=None, args=()):
    def limit():
        if nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    p = subprocess.Popen([MRENGINE, "--qmp", "unix:" + sock] + list(args), cwd=tmp,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, preexec_fn=limit)
    deadline = time.time() + 10
    while not os.path.exists(sock):
        if p.poll() is not None or time.time() > deadline:
            t.bail("mrengine did not start: %r" % (p.communicate(),))
        time.sleep(0.01)
    return p


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    return p.returncode, err


def cpu_ticks(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])


def greeted(s):
    return bool(select.select([s], [], [], 0)[0])


def out_of_descriptors():
    """More clients than descriptors: the daemon waits, it does not spin,
    and takes the next client as soon as one leaves."""
    sock = os.path.join(tmp, "nofile.sock")
    p = daemon(sock, nofile=24)
    socks = []
    for _ in range(24):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock)
        socks.append(s)
    time.sleep(0.5)
    inside = [s for s in socks if greeted(s)]
    waiting = [s for s in socks if s not in inside]
    t.ok(inside and waiting, "24 descriptors: %d clients greeted, %d wait" % (len(inside), len(waiting)))
    hz = os.sysconf("SC_CLK_TCK")
    before = cpu_ticks(p.pid)
    time.sleep(2)
    used = (cpu_ticks(p.pid) - before) / hz
    t.ok(used < 0.5, "while out of descriptors the daemon sleeps (%.2f s of CPU in 2 s)" % used)
    for s in inside[:3]:
        s.close()
    deadline = time.time() + 10
    while sum(greeted(s) for s in waiting) < 3 and time.time() < deadline:
        time.sleep(0.02)
    t.eq(sum(greeted(s) for s in waiting), 3, "three clients leave, three waiting ones are greeted")
    c = next(s for s in waiting if greeted(s))
    c.recv(4096)
    c.sendall(b'{"execute": "qmp_capabilities"}\n')
    c.settimeout(10)
    t.ok(b'"return"' in c.recv(4096), "and served")
    for s in socks:
        s.close()
    rc, err = stop(p)
    t.eq(rc, 0, "the daemon exits cleanly")


def run(*args):
    p = subprocess.run([MRENGINE] + list(args), capture_output=True, text=True, cwd=tmp)
    return p.returncode, p.stderr


def private_files():
    """Everything mrengine writes that holds guest memory is created for
    its owner alone (0600), whatever the umask lets through."""
    ram = os.path.join(tmp, "ram.bin")
    with open(ram, "wb") as f:
        f.write(os.urandom(8192) + bytes(8192))
    old = os.umask(0o022)
    try:
        img = os.path.join(tmp, "private.img")
        rc, err = run("save", "-q", "-object",
                      "memory-backend-file,id=pc.ram,size=16K,mem-path=" + ram, "-O", img)
        t.eq((rc, err), (0, ""), "save")
        t.eq(oct(os.stat(img).st_mode & 0o777), oct(0o600), "the image is created 0600")
        out = os.path.join(tmp, "pc.ram.raw")
        rc, err = run("extract", "--block", "pc.ram", "--output", out, img)
        t.eq((rc, err), (0, ""), "extract")
        t.eq(oct(os.stat(out).st_mode & 0o777), oct(0o600), "an extracted RAM block is created 0600")
        backing = os.path.join(tmp, "new-backing")
        rc, err = run("restore", img, "-object",
                      "memory-backend-file,id=pc.ram,size=16K,mem-path=" + backing)
        t.eq((rc, err), (0, ""), "restore into a backing that does not exist yet")
        t.eq(oct(os.stat(backing).st_mode & 0o777), oct(0o600), "a RAM backing mrengine creates is 0600")
    finally:
        os.umask(old)


def socket_file():
    """At exit the daemon removes its socket file, and only its own: one
    that another server bound at the same path after removing it stays."""
    sock = os.path.join(tmp, "mine.sock")
    p = daemon(sock)
    os.unlink(sock)
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other.bind(sock)
    other.listen(1)
    rc, err = stop(p)
    t.eq(rc, 0, "the daemon exits cleanly")
    t.ok(os.path.exists(sock), "another server's socket at the same path is left alone")
    other.close()
    if os.path.exists(sock):
        os.unlink(sock)
    p = daemon(sock)
    rc, err = stop(p)
    t.ok(not os.path.exists(sock), "the daemon's own socket is removed at exit")


def plan_during_restore():
    """x-plan while a restore runs: the policy gets no content sample (the
    restore may unmap the RAM if it fails), and the daemon survives."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    from qmp import QMP
    sock = os.path.join(tmp, "plan.sock")
    ram = os.path.join(tmp, "plan.ram")
    with open(ram, "wb") as f:
        f.write(os.urandom(4 << 20))
    pol = os.path.join(tmp, "sampled.lua")
    with open(pol, "w") as f:
        f.write("return { on_save = function(vm) return "
                "{ channels = vm.sample_compress_ratio > 0 and 7 or 3 } end }\n")
    p = daemon(sock, args=["--policy", pol])
    c = QMP(sock, timeout=60, negotiate=True)
    c.cmd("object-add", {"qom-type": "memory-backend-file", "id": "pc.ram", "size": 4 << 20,
                         "mem-path": ram, "share": True})
    c.cmd("migrate-set-capabilities", {"capabilities": [{"capability": "mapped-ram", "state": True}]})
    img = os.path.join(tmp, "plan.img")
    plan = {"kind": "save", "uri": "file:" + os.path.join(tmp, "other.img")}
    t.eq(c.cmd("x-plan", plan)["channels"], 7, "idle: the policy sees the content sample")
    c.cmd("migrate", {"uri": "file:" + img})
    t.eq(c.wait_migration()["status"], "completed", "save")
    c.cmd("migrate-set-parameters", {"max-bandwidth": 4096})
    c.cmd("migrate-incoming", {"uri": "file:" + img})
    t.eq(c.cmd("query-migrate")["status"] in ("setup", "active"), True, "a slow restore runs")
    t.eq(c.cmd("x-plan", plan)["channels"], 3, "meanwhile x-plan samples nothing")
    c.cmd("migrate_cancel")
    t.eq(c.wait_migration()["status"], "cancelled", "the restore is cancelled")
    c.cmd("x-plan", plan)
    c.close()
    rc, err = stop(p)
    t.eq(rc, 0, "the daemon exits cleanly")


def main():
    out_of_descriptors()
    private_files()
    socket_file()
    plan_during_restore()
    sys.exit(t.done())


main()
