#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The offload method end to end: a manager, three relays, one source, seven
# devices. Devices join past offload_above (A -> B, then B -> C), the manager
# is SIGKILLed and restarted mid-stream, then devices leave until the peers are
# released and their devices moved back. Sequence numbers prove that no device
# missed a packet across any move; duplicates are counted and reported.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
require_root "e2e/offload"

P=bco
LAN=$P-lan SRC=$P-src MGR=$P-mgr SINK=$P-sink
MGR_ADDR=198.18.60.2:7400
COUNT=${OFFLOAD_COUNT:-12000}
RATE=${OFFLOAD_RATE:-400}
MANAGER=$BUILD/bpfcast-manager

set -e
lan $LAN
for n in $SRC $MGR $SINK $P-ra $P-rb $P-rc $P-rd; do netns $n; done
attach $SRC $P-s0 198.18.60.1/24
attach $MGR $P-m0 198.18.60.2/24
attach $P-ra $P-a0 198.18.60.11/24
attach $P-rb $P-b0 198.18.60.12/24
attach $P-rc $P-c0 198.18.60.13/24
attach $P-rd $P-e0 198.18.60.14/24
attach $SINK $P-d0 198.18.60.101/24
for i in 2 3 4 5 6 7; do addr $SINK $P-d0 198.18.60.10$i/24; done
set +e

DEV=()
for i in 1 2 3 4 5 6 7; do DEV+=("198.18.60.10$i:6000"); done

# The fleet's certificates, and a stranger's from another CA.
T=$_tmp/tls
tools/certs "$T" --manager 198.18.60.2 --agent ra --agent rb --agent rc --admin ops >/dev/null &&
	tools/certs "$_tmp/other" --agent rx --admin ops >/dev/null || fail "tools/certs"
MGR_TLS=(--ca "$T/ca.crt" --cert "$T/manager.crt" --key "$T/manager.key")
agent_tls() { echo --ca "$T/ca.crt" --cert "$T/agent-$1.crt" --key "$T/agent-$1.key"; }

bg ip netns exec $MGR "$MANAGER" --listen $MGR_ADDR --db "$_tmp/manager.db" "${MGR_TLS[@]}" \
	2>"$_tmp/mgr.log"
MGR_PID=$LAST_PID
start_relay() { # ID IFACE
	start_agent $P-r"${1#r}" /sys/fs/bpf/$P-$1 "$_tmp/$1.sock" "$_tmp/$1.log" -i "$2" \
		--manager $MGR_ADDR --id "$1" $(agent_tls "$1")
}
start_relay ra $P-a0 && start_relay rb $P-b0 && start_relay rc $P-c0 ||
	{ fail "relays did not start"; finish "e2e/offload"; }
ADMIN_TLS=(--ca "$T/ca.crt" --cert "$T/admin-ops.crt" --key "$T/admin-ops.key")
ctl() { ip netns exec $MGR "$CTL" --manager $MGR_ADDR "${ADMIN_TLS[@]}" "$@"; }
relays_up() {
	for i in $(seq 50); do
		[ "$(ctl status --json 2>/dev/null | python3 -c 'import json,sys; print(sum(r["connected"] for r in json.load(sys.stdin)["relays"]))' 2>/dev/null)" = 3 ] && return 0
		sleep 0.2
	done
	return 1
}
relays_up && ok "three relays registered with the manager" || fail "relays did not register"

ctl stream add news --origin ra --ingest 198.18.60.11:5000 --source 198.18.60.1 &&
	ctl thresholds news --offload-above 3 --cease-below 2 --hold 1 ||
	fail "stream and thresholds"
expect_error "thresholds with cease-below >= offload-above are refused" "lower than" \
	ctl thresholds news --offload-above 3 --cease-below 3
expect_error "non-numeric thresholds are refused" "not a number" \
	ctl thresholds news --offload-above x --cease-below 1
expect_error "a manager stream without its sender is refused (ingest pinning)" "any-source" \
	ctl stream add open --origin ra --ingest 198.18.60.11:5002
expect_error "an unknown stream is refused" "unknown stream" ctl sub add nope 198.18.60.101:6000
expect_error "an unknown origin relay is refused" "unknown relay" \
	ctl stream add other --origin rz --ingest 198.18.60.11:5001 --any-source
