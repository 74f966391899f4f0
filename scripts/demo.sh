#!/bin/sh
# SPDX-License-Identifier: MIT
# The README's main command: installs what is missing, builds mrengine, and
# runs its main job for real: a VM of SIZE (default 1G) filled with a
# realistic page mix is saved to a mapped-ram image on this machine's disk,
# restored into a fresh VM, compared byte for byte, and the figures printed.
#   scripts/demo.sh [SIZE]
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
[ -x configure ] || ./autogen.sh
[ -f Makefile ] || ./configure
make -j2
exec ./src/mrengine demo --size "${1:-1G}"
