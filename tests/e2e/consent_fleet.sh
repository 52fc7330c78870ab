#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Consent across a fleet: devices get tokens from the manager, which names the
# relay to JOIN (an offload peer past the threshold). When a peer is released,
# its device moves back to the origin with its consent: no re-join, no packet
# lost, and its keepalives follow the media to the new relay.
#
#   src 198.18.62.1 -> ra (origin) 198.18.62.11 -> rb 198.18.62.12 ; devices 198.18.62.10x
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
require_root "e2e/consent_fleet"

P=bccf
LAN=$P-lan MGR=$P-mgr SRC=$P-src DEVNS=$P-dev
MGR_ADDR=198.18.62.2:7400
MANAGER=$BUILD/bpfcast-manager
JOIN=$BUILD/bpfcast-join
TTL=3

set -e
lan $LAN
for n in $MGR $SRC $DEVNS $P-ra $P-rb; do netns $n; done
attach $SRC $P-s0 198.18.62.1/24
attach $MGR $P-m0 198.18.62.2/24
attach $P-ra $P-a0 198.18.62.11/24
attach $P-rb $P-b0 198.18.62.12/24
attach $DEVNS $P-d0 198.18.62.101/24 198.18.62.102/24 198.18.62.103/24 198.18.62.104/24
set +e

T=$_tmp/tls
tools/certs "$T" --manager 198.18.62.2 --agent ra --agent rb --admin ops >/dev/null ||
	fail "tools/certs"
"$CTL" key create "$_tmp/join.key" || fail "key create"
bg ip netns exec $MGR "$MANAGER" --listen $MGR_ADDR --db "$_tmp/m.db" --join-key "$_tmp/join.key" \
	--ca "$T/ca.crt" --cert "$T/manager.crt" --key "$T/manager.key" 2>"$_tmp/mgr.log"
relay() { # ID IFACE
	start_agent $P-"$1" /sys/fs/bpf/$P-$1 "$_tmp/$1.sock" "$_tmp/$1.log" -i "$2" \
		--manager $MGR_ADDR --id "$1" --ca "$T/ca.crt" --cert "$T/agent-$1.crt" \
		--key "$T/agent-$1.key" --join-key "$_tmp/join.key" --consent-ttl $TTL
}
relay ra $P-a0 && relay rb $P-b0 || { fail "relays"; finish e2e/consent_fleet; }
ctl() { ip netns exec $MGR "$CTL" --manager $MGR_ADDR --ca "$T/ca.crt" \
	--cert "$T/admin-ops.crt" --key "$T/admin-ops.key" "$@"; }
for i in $(seq 50); do
	[ "$(ctl relays 2>/dev/null | grep -c ' yes ')" = 2 ] && break
	sleep 0.2
done
# Three devices fill ra; the fourth goes to rb, which stays below cease_below
# until ra has room again.
ctl stream add tv --origin ra --ingest 198.18.62.11:5000 --source 198.18.62.1 &&
	ctl thresholds tv --offload-above 3 --cease-below 2 --hold 1 || fail "stream"
ctl sub add tv 198.18.62.101:6000 --static && ctl sub add tv 198.18.62.102:6000 --static &&
	ctl sub add tv 198.18.62.104:6000 --static || fail "static devices"

# 40 s of stream at 300 packets/s; every payload carries its sequence number.
bg ip netns exec $SRC "$UDPGEN" --dst 198.18.62.11:5000 --count 12000 --rate 300 --size 1316

# A token from the manager: past the threshold it names the peer rb.
ctl token tv 198.18.62.103:6000 --ttl 600 >"$_tmp/token.txt" || fail "token"
TOKEN=$(awk '/^token/ {print $2}' "$_tmp/token.txt")
JOIN_AT=$(awk '/^join/ {print $2}' "$_tmp/token.txt")
grep -q "^relay   rb" "$_tmp/token.txt" && [ "$JOIN_AT" = 198.18.62.12:5400 ] &&
	ok "the manager's token sends the device to the offload peer rb ($JOIN_AT)" ||
	fail "token answer: $(cat "$_tmp/token.txt")"

bg ip netns exec $DEVNS "$JOIN" --relay "$JOIN_AT" --token "$TOKEN" \
	--listen 198.18.62.103:6000 --keepalive-ms 1000 --duration 24 --stdout --stats -v \
	>"$_tmp/d3.bin" 2>"$_tmp/d3.err"
D3=$LAST_PID
sleep 4
grep -q "on rb" <(ctl status) && ok "the joined device is served by rb" ||
	fail "device not on rb: $(ctl status)"
# rb falls below cease_below: released, its device goes back to ra with its consent.
ctl sub del tv 198.18.62.104:6000 || fail "sub del"
for i in $(seq 60); do
	ctl status | grep -q "198.18.62.103:6000 .* on ra" && break
	sleep 0.25
done
ctl status | grep -q "198.18.62.103:6000 .* on ra" &&
	ok "rb released: the device moved back to the origin ra" || fail "no release: $(ctl status)"
# Stay past two consent lifetimes on ra: only keepalives that reach ra keep it.
wait "$D3"
python3 - "$_tmp/d3.bin" <<'EOF' >"$_tmp/d3.check"
import sys
data = open(sys.argv[1], "rb").read()
seqs = [int.from_bytes(data[i:i + 8], "big") for i in range(0, len(data) - 1315, 1316)]
missing = sum(b - a - 1 for a, b in zip(seqs, seqs[1:]) if b > a + 1)
dups = sum(1 for a, b in zip(seqs, seqs[1:]) if b <= a)
print(len(seqs), seqs[0] if seqs else -1, seqs[-1] if seqs else -1, missing, dups,
      len(data) % 1316)
EOF
read -r n first last missing dups rest <"$_tmp/d3.check"
[ "$n" -gt 5000 ] && [ "$missing" = 0 ] && [ "$rest" = 0 ] &&
	ok "the device received $n packets ($first..$last), none missing across the move ($dups duplicates)" ||
	fail "device stream: n=$n first=$first last=$last missing=$missing dups=$dups; $(tail -5 "$_tmp/d3.err")"
grep -q "joining again" "$_tmp/d3.err" && fail "the device had to join again" ||
	ok "no re-join was needed: the new relay inherited the consent"
finish e2e/consent_fleet
