#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# End to end: one relay, 32 subscribers (IPv4 and IPv6, half behind a router on
# a second egress interface), unicast and multicast ingest, a subscriber added
# and one removed mid-stream, and the agent SIGKILLed and restarted mid-stream.
# Every subscriber must receive every packet, byte-exact and in order.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
require_root "e2e/fanout"

P=bce2e			# prefix of every namespace and link of this test
SRC=$P-src RELAY=$P-relay RTR=$P-rtr SINKA=$P-sinka SINKB=$P-sinkb
PIN=/sys/fs/bpf/$P
SOCK=$_tmp/agent.sock
LOG=$_tmp/agent.log
COUNT=${E2E_COUNT:-12000}
RATE=${E2E_RATE:-3000}
MC_COUNT=${E2E_MC_COUNT:-2000}
MC_RATE=${E2E_MC_RATE:-1000}
FIRST=1000
LAST=$((FIRST + COUNT - 1))

set -e
for n in $SRC $RELAY $RTR $SINKA $SINKB; do netns $n; done
veth $SRC $P-s0 $RELAY $P-r0		# ingest
veth $RELAY $P-r1 $SINKA $P-a0		# egress 1: directly attached subscribers
veth $RELAY $P-r2 $RTR $P-t0		# egress 2: subscribers behind a router
veth $RTR $P-t1 $SINKB $P-b0
addr $SRC $P-s0 198.18.0.1/24 2001:2:0:10::1/64
addr $RELAY $P-r0 198.18.0.2/24 2001:2:0:10::2/64
addr $RELAY $P-r1 198.18.1.1/24 2001:2:0:11::1/64
addr $SINKA $P-a0 198.18.1.2/24 2001:2:0:11::2/64
addr $RELAY $P-r2 198.18.2.1/24 2001:2:0:12::1/64
addr $RTR $P-t0 198.18.2.2/24 2001:2:0:12::2/64
addr $RTR $P-t1 198.18.3.1/24 2001:2:0:13::1/64
addr $SINKB $P-b0 198.18.3.2/24 2001:2:0:13::2/64
ip -n $RELAY route add 198.18.3.0/24 via 198.18.2.2
ip -n $RELAY -6 route add 2001:2:0:13::/64 via 2001:2:0:12::2
ip -n $SINKB route add 198.18.0.0/15 via 198.18.3.1
ip -n $SINKB -6 route add 2001:2::/48 via 2001:2:0:13::1
ip netns exec $RTR sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip -n $SRC route add 239.255.0.0/16 dev $P-s0
set +e

# 32 subscribers: 8 IPv4 and 8 IPv6 ports on each sink.
SUBS=()
for i in $(seq 0 7); do
	SUBS+=("198.18.1.2:$((6000 + i))" "[2001:2:0:11::2]:$((6100 + i))")
	SUBS+=("198.18.3.2:$((7000 + i))" "[2001:2:0:13::2]:$((7100 + i))")
done
ADDED=198.18.1.2:6900			# joins mid-stream
REMOVED="[2001:2:0:13::2]:7900"		# leaves mid-stream
MC4_SUB=198.18.1.2:6800 MC6_SUB="[2001:2:0:13::2]:7800"

{
	echo "# e2e config: the main stream and its static subscribers"
	echo "stream main ingest 198.18.0.2:5000 source 198.18.0.1 egress-port 5000"
	for s in "${SUBS[@]}"; do echo "subscriber main $s static"; done
} >"$_tmp/agent.conf"

echo "e2e/fanout: starting the relay"
start_agent $RELAY $PIN "$SOCK" "$LOG" -i $P-r0 -i $P-r1 -i $P-r2 -c "$_tmp/agent.conf" ||
	{ fail "the agent did not start"; finish "e2e/fanout"; }
ctl() { "$CTL" --agent "$SOCK" "$@"; }
ctl sub add main "$REMOVED" --static || fail "adding $REMOVED"
ctl stream add mc4 --ingest 239.255.1.1:5001 --source 198.18.0.1 && ctl sub add mc4 $MC4_SUB --static &&
ctl stream add mc6 --ingest "[ff15::1]:5002" && ctl sub add mc6 "$MC6_SUB" --static ||
	fail "adding the multicast streams"
ip -n $RELAY maddr show dev $P-r0 | grep -q 239.255.1.1 && ok "relay joined 239.255.1.1" ||
	fail "relay did not join 239.255.1.1 on the ingest interface"
ip -n $RELAY maddr show dev $P-r0 | grep -q ff15::1 && ok "relay joined ff15::1" ||
	fail "relay did not join ff15::1 on the ingest interface"

# Warm up: neighbours get resolved by the agent on the data plane's request.
ip netns exec $SRC "$UDPGEN" --dst 198.18.0.2:5000 --count 50 --rate 100 --start 0
ip netns exec $SRC "$UDPGEN" --dst 239.255.1.1:5001 --count 20 --rate 100 --start 0
ip netns exec $SRC "$UDPGEN" --dst "[ff15::1]:5002" --count 20 --rate 100 --start 0
for i in $(seq 30); do
	[ "$(ip -n $RELAY neigh show | grep -v $P-r0 | grep -c REACHABLE)" -ge 4 ] && break
	sleep 0.1
