# SPDX-License-Identifier: MIT
"""The daemon's command line and endpoints: --help, usage errors (exit 2),
startup errors (one line, exit 1), the UNIX socket (mode 0600, stale file
replaced, live server / symlink / other file refused, removed at exit),
several endpoints and clients, signals, stdio ending at EOF after a
running job, -add-fd before -object, and -incoming URI."""
import os
import signal
import socket
import stat
import subprocess
import tempfile
import time

from daemon import MRENGINE, QMP, Daemon, Tap

tap = Tap()
tmp = tempfile.mkdtemp(prefix="mre-qmpcli-")


def run(args, stdin=b"", timeout=30, pass_fds=()):
    return subprocess.run([MRENGINE] + args, input=stdin, capture_output=True, timeout=timeout,
                          cwd=tmp, pass_fds=pass_fds)


def fails(args, rc, needle, desc):
    r = run(args)
    err = r.stderr.decode()
    tap.ok(r.returncode == rc and needle in err and (rc == 2 or err.count("\n") == 1),
           desc, "exit %d, stderr %r" % (r.returncode, err))


def main():
    r = run(["--qmp", "stdio", "--help"])
    tap.ok(r.returncode == 0 and b"--qmp unix:PATH" in r.stdout and b"-add-fd" in r.stdout,
           "--help describes the daemon", r.stdout[:200])
    fails(["--policy", "p"], 2, "needs at least one --qmp", "no endpoint: usage error")
    fails(["--qmp", "stdio", "--bogus"], 2, "unknown or incomplete option", "unknown option")
    fails(["--qmp"], 2, "unknown or incomplete option", "missing option argument")
    fails(["--qmp", "stdio", "extra"], 2, "unexpected argument", "stray argument")
    fails(["--qmp", "tcp:localhost:4444"], 1, "expected unix:PATH", "unsupported endpoint")
    fails(["--qmp", "unix:"], 1, "missing socket path", "empty socket path")
    fails(["--qmp", "unix:%s/s,server=off" % tmp], 1, "server=off", "server=off refused")
    fails(["--qmp", "unix:%s/s,fish=1" % tmp], 1, "unknown option 'fish=1'", "unknown socket option")
    fails(["--qmp", "stdio", "--qmp", "stdio"], 1, "only be given once", "stdio twice")
    fails(["--qmp", "stdio", "-object", "memory-backend-ram,id=m,size=1M"], 1,
          "memory-backend-ram", "bad -object")
    fails(["--qmp", "stdio", "-object", "memory-backend-memfd,id=m"], 1, "size", "-object without size")
    fails(["--qmp", "stdio", "--uuid", "nope"], 1, "UUID", "bad --uuid")
    fails(["--qmp", "stdio", "-add-fd", "fd=77,set=1"], 1, "not open", "-add-fd of a closed fd")
    fails(["--qmp", "stdio", "-add-fd", "fd=7"], 1, "'set' missing", "-add-fd without set")
    fails(["--qmp", "stdio", "-add-fd", "fd=1,set=1"], 1, "standard I/O", "-add-fd of stdout")
    fails(["--qmp", "stdio", "-add-fd", "fd=x,set=1"], 1, "bad value", "-add-fd bad number")
    fails(["--qmp", "stdio", "-incoming", "tcp:0:4444"], 1, "seekable transport",
          "-incoming with a non-file URI")
    fails(["--qmp", "stdio", "-incoming", "file:x", "-incoming", "defer"], 2, "once",
          "-incoming twice")

    # -- the socket file --------------------------------------------------------
    sock = os.path.join(tmp, "qmp.sock")
    d = Daemon(tmp=tmp)
    st = os.lstat(sock)
    tap.ok(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600,
           "socket created with mode 0600 (%o)" % stat.S_IMODE(st.st_mode))
    fails(["--qmp", "unix:" + sock], 1, "in use by a running server", "a live socket is not taken over")
    tap.ok(d.alive() and os.path.exists(sock), "the running daemon keeps its socket")
    d.p.send_signal(signal.SIGKILL)
    d.p.wait()
    tap.ok(os.path.exists(sock), "a killed daemon leaves a stale socket")
    d = Daemon(tmp=tmp)
    c = d.client()
    tap.eq(c.cmd("query-status")["status"], "running", "a stale socket is replaced")
    c.close()
    tap.eq(d.stop(), 0, "quit: exit 0")
    tap.ok(not os.path.exists(sock), "the socket is removed at exit")
    os.symlink(os.path.join(tmp, "elsewhere"), sock)
    fails(["--qmp", "unix:" + sock], 1, "symbolic link", "a symlink at the path is refused")
    tap.ok(not os.path.exists(os.path.join(tmp, "elsewhere")), "nothing created through the symlink")
    os.unlink(sock)
    open(sock, "w").close()
    fails(["--qmp", "unix:" + sock], 1, "not a socket", "a regular file at the path is refused")
    tap.ok(os.path.isfile(sock), "and it is left alone")
    os.unlink(sock)

    # -- two endpoints, several clients, events to every negotiated one -------------
    sock2 = os.path.join(tmp, "second.sock")
    d = Daemon(tmp=tmp, extra_qmp=["unix:%s,server=on,wait=off" % sock2])
    a = d.client()
    b = QMP(sock2, negotiate=True)
    raw = QMP(sock2, negotiate=False)  # not negotiated: gets no events
    a.cmd("stop")
    b.cmd("query-status")
    tap.eq([e["event"] for e in b.events], ["STOP"], "an event reaches a client on the other socket")
    tap.eq([e["event"] for e in a.events], ["STOP"], "and the client that caused it")
    r = raw.execute("qmp_capabilities")
    tap.eq(r, {"return": {}}, "a client still negotiating received no event first")
    # a signal ends the daemon like quit, with QEMU's SHUTDOWN reason
    d.p.send_signal(signal.SIGTERM)
    ev = a.wait_event("SHUTDOWN", timeout=10)
    tap.eq(ev["data"], {"guest": False, "reason": "host-signal"}, "SIGTERM: SHUTDOWN host-signal")
    d.p.wait(10)
    tap.eq(d.p.returncode, 0, "SIGTERM: exit 0")
    tap.ok(not os.path.exists(sock) and not os.path.exists(sock2), "both sockets removed")
    for x in (a, b, raw):
        x.close()
    d.stop()

    # -- stdio: EOF ends the daemon once the job is done -----------------------
    subprocess.run([MRENGINE, "generate", "--size", "8M", "--seed", "2", "ram"], cwd=tmp, check=True)
    script = b"\n".join([
        b'{"execute": "qmp_capabilities"}',
        b'{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "mapped-ram", "state": true}, {"capability": "events", "state": true}]}}',
        b'{"execute": "migrate", "arguments": {"uri": "file:saved.img,offset=4096"}}',
    ]) + b"\n"
    with open(os.path.join(tmp, "saved.img"), "wb") as f:
        f.write(b"H" * 4096)
    r = run(["--qmp", "stdio", "-object", "memory-backend-file,id=pc.ram,size=8M,mem-path=ram"],
            stdin=script)
    out = r.stdout.decode()
    tap.ok(r.returncode == 0 and '"status": "completed"' in out,
           "stdio: EOF waits for the save, then exit 0", "exit %d\n%s%s" % (r.returncode, out, r.stderr.decode()))
    tap.ok(out.count("\r\n") == out.count("\n") and out.isascii(), "stdio output: CRLF-terminated ASCII")
    with open(os.path.join(tmp, "saved.img"), "rb") as f:
        tap.eq(f.read(4096), b"H" * 4096, "offset=4096: the bytes before the stream are kept")
    v = subprocess.run([MRENGINE, "verify", "-q", os.path.join(tmp, "saved.img")], capture_output=True)
    tap.eq(v.returncode, 0, "the image verifies")

    # -- -add-fd before -object; -incoming URI restores at startup -------------
    fd = os.open(os.path.join(tmp, "ram2"), os.O_RDWR | os.O_CREAT, 0o600)
    os.ftruncate(fd, 8 << 20)
    os.dup2(fd, 9)
    os.close(fd)
    p = subprocess.Popen([MRENGINE, "--qmp", "unix:%s" % sock, "-object",
                          "memory-backend-file,id=pc.ram,size=8M,mem-path=/dev/fdset/3,share=on",
                          "-add-fd", "fd=9,set=3", "-incoming", "file:saved.img,offset=4096"],
                         cwd=tmp, pass_fds=[9], stderr=subprocess.PIPE)
    os.close(9)
    deadline = time.time() + 10
    while not os.path.exists(sock) and time.time() < deadline:
        time.sleep(0.01)
    c = QMP(sock, negotiate=True)
    q = c.wait_migration()
    tap.eq(q, {"status": "completed"}, "-incoming URI: the restore ran at startup")
    with open(os.path.join(tmp, "ram"), "rb") as f1, open(os.path.join(tmp, "ram2"), "rb") as f2:
        tap.ok(f1.read() == f2.read(), "restored through an -add-fd fdset backing, byte-identical")
    caps = {x["capability"]: x["state"] for x in c.cmd("query-migrate-capabilities")}
    tap.ok(caps["mapped-ram"], "-incoming URI implies mapped-ram")
    c.execute("quit")
    c.close()
    p.wait(10)
    tap.eq(p.returncode, 0, "exit 0")
    p.stderr.close()
    subprocess.run(["rm", "-rf", tmp])
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
