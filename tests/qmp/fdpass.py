# SPDX-License-Identifier: MIT
"""Descriptor passing over the QMP socket (SCM_RIGHTS): add-fd, remove-fd,
query-fdsets, getfd, closefd; the per-client queue and its cap; every
fdset rule of a save and a restore with its error; and no descriptor
leaked in the daemon whatever the client does."""
import json
import os
import socket
import time

from daemon import Daemon, Tap, skip_all

tap = Tap()


def direct_ok(d):
    try:
        fd = os.open(d.path("probe"), os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o600)
        os.close(fd)
        return True
    except OSError:
        return False


def op(d, name, flags):
    return os.open(d.path(name), flags | os.O_CREAT, 0o600)


def add(c, fds, args=None):
    r = c.execute("add-fd", args or {}, fds=fds)
    for fd in fds:
        os.close(fd)
    return r


def desc(r):
    return r.get("error", {}).get("desc")


def migration_error(c, cmd, uri):
    """Run migrate/migrate-incoming; the error from the reply or, once the
    job has failed, from query-migrate."""
    r = c.execute(cmd, {"uri": uri})
    if "error" in r:
        return r["error"]["desc"]
    q = c.wait_migration(timeout=30)
    return q.get("error-desc") if q.get("status") == "failed" else "status " + q.get("status", "?")


def main():
    d = Daemon(["-object", "memory-backend-memfd,id=pc.ram,size=4M"])
    try:
        run(d)
    finally:
        rc = d.stop()
        tap.eq(rc, 0, "daemon exits 0 on quit")
    return tap.done()