done
[ "$(ip -n $RELAY neigh show | grep -v $P-r0 | grep -c REACHABLE)" -ge 4 ] &&
	ok "the agent resolved the subscribers' next hops" ||
	fail "next hops not resolved: $(ip -n $RELAY neigh show | tr '\n' ';')"

# The measured run.
bg ip netns exec $SINKA "$UDPSINK" --idle-ms 2500 --max-ms 60000 --size 1316 \
	--ready "$_tmp/ready-a" $(printf '%s\n' "${SUBS[@]}" | grep -E '198.18.1|:11::') \
	$ADDED $MC4_SUB >"$_tmp/sink-a.out"
SINK_A=$LAST_PID
bg ip netns exec $SINKB "$UDPSINK" --idle-ms 2500 --max-ms 60000 --size 1316 \
	--ready "$_tmp/ready-b" $(printf '%s\n' "${SUBS[@]}" | grep -E '198.18.3|:13::') \
	"$REMOVED" "$MC6_SUB" >"$_tmp/sink-b.out"
SINK_B=$LAST_PID
wait_file "$_tmp/ready-a" 5 && wait_file "$_tmp/ready-b" 5 || fail "sinks did not start"

echo "e2e/fanout: $COUNT packets at $RATE/s; adding, removing, SIGKILL and restart mid-stream"
# Senders stay on one CPU: veth hands packets to the backlog of the sending CPU,
# so a sender that migrates would reorder them before they reach the relay.
bg ip netns exec $SRC taskset -c 0 "$UDPGEN" --dst 198.18.0.2:5000 --count "$COUNT" --rate "$RATE" \
	--start $FIRST --size 1316
GEN=$LAST_PID
bg ip netns exec $SRC taskset -c 0 "$UDPGEN" --dst 239.255.1.1:5001 --count $MC_COUNT --rate $MC_RATE --start $FIRST
GEN4=$LAST_PID
bg ip netns exec $SRC taskset -c 0 "$UDPGEN" --dst "[ff15::1]:5002" --count $MC_COUNT --rate $MC_RATE --start $FIRST
GEN6=$LAST_PID
dur_ms=$((COUNT * 1000 / RATE))
sleep "$(echo "$dur_ms" | awk '{print $1 * 0.2 / 1000}')"
ctl sub add main $ADDED --static || fail "adding $ADDED mid-stream"
echo "e2e/fanout: added $ADDED"
sleep "$(echo "$dur_ms" | awk '{print $1 * 0.1 / 1000}')"
ctl sub del main "$REMOVED" || fail "removing $REMOVED mid-stream"
echo "e2e/fanout: removed $REMOVED"
sleep "$(echo "$dur_ms" | awk '{print $1 * 0.1 / 1000}')"
{ kill -9 "$AGENT_PID" && wait "$AGENT_PID"; } 2>/dev/null
echo "e2e/fanout: agent SIGKILLed"
sleep "$(echo "$dur_ms" | awk '{print $1 * 0.15 / 1000}')"
start_agent $RELAY $PIN "$SOCK" "$LOG" -i $P-r0 -i $P-r1 -i $P-r2 -c "$_tmp/agent.conf" ||
	fail "agent restart"
grep -q "adopted 3 streams" "$LOG" && ok "restarted agent adopted the pinned state" ||
	fail "restarted agent did not adopt the pinned streams"
# 33 copies x a 64-packet poll outgrow a veth peer's backlog (1,000 by default;
# the agent cannot read the sysctl from a namespace): it must name that queue.
grep -q "bce2e-r1, but it has no qdisc, so they wait in the receiving CPU's backlog.*netdev_max_backlog=" "$LOG" &&
	ok "the agent names the queue a burst of copies overflows, and how to raise it" ||
	fail "no warning naming the backlog a burst of copies overflows"
wait "$GEN" "$GEN4" "$GEN6"
wait "$SINK_A" "$SINK_B"

# A line per endpoint: ADDR recv= first= last= missing= dup= reorder= corrupt=
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
expect_full() { # ENDPOINT FILE FIRST LAST
	local line recv
	line=$(grep -F "$1 " "$2")
	recv=$(echo "$line" | field recv)
	if [ "$recv" = $(($4 - $3 + 1)) ] && echo "$line" | grep -q " first=$3 last=$4 missing=0 dup=0 reorder=0 corrupt=0"; then
		return 0
	fi
	echo "    $1: $line (want $(($4 - $3 + 1)) packets $3..$4, in order)"
	return 1
}
bad=0
for s in "${SUBS[@]}"; do
	f=$_tmp/sink-a.out
	case $s in *198.18.3.* | *:13::*) f=$_tmp/sink-b.out ;; esac
	expect_full "$s" "$f" $FIRST $LAST || bad=$((bad + 1))
