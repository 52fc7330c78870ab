#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Observing a running fleet: Prometheus metrics from the manager and an agent
# pass `promtool check metrics` and count what happened; /api/status has the
# schema of `bpfcastctl status --json`; the dashboard, in headless Chromium,
# shows the relays and the stream's tree through an offload and a release.
#
#   src 198.18.64.1 -> ra (origin) 198.18.64.11 -> rb 198.18.64.12 ; devices 198.18.64.10x
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
require_root "e2e/observe"

P=bcob
LAN=$P-lan MGR=$P-mgr SRC=$P-src DEVNS=$P-dev
MGR_ADDR=198.18.64.2:7400 WEB=198.18.64.2:9400
MANAGER=$BUILD/bpfcast-manager
OUT=$BUILD/observe
mkdir -p "$OUT"
for tool in promtool chromium curl; do
	command -v $tool >/dev/null || { fail "$tool is missing (tools/deps installs it)"; finish e2e/observe; }
done

set -e
lan $LAN
for n in $MGR $SRC $DEVNS $P-ra $P-rb; do netns $n; done
attach $SRC $P-s0 198.18.64.1/24
attach $MGR $P-m0 198.18.64.2/24
attach $P-ra $P-a0 198.18.64.11/24
attach $P-rb $P-b0 198.18.64.12/24
attach $DEVNS $P-d0 198.18.64.101/24 198.18.64.102/24 198.18.64.103/24 198.18.64.104/24
set +e

T=$_tmp/tls
tools/certs "$T" --manager 198.18.64.2 --agent ra --agent rb --admin ops >/dev/null
bg ip netns exec $MGR "$MANAGER" --listen $MGR_ADDR --db "$_tmp/m.db" --http $WEB \
	--ca "$T/ca.crt" --cert "$T/manager.crt" --key "$T/manager.key" 2>"$_tmp/mgr.log"
relay() { # ID IFACE ADDR
	start_agent $P-"$1" /sys/fs/bpf/$P-$1 "$_tmp/$1.sock" "$_tmp/$1.log" -i "$2" \
		--manager $MGR_ADDR --id "$1" --ca "$T/ca.crt" --cert "$T/agent-$1.crt" \
		--key "$T/agent-$1.key" --http "$3:9401"
}
relay ra $P-a0 198.18.64.11 && relay rb $P-b0 198.18.64.12 || { fail "relays"; finish e2e/observe; }
ctl() { ip netns exec $MGR "$CTL" --manager $MGR_ADDR --ca "$T/ca.crt" \
	--cert "$T/admin-ops.crt" --key "$T/admin-ops.key" "$@"; }
get() { ip netns exec $MGR curl -sf --max-time 5 "http://$1"; }
for i in $(seq 50); do
	[ "$(ctl relays 2>/dev/null | grep -c ' yes ')" = 2 ] && break
	sleep 0.2
done
ctl stream add tv --origin ra --ingest 198.18.64.11:5000 --source 198.18.64.1 &&
	ctl thresholds tv --offload-above 3 --cease-below 2 --hold 1 || fail "stream"
bg ip netns exec $SRC "$UDPGEN" --dst 198.18.64.11:5000 --count 6000 --rate 300 --size 1316
for d in 101 102 103; do ctl sub add tv 198.18.64.$d:6000 --static || fail "sub add"; done
sleep 1.5	# past the hold: the fourth device makes the manager offload to rb
ctl sub add tv 198.18.64.104:6000 --static || fail "sub add"
sleep 2.5	# a report or two

# Metrics.
get $WEB/metrics >"$OUT/manager.prom" && get 198.18.64.11:9401/metrics >"$OUT/agent.prom" ||
	fail "scraping /metrics"
for f in manager agent; do
	out=$(promtool check metrics <"$OUT/$f.prom" 2>&1) && ok "promtool check metrics: the $f's /metrics is clean" ||
		fail "promtool on the $f: $out"