expect_error "an unreachable manager is reported" "cannot reach the manager" \
	ip netns exec $MGR "$CTL" --manager 198.18.60.2:7499 "${ADMIN_TLS[@]}" status

# Only the fleet's certificates, each in its role.
expect_error "bpfcastctl without a certificate says what to give" "give --ca, --cert and --key" \
	ip netns exec $MGR "$CTL" --manager $MGR_ADDR status
expect_error "a plain-TCP client is refused by a TLS manager" "closed the connection" \
	ip netns exec $MGR "$CTL" --manager $MGR_ADDR --insecure status
expect_error "an administrator's certificate from another CA is refused" "accept our certificate" \
	ip netns exec $MGR "$CTL" --manager $MGR_ADDR --ca "$T/ca.crt" \
	--cert "$_tmp/other/admin-ops.crt" --key "$_tmp/other/admin-ops.key" status
expect_error "an agent's certificate cannot change thresholds" "does not allow this role" \
	ip netns exec $MGR "$CTL" --manager $MGR_ADDR --ca "$T/ca.crt" \
	--cert "$T/agent-ra.crt" --key "$T/agent-ra.key" thresholds news --offload-above 9 \
	--cease-below 1
ctl status --json | python3 -c 'import json,sys; t=json.load(sys.stdin)["streams"][0]["thresholds"]; sys.exit(t["offload_above"] != 3)' &&
	ok "the thresholds stayed as the administrator set them" || fail "thresholds changed"
start_agent $P-rd /sys/fs/bpf/$P-rd "$_tmp/rx.sock" "$_tmp/rx.log" -i $P-e0 \
	--manager $MGR_ADDR --id rx --ca "$T/ca.crt" --cert "$_tmp/other/agent-rx.crt" \
	--key "$_tmp/other/agent-rx.key"
sleep 1.5
grep -q "refused a connection: TLS handshake refused" "$_tmp/mgr.log" &&
	! ctl relays | grep -q "^rx " &&
	ok "an agent with another CA's certificate cannot register" ||
	fail "foreign agent: $(tail -2 "$_tmp/rx.log") / $(tail -2 "$_tmp/mgr.log")"
{ kill "$AGENT_PID" && wait "$AGENT_PID"; } 2>/dev/null
nsenter --net=/run/netns/$P-rd "$AGENT" --detach --pin-dir /sys/fs/bpf/$P-rd >/dev/null 2>&1

# A second agent claiming relay id ra is refused, clearly; the first keeps its place.
start_agent $P-rd /sys/fs/bpf/$P-rd "$_tmp/rd.sock" "$_tmp/rd.log" -i $P-e0 \
	--manager $MGR_ADDR --id ra $(agent_tls ra)
sleep 1
grep -q "refused relay ra: a relay with this id is already connected" "$_tmp/rd.log" &&
	ok "a second agent with a connected relay's id is refused" ||
	fail "duplicate relay id: $(cat "$_tmp/rd.log")"
{ kill "$AGENT_PID" && wait "$AGENT_PID"; } 2>/dev/null
nsenter --net=/run/netns/$P-rd "$AGENT" --detach --pin-dir /sys/fs/bpf/$P-rd >/dev/null 2>&1
# rb's certificate claiming to be ra: the CN decides.
start_agent $P-rd /sys/fs/bpf/$P-rd "$_tmp/rd.sock" "$_tmp/rd2.log" -i $P-e0 \
	--manager $MGR_ADDR --id rd $(agent_tls rb)
sleep 1
grep -q "refused relay rd: the relay id differs from your certificate's CN" "$_tmp/rd2.log" &&
	ok "an agent cannot claim a relay id its certificate does not name" ||
	fail "relay id vs CN: $(tail -3 "$_tmp/rd2.log")"
{ kill "$AGENT_PID" && wait "$AGENT_PID"; } 2>/dev/null
nsenter --net=/run/netns/$P-rd "$AGENT" --detach --pin-dir /sys/fs/bpf/$P-rd >/dev/null 2>&1
{ kill "$AGENT_PID" && wait "$AGENT_PID"; } 2>/dev/null
nsenter --net=/run/netns/$P-rd "$AGENT" --detach --pin-dir /sys/fs/bpf/$P-rd >/dev/null 2>&1