done
[ $bad -eq 0 ] && ok "32 subscribers got all $COUNT packets, byte-exact and in order, across the SIGKILL" ||
	fail "$bad of 32 subscribers missed, reordered or corrupted packets"

line=$(grep -F "$ADDED " "$_tmp/sink-a.out")
first=$(echo "$line" | field first)
if echo "$line" | grep -q "last=$LAST missing=0 dup=0 reorder=0 corrupt=0" && [ "$first" -gt $FIRST ]; then
	ok "subscriber added mid-stream gets every packet from $first on"
else
	fail "subscriber added mid-stream: $line"
fi
line=$(grep -F "$REMOVED " "$_tmp/sink-b.out")
last=$(echo "$line" | field last)
if echo "$line" | grep -q "first=$FIRST .*missing=0 dup=0 reorder=0 corrupt=0" && [ "$last" -lt $LAST ]; then
	ok "subscriber removed mid-stream got every packet until $last, then none"
else
	fail "subscriber removed mid-stream: $line"
fi
expect_full $MC4_SUB "$_tmp/sink-a.out" $FIRST $((FIRST + MC_COUNT - 1)) &&
	ok "IPv4 multicast ingest (239.255.1.1) relayed losslessly" || fail "IPv4 multicast stream"
expect_full "$MC6_SUB" "$_tmp/sink-b.out" $FIRST $((FIRST + MC_COUNT - 1)) &&
	ok "IPv6 multicast ingest (ff15::1) relayed losslessly" || fail "IPv6 multicast stream"

# What an operator sees.
ctl status --json >"$_tmp/status.json" && python3 - "$_tmp/status.json" "$COUNT" <<'EOF' && ok "status --json reports streams, counters and subscribers" || fail "status --json"
import json, sys
st = json.load(open(sys.argv[1]))
main = [s for s in st["streams"] if s["name"] == "main"][0]
assert main["ingest"] == "198.18.0.2:5000", main
assert main["rx_packets"] >= int(sys.argv[2]), main["rx_packets"]
assert set(main["drops"]) >= {"bad_source", "no_subscribers", "malformed"}, main["drops"]
assert len(main["subscribers"]) == 33, len(main["subscribers"])
for sub in main["subscribers"]:
    assert sub["kind"] == "device" and set(sub) >= {"addr", "tx_packets", "tx_bytes", "errors"}
assert any(s["addr"] == "[2001:2:0:11::2]:6100" for s in main["subscribers"])
EOF
bpftool map dump pinned $PIN/bpfc_subs | grep -q '"stream_id"' &&
	bpftool map dump pinned $PIN/bpfc_streams | grep -q '"name": "main"' &&
	ok "bpftool map dump shows named fields" || fail "bpftool map dump is not readable"

# Copies reuse route answers (bpfc_routes); any neighbour or route change voids them.
route_gen() {
	bpftool -j map lookup pinned $PIN/bpfc_settings key 0 0 0 0 |
		python3 -c 'import json,sys; e=json.load(sys.stdin); print(e.get("formatted", e)["value"]["route_gen"])'
}
bpftool -j map dump pinned $PIN/bpfc_routes | python3 -c '
import json, sys
sys.exit(0 if any(e.get("formatted", e)["value"]["filled_ns"] for e in json.load(sys.stdin)) else 1)' &&
	ok "copies use cached route answers" || fail "no route answer was cached"
gen0=$(route_gen)
ip -n $RELAY neigh replace 198.18.1.250 lladdr 02:00:00:00:00:ee dev $P-r1 nud permanent
for i in $(seq 20); do [ "$(route_gen)" -gt "$gen0" ] && break; sleep 0.1; done
[ "$(route_gen)" -gt "$gen0" ] && ok "a neighbour change voids the cached routes" ||
	fail "route_gen stayed $gen0 after a neighbour change"
ip -n $RELAY neigh del 198.18.1.250 dev $P-r1

# A packet from a source the stream does not allow is dropped and counted.
ip -n $SRC addr add 198.18.0.9/24 dev $P-s0
ip netns exec $SRC "$UDPGEN" --dst 239.255.1.1:5001 --count 5 --rate 100 --src 198.18.0.9
sleep 0.2
ctl status --json | python3 -c 'import json,sys; s=[x for x in json.load(sys.stdin)["streams"] if x["name"]=="mc4"][0]; sys.exit(0 if s["drops"]["bad_source"] == 5 else 1)' &&
	ok "packets from a source the stream does not allow are dropped and counted" ||
	fail "bad_source not counted"

[ $FAILED -eq 0 ] || { echo "--- agent log"; cat "$LOG"; dump_dataplane $PIN "$SOCK"; }
kill "$AGENT_PID"
nsenter --net=/run/netns/$RELAY "$AGENT" --detach --pin-dir $PIN >>"$LOG" 2>&1 &&
	[ ! -e $PIN ] && ! ip -n $RELAY link show $P-r0 | grep -q xdp &&
	ok "--detach removes programs and pins" || fail "--detach left something behind"
finish "e2e/fanout"
