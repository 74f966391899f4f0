#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A full disk through QMP: on a 24 MiB tmpfs, a save of 32 MiB of random
pages fails with the space problem named (in the reply or in
query-migrate's error-desc), leaves no file behind, and the daemon then
serves a save that fits. A finished job's memory backend can be deleted
at once (its blocks are no longer pinned)."""
import os
import subprocess
import sys
import tempfile

from daemon import MRENGINE, Daemon, Tap, skip_all

MIB = 1 << 20
tap = Tap()


def fails_for_space(c, uri):
    """migrate to @uri; True if it failed for lack of space."""
    c.events.clear()
    r = c.execute("migrate", {"uri": uri})
    if "error" in r:
        desc = r["error"]["desc"]
    else:
        q = c.wait_migration()
        if q.get("status") != "failed":
            tap.ok(False, "the save that cannot fit fails", repr(q))
            return False
        desc = q.get("error-desc", "")
    return tap.ok("space" in desc, "the save that cannot fit fails, naming the problem (%s)" % desc[:90])


def main():
    mnt = tempfile.mkdtemp(prefix="mre-qmpfull.")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mnt], capture_output=True)
    if r.returncode:
        os.rmdir(mnt)
        skip_all("cannot mount a size-limited tmpfs here")
    d = Daemon()
    try:
        subprocess.run([MRENGINE, "generate", "--size", "32M", "--mix", "0,0,100", "--seed", "9",
                        d.path("big.ram")], check=True)
        subprocess.run([MRENGINE, "generate", "--size", "8M", "--seed", "10", d.path("small.ram")], check=True)
        c = d.client()
        c.cmd("migrate-set-capabilities", {"capabilities": [
            {"capability": "events", "state": True}, {"capability": "mapped-ram", "state": True}]})
        c.cmd("migrate-set-parameters", {"max-bandwidth": 1 << 40})
        c.cmd("object-add", {"qom-type": "memory-backend-file", "id": "pc.ram", "size": 32 * MIB,
                             "mem-path": d.path("big.ram")})
        fails_for_space(c, "file:%s/vm.img" % mnt)
        tap.eq(os.listdir(mnt), [], "no image and no temporary file left on the full disk")
        tap.eq(c.cmd("query-status")["status"], "running", "the daemon still serves")

        tap.eq(c.execute("object-del", {"id": "pc.ram"}), {"return": {}},
               "the failed save's memory backend can be deleted")
        c.cmd("object-add", {"qom-type": "memory-backend-file", "id": "pc.ram", "size": 8 * MIB,
                             "mem-path": d.path("small.ram")})
        c.events.clear()
        tap.eq(c.execute("migrate", {"uri": "file:%s/vm.img" % mnt}), {"return": {}}, "the next save starts")
        tap.eq(c.wait_migration().get("status"), "completed", "... and completes on the same disk")
        v = subprocess.run([MRENGINE, "verify", "-q", "%s/vm.img" % mnt], capture_output=True, text=True)
        tap.eq((v.returncode, v.stderr), (0, ""), "... and its image verifies")
        tap.eq(c.execute("object-del", {"id": "pc.ram"}), {"return": {}},
               "after it, its memory backend can be deleted at once")
        c.close()
    finally:
        tap.eq(d.stop(), 0, "the daemon exits 0")
        for _ in range(10):
            if subprocess.run(["umount", mnt], capture_output=True).returncode == 0:
                break
            subprocess.run(["sleep", "0.5"])
        os.rmdir(mnt)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
