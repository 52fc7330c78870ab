# SPDX-License-Identifier: GPL-2.0
# Helpers for bpfcast's network tests. Source it; set BUILD to the build dir.
#
# Rules: every namespace and link is the test's own and named with its prefix,
# every process is killed by the PID we started, cleanup runs on any exit.
# Addresses come only from 198.18.0.0/15 and 2001:2::/48, groups from
# 239.255.0.0/16 and ff15::/16.

BUILD=${BUILD:-build}
BUILD=$(cd "$BUILD" && pwd)
AGENT=$BUILD/bpfcast-agent
CTL=$BUILD/bpfcastctl
UDPGEN=$BUILD/tests/udpgen
UDPSINK=$BUILD/tests/udpsink

_namespaces=()
_pids=()
_pin_dirs=()
_tmp=$(mktemp -d /tmp/bpfcast-test.XXXXXX)
FAILED=0
_failures=()

require_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: $1 needs root (network namespaces and BPF); run as root" >&2
		exit 77
	fi
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
}

cleanup() {
	local p d n
	[ "$BASHPID" = "$$" ] || return 0	# a subshell's exit is not the test's
	for p in "${_pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in "${_pids[@]}"; do wait "$p" 2>/dev/null; done
	for d in "${_pin_dirs[@]}"; do
		[ -d "$d" ] && rm -rf "$d"
	done
	for n in "${_namespaces[@]}"; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$_tmp"
}
trap cleanup EXIT

# netns NAME: create a namespace we own, with lo up. Its links skip IPv6 duplicate
# address detection, which would hold neighbour discovery back for a second.
netns() {
	ip netns add "$1"
	_namespaces+=("$1")
	ip -n "$1" link set lo up
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0
}

# veth NS_A DEV_A NS_B DEV_B: a pair between two of our namespaces, both up.
veth() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

# lan NS: a namespace holding bridge br0, the LAN that attach puts hosts on.
lan() {
	LAN=$1
	netns "$LAN"
	ip -n "$LAN" link add br0 type bridge
	ip -n "$LAN" link set br0 up
}

# attach NS DEV ADDR/PLEN...: a host on the LAN (veth DEV, its peer DEV-br on br0).
attach() {
	local ns=$1 dev=$2
	shift 2
	veth "$ns" "$dev" "$LAN" "$dev-br"
	ip -n "$LAN" link set "$dev-br" master br0
	addr "$ns" "$dev" "$@"
}

# addr NS DEV ADDR/PLEN...
addr() {
	local ns=$1 dev=$2 a
	shift 2
	for a in "$@"; do
		case $a in
		*:*) ip -n "$ns" addr add "$a" dev "$dev" nodad ;;
		*) ip -n "$ns" addr add "$a" dev "$dev" ;;
		esac
	done
}

# bg CMD...: run in the background, remember the PID; sets LAST_PID.
bg() {
	"$@" &
	LAST_PID=$!
	_pids+=("$LAST_PID")
}

# start_agent NS PIN_DIR SOCKET LOG ARGS...: an agent inside NS that shares our
# mount namespace, so its pins outlive it; sets AGENT_PID.
start_agent() {
	local ns=$1 pin=$2 sock=$3 log=$4 i
	shift 4
	_pin_dirs+=("$pin")
	# AGENT_CPU keeps the agent (and its program loads) off the CPU that
	# forwards, for slow emulated guests where a load could starve forwarding.
	bg nsenter --net=/run/netns/"$ns" ${AGENT_CPU:+taskset -c "$AGENT_CPU"} "$AGENT" \
		--pin-dir "$pin" --socket "$sock" "$@" >>"$log" 2>&1
	AGENT_PID=$LAST_PID
	for i in $(seq 300); do		# 30 s: slow under emulation (make vmtest)
		[ -S "$sock" ] && "$CTL" --agent "$sock" status >/dev/null 2>&1 && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "agent did not start; its log:" >&2
	cat "$log" >&2
	return 1
}

# wait_file FILE SECONDS
wait_file() {
	local i
	for i in $(seq $(($2 * 10))); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# expect_error DESCRIPTION PATTERN CMD...: CMD fails and says PATTERN, in a line or two.
expect_error() {
	local desc=$1 pat=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && echo "$out" | grep -q -- "$pat" && [ "$(echo "$out" | wc -l)" -le 2 ]; then
		ok "$desc"
	else
		fail "$desc (exit $rc): $out"
	fi
}

ok() { echo "  ok   $*"; }
fail() {
	echo "  FAIL $*"
	FAILED=1
	_failures+=("$*")
}

# dump_dataplane PIN_DIR SOCKET: where the copies went, for a failed test's log.
dump_dataplane() {
	echo "--- data plane"
	"$CTL" --agent "$2" status 2>&1 | grep -v device
	bpftool map dump pinned "$1"/bpfc_egress 2>/dev/null |
		grep -E '"(sent|dropped|congestion_episodes)"'
	bpftool map dump pinned "$1"/bpfc_global 2>/dev/null | grep -E '"(xdp_|tx_|events_)' |
		grep -v '": 0'
	# Column 2: packets the CPU's backlog (netdev_max_backlog) refused.
	echo "softnet_stat (processed dropped squeezed, hex, per CPU):"
	awk '{print "  cpu" NR - 1 ": " $1, $2, $3}' /proc/net/softnet_stat
}

# finish NAME: the verdict; a failed test repeats its failures last, where a
# truncated log still shows them.
finish() {
	local f
	if [ "$FAILED" -ne 0 ]; then
		echo "failed checks of $1:"
		for f in "${_failures[@]}"; do echo "  FAIL $f"; done
		echo "FAIL: $1"
		exit 1
	fi
	echo "PASS: $1"
	exit 0
}
