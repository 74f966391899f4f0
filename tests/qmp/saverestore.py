# SPDX-License-Identifier: MIT
"""A full save and restore through QMP alone, the way a management layer
drives QEMU: RAM blocks defined with object-add, the image opened by the
client and passed with add-fd (one buffered and one O_DIRECT descriptor),
mapped-ram + multifd + direct-io, progress through query-migrate and
MIGRATION events, a cancel in the middle, a second save, then a restore in
a fresh daemon (-incoming defer) into new backends, compared byte for
byte with the source."""
import filecmp
import json
import os
import subprocess
import time

from daemon import MRENGINE, Daemon, Tap

tap = Tap()
MIB = 1 << 20
SIZE = 64 * MIB

STATS_KEYS = {"total", "postcopy-requests", "dirty-sync-count", "multifd-bytes",
              "pages-per-second", "downtime-bytes", "page-size", "remaining", "postcopy-bytes",
              "mbps", "transferred", "dirty-sync-missed-zero-copy", "precopy-bytes", "duplicate",
              "dirty-pages-rate", "normal-bytes", "normal"}


def direct_ok(path):
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o600)
        os.close(fd)
        os.unlink(path)
        return True
    except OSError:
        return False


def statuses(c, after=0):
    return [e["data"]["status"] for e in c.events[after:] if e["event"] == "MIGRATION"]


