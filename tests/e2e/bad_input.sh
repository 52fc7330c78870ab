#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Bad input to the agent and the CLI: one clear error, a non-zero exit, and
# nothing left attached, pinned or changed.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
require_root "e2e/bad_input"

P=bcbad
NS=$P-relay
PIN=/sys/fs/bpf/$P
PIN2=/sys/fs/bpf/$P-other
SOCK=$_tmp/agent.sock
LOG=$_tmp/agent.log
_pin_dirs+=("$PIN" "$PIN2")

netns $NS
netns $P-peer
veth $NS $P-a $P-peer $P-pa
veth $NS $P-b $P-peer $P-pb
addr $NS $P-a 198.18.20.1/24
addr $NS $P-b 198.18.21.1/24

in_ns() { nsenter --net=/run/netns/$NS "$@"; }


nothing_attached() {
	! ip -n $NS link show $P-a | grep -q xdp && ! ip -n $NS link show $P-b | grep -q xdp &&
		! tc -n $NS filter show dev $P-a ingress 2>/dev/null | grep -q bpf &&
		! tc -n $NS filter show dev $P-b ingress 2>/dev/null | grep -q bpf
}

expect_error "unknown interface is named" "unknown interface 'nope0'" \
	in_ns "$AGENT" -i $P-a -i nope0 --pin-dir $PIN --socket "$SOCK"
nothing_attached && [ ! -e $PIN ] && ok "nothing attached or pinned after it" ||
	fail "something left behind after an unknown interface"

printf 'interface %s\nstream s ingest 198.18.20.1:5000\nsubscriber s 127.0.0.1:6000\n' $P-a \
	>"$_tmp/bad.conf"
expect_error "config error names the line and the problem" "line 3: subscriber 127.0.0.1:6000: refused by deny rule 127.0.0.0/8 (loopback)" \
	in_ns "$AGENT" -c "$_tmp/bad.conf" --pin-dir $PIN --socket "$SOCK"
nothing_attached && [ ! -e $PIN ] && ok "nothing attached after a bad config" ||
	fail "something left behind after a bad config"

expect_error "missing config file is named" "cannot open" \
	in_ns "$AGENT" -c "$_tmp/none.conf" --pin-dir $PIN --socket "$SOCK"
expect_error "no interface at all" "no interface" in_ns "$AGENT" --pin-dir $PIN --socket "$SOCK"
expect_error "bad --sample-ms" "sample-ms" in_ns "$AGENT" -i $P-a --sample-ms 0
expect_error "stray argument" "unexpected argument" in_ns "$AGENT" -i $P-a extra

if command -v setpriv >/dev/null; then
	expect_error "missing privileges say what is needed" "CAP_BPF" \
		in_ns setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		--bounding-set=-all "$AGENT" -i $P-a --pin-dir $PIN --socket "$SOCK"
	nothing_attached && ok "nothing attached without privileges" ||
		fail "attached without privileges?"
fi

expect_error "a kernel without BTF is refused with the reason" "kernel has no BTF" \
	unshare -m sh -c "mount -t tmpfs none /sys/kernel/btf && nsenter --net=/run/netns/$NS \
		$AGENT -i $P-a --pin-dir $PIN --socket $SOCK"

# A foreign XDP program on the second interface: the first must be rolled back.
start_agent $NS $PIN2 "$_tmp/other.sock" "$_tmp/other.log" -i $P-b || fail "helper agent"
OTHER=$AGENT_PID
kill "$OTHER"
wait "$OTHER" 2>/dev/null
expect_error "an interface running someone else's XDP program is refused" "not bpfcast's" \
	in_ns "$AGENT" -i $P-a -i $P-b --pin-dir $PIN --socket "$SOCK"
! ip -n $NS link show $P-a | grep -q xdp && ok "the interface attached before it was rolled back" ||
	fail "$P-a left half-attached"
in_ns "$AGENT" --detach --pin-dir $PIN2 >/dev/null 2>&1
rm -rf $PIN

# The CLI against a running agent.
start_agent $NS $PIN "$SOCK" "$LOG" -i $P-a -i $P-b --deny 198.18.99.0/24 || { fail "the agent did not start"; finish "e2e/bad_input"; }
C() { "$CTL" --agent "$SOCK" "$@"; }
C stream add s --ingest 198.18.20.1:5000 || fail "stream add"
C sub add s 198.18.21.2:6000 || fail "sub add"
before=$(C status --json)
expect_error "CLI refuses 0.0.0.0, naming the rule" "deny rule 0.0.0.0/8 (this network)" C sub add s 0.0.0.0:6000
expect_error "CLI refuses ::, naming the rule" "deny rule ::/128 (unspecified)" C sub add s "[::]:6000"
expect_error "mapped IPv4 is refused" "deny rule ::ffff:0.0.0.0/96" C sub add s "[::ffff:198.18.21.2]:6000"
# Every default-denied range, by the CLI and by the agent's config (the manager: e2e/offload).
DENIED=("0.0.0.1 0.0.0.0/8" "127.0.0.1 127.0.0.0/8" "169.254.1.1 169.254.0.0/16"
	"224.0.0.1 224.0.0.0/4" "255.255.255.255 255.255.255.255/32" "[::] ::/128"
	"[::1] ::1/128" "[::ffff:198.18.21.2] ::ffff:0.0.0.0/96" "[fe80::1] fe80::/10"
	"[ff02::1] ff00::/8")
