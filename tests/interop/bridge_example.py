# SPDX-License-Identifier: MIT
"""Smoke test of examples/shared-memory/run.sh: the documented shared-memory
offload, end to end with QEMU 10 (skips without it)."""
import os
import subprocess
import sys

import qemu
from taptest import TAP


def main():
    t = TAP()
    try:
        q = qemu.find_qemu()
    except qemu.Skip as e:
        t.skip_all(str(e))
    script = os.path.join(os.environ.get("srcdir", "."), "examples", "shared-memory", "run.sh")
    env = dict(os.environ, QEMU=q, MEM="64M",
               MRENGINE=os.environ.get("MRENGINE") or os.path.abspath(os.path.join("src", "mrengine")))
    r = subprocess.run(["sh", script], env=env, capture_output=True, text=True, timeout=300)
    t.ok(r.returncode == 0, "examples/shared-memory/run.sh exits 0", r.stdout + r.stderr)
    t.eq(r.stdout.count("guest RAM equal"), 2,
         "the example's two loads (plain QEMU, shared memory + emit) give the guest's RAM back")
    t.ok("capabilities:   mapped-ram" in r.stdout, "the example's image needs no x-ignore-shared")
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