def wait_status(c, want, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(e["event"] == "MIGRATION" and e["data"]["status"] in want for e in c.events):
            return True
        c.execute("query-status")  # collects events as a side effect
        time.sleep(0.01)
    return False


def shape(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return {k: shape(x) for k, x in v.items()}
    return type(v).__name__


def main():
    src = Daemon()
    dio = direct_ok(src.path("probe"))
    subprocess.run([MRENGINE, "generate", "--size", "64M", "--seed", "11", src.path("src.ram")],
                   check=True)
    try:
        save(src, dio)
    finally:
        tap.eq(src.stop(), 0, "source daemon exits 0")
    return tap.done()


def save(src, dio):
    c = src.client()
    img = src.path("vm.img")
    c.cmd("object-add", {"qom-type": "memory-backend-file", "id": "pc.ram", "size": SIZE,
                         "mem-path": src.path("src.ram"), "share": True})
    c.cmd("object-add", {"qom-type": "memory-backend-memfd", "id": "rom", "size": 2 * MIB})
    c.cmd("migrate-set-capabilities", {"capabilities": [
        {"capability": "events", "state": True}, {"capability": "mapped-ram", "state": True},
        {"capability": "multifd", "state": True}]})
    # slow enough to be caught in the middle
    c.cmd("migrate-set-parameters", {"multifd-channels": 4, "direct-io": dio,
                                     "max-bandwidth": 16 * MIB})
    fds = [os.open(img, os.O_WRONLY | os.O_CREAT, 0o600)]
    if dio:
        fds.append(os.open(img, os.O_WRONLY | os.O_DIRECT))
    for fd in fds:
        c.cmd("add-fd", {"fdset-id": 1}, fds=[fd])
        os.close(fd)

    # -- first save, cancelled in the middle ------------------------------------
    r = c.execute("migrate", {"uri": "file:/dev/fdset/1"})
    tap.eq(r, {"return": {}}, "migrate returns at once")
    tap.ok(wait_status(c, {"active"}), "MIGRATION active")
    passes = [e["data"] for e in c.events if e["event"] == "MIGRATION_PASS"]
    tap.eq(passes, [{"pass": 1}], "MIGRATION_PASS {pass: 1} when the save goes active")
    time.sleep(0.3)
    q = c.cmd("query-migrate")
    tap.eq(q.get("status"), "active", "query-migrate: active")
    tap.eq(set(k for k in q if not k.startswith("x-")),
           {"expected-downtime", "status", "setup-time", "total-time", "ram"},
           "query-migrate while active: QEMU's members")
    tap.eq(set(q.get("ram", {})), STATS_KEYS, "ram: QEMU's MigrationStats members")
    ram = q["ram"]
    tap.ok(ram["total"] == SIZE + 2 * MIB and ram["page-size"] == 4096 and
           0 < ram["remaining"] <= ram["total"] and ram["transferred"] > 0 and
           isinstance(ram["mbps"], (int, float)),
           "ram: total, page size, progress", json.dumps(ram))
    tap.ok(q.get("x-channels") == 4 and q.get("x-direct-io") is dio,
           "mrengine's x- members: channels and direct-io in use", json.dumps(q))
    tap.eq(c.execute("migrate", {"uri": "file:" + src.path("other.img")}).get("error", {}).get("desc"),
           "There's a migration process in progress", "a second migrate is refused")
    tap.eq(c.execute("migrate-set-capabilities", {"capabilities": [
        {"capability": "events", "state": False}]}).get("error", {}).get("desc"),
        "There's a migration process in progress", "capabilities cannot change meanwhile")
    tap.like(c.execute("object-del", {"id": "rom"}).get("error", {}).get("desc", ""),
             "migration process in progress", "nor can the RAM blocks")
    t0 = time.time()
    tap.eq(c.execute("migrate_cancel"), {"return": {}}, "migrate_cancel")
    tap.ok(time.time() - t0 < 1, "migrate_cancel returns at once")
    tap.ok(wait_status(c, {"cancelled"}), "MIGRATION cancelled")
    tap.eq(statuses(c), ["setup", "active", "cancelling", "cancelled"],
           "status sequence of a cancelled save")
    tap.eq(c.cmd("query-migrate"), {"status": "cancelled"}, "query-migrate: cancelled")

    # -- second save, to the end, while a client comes and goes ------------------
    c.events.clear()
    c.cmd("migrate-set-parameters", {"max-bandwidth": 1 << 40})
    tap.eq(c.execute("migrate", {"uri": "file:/dev/fdset/1"}), {"return": {}}, "save again")
    other = src.client()
    other.sock.sendall(b'{"execute": "query-migrate"}\n{"execute": "query-')
    other.close()
    q = c.wait_migration()
    tap.eq(q.get("status"), "completed", "the second save completes (a client vanished meanwhile)")
    tap.eq(set(k for k in q if not k.startswith("x-")),
           {"status", "setup-time", "downtime", "total-time", "ram"},
           "query-migrate when completed: QEMU's members")
    ram = q["ram"]
    tap.ok(ram["remaining"] == 0 and ram["normal"] * 4096 == ram["normal-bytes"] and
           (ram["normal"] + ram["duplicate"]) * 4096 == SIZE + 2 * MIB and
           ram["transferred"] >= ram["normal-bytes"],
           "completed: every page counted once, nothing remaining", json.dumps(ram))
    tap.eq(shape(q["total-time"]), "number", "total-time is a number (ms)")
    wait_status(c, {"completed"})
    tap.eq(statuses(c), ["setup", "active", "device", "completed"]
           if "device" in statuses(c) else ["setup", "active", "completed"],
           "status sequence of a save")
    tap.eq(c.cmd("query-status")["status"], "running", "the VM's run state is unchanged")

    # -- max-bandwidth changes a running save ---------------------------------------
    c.cmd("migrate-set-parameters", {"max-bandwidth": 4 * MIB})
    tap.eq(c.execute("migrate", {"uri": "file:" + src.path("throttled.img")}), {"return": {}},
           "a save capped at 4 MiB/s (16 s for this VM)")
    time.sleep(0.2)
    t0 = time.time()
    c.cmd("migrate-set-parameters", {"max-bandwidth": 1 << 40})
    q = c.wait_migration()
    tap.ok(q["status"] == "completed" and time.time() - t0 < 8,
           "raising max-bandwidth mid-save lets it finish early (%.1f s)" % (time.time() - t0))
    c.cmd("remove-fd", {"fdset-id": 1})
    r = subprocess.run([MRENGINE, "verify", "-q", img], capture_output=True)
    tap.eq(r.returncode, 0, "the image verifies: %s" % r.stderr.decode().strip())
    c.close()

    # -- restore in a fresh daemon, the QEMU destination way ----------------------
    os.mkdir(src.path("dst"))
    dst = Daemon(["-incoming", "defer"], tmp=src.path("dst"))
    try:
        restore(dst, img, dio, src)
    finally:
        tap.eq(dst.stop(), 0, "destination daemon exits 0")


def restore(dst, img, dio, src):
    c = dst.client()
    tap.eq(c.cmd("query-status")["status"], "inmigrate", "-incoming defer: inmigrate")
    c.cmd("object-add", {"qom-type": "memory-backend-file", "id": "pc.ram", "size": SIZE,
                         "mem-path": dst.path("dst.ram"), "share": True})
    c.cmd("object-add", {"qom-type": "memory-backend-memfd", "id": "rom", "size": 2 * MIB})
    c.cmd("migrate-set-capabilities", {"capabilities": [
        {"capability": "events", "state": True}, {"capability": "mapped-ram", "state": True},
        {"capability": "multifd", "state": True}]})
    c.cmd("migrate-set-parameters", {"multifd-channels": 3, "direct-io": dio})
    fds = [os.open(img, os.O_RDONLY)]
    if dio:
        fds.append(os.open(img, os.O_RDONLY | os.O_DIRECT))
    for fd in fds:
        c.cmd("add-fd", {"fdset-id": 0}, fds=[fd])
        os.close(fd)
    tap.eq(c.execute("migrate-incoming", {"uri": "file:/dev/fdset/0"}), {"return": {}},
           "migrate-incoming returns at once")
    q = c.wait_migration()
    tap.eq(q, {"status": "completed"}, "restore completed (destination: status only, as QEMU)")
    wait_status(c, {"completed"})
    tap.eq(statuses(c), ["setup", "active", "completed"], "status sequence of a restore")
    tap.ok(not [e for e in c.events if e["event"] == "MIGRATION_PASS"],
           "no MIGRATION_PASS on the destination")
    tap.ok(filecmp.cmp(src.path("src.ram"), dst.path("dst.ram"), shallow=False),
           "restored RAM is byte-identical to the source")
    tap.eq(c.cmd("query-status")["status"], "running", "after the restore the VM runs again")
    # mrengine allows more restores, without -incoming defer
    c.events.clear()
    with open(dst.path("dst.ram"), "r+b") as f:
        f.write(b"\xff" * 4096)
    tap.eq(c.execute("migrate-incoming", {"uri": "file:" + img}), {"return": {}},
           "a second migrate-incoming (a plain path) is accepted")
    q = c.wait_migration()
    tap.ok(q.get("status") == "completed" and
           filecmp.cmp(src.path("src.ram"), dst.path("dst.ram"), shallow=False),
           "the second restore overwrites the block again", q)
    c.close()


if __name__ == "__main__":
    raise SystemExit(main())
