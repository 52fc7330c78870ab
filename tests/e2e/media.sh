#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Real media through a fleet: ffmpeg encodes a test pattern with a tone to
# MPEG-TS over UDP (1316-byte packets) and to RTP. Devices receive with
# `bpfcast-join --stdout` and with plain UDP listeners; the fleet offloads to a
# second relay and releases it while they stay subscribed. Every capture must
# decode with no errors (`ffmpeg -v error` prints nothing) and with no MPEG-TS
# continuity-counter error.
#
#   src 198.18.66.1 -> ra (origin) 198.18.66.11 -> rb 198.18.66.12 ; devices 198.18.66.10x
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
require_root "e2e/media"
command -v ffmpeg >/dev/null || { fail "ffmpeg is missing (tools/deps installs it)"; finish e2e/media; }

P=bcmd
LAN=$P-lan MGR=$P-mgr SRC=$P-src DEVNS=$P-dev
MGR_ADDR=198.18.66.2:7400
SECONDS_OF_MEDIA=${MEDIA_SECONDS:-24}
MANAGER=$BUILD/bpfcast-manager
JOIN=$BUILD/bpfcast-join

set -e
lan $LAN
for n in $MGR $SRC $DEVNS $P-ra $P-rb; do netns $n; done
attach $SRC $P-s0 198.18.66.1/24
attach $MGR $P-m0 198.18.66.2/24
attach $P-ra $P-a0 198.18.66.11/24
attach $P-rb $P-b0 198.18.66.12/24
attach $DEVNS $P-d0 198.18.66.101/24 198.18.66.102/24 198.18.66.103/24 198.18.66.104/24
set +e

T=$_tmp/tls
tools/certs "$T" --manager 198.18.66.2 --agent ra --agent rb --admin ops >/dev/null
"$CTL" key create "$_tmp/join.key"
bg ip netns exec $MGR "$MANAGER" --listen $MGR_ADDR --db "$_tmp/m.db" --join-key "$_tmp/join.key" \
	--ca "$T/ca.crt" --cert "$T/manager.crt" --key "$T/manager.key" 2>"$_tmp/mgr.log"
relay() { # ID IFACE
	start_agent $P-"$1" /sys/fs/bpf/$P-$1 "$_tmp/$1.sock" "$_tmp/$1.log" -i "$2" \
		--manager $MGR_ADDR --id "$1" --ca "$T/ca.crt" --cert "$T/agent-$1.crt" \
		--key "$T/agent-$1.key" --join-key "$_tmp/join.key"
}
relay ra $P-a0 && relay rb $P-b0 || { fail "relays"; finish e2e/media; }
ctl() { ip netns exec $MGR "$CTL" --manager $MGR_ADDR --ca "$T/ca.crt" \
	--cert "$T/admin-ops.crt" --key "$T/admin-ops.key" "$@"; }
for i in $(seq 50); do
	[ "$(ctl relays 2>/dev/null | grep -c ' yes ')" = 2 ] && break
	sleep 0.2
done
ctl stream add tv --origin ra --ingest 198.18.66.11:5000 --source 198.18.66.1 &&
	ctl thresholds tv --offload-above 3 --cease-below 2 --hold 1 &&
	ctl stream add rtp --origin ra --ingest 198.18.66.11:5002 --source 198.18.66.1 ||
	fail "streams"

# Plain UDP listeners for the static subscribers: one writes the TS payloads, one is ffmpeg on RTP.
cat >"$_tmp/udp_capture.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(float(sys.argv[4]))
with open(sys.argv[3], "wb") as f:
    try:
        while True:
            f.write(s.recv(65536))
    except socket.timeout:
        pass
EOF
bg ip netns exec $DEVNS python3 "$_tmp/udp_capture.py" 198.18.66.101 6000 "$_tmp/s1.ts" 8
S1=$LAST_PID
ctl sub add tv 198.18.66.101:6000 --static && ctl sub add tv 198.18.66.104:6000 --static &&
	ctl sub add rtp 198.18.66.101:7002 --static || fail "static subscribers"

# The RTP subscriber: ffmpeg on a session description for its own address and port
# (payload type 32, MPEG video, RFC 2250), listening before the source starts.
cat >"$_tmp/recv.sdp" <<'EOF'
v=0
o=- 0 0 IN IP4 198.18.66.1
s=bpfcast e2e
c=IN IP4 198.18.66.101
t=0 0
m=video 7002 RTP/AVP 32
a=rtpmap:32 MPV/90000
EOF
bg ip netns exec $DEVNS timeout -s INT -k 5 $((SECONDS_OF_MEDIA + 6)) ffmpeg -hide_banner -v error \
	-nostdin -protocol_whitelist file,udp,rtp -i "$_tmp/recv.sdp" -f null - 2>"$_tmp/r1.err"
R1=$LAST_PID
sleep 1

