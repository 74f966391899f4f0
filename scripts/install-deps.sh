#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs everything mrengine needs to build and test on Debian 12:
# the build tools and libraries, the tools the tests use, and QEMU 10 from
# bookworm-backports. The backports source is derived from the system's own
# Debian source (its first stanza), so no host name is written here.
# A no-op when everything is already present.
set -eu

PKGS="build-essential autoconf automake pkg-config
liblua5.4-dev liburing-dev libcjson-dev libzstd-dev liblz4-dev
python3 zstd lz4 fio socat util-linux e2fsprogs clang libclang-rt-14-dev
golang-go golang-github-digitalocean-go-qemu-dev"
QEMU_PKG=qemu-system-x86
QEMU_MIN_MAJOR=10
BACKPORTS_LIST=/etc/apt/sources.list.d/mrengine-backports.sources

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing_pkgs() {
	for p in $PKGS; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
	done
}

qemu_ok() {
	command -v qemu-system-x86_64 >/dev/null 2>&1 || return 1
	v=$(qemu-system-x86_64 --version | sed -n 's/^QEMU emulator version \([0-9]*\)\..*/\1/p')
	[ -n "$v" ] && [ "$v" -ge "$QEMU_MIN_MAJOR" ]
}

need=$(missing_pkgs | tr '\n' ' ')
if [ -z "$need" ] && qemu_ok; then
	echo "install-deps: everything is already installed"
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
updated=
apt_update() { [ -n "$updated" ] || { as_root apt-get update -q; updated=1; }; }

if [ -n "$need" ]; then
	echo "install-deps: installing $need"
	apt_update
	# shellcheck disable=SC2086
	as_root apt-get install -y -q --no-install-recommends $need
fi

has_backports() {
	grep -rqsE '^Suites:.*bookworm-backports|^deb .* bookworm-backports' \
		/etc/apt/sources.list /etc/apt/sources.list.d/
}

# Write a backports source derived from the system's own Debian source.
add_backports() {
	tmp=$(mktemp)
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		# deb822: the first stanza, comments dropped, suite replaced
		awk 'BEGIN { RS = ""; ORS = "\n" } NR == 1 { print; exit }' \
			/etc/apt/sources.list.d/debian.sources |
			grep -v '^#' | sed 's/^Suites:.*/Suites: bookworm-backports/' >"$tmp"
	elif [ -f /etc/apt/sources.list ]; then
		# one-line format: the first "deb" line, suite replaced
		line=$(grep -m1 '^deb ' /etc/apt/sources.list)
		uri=$(echo "$line" | sed 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) .*/\2/')
		printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\n' "$uri" >"$tmp"
	else
		rm -f "$tmp"
		echo "install-deps: no Debian apt source found to derive bookworm-backports from" >&2
		return 1
	fi
	as_root install -m 0644 "$tmp" "$BACKPORTS_LIST"
	rm -f "$tmp"
	updated=
}

if ! qemu_ok; then
	has_backports || add_backports
	apt_update
	echo "install-deps: installing $QEMU_PKG from bookworm-backports"
	as_root apt-get install -y -q --no-install-recommends -t bookworm-backports "$QEMU_PKG"
	qemu_ok || { echo "install-deps: QEMU >= $QEMU_MIN_MAJOR is still not available" >&2; exit 1; }
fi
echo "install-deps: done"