done
grep -q '^bpfcast_stream_offloads_total{stream="tv"} 1$' "$OUT/manager.prom" &&
	grep -q '^bpfcast_relay_up{relay="rb"} 1$' "$OUT/manager.prom" &&
	grep -q '^bpfcast_stream_devices{stream="tv",relay="rb"} 1$' "$OUT/manager.prom" &&
	ok "manager metrics count the offload and where devices are" ||
	fail "manager metrics: $(grep -E 'offloads|relay_up|stream_devices' "$OUT/manager.prom")"
awk '/^bpfcast_stream_rx_packets_total\{stream="tv"\}/ { rx = $2 }
     /^bpfcast_stream_drops_total\{stream="tv",reason="bad_source"\}/ { seen = 1 }
     /^bpfcast_subscriber_tx_packets_total\{stream="tv",subscriber="198.18.64.101:6000"\}/ { tx = $2 }
     END { exit !(rx > 100 && seen && tx > 100) }' "$OUT/agent.prom" &&
	ok "agent metrics count the stream, its drops by reason and each subscriber" ||
	fail "agent metrics: $(grep -E 'rx_packets_total|reason="bad_source"|subscriber_tx' "$OUT/agent.prom" | head)"

# /api/status is the document bpfcastctl prints.
get $WEB/api/status >"$OUT/api.json" && ctl status --json >"$OUT/ctl.json" || fail "status"
python3 - "$OUT/api.json" "$OUT/ctl.json" <<'EOF' && ok "/api/status has the schema of 'bpfcastctl status --json', and the same fleet" || fail "/api/status differs from bpfcastctl's"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
def shape(x):
    if isinstance(x, dict):
        return {k: shape(v) for k, v in x.items()}
    if isinstance(x, list):
        return [shape(x[0])] if x else []
    return type(x).__name__
assert shape(a) == shape(b), (shape(a), shape(b))
assert [r["id"] for r in a["relays"]] == [r["id"] for r in b["relays"]]
assert [(p["from"], p["to"]) for p in a["streams"][0]["peers"]] == [("ra", "rb")]
EOF

# The dashboard in a real browser, mid-offload and after the release.
dashboard() { # OUT.html [SCREENSHOT.png]
	local args=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage
		    --user-data-dir="$_tmp/chromium" --virtual-time-budget=4000 --window-size=1280,760)
	HOME=$_tmp timeout 60 ip netns exec $MGR chromium "${args[@]}" --dump-dom "http://$WEB/" \
		>"$1" 2>/dev/null
	[ -n "${2:-}" ] && HOME=$_tmp timeout 60 ip netns exec $MGR chromium "${args[@]}" \
		--screenshot="$2" "http://$WEB/" >/dev/null 2>&1
	return 0
}
dashboard "$OUT/dashboard.html" "$OUT/dashboard.png"
grep -q 'tr data-relay="ra"' "$OUT/dashboard.html" && grep -q 'tr data-relay="rb"' "$OUT/dashboard.html" &&
	grep -q 'data-edge="ra-&gt;rb"' "$OUT/dashboard.html" &&
	grep -q 'offload to relay rb' "$OUT/dashboard.html" &&
	ok "the dashboard shows both relays, the tree ra -> rb and the offload (screenshot: $OUT/dashboard.png)" ||
	fail "dashboard DOM: $(grep -o 'data-[a-z]*="[^"]*"' "$OUT/dashboard.html" | sort -u | tr '\n' ' ')"
[ -s "$OUT/dashboard.png" ] && ok "a screenshot of the dashboard was taken" || fail "no screenshot"

ctl sub del tv 198.18.64.101:6000 || fail "sub del"
for i in $(seq 40); do
	get $WEB/api/status | grep -q '"peers":\[\]' && break
	sleep 0.25
done
dashboard "$OUT/dashboard2.html"
! grep -q 'data-edge=' "$OUT/dashboard2.html" && grep -q 'released relay rb' "$OUT/dashboard2.html" &&
	ok "after the release the dashboard shows no peer edge and the release event" ||
	fail "dashboard after release"
get $WEB/metrics | grep -q '^bpfcast_stream_releases_total{stream="tv"} 1$' &&
	ok "the release is counted in the metrics" || fail "release not counted"
finish e2e/observe
