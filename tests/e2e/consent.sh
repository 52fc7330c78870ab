#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Subscriber consent, end to end: a device that completes the JOIN handshake
# receives; a spoofed JOIN never causes one media packet to its victim; a
# device that stops its keepalives receives nothing after its deadline; JOIN
# floods die in XDP; quotas refuse with a reason.
#
#   gen 198.18.80.1 --- 198.18.80.2 [relay] 198.18.81.1 --- dev 198.18.81.2 (device)
#                                                               198.18.81.3 (victim)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
require_root "e2e/consent"

P=bccons
RELAY=$P-relay
GEN=$P-gen
DEV=$P-dev
PIN=/sys/fs/bpf/$P
SOCK=$_tmp/agent.sock
LOG=$_tmp/agent.log
JOIN=$BUILD/bpfcast-join
TTL=2

netns $RELAY
netns $GEN
netns $DEV
veth $GEN $P-g $RELAY $P-in
veth $RELAY $P-out $DEV $P-d
addr $GEN $P-g 198.18.80.1/24
addr $RELAY $P-in 198.18.80.2/24
addr $RELAY $P-out 198.18.81.1/24
addr $DEV $P-d 198.18.81.2/24 198.18.81.3/24
ip -n $GEN route add 198.18.81.0/24 via 198.18.80.2
# Worst case for spoofing: the relay's network does not filter forged sources.
ip netns exec $RELAY sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.$P-in.rp_filter=0

C() { "$CTL" --agent "$SOCK" "$@"; }
status_json() { C status --json; }
# jq-free JSON reads: python3 is in tools/deps.
jpath() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

C key create "$_tmp/join.key" || fail "key create"
[ "$(stat -c %a "$_tmp/join.key")" = 600 ] && ok "the token key is created with mode 0600" ||
	fail "key mode $(stat -c %a "$_tmp/join.key")"
chmod 644 "$_tmp/join.key"
expect_error "a key readable by others is refused" "readable by others" \
	nsenter --net=/run/netns/$RELAY "$AGENT" -i $P-in --join-key "$_tmp/join.key" \
	--pin-dir $PIN --socket "$SOCK"
chmod 600 "$_tmp/join.key"

start_agent $RELAY $PIN "$SOCK" "$LOG" -i $P-in --join-key "$_tmp/join.key" \
	--consent-ttl $TTL --join-rate 5 || { fail "agent start"; finish e2e/consent; }
C stream add s --ingest 198.18.80.2:5000 --source 198.18.80.1 || fail "stream add"
[ "$(stat -c %a "$SOCK")" = 660 ] && ok "control socket is mode 0660" || fail "socket mode"
[ "$(stat -c %a $PIN)" = 700 ] && ok "pin directory is mode 0700" || fail "pin dir mode"

# The stream runs for the whole test: 300 packets/s for at most 40 s.
bg ip netns exec $GEN "$UDPGEN" --dst 198.18.80.2:5000 --count 12000 --rate 300 --size 1316
GEN_PID=$LAST_PID

# 1. A device with a token joins and receives.
TOKEN=$(C token s 198.18.81.2:7000 --ttl 600 | awk '/^token/ {print $2}')
[ -n "$TOKEN" ] && ok "bpfcastctl token issues a token" || fail "no token"
ip netns exec $DEV timeout 20 "$JOIN" --relay 198.18.81.1:5400 --listen 198.18.81.2:7000 \
	--token "$TOKEN" --count 300 --stats 2>"$_tmp/join1.json" >/dev/null
got=$(jpath 'd["packets"]' <"$_tmp/join1.json")
[ "$got" = 300 ] && ok "a device that completed the handshake received the stream (300 packets)" ||
	fail "handshake device got '$got': $(cat "$_tmp/join1.json")"
s=$(status_json)
[ "$(echo "$s" | jpath 'd["streams"][0]["consent"]["joins"]')" = 1 ] &&
	[ "$(echo "$s" | jpath 'd["streams"][0]["consent"]["leaves"]')" = 1 ] &&
	[ "$(echo "$s" | jpath 'len(d["streams"][0]["subscribers"])')" = 0 ] &&
	ok "the join and the LEAVE on exit are counted; the device is gone" ||
	fail "join/leave counters: $s"

# 2. Tokens bind stream, address and port.
expect_error "a token for another port is refused" "not valid for this stream" \
	ip netns exec $DEV timeout 10 "$JOIN" --relay 198.18.81.1:5400 \
	--listen 198.18.81.2:7009 --token "$TOKEN"
BAD=${TOKEN%?}0; [ "$BAD" = "$TOKEN" ] && BAD=${TOKEN%?}1
expect_error "a tampered token is refused" "not valid for this stream" \
	ip netns exec $DEV timeout 10 "$JOIN" --relay 198.18.81.1:5400 \
	--listen 198.18.81.2:7000 --token "$BAD"
expect_error "no token and no operator's word: refused" "not authorised" \
	ip netns exec $DEV timeout 10 "$JOIN" --relay 198.18.81.1:5400 \
	--listen 198.18.81.2:7001 --stream s

# 3. A spoofed JOIN: the victim gets at most a CHALLENGE no larger than the JOIN, no media.
VTOKEN=$(C token s 198.18.81.3:7001 | awk '/^token/ {print $2}')
cat >"$_tmp/victim.py" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.81.3", 7001))
s.settimeout(0.2)
sizes, end = [], time.time() + 6
while time.time() < end:
    try:
        sizes.append(len(s.recv(65536)))
    except socket.timeout:
        pass