# Bad peers are cut off one by one; the manager keeps serving.
T=$T ip netns exec $MGR python3 - <<'EOF' && ok "a message before HELLO, a bad version and an oversized message each close only that connection" || fail "manager input checks"
import os, socket, ssl, struct, sys
T = os.environ["T"]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.load_verify_locations(T + "/ca.crt")
ctx.load_cert_chain(T + "/admin-ops.crt", T + "/admin-ops.key")
def conn():
    s = socket.create_connection(("198.18.60.2", 7400), timeout=3)
    return ctx.wrap_socket(s, server_hostname="198.18.60.2")
def answer(s):
    d = s.recv(4096)
    return struct.unpack("=IHHIIi", d[:20]) if d else None
# 1: not HELLO first
s = conn(); s.sendall(struct.pack("=IHHII", 16, 0x12, 1, 7, 0))
a = answer(s); assert a and a[1] == 2 and a[5] < 0, a
assert s.recv(100) == b""
# 2: HELLO with a wrong version (attribute VERSION=9 u32, ROLE=10 u8)
hello = struct.pack("=HHI", 8, 9, 99) + struct.pack("=HHBxxx", 5, 10, 2)
s = conn(); s.sendall(struct.pack("=IHHII", 16 + len(hello), 0x18, 1, 8, 0) + hello)
a = answer(s); assert a and a[5] < 0, a
# 3: a length over the maximum
s = conn(); s.sendall(struct.pack("=IHHII", 1 << 20, 0x18, 1, 9, 0))
assert s.recv(100) == b""
EOF
# The manager's own destination policy, past the CLI: raw SUB_ADDs for every denied range.
T=$T ip netns exec $MGR python3 - <<'EOF' && ok "the manager refuses all default-denied ranges, naming each rule" || fail "manager deny-list"
import ipaddress, os, socket, ssl, struct
T = os.environ["T"]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(T + "/ca.crt")
ctx.load_cert_chain(T + "/admin-ops.crt", T + "/admin-ops.key")
s = ctx.wrap_socket(socket.create_connection(("198.18.60.2", 7400), timeout=3),
                    server_hostname="198.18.60.2")
def attr(t, v):
    a = struct.pack("=HH", 4 + len(v), t) + v
    return a + b"\0" * (-len(a) % 4)
def ask(mtype, body, seq):
    s.sendall(struct.pack("=IHHII", 16 + len(body), mtype, 5, seq, 0) + body)
    d = s.recv(65536)
    return struct.unpack("=i", d[16:20])[0], d
err, _ = ask(24, attr(9, struct.pack("=I", 1)) + attr(10, b"\2"), 1)   # HELLO admin
assert err == 0, err
denied = {"0.0.0.1": "0.0.0.0/8", "127.0.0.1": "127.0.0.0/8", "169.254.1.1": "169.254.0.0/16",
          "224.0.0.1": "224.0.0.0/4", "255.255.255.255": "255.255.255.255/32", "::": "::/128",
          "::1": "::1/128", "::ffff:198.18.60.101": "::ffff:0.0.0.0/96", "fe80::1": "fe80::/10",
          "ff02::1": "ff00::/8"}
for i, (a, rule) in enumerate(denied.items()):
    ep = attr(1, ipaddress.ip_address(a).packed) + attr(2, struct.pack("=H", 6000))
    err, d = ask(18, attr(1, b"news\0") + attr(5, ep), 10 + i)     # SUB_ADD
    assert err < 0 and ("deny rule " + rule).encode() in d, (a, err, d)
EOF
ctl relays | grep -q "^ra .*yes" && ok "the manager still serves, ra still connected" ||
	fail "manager after bad peers"

bg ip netns exec $SINK "$UDPSINK" --idle-ms 3000 --max-ms 120000 --size 1316 \
	--ready "$_tmp/ready" "${DEV[@]}" >"$_tmp/sink.out"
SINK_PID=$LAST_PID
wait_file "$_tmp/ready" 5 || fail "sink did not start"
bg ip netns exec $SRC taskset -c 0 "$UDPGEN" --dst 198.18.60.11:5000 --count "$COUNT" \
	--rate "$RATE" --size 1316
GEN=$LAST_PID

