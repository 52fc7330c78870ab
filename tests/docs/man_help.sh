#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Every option a program's --help lists is documented in its man page, and
# every option its man page defines is one the program takes.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
FAILED=0
ok() { echo "  ok   $*"; }
fail() { echo "  FAIL $*"; FAILED=1; }

check() { # PROGRAM MANPAGE.scd
	local prog=$1 page=$2 help opt missing=() stale=()
	help=$("$BUILD/$prog" --help 2>&1) || { fail "$prog --help failed"; return; }
	for opt in $(echo "$help" | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u); do
		grep -qE -- "(^|[^a-z0-9-])$opt([^a-z0-9-]|\$)" "$page" || missing+=("$opt")
	done
	# Option definitions in the page: lines that start with *--option*.
	for opt in $(grep -oE -- '^\*(-[a-z], \*)?--[a-z][a-z0-9-]+' "$page" |
		     grep -oE -- '--[a-z][a-z0-9-]+' | sort -u); do
		echo "$help" | grep -qE -- "(^|[^a-z0-9-])$opt([^a-z0-9-]|\$)" || stale+=("$opt")
	done
	[ ${#missing[@]} -eq 0 ] && ok "$prog: every option of --help is in $page" ||
		fail "$prog: not in $page: ${missing[*]}"
	[ ${#stale[@]} -eq 0 ] && ok "$prog: every option $page defines is in --help" ||
		fail "$prog: in $page but not in --help: ${stale[*]}"
}

check bpfcast-agent man/bpfcast-agent.8.scd
check bpfcast-manager man/bpfcast-manager.8.scd
check bpfcastctl man/bpfcastctl.8.scd
check bpfcast-join man/bpfcast-join.1.scd
# bpfcastctl's commands too.
for cmd in "stream add" "stream del" "sub add" "sub del" token "key create" status thresholds relays; do
	"$BUILD/bpfcastctl" --help | grep -qF "  $cmd" && grep -qF "*$cmd*" man/bpfcastctl.8.scd ||
		fail "bpfcastctl command '$cmd' is not in both --help and the man page"
done
[ $FAILED = 0 ] && ok "bpfcastctl: every command is in --help and the man page"
for page in man/*.scd; do
	scdoc <"$page" >/dev/null || fail "$page does not build with scdoc"
done
[ $FAILED = 0 ] && echo "PASS: docs/man_help" || { echo "FAIL: docs/man_help"; exit 1; }
