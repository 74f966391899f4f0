# SPDX-License-Identifier: MIT
"""The daemon under hostile or careless clients: random bytes, deep
nesting, multi-megabyte values, many clients writing byte by byte at the
same time, clients vanishing mid-message, a client that never reads, and
a thousand add-fd/remove-fd cycles. After each, the daemon still answers
and holds no more descriptors or memory than before."""
import json
import os
import random
import socket
import threading
import time

from daemon import Daemon, Tap, sanitized

tap = Tap()
rng = random.Random(1234)


def raw_client(d):
    s = socket.socket(socket.AF_UNIX)
    s.connect(d.sock)
    s.settimeout(30)
    f = s.makefile("rb")
    json.loads(f.readline())  # greeting
    return s, f


def wait_reply(f, id_, limit=100000):
    """Read messages until the reply with @id_; returns (reply, skipped)."""
    skipped = []
    for _ in range(limit):
        line = f.readline()
        if not line:
            return None, skipped
        m = json.loads(line)
        if m.get("id") == id_:
            return m, skipped
        skipped.append(m)
    return None, skipped


def serving(d, what):
    """A fresh client gets an answer: the daemon survived @what."""
    try:
        c = d.client(timeout=10)
        r = c.execute("query-status", id="alive")
        c.close()
        ok = r.get("id") == "alive" and "return" in r
    except Exception as e:  # noqa: BLE001
        ok, r = False, e
    tap.ok(ok and d.alive(), "still serving after %s" % what, r)


