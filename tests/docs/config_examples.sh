#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The shipped example configs pass each daemon's --check, and bad ones are
# refused with the file, the line and the problem.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
FAILED=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { echo "  ok   $*"; }
fail() { echo "  FAIL $*"; FAILED=1; }
expect_line_error() { # DESC PATTERN CMD...
	local desc=$1 pat=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		fail "$desc: accepted"
	elif echo "$out" | grep -q -- "$pat"; then
		ok "$desc"
	else
		fail "$desc: $out"
	fi
}

out=$("$BUILD/bpfcast-agent" --check -c dist/agent.conf.example 2>&1) &&
	ok "dist/agent.conf.example passes bpfcast-agent --check" || fail "agent example: $out"

# The manager's example names TLS files and a key: make them, point it there.
tools/certs "$tmp/tls" --manager 198.18.0.2 >/dev/null
"$BUILD/bpfcastctl" key create "$tmp/join.key"
sed "s|/etc/bpfcast/|$tmp/|g; s|/var/lib/bpfcast/|$tmp/|g" dist/manager.conf.example >"$tmp/m.conf"
out=$("$BUILD/bpfcast-manager" --check -c "$tmp/m.conf" 2>&1) &&
	ok "dist/manager.conf.example passes bpfcast-manager --check" || fail "manager example: $out"

printf 'listen 198.18.0.2:7400\ndb %s/x.db\nlisten 198.18.0.2:7401\n' "$tmp" >"$tmp/bad1.conf"
expect_line_error "manager: a setting given twice names both lines" "line 3: 'listen' given twice (line 1)" \
	"$BUILD/bpfcast-manager" --check -c "$tmp/bad1.conf"
printf 'listen 198.18.0.2:7400\nlisen 198.18.0.2:7401\n' >"$tmp/bad2.conf"
expect_line_error "manager: an unknown setting is named with its line" "line 2: unknown directive 'lisen'" \
	"$BUILD/bpfcast-manager" --check -c "$tmp/bad2.conf"
printf '# comment\nhttp nowhere\n' >"$tmp/bad3.conf"
expect_line_error "manager: a bad value names the setting and line" "line 2: the 'http' setting is not valid" \
	"$BUILD/bpfcast-manager" --check -c "$tmp/bad3.conf"
printf 'insecure yes\n' >"$tmp/bad4.conf"
expect_line_error "manager: a flag with a value is refused" "line 1: 'insecure' takes no value" \
	"$BUILD/bpfcast-manager" --check -c "$tmp/bad4.conf"
printf 'interface eth0\nstream s ingest 198.18.0.1:5000 max-subs many\n' >"$tmp/bad5.conf"
expect_line_error "agent: a bad stream quota names the line" "line 2: bad max-subs 'many'" \
	"$BUILD/bpfcast-agent" --check -c "$tmp/bad5.conf"
printf 'interface eth0\nconsent-ttl 0\n' >"$tmp/bad6.conf"
expect_line_error "agent: a bad setting value names the line" "line 2: the 'consent-ttl' setting is not valid" \
	"$BUILD/bpfcast-agent" --check -c "$tmp/bad6.conf"
printf 'interface eth0\ndetach\n' >"$tmp/bad7.conf"
expect_line_error "agent: command-line-only options are refused in a file" "line 2: 'detach' belongs on the command line" \
	"$BUILD/bpfcast-agent" --check -c "$tmp/bad7.conf"
[ $FAILED = 0 ] && echo "PASS: docs/config_examples" || { echo "FAIL: docs/config_examples"; exit 1; }