def run(d):
    idle = d.nfds()
    idle_fds = d.fds()
    c = d.client()
    base = d.nfds()

    # -- add-fd, query-fdsets, remove-fd ------------------------------------
    r = add(c, [op(d, "img", os.O_WRONLY)])
    tap.ok("return" in r and r["return"]["fdset-id"] == 0, "add-fd: first set is 0", r)
    a = r["return"]["fd"]
    tap.eq(d.fds().get(a), d.path("img"), "add-fd: the returned fd is the daemon's, on the file")
    tap.eq(d.nfds(), base + 1, "add-fd: the daemon holds one more descriptor")
    b = add(c, [op(d, "img", os.O_WRONLY)], {"fdset-id": 0, "opaque": "second"})["return"]["fd"]
    s7 = add(c, [op(d, "img", os.O_RDONLY)], {"fdset-id": 7})["return"]
    tap.eq(s7["fdset-id"], 7, "add-fd: explicit set id")
    s1 = add(c, [op(d, "img", os.O_RDONLY)])["return"]
    tap.eq(s1["fdset-id"], 1, "add-fd: a new set takes the lowest free id")
    tap.eq(c.cmd("query-fdsets"),
           [{"fdset-id": 7, "fds": [{"fd": s7["fd"]}]},
            {"fdset-id": 1, "fds": [{"fd": s1["fd"]}]},
            {"fdset-id": 0, "fds": [{"fd": a}, {"fd": b, "opaque": "second"}]}],
           "query-fdsets: sets descending, fds in the order added, opaque kept")
    tap.eq(c.execute("remove-fd", {"fdset-id": 0, "fd": a}), {"return": {}}, "remove-fd one fd")
    tap.ok(a not in d.fds(), "remove-fd closes it in the daemon")
    tap.eq(c.execute("remove-fd", {"fdset-id": 7}), {"return": {}}, "remove-fd a whole set")
    c.cmd("remove-fd", {"fdset-id": 1})
    tap.eq(c.cmd("query-fdsets"), [{"fdset-id": 0, "fds": [{"fd": b, "opaque": "second"}]}],
           "what is left")
    c.cmd("remove-fd", {"fdset-id": 0})
    tap.eq(d.nfds(), base, "every fd of removed sets is closed")

    # -- refusals consume and close the descriptor -----------------------------
    rp, wp = os.pipe()
    r = add(c, [rp])
    os.close(wp)
    tap.like(desc(r), "not a regular file or block device", "add-fd refuses a pipe")
    sk1, sk2 = socket.socketpair()
    r = add(c, [sk1.detach()])
    sk2.close()
    tap.like(desc(r), "not a regular file or block device", "add-fd refuses a socket")
    r = add(c, [op(d, "img", os.O_WRONLY)], {"fdset-id": -1})
    tap.eq(desc(r), "Parameter 'fdset-id' expects a non-negative value", "negative fdset-id")
    tap.eq(d.nfds(), base, "refused descriptors are closed")

    # -- the per-client queue -----------------------------------------------
    r = add(c, [op(d, "img", os.O_WRONLY)], {"fdset-id": "x"})
    tap.like(desc(r), "Invalid parameter type for 'fdset-id'", "bad arguments: refused before the handler")
    r = c.execute("add-fd", {"fdset-id": 3})
    tap.ok("return" in r, "the descriptor stayed queued and the next add-fd takes it", r)
    r = add(c, [op(d, "img", os.O_WRONLY), op(d, "img2", os.O_WRONLY)], {"fdset-id": 3})
    first = r["return"]["fd"]
    r = c.execute("add-fd", {"fdset-id": 3})
    tap.ok("return" in r and d.fds()[first] == d.path("img") and
           d.fds()[r["return"]["fd"]] == d.path("img2"),
           "two fds in one message: taken in order by two add-fd", r)
    tap.like(desc(c.execute("add-fd", {"fdset-id": 3})), "No file descriptor supplied",
             "queue empty again")
    c.cmd("remove-fd", {"fdset-id": 3})
    many = [op(d, "img", os.O_RDONLY) for _ in range(40)]
    r = c.execute("query-status", fds=many)
    for fd in many:
        os.close(fd)
    tap.eq(d.nfds(), base + 32, "queue capped at 32 descriptors; the rest are closed at once")
    c.close()
    tap.eq(d.settle_nfds(idle), idle, "queued descriptors are closed when the client leaves")

    # -- getfd / closefd -----------------------------------------------------------------
    c = d.client()
    r = c.execute("getfd", {"fdname": "mig"}, fds=[op(d, "img", os.O_WRONLY)])
    tap.eq(r, {"return": {}}, "getfd")
    tap.eq(d.nfds(), base + 1, "getfd keeps the descriptor")
    c.execute("getfd", {"fdname": "mig"}, fds=[op(d, "img2", os.O_WRONLY)])
    tap.ok(d.nfds() == base + 1 and d.path("img2") in d.fds().values() and
           d.path("img") not in d.fds().values(), "getfd with the same name replaces (old closed)")
    r = c.execute("getfd", {"fdname": "9lives"}, fds=[op(d, "img", os.O_WRONLY)])
    tap.eq(desc(r), "Parameter 'fdname' expects a name not starting with a digit", "getfd name rule")
    rp, wp = os.pipe()
    tap.eq(c.execute("getfd", {"fdname": "pipe"}, fds=[rp]), {"return": {}},
           "getfd accepts any descriptor (QEMU's fd: users pass sockets)")
    os.close(rp)
    os.close(wp)
    tap.eq(c.execute("closefd", {"fdname": "mig"}), {"return": {}}, "closefd")
    c.cmd("closefd", {"fdname": "pipe"})
    tap.eq(desc(c.execute("closefd", {"fdname": "mig"})), "File descriptor named 'mig' not found",
           "closefd twice")
    tap.eq(d.nfds(), base, "getfd/closefd leak nothing")

    # -- a RAM block backed by an fdset ---------------------------------------------
    fd = op(d, "backing.ram", os.O_RDWR)
    os.ftruncate(fd, 1 << 20)
    r = add(c, [fd], {"fdset-id": 5})
    tap.eq(c.execute("object-add", {"qom-type": "memory-backend-file", "id": "fromset",
                                    "size": 1 << 20, "mem-path": "/dev/fdset/5", "share": True}),
           {"return": {}}, "object-add with mem-path=/dev/fdset/5")
    tap.ok(any(m["id"] == "fromset" for m in c.cmd("query-memdev")), "query-memdev lists it")
    c.cmd("object-del", {"id": "fromset"})
    c.cmd("remove-fd", {"fdset-id": 5})
    tap.eq(d.nfds(), base, "object-del and remove-fd release the backing")

    # -- a client vanishing with descriptors in flight -----------------------------
    s = socket.socket(socket.AF_UNIX)
    s.connect(d.sock)
    fds = [op(d, "img", os.O_RDONLY) for _ in range(3)]
    socket.send_fds(s, [b'{"execute": "qmp_capabilities"}\n{"execute": "add-'], fds)
    for fd in fds:
        os.close(fd)
    s.close()
    tap.eq(d.settle_nfds(base), base, "client gone mid-message with fds queued: all closed")

    # -- the fdset rules of a save and a restore -----------------------------------
    c.cmd("migrate-set-capabilities", {"capabilities": [
        {"capability": "mapped-ram", "state": True}, {"capability": "multifd", "state": True},
        {"capability": "events", "state": True}]})
    dio = direct_ok(d)
    W, R, D = os.O_WRONLY, os.O_RDONLY, os.O_DIRECT

    def case(name, dio_on, flags, cmd, qemu_text, rule):
        if any(isinstance(f, int) and f & D for f in flags) and not dio:
            tap.skip("O_DIRECT unsupported here")
            tap.skip("O_DIRECT unsupported here")
            return
        c.cmd("migrate-set-parameters", {"direct-io": dio_on})
        fds = []
        for f in flags:
            if f == "dup":
                fds.append(os.dup(fds[-1]))
            else:
                fds.append(op(d, "rules.img", f))
        for fd in fds:
            c.execute("add-fd", {"fdset-id": 9}, fds=[fd])
            os.close(fd)
        e = migration_error(c, cmd, "file:/dev/fdset/9")
        tap.like(e, qemu_text, "%s: QEMU's error" % name)
        tap.like(e, rule, "%s: names the broken rule" % name)
        c.cmd("remove-fd", {"fdset-id": 9})

    case("save, direct-io, one plain fd", True, [W], "migrate",
         "Failed to find file descriptor with matching flags=0x4001", "holds one descriptor")
    case("save, direct-io, one O_DIRECT fd", True, [W | D], "migrate",
         "Failed to find file descriptor with matching flags=0x41", "holds one descriptor")
    case("save, direct-io, two dups", True, [W, "dup"], "migrate",
         "matching flags=0x4001", "dups of one open file")
    case("save, direct-io, both O_DIRECT", True, [W | D, W | D], "migrate",
         "matching flags=0x41", "every descriptor has O_DIRECT")
    case("save, direct-io, no O_DIRECT", True, [W, W], "migrate",
         "matching flags=0x4001", "no descriptor with O_DIRECT")
    case("save, direct-io, O_RDWR fds", True, [os.O_RDWR, os.O_RDWR | D], "migrate",
         "matching flags=0x41", "O_RDWR does not match")
    case("save, read-only fd", False, [R], "migrate",
         "matching flags=0x41", "saving needs descriptors opened O_WRONLY")
    case("save, only an O_DIRECT fd without direct-io", False, [W | D], "migrate",
         "matching flags=0x41", "without direct-io")
    case("restore, write-only fds", False, [W], "migrate-incoming",
         "matching flags=0x0", "restoring needs descriptors opened O_RDONLY")
    case("restore, direct-io, one plain fd", True, [R], "migrate-incoming",
         "matching flags=0x4000", "holds one descriptor")
    c.cmd("migrate-set-parameters", {"direct-io": False})
    e = migration_error(c, "migrate", "file:/dev/fdset/42")
    tap.eq(e, "Failed to find fdset /dev/fdset/42", "save to a missing fdset")

    # the rules satisfied: a save through an fdset completes
    if dio:
        c.cmd("migrate-set-parameters", {"direct-io": True, "multifd-channels": 3})
        for f in (W, W | D):
            c.execute("add-fd", {"fdset-id": 4, "opaque": "ok"}, fds=[op(d, "good.img", f)])
        r = c.execute("migrate", {"uri": "file:/dev/fdset/4"})
        q = c.wait_migration()
        tap.ok(r == {"return": {}} and q["status"] == "completed" and q.get("x-direct-io"),
               "save through an fdset with direct-io completes", json.dumps(q))
    else:
        tap.skip("O_DIRECT unsupported here")
    # the job keeps its own dups: the set can go while nothing runs
    c.execute("remove-fd", {"fdset-id": 4})
    c.close()
    # the engine keeps its last job (for query-migrate), and with it the
    # job's status-notification pipe: that pair is expected, nothing else
    d.settle_nfds(idle + 2)
    extra = {n: t for n, t in d.fds().items() if idle_fds.get(n) != t}
    tap.ok(len(extra) <= 2 and len(set(extra.values())) <= 1 and
           all(t.startswith("pipe:") for t in extra.values()),
           "after all of it the daemon holds what it started with (plus the last job's pipe)",
           "extra: %r" % extra)


if __name__ == "__main__":
    raise SystemExit(main())