cli_ok=0 cfg_ok=0
for d in "${DENIED[@]}"; do
	set -- $d
	! out=$(C sub add s "$1:6000" 2>&1) && echo "$out" | grep -q "deny rule $2" &&
		cli_ok=$((cli_ok + 1))
	printf 'interface %s\nstream s2 ingest 198.18.20.1:5010\nsubscriber s2 %s:6000 static\n' \
		$P-a "$1" >"$_tmp/deny.conf"
	! out=$(nsenter --net=/run/netns/$NS "$AGENT" -c "$_tmp/deny.conf" --pin-dir $PIN2 \
		--socket "$_tmp/deny.sock" 2>&1) &&
		echo "$out" | grep -q "line 3: .*deny rule $2" && cfg_ok=$((cfg_ok + 1))
done
[ $cli_ok = ${#DENIED[@]} ] && ok "the CLI refuses all ${#DENIED[@]} default-denied ranges, naming each rule" ||
	fail "CLI refused $cli_ok of ${#DENIED[@]}"
[ $cfg_ok = ${#DENIED[@]} ] && ok "a config refuses all ${#DENIED[@]} default-denied ranges, naming the line and rule" ||
	fail "config refused $cfg_ok of ${#DENIED[@]}"
expect_error "the relay's own address is refused" "own address" C sub add s 198.18.21.1:6000
expect_error "a --deny prefix of the agent is enforced" "deny rule 198.18.99.0/24 (--deny)" \
	C sub add s 198.18.99.7:6000
expect_error "CLI refuses loopback" "loopback" C sub add s 127.0.0.1:6000
expect_error "CLI refuses port 0" "not ADDR:PORT" C sub add s 198.18.21.2:0
expect_error "CLI refuses an unbracketed IPv6 endpoint" "not ADDR:PORT" C sub add s 2001:2::1:6000
expect_error "agent refuses the relay's own ingest address and port" "own address" C sub add s 198.18.20.1:5000
expect_error "unknown stream" "no such stream" C sub add nope 198.18.21.2:6000
expect_error "unknown subscriber" "no such subscriber" C sub del s 198.18.21.9:6000
expect_error "stream redefined with other settings" "other settings" \
	C stream add s --ingest 198.18.20.1:5001
expect_error "ingest already used" "already uses this ingest" \
	C stream add t --ingest 198.18.20.1:5000
expect_error "bad stream name" "letters, digits" C stream add "a/b" --ingest 198.18.20.1:5002
expect_error "source of the other family" "different families" \
	C stream add u --ingest 198.18.20.1:5003 --source 2001:2::/48
expect_error "missing --ingest" "needs --ingest" C stream add v
expect_error "unknown command" "unknown command" C frobnicate
expect_error "unreachable agent" "cannot reach the agent" "$CTL" --agent "$_tmp/none.sock" status
C sub add s 198.18.21.2:6000 && ok "adding an existing subscriber again changes nothing" ||
	fail "idempotent sub add"
C stream add s --ingest 198.18.20.1:5000 && ok "adding an existing stream again changes nothing" ||
	fail "idempotent stream add"
[ "$(C status --json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["streams"]))')" = \
  "$(echo "$before" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["streams"]))')" ] &&
	ok "refused requests left the state unchanged" || fail "state changed by refused requests"

# A protocol peer that sends garbage is cut off; the agent keeps serving.
python3 - "$SOCK" <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(struct.pack("=IHHII", 8, 0x20, 1, 1, 0))   # length shorter than a header
s.settimeout(2)
sys.exit(0 if s.recv(100) == b"" else 1)
EOF
[ $? -eq 0 ] && ok "a malformed message closes only that connection" || fail "malformed message"
python3 - "$SOCK" <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(struct.pack("=IHHII", 16, 0x7ff0, 1, 5, 0))  # unknown message type
s.settimeout(2)
d = s.recv(1000)
ln, typ, fl, seq, pid, err = struct.unpack("=IHHIIi", d[:20])
sys.exit(0 if typ == 2 and seq == 5 and err < 0 and b"unknown message type" in d else 1)
EOF
[ $? -eq 0 ] && ok "an unknown message type is answered with an error" || fail "unknown message type"
C status >/dev/null && ok "the agent still serves after bad peers" || fail "agent died"

finish "e2e/bad_input"
