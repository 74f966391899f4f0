#!/bin/sh
# SPDX-License-Identifier: MIT
# manpage.sh: doc/mrengine.1 and the program's --help stay in sync.
#  - every command `mrengine --help` lists has a ".SS NAME" section in the
#    man page, and every other ".SS" under COMMANDS is a command;
#  - every option a command's --help prints (short and long) is documented
#    (as a .TP item) in its section, or in "VM options" / "Plan options"
#    (shared by several commands) when the section refers to them; every
#    option the section documents is in --help; every option of the shared
#    sections is an option of some command;
#  - the same for the daemon (`mrengine --qmp stdio --help`, section
#    DAEMON MODE) and for mrengine's own options (section OPTIONS);
#  - the page renders without groff warnings.
. "$srcdir/tests/lib.sh"

MAN="$srcdir/doc/mrengine.1"
M=$MRENGINE

# The man source with groff escapes for dashes and fonts removed.
sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\(lq//g; s/\\(rq//g' "$MAN" >"$TMP/man"

# section TITLE: the lines of ".SH TITLE" or ".SS TITLE" up to the next heading.
section() {
	awk -v t="$1" '
		/^\.S[HS] / { name = substr($0, 5); gsub(/"/, "", name); on = (name == t); next }
		on' "$TMP/man"
}

# The option column of --help output: lines starting with blanks and a dash,
# cut at the first run of two blanks; then every token starting with a dash.
# -h and --help of the commands are documented once, under OPTIONS.
help_opts() {
	sed -n 's/^  *\(-[^ ].*\)$/\1/p' | sed 's/  .*//' |
		grep -oE -- '(^|[ ,[|])--?[A-Za-z][A-Za-z0-9-]*' | sed 's/^[ ,[|]//' |
		{ if [ "$1" = all ]; then cat; else grep -vxE -- '-h|--help'; fi; } | sort -u
}

# Options documented by a section: the tag line after each .TP/.TQ.
tag_opts() {
	awk '/^\.T[PQ]$/ { getline; print }' |
		grep -oE -- '(^|[ ,[|])--?[A-Za-z][A-Za-z0-9-]*' | sed 's/^[ ,[|]//' | sort -u
}

# check_opts DESC HELPFILE all|cmd SECTION...: every option of --help is
# documented (a .TP/.TQ tag) in one of the SECTIONs, and every option the
# first SECTION documents is in --help.
check_opts() {
	local desc=$1 helpf=$2 which=$3 missing="" extra="" o
	shift 3
	: >"$TMP/alltags"
	for s in "$@"; do section "$s" | tag_opts >>"$TMP/alltags"; done
	section "$1" | tag_opts >"$TMP/tags"
	help_opts "$which" <"$helpf" >"$TMP/hopts"
	cat "$TMP/hopts" >>"$TMP/every"
	for o in $(cat "$TMP/hopts"); do
		grep -qx -- "$o" "$TMP/alltags" || missing="$missing $o"
	done
	for o in $(cat "$TMP/tags"); do
		grep -qx -- "$o" "$TMP/hopts" || extra="$extra $o"
	done
	if [ -z "$missing" ] && [ -s "$TMP/hopts" ]; then
		ok "$desc: every option of --help is documented in the man page"
	else
		not_ok "$desc: every option of --help is documented in the man page"
		diag "missing:${missing:- (no options found in --help)}"
	fi
	if [ -z "$extra" ]; then
		ok "$desc: every option the man page documents is in --help"
	else
		not_ok "$desc: every option the man page documents is in --help"
		diag "not in --help:$extra"
	fi
}

: >"$TMP/every"
"$M" --help >"$TMP/main.help" 2>&1
cmds=$(sed -n '/^Commands:/,/^$/p' "$TMP/main.help" | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
# the .SS titles between ".SH COMMANDS" and the next .SH, but the shared ones
man_cmds=$(awk '/^\.SH / { on = ($0 ~ /^\.SH COMMANDS/); next } on && /^\.SS / { print substr($0, 5) }' "$TMP/man" |
	tr -d '"' | grep -vxE 'VM options|Plan options')
[ -n "$cmds" ] || { not_ok "mrengine --help lists commands"; done_testing; }

for c in $cmds; do
	if echo "$man_cmds" | grep -qx -- "$c"; then ok "command $c has a section in the man page"
	else not_ok "command $c has a section in the man page"; fi
done
for c in $man_cmds; do
	if echo "$cmds" | grep -qx -- "$c"; then ok "man page section $c is a command of mrengine --help"
	else not_ok "man page section $c is a command of mrengine --help"; fi
done

# A command's options may be described in the shared sections "VM options"
# and "Plan options" when its own section refers to them by name.
for c in $cmds; do
	"$M" "$c" --help >"$TMP/$c.help" 2>&1
	set -- "$c"
	for s in "VM options" "Plan options"; do
		section "$c" | grep -q "$s" && set -- "$@" "$s"
	done
	check_opts "$c" "$TMP/$c.help" cmd "$@"
done
"$M" --qmp stdio --help >"$TMP/daemon.help" 2>&1 </dev/null
check_opts "daemon" "$TMP/daemon.help" cmd "DAEMON MODE" "VM options"
check_opts "mrengine" "$TMP/main.help" all "OPTIONS"
for s in "VM options" "Plan options"; do
	extra=""
	for o in $(section "$s" | tag_opts); do
		grep -qx -- "$o" "$TMP/every" || extra="$extra $o"
	done
	if [ -z "$extra" ]; then ok "$s: every option documented there is an option of some command"
	else not_ok "$s: every option documented there is an option of some command"; diag "unknown:$extra"; fi
done

if command -v groff >/dev/null 2>&1; then
	if groff -man -ww -z "$MAN" >"$TMP/groff.out" 2>&1 && [ ! -s "$TMP/groff.out" ]; then
		ok "the man page renders without groff warnings"
	else
		not_ok "the man page renders without groff warnings"
		sed 's/^/#   /' "$TMP/groff.out"
	fi
else
	ok "the man page renders without groff warnings # SKIP groff not installed"
fi
plan "$_tap_n"
done_testing