open(sys.argv[1], "w").write(" ".join(map(str, sizes)) + "\n")
EOF
bg ip netns exec $DEV python3 "$_tmp/victim.py" "$_tmp/victim.txt"
VICTIM_PID=$LAST_PID
sleep 0.3
ip netns exec $GEN python3 - "$VTOKEN" >"$_tmp/spoof.txt" <<'EOF'
import socket, struct, sys
name, mac = sys.argv[1].rsplit(":", 1)
def attr(t, v):
    a = struct.pack("=HH", 4 + len(v), t) + v
    return a + b"\0" * (-len(a) % 4)
body = attr(1, name.encode() + b"\0") + attr(26, bytes.fromhex(mac))  # STREAM_NAME, TOKEN
join = struct.pack("=IHHII", 16 + len(body), 33, 1, 1, 0) + body      # JOIN, NLM_F_REQUEST
udp = struct.pack("!HHHH", 7001, 5400, 8 + len(join), 0) + join
src, dst = socket.inet_aton("198.18.81.3"), socket.inet_aton("198.18.80.2")
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, src, dst)
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for _ in range(3):
    raw.sendto(ip + udp, ("198.18.80.2", 0))
print(len(join))
EOF
wait "$VICTIM_PID"
join_len=$(cat "$_tmp/spoof.txt")
sizes=$(cat "$_tmp/victim.txt")
max=$(echo 0 $sizes | tr ' ' '\n' | sort -n | tail -1)
n_chal=$(echo $sizes | wc -w)
[ "$n_chal" -ge 1 ] && [ "$max" -le "$join_len" ] &&
	ok "a spoofed JOIN got the victim only ${n_chal} CHALLENGE(s) of ${max} bytes (JOIN: ${join_len}), no media" ||
	fail "victim received: [$sizes] (JOIN $join_len bytes)"
status_json | grep -q '198.18.81.3' && fail "the spoofed address became a subscriber" ||
	ok "the spoofed address never became a subscriber"

# 4. Keepalives stop: nothing arrives after the deadline (TTL s), within a second.
ip netns exec $DEV "$JOIN" --relay 198.18.81.1:5400 --listen 198.18.81.2:7002 \
	--token "$(C token s 198.18.81.2:7002 | awk '/^token/ {print $2}')" \
	--keepalive-ms 0 --duration $((TTL + 4)) --stats 2>"$_tmp/join2.json" >/dev/null
read -r joined last pk < <(jpath '"%d %d %d" % (d["joined_ms"], d["last_ms"], d["packets"])' \
	<"$_tmp/join2.json")
[ "$pk" -gt 0 ] && [ $((last - joined)) -le $((TTL * 1000 + 1000)) ] &&
	ok "a silent device got $pk packets, the last $((last - joined)) ms after joining (consent ${TTL} s)" ||
	fail "silent device: $(cat "$_tmp/join2.json")"
s=$(status_json)
[ "$(echo "$s" | jpath 'd["streams"][0]["consent"]["expiries"]')" = 1 ] &&
	ok "its expiry is counted and the agent removed it" || fail "expiry not counted: $s"

# 5. A device an operator authorised (not --static) waits for its JOIN.
C sub add s 198.18.81.2:7003 || fail "sub add (pending)"
s=$(status_json)
[ "$(echo "$s" | jpath 'd["streams"][0]["subscribers"][0]["consent"]')" = pending ] &&
	ok "an operator-added device is pending until it joins" || fail "not pending: $s"
sleep 0.5
[ "$(echo "$(status_json)" | jpath 'd["streams"][0]["subscribers"][0]["tx_packets"]')" = 0 ] &&
	ok "a pending device receives nothing" || fail "pending device received packets"
ip netns exec $DEV timeout 20 "$JOIN" --relay 198.18.81.1:5400 --listen 198.18.81.2:7003 \
	--stream s --count 100 --stats 2>"$_tmp/join3.json" >/dev/null
[ "$(jpath 'd["packets"]' <"$_tmp/join3.json")" = 100 ] &&
	ok "it joins without a token and receives" || fail "pre-authorised: $(cat "$_tmp/join3.json")"
C sub add s 198.18.81.2:7004 --static || fail "sub add --static"
[ "$(echo "$(status_json)" | jpath '[u["consent"] for u in d["streams"][0]["subscribers"]]')" = "['static']" ] &&
	ok "a --static subscriber shows as static" || fail "static not shown"
C sub del s 198.18.81.2:7004

# 6. A JOIN flood above the per-source budget dies in XDP, counted.
before=$(status_json | jpath 'd["relay"]["join_rate_limited"]')
ip netns exec $GEN python3 - <<'EOF'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(500):
    s.sendto(b"\0" * 64, ("198.18.80.2", 5400))
EOF
sleep 0.2
after=$(status_json | jpath 'd["relay"]["join_rate_limited"]')
[ $((after - before)) -ge 490 ] &&
	ok "a 500-packet JOIN flood: $((after - before)) dropped in XDP (budget 5/s per source)" ||
	fail "JOIN flood: only $((after - before)) dropped"

# 7. Quotas: per stream.
C stream add q --ingest 198.18.80.2:5001 --max-subs 1 || fail "stream add with quota"
C sub add q 198.18.81.2:7100 --static || fail "first subscriber within quota"
expect_error "a subscriber over the stream's quota is refused" "over quota: stream q allows 1" \
	C sub add q 198.18.81.2:7101 --static
[ "$(status_json | jpath '[x["quota_refused"] for x in d["streams"] if x["name"] == "q"][0]')" = 1 ] &&
	ok "the refusal is counted" || fail "quota refusal not counted"

kill "$GEN_PID" 2>/dev/null
finish e2e/consent