# Where a lost or reordered datagram went, if a capture shows one: drops on the LAN's links and
# in each CPU's backlog, before and after.
link_drops() {
	ip -s -j link show -n "$LAN" | python3 -c 'import json,sys
for l in json.load(sys.stdin):
    s = l.get("stats64", {})
    print("  %s: rx dropped %s tx dropped %s" % (l["ifname"], s.get("rx", {}).get("dropped"), s.get("tx", {}).get("dropped")))'
}
softnet0=$(awk '{print $2}' /proc/net/softnet_stat | xargs)

# The sources: MPEG-2 video and MP2 audio in MPEG-TS, 7 TS packets per datagram; and RTP.
ip netns exec $SRC ffmpeg -hide_banner -v error -nostdin -re -t "$SECONDS_OF_MEDIA" -f lavfi \
	-i testsrc2=size=640x360:rate=25 -t "$SECONDS_OF_MEDIA" -f lavfi \
	-i sine=frequency=1000:sample_rate=48000 \
	-map 0:v -map 1:a -c:v mpeg2video -b:v 2M -g 12 -c:a mp2 -b:a 128k \
	-f mpegts -muxrate 2600k "udp://198.18.66.11:5000?pkt_size=1316" \
	-map 0:v -c:v mpeg2video -b:v 1M -g 12 -f rtp "rtp://198.18.66.11:5002?pkt_size=1200" \
	>"$_tmp/src.log" 2>&1 &
SRC_PID=$!
_pids+=("$SRC_PID")

join_dev() { # ADDR OUT SECONDS: a device joining with a token from the manager
	local tok
	tok=$(ctl token tv "$1:6000" | awk '/^token/ {t=$2} /^join/ {j=$2} END {print t, j}')
	set -- "$1" "$2" "$3" $tok
	bg ip netns exec $DEVNS "$JOIN" --relay "$5" --token "$4" --listen "$1:6000" \
		--duration "$3" --stdout --stats >"$2" 2>"$2.err"
}
sleep 2
join_dev 198.18.66.102 "$_tmp/j1.ts" $((SECONDS_OF_MEDIA - 4))	# third device: still ra
J1=$LAST_PID
sleep 2
join_dev 198.18.66.103 "$_tmp/j2.ts" $((SECONDS_OF_MEDIA - 6))	# fourth: offload to rb
J2=$LAST_PID
sleep 2
ctl status | grep -q "198.18.66.103:6000 .* on rb" && ok "the fourth device was offloaded to rb" ||
	fail "no offload: $(ctl status)"
sleep 3
ctl sub del tv 198.18.66.104:6000 || fail "sub del"	# room on ra: rb is released
for i in $(seq 40); do
	ctl status | grep -q "198.18.66.103:6000 .* on ra" && break
	sleep 0.25
done
ctl status | grep -q "198.18.66.103:6000 .* on ra" &&
	ok "rb was released; its device moved back to ra while receiving" || fail "no release"
wait "$SRC_PID" || fail "ffmpeg source: $(tail -3 "$_tmp/src.log")"
for p in "$J1" "$J2" "$S1" "$R1"; do wait "$p"; done

# A device that joins mid-stream decodes from the first random-access point (the
# first video PES that starts with an MPEG-2 sequence header), and one that
# leaves mid-stream up to its last whole picture: each capture is checked
# between the two. The continuity check covers every packet received.
python3 tests/helpers/tscheck.py "$_tmp/s1.ts" "$_tmp/j1.ts" "$_tmp/j2.ts" >"$_tmp/cc.txt"
while read -r name pkts errs rest; do
	out=$(ffmpeg -hide_banner -v error -nostdin -i "$_tmp/$name.ra" -f null - 2>&1)
	[ "$pkts" -gt 20000 ] && [ "$errs" = 0 ] && [ "$rest" = 0 ] && [ -z "$out" ] &&
		ok "$name: $pkts TS packets decode with no error and no continuity-counter error" ||
		fail "$name: $pkts TS packets, $errs CC errors, $rest stray bytes; ffmpeg: $out"
done <"$_tmp/cc.txt"
if [ "$FAILED" != 0 ]; then
	mkdir -p "$BUILD/media" && cp "$_tmp"/*.ts* "$_tmp"/*.err "$BUILD/media/"
	for f in s1 j1 j2; do
		echo "--- $f: continuity breaks (packet PID expected got gap), first 10"
		head -10 "$_tmp/$f.ts.cc"
	done
	echo "--- LAN links"; link_drops
	echo "--- backlog drops per CPU: before $softnet0, after $(awk '{print $2}' /proc/net/softnet_stat | xargs) (hex)"
	for r in ra rb; do echo "--- relay $r"; dump_dataplane /sys/fs/bpf/$P-$r "$_tmp/$r.sock"; done
fi
[ -s "$_tmp/r1.err" ] && fail "RTP receiver: $(head -5 "$_tmp/r1.err")" ||
	ok "the RTP subscriber decoded the whole session with no error"
finish e2e/media