relay_of() { # ADDR -> relay id the manager assigned
	ctl status --json | python3 -c 'import json,sys
s=[x for x in json.load(sys.stdin)["streams"] if x["name"]=="news"][0]
print(" ".join(u["relay"] for u in s["subscribers"] if u["addr"]==sys.argv[1]))' "$1"
}
peers() {
	ctl status --json | python3 -c 'import json,sys
s=[x for x in json.load(sys.stdin)["streams"] if x["name"]=="news"][0]
print(" ".join(p["from"]+">"+p["to"] for p in sorted(s["peers"], key=lambda p: p["to"])))'
}
step() { sleep 1.2; }

for i in 0 1 2; do ctl sub add news "${DEV[$i]}" --static || fail "sub add ${DEV[$i]}"; done
step
[ "$(relay_of "${DEV[2]}")" = ra ] && ok "the first three devices are served by the origin" ||
	fail "device 3 on $(relay_of "${DEV[2]}")"
ctl sub add news "${DEV[3]}" --static
step
[ "$(peers)" = "ra>rb" ] && [ "$(relay_of "${DEV[3]}")" = rb ] &&
	ok "past offload_above the manager brings relay rb in (ra relays to rb)" ||
	fail "offload to rb: peers '$(peers)', device 4 on $(relay_of "${DEV[3]}")"
ctl sub add news "${DEV[4]}" --static
ctl sub add news "${DEV[5]}" --static
step
ctl sub add news "${DEV[6]}" --static
step
[ "$(peers)" = "ra>rb rb>rc" ] && [ "$(relay_of "${DEV[6]}")" = rc ] &&
	ok "a second level: rb relays to rc, which serves device 7" ||
	fail "second level: peers '$(peers)', device 7 on $(relay_of "${DEV[6]}")"

ctl status --json >"$_tmp/before.json"
{ kill -9 "$MGR_PID" && wait "$MGR_PID"; } 2>/dev/null
sleep 1
bg ip netns exec $MGR "$MANAGER" --listen $MGR_ADDR --db "$_tmp/manager.db" "${MGR_TLS[@]}"
MGR_PID=$LAST_PID
relays_up || fail "relays did not come back to the restarted manager"
ctl status --json >"$_tmp/after.json"
python3 - "$_tmp/before.json" "$_tmp/after.json" <<'EOF' && ok "a restarted manager has the same state" || fail "state changed across the manager restart"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
norm = lambda s: sorted((x["name"], x["origin"], json.dumps(x["thresholds"], sort_keys=True),
    sorted((p["from"], p["to"]) for p in x["peers"]),
    sorted((u["addr"], u["relay"]) for u in x["subscribers"])) for x in s["streams"])
sys.exit(0 if norm(a) == norm(b) else 1)
EOF

ctl sub del news "${DEV[3]}" && ctl sub del news "${DEV[4]}" || fail "sub del"
step
step
[ "$(peers)" = "ra>rb" ] && [ "$(relay_of "${DEV[6]}")" = rb ] &&
	ok "rb falls below cease_below: rc is released and its device moves to rb" ||
	fail "release of rc: peers '$(peers)', device 7 on $(relay_of "${DEV[6]}")"
ctl sub del news "${DEV[0]}"
ctl sub del news "${DEV[5]}"
step
step
[ -z "$(peers)" ] && [ "$(relay_of "${DEV[6]}")" = ra ] &&
	ok "rb is released too: device 7 is back on the origin" ||
	fail "release of rb: peers '$(peers)', device 7 on $(relay_of "${DEV[6]}")"

wait "$GEN"
wait "$SINK_PID"
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
bad=0 dups=0
for d in "${DEV[@]}"; do
	line=$(grep -F "$d " "$_tmp/sink.out")
	echo "    $line"
	echo "$line" | grep -q " missing=0 " && echo "$line" | grep -q " corrupt=0" ||
		bad=$((bad + 1))
	dups=$((dups + $(echo "$line" | field dup)))
done
[ $bad -eq 0 ] && ok "no device missed a packet across offloads, releases and the manager restart ($dups duplicates in handovers)" ||
	fail "$bad devices missed packets"
for d in "${DEV[1]}" "${DEV[2]}" "${DEV[6]}"; do
	grep -F "$d " "$_tmp/sink.out" | grep -q " last=$((COUNT - 1)) " ||
		fail "$d stopped receiving before the end"
done

[ $FAILED -eq 0 ] || { for r in ra rb rc; do echo "--- $r"; tail -20 "$_tmp/$r.log"; done; }
finish "e2e/offload"