def rss_kib(d):
    with open("/proc/%d/status" % d.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    d = Daemon()
    try:
        run(d)
    finally:
        tap.eq(d.stop(), 0, "clean exit at the end")
    return tap.done()


def run(d):
    idle = d.nfds()

    # -- random bytes ----------------------------------------------------------
    s, f = raw_client(d)
    s.sendall(b'{"execute": "qmp_capabilities"}\n')
    f.readline()
    garbage = b"".join(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
                       for _ in range(300))
    # a control character drops whatever value the garbage left open;
    # send from a thread: the replies to garbage must be read meanwhile
    threading.Thread(target=s.sendall, daemon=True, args=(
        garbage + b'\x1b{"execute": "query-status", "id": "after-garbage"}\n',)).start()
    r, skipped = wait_reply(f, "after-garbage")
    tap.ok(r and "return" in r, "random bytes: errors, then the same client is served again",
           "reply %r after %d messages" % (r, len(skipped)))
    tap.ok(all("error" in m and set(m) == {"error"} for m in skipped),
           "random bytes: every other message is an error without id (%d)" % len(skipped))
    f.close()
    s.close()
    serving(d, "random bytes")

    # -- deep nesting ----------------------------------------------------------
    s, f = raw_client(d)
    s.sendall(b'{"execute": "qmp_capabilities"}\n')
    f.readline()
    s.sendall(b'{"execute": "query-status", "id": ' + b"[" * 200000 + b"]" * 200000 + b"}\n")
    s.sendall(b'{"execute": "query-status", "id": "after-deep"}\n')
    r, skipped = wait_reply(f, "after-deep")
    tap.ok(r and "return" in r and len(skipped) == 1 and
           skipped[0]["error"]["desc"] == "JSON nesting depth limit exceeded",
           "200000 levels: one error, the rest of that value skipped", skipped[:3])
    s.sendall(b"[" * 300000)
    s.sendall(b'\x01{"execute": "query-status", "id": "after-open"}\n')
    r, skipped = wait_reply(f, "after-open")
    tap.ok(r and "return" in r, "an unclosed deep value is dropped by a control character",
           skipped[:3])
    f.close()
    s.close()

    # -- a multi-megabyte line -------------------------------------------------
    rss0 = rss_kib(d)
    s, f = raw_client(d)
    s.sendall(b'{"execute": "qmp_capabilities"}\n')
    f.readline()
    big = b'{"execute": "query-status", "id": "' + b"x" * (8 << 20) + b'"}\n'
    threading.Thread(target=s.sendall, args=(big + b'{"execute": "query-status", "id": "after-big"}\n',),
                     daemon=True).start()
    r, skipped = wait_reply(f, "after-big")
    tap.ok(r and "return" in r and len(skipped) == 1 and
           "size limit" in skipped[0]["error"]["desc"],
           "8 MiB value: one size error, then the next value is served", skipped[:1])
    grown = rss_kib(d) - rss0
    if sanitized():
        tap.skip("RSS is not meaningful in a sanitizer build")
    else:
        tap.ok(grown < 16 * 1024, "8 MiB value: the daemon did not buffer it (RSS +%d KiB)" % grown)
    # the same split over many lines (newlines inside strings are errors,
    # outside they are just whitespace)
    s.sendall(b'{"execute": "query-status", "id": [' + b'"abc",\n' * 300000 + b'"z"]}\n')
    s.sendall(b'{"execute": "query-status", "id": "after-lines"}\n')
    r, skipped = wait_reply(f, "after-lines")
    tap.ok(r and "return" in r and len(skipped) == 1, "2 MiB value over 300000 lines: one error",
           skipped[:2])
    f.close()
    s.close()
    serving(d, "multi-megabyte input")

    # -- many clients writing byte by byte at the same time -----------------------
    n = 8
    clients = [raw_client(d) for _ in range(n)]
    streams = []
    for i in range(n):
        msgs = [b'{"execute": "qmp_capabilities"}\n']
        msgs += [json.dumps({"execute": "query-status", "id": [i, k]}).encode() + b"\n"
                 for k in range(20)]
        streams.append(bytearray(b"".join(msgs)))
    pos = [0] * n
    while any(pos[i] < len(streams[i]) for i in range(n)):
        i = rng.randrange(n)
        if pos[i] < len(streams[i]):
            k = rng.randrange(1, 4)
            clients[i][0].sendall(bytes(streams[i][pos[i]:pos[i] + k]))
            pos[i] += k
    good = True
    for i, (s, f) in enumerate(clients):
        got = [json.loads(f.readline()) for _ in range(21)]
        ids = [m.get("id") for m in got[1:]]
        if got[0] != {"return": {}} or ids != [[i, k] for k in range(20)]:
            good = False
            print("# client %d got %r" % (i, got[:3]))
        f.close()
        s.close()
    tap.ok(good, "8 clients interleaving 1-3 byte writes: each gets its replies, in order")

    # -- clients vanishing mid-message ---------------------------------------------
    for k in range(50):
        s = socket.socket(socket.AF_UNIX)
        s.connect(d.sock)
        s.sendall(b'{"execute": "qmp_capabilities"}\n{"execute": "query-st'[:rng.randrange(1, 50)])
        if k % 2:
            s.shutdown(socket.SHUT_WR)
        s.close()
    serving(d, "50 clients vanishing mid-message")
    tap.eq(d.settle_nfds(idle), idle, "vanished clients leave no descriptor behind")

    # -- a client that sends but never reads ---------------------------------------
    slow = socket.socket(socket.AF_UNIX)
    slow.connect(d.sock)
    slow.sendall(b'{"execute": "qmp_capabilities"}\n')
    slow.setblocking(False)
    sent = 0
    req = b'{"execute": "query-commands"}\n' * 1000
    t0 = time.time()
    while time.time() - t0 < 5:
        try:
            sent += slow.send(req)
        except BlockingIOError:
            break
    tap.ok(time.time() - t0 < 5, "a client that does not read is held back (its sends block, %d KiB)"
           % (sent >> 10))
    t0 = time.time()
    serving(d, "a client that stops reading")
    tap.ok(time.time() - t0 < 2, "other clients are not delayed by it")
    # events keep coming for it; past its output cap it is dropped
    c = d.client()
    burst = b"".join(b'{"execute": "stop"}\n{"execute": "cont"}\n' for _ in range(2000))
    dropped = False
    deadline = time.time() + 60
    while time.time() < deadline and not dropped:
        c.sock.sendall(burst)
        for _ in range(4000 * 2):  # replies and events
            c.recv()
        try:
            slow.send(b" ")
        except (BrokenPipeError, ConnectionResetError):
            dropped = True
        except BlockingIOError:
            pass
    tap.ok(dropped, "the non-reading client is dropped once its backlog passes the cap")
    slow.close()
    if sanitized():
        tap.skip("RSS is not meaningful in a sanitizer build")
    else:
        tap.ok(rss_kib(d) < rss0 + 64 * 1024, "memory stays bounded (RSS %d KiB)" % rss_kib(d))
    c.close()

    # -- add-fd/remove-fd cycles ---------------------------------------------------
    c = d.client()
    base = d.nfds()
    img = d.path("cycle.img")
    open(img, "wb").close()
    bad = 0
    for i in range(1000):
        fd = os.open(img, os.O_RDONLY)
        r = c.execute("add-fd", {"fdset-id": i % 3}, fds=[fd])
        os.close(fd)
        if "return" not in r or c.execute("remove-fd", {"fdset-id": i % 3, "fd": r["return"]["fd"]}) != {"return": {}}:
            bad += 1
    tap.eq(bad, 0, "1000 add-fd/remove-fd cycles succeed")
    tap.eq(d.nfds(), base, "descriptor count unchanged after 1000 cycles")
    c.close()
    tap.eq(d.settle_nfds(idle), idle, "descriptor count back to idle at the end")


if __name__ == "__main__":
    raise SystemExit(main())
