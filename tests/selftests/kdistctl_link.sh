#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kdistctl_link.sh - a link between two kdist hosts, configured and watched
# with tools/kdistctl: it comes up, survives a cut cable, refuses a peer
# with the wrong secret, and comes back once the secret is fixed.
#
#   netns kdl-a                                 netns kdl-b
#   host alpha                                  host beta
#   +-----------------------+                   +-----------------------+
#   | veth-a 10.99.0.1/24   |-------------------| veth-b 10.99.0.2/24   |
#   | listen 10.99.0.1:4370 |    veth pair      | listen 10.99.0.2:4370 |
#   | peer beta             |                   | peer alpha            |
#   +-----------------------+                   +-----------------------+
#
# Both hosts share one 32-byte secret, tick 1000 ms, session timeout
# 10000 ms. `kdistctl -n kdl-a -j monitor` runs in the background for the
# whole test and the event checks read what it printed.
#
# Runs as root inside the test VM (tests/vm/run.sh loads the module first).
# Prints TAP, one line per test. Exit status: 0 all passed, 1 a test failed,
# 4 skipped (KSFT_SKIP: not root, module not loaded, a tool missing).
#
# KDISTCTL=PATH tests another binary (default: tools/kdistctl of this tree).

# The t_* functions are called through the TESTS table.
# shellcheck disable=SC2317

set -u

SELF_DIR="$(cd "$(dirname "$0")" && pwd)"
readonly SELF_DIR
# shellcheck source=kd_lib.sh
. "$SELF_DIR/kd_lib.sh"
KDISTCTL="${KDISTCTL:-$SELF_DIR/../../tools/kdistctl}"

readonly NS_A=kdl-a
readonly NS_B=kdl-b
readonly DEV_A=veth-a
readonly DEV_B=veth-b
readonly ADDR_A=10.99.0.1
readonly ADDR_B=10.99.0.2
readonly PREFIX_LEN=24
readonly PORT=4370
readonly NAME_A=alpha
readonly NAME_B=beta
readonly SECRET_LEN=32
readonly TICK_MS=1000
readonly SESSION_TIMEOUT_MS=10000

# Waits, in seconds. Polls run every POLL_STEP seconds.
readonly POLL_STEP=0.5
readonly UP_WAIT=15		# for a link to come up
readonly MONITOR_WAIT=5		# for the monitor to subscribe
readonly UNREACHABLE_WAIT=5	# for link-unreachable after the cut
readonly REACHABLE_WAIT=15	# for link-reachable after the repair
readonly DOWN_WAIT=5		# for a killed connection to be noticed
readonly AUTH_WAIT=15		# for an authentication failure to count
readonly STAYS_DOWN=3		# the wrong secret keeps the link down so long
readonly TICKS_WAIT=2		# an idle link's counters must grow over this

readonly HEX64_RE='^0x[0-9a-f]{16}$'

TMP=""
MONITOR_PID=""
INC_A=""
INC_B=""
FAILED_LINES=0

# ---- Infrastructure ------------------------------------------------------

cleanup() {
	if [[ -n "$MONITOR_PID" ]]; then
		kill "$MONITOR_PID" 2>/dev/null
		wait "$MONITOR_PID" 2>/dev/null
	fi
	ip netns del "$NS_A" 2>/dev/null
	ip netns del "$NS_B" 2>/dev/null
	[[ -n "$TMP" ]] && rm -rf "$TMP"
}

# say TEXT: a diagnostic line.
say() {
	echo "$*" | diag
}

kd_a() {
	"$KDISTCTL" -n "$NS_A" "$@"
}

kd_b() {
	"$KDISTCTL" -n "$NS_B" "$@"
}

# ns_of SIDE: the namespace of side a or b.
ns_of() {
	if [[ $1 == a ]]; then echo "$NS_A"; else echo "$NS_B"; fi
}

# json_get FILE KEY: the string or number of the first "KEY" in FILE.
# Polls use this rather than python3, which is slow to start in the VM;
# the keys it is used for are unique in the output they are read from.
json_get() {
	local re="\"$2\":(\"([^\"]*)\"|([0-9]+))" text
	text=$(<"$1")
	[[ $text =~ $re ]] || return 1
	echo "${BASH_REMATCH[2]}${BASH_REMATCH[3]}"
}

# link_json SIDE: `link show -j` of SIDE into $TMP/link-SIDE.json.
link_json() {
	"$KDISTCTL" -n "$(ns_of "$1")" -j link show >"$TMP/link-$1.json" \
		2>"$TMP/link-$1.err"
}

# link_get SIDE KEY: a key of the (only) link of SIDE, or of its stats.
link_get() {
	link_json "$1" && json_get "$TMP/link-$1.json" "$2"
}

# host_get SIDE KEY: a key of `host show -j` of SIDE.
host_get() {
	"$KDISTCTL" -n "$(ns_of "$1")" -j host show >"$TMP/host-$1.json" \
		2>/dev/null && json_get "$TMP/host-$1.json" "$2"
}

link_state() {
	link_get "$1" state
}

link_stat() {
	link_get "$1" "$2"
}

# wait_for SECONDS CMD...: runs CMD every POLL_STEP until it succeeds;
# fails if SECONDS pass first.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	while ! "$@"; do
		((SECONDS < deadline)) || return 1
		sleep "$POLL_STEP"
	done
}

state_is() {
	[[ "$(link_state "$1")" == "$2" ]]
}

both_up() {
	state_is a up && state_is b up
}

show_links() {
	local side
	for side in a b; do
		say "link show on $side:"
		"$KDISTCTL" -n "$(ns_of "$side")" link show 2>&1 | diag
	done
}

show_events() {
	say "events seen by the monitor on $NS_A:"
	diag <"$TMP/monitor.out"
	[[ -s "$TMP/monitor.err" ]] && { say "monitor stderr:"; diag <"$TMP/monitor.err"; }
	return 0
}

# The lines the monitor printed, in EVENTS (bash only: every program
# started costs a good fraction of a second in the VM).
EVENTS=()
read_events() {
	mapfile -t EVENTS <"$TMP/monitor.out"
}

# event_seen NAME: the monitor printed event NAME after the first
# $EVENTS_FROM lines; its JSON is left in $TMP/event.json.
EVENTS_FROM=0
event_seen() {
	local i
	read_events
	for ((i = EVENTS_FROM; i < ${#EVENTS[@]}; i++)); do
		if [[ ${EVENTS[i]} == *"\"event\":\"$1\""* ]]; then
			printf '%s\n' "${EVENTS[i]}" >"$TMP/event.json"
			return 0
		fi
	done
	return 1
}

# mark_events: later event_seen calls only look at events from now on.
mark_events() {
	read_events
	EVENTS_FROM=${#EVENTS[@]}
}

# event_is KEY REGEX...: in the event in $TMP/event.json, each KEY has a
# value that matches its (anchored) REGEX.
event_is() {
	local value
	while (($# >= 2)); do
		value=$(json_get "$TMP/event.json" "$1")
		if ! [[ $value =~ ^($2)$ ]]; then
			say "event: $1 is '$value', expected '$2'"
			diag <"$TMP/event.json"
			return 1
		fi
		shift 2
	done
}

# ---- Tests ---------------------------------------------------------------
# Each t_NAME function is one TAP line; it returns 0 (pass) or 1 (fail).

t_configure() {
	local side ns addr name out
	for side in a b; do
		ns=$(ns_of "$side")
		if [[ $side == a ]]; then
			addr=$ADDR_A name=$NAME_A
		else
			addr=$ADDR_B name=$NAME_B
		fi
		if ! out=$("$KDISTCTL" -n "$ns" host set name "$name" \
			listen "$addr:$PORT" secret-file "$TMP/secret.key" \
			tick "$TICK_MS" session-timeout "$SESSION_TIMEOUT_MS" 2>&1); then
			say "host set in $ns failed: $out"
			return 1
		fi
	done
	INC_A=$(host_get a incarnation) && INC_B=$(host_get b incarnation) &&
	[[ $INC_A =~ $HEX64_RE && $INC_B =~ $HEX64_RE ]] && return 0
	say "bad incarnations: a '$INC_A', b '$INC_B'"
	return 1
}

# The monitor may subscribe after it starts: change the host until the
# monitor reports it.
monitor_ready() {
	kd_a host set tick "$TICK_MS" >/dev/null 2>&1
	event_seen host-changed
}

t_monitor_start() {
	"$KDISTCTL" -n "$NS_A" -j monitor >"$TMP/monitor.out" \
		2>"$TMP/monitor.err" &
	MONITOR_PID=$!
	wait_for "$MONITOR_WAIT" monitor_ready && mark_events && return 0
	say "the monitor reported nothing"
	show_events
	return 1
}

t_peer_add() {
	local out
	if ! out=$(kd_a peer add "$NAME_B" "$ADDR_B:$PORT" 2>&1); then
		say "peer add on a: $out"
		return 1
	fi
	if ! out=$(kd_b peer add "$NAME_A" "$ADDR_A:$PORT" 2>&1); then
		say "peer add on b: $out"
		return 1
	fi
}

t_link_up() {
	wait_for "$UP_WAIT" both_up && return 0
	say "the link is not up on both sides after ${UP_WAIT}s"
	show_links
	return 1
}

# has_line TEXT REGEX: a line of TEXT matches REGEX (anchor it yourself).
has_line() {
	local line
	while IFS= read -r line; do
		[[ $line =~ $2 ]] && return 0
	done <<<"$1"
	return 1
}

# check_link_text SIDE PEER PEER_ADDR PEER_INC: the text of link show PEER.
check_link_text() {
	local side=$1 peer=$2 addr=$3 inc=$4 out re
	out=$("$KDISTCTL" -n "$(ns_of "$side")" link show "$peer" 2>&1) &&
	has_line "$out" "^peer: $peer\$" &&
	has_line "$out" '^  state: up$' &&
	has_line "$out" "^  incarnation: $inc\$" &&
	has_line "$out" "^  address: ${addr//./\\.}:$PORT\$" &&
	has_line "$out" '^  protocol: 3$' &&
	has_line "$out" '^  flow control: [0-9]+ nodes held back, held by the peer [0-9]+$' &&
	has_line "$out" '^  last rx: [0-9]+ ms ago$' &&
	has_line "$out" '^  ticks: [0-9]+ sent, [0-9]+ received$' &&
	re='^  dropped: [0-9]+ \(session ended\), [0-9]+ \(no such node\), '
	re+='[0-9]+ \(stale creation\)$'
	has_line "$out" "$re" && return 0
	say "link show $peer on $side:"
	diag <<<"$out"
	return 1
}

# The JSON of link show on both sides, in one python3 run.
check_links_json() {
	local out
	if ! { link_json a && link_json b; }; then
		say "link show -j failed"
		return 1
	fi
	if ! out=$(python3 -c '
import json, re, sys
STATS = {"tx_seq", "rx_seq", "acked", "retransmits", "reconnects",
         "tx_bytes", "rx_bytes", "queued_bytes", "queued_frames",
         "last_rx_ms", "dups", "drop_session", "drop_no_node", "drop_stale",
         "proto_errors", "ticks_tx", "ticks_rx", "tx_msgs", "rx_msgs",
         "flow_holds", "flow_held", "auth_failures"}
port = int(sys.argv[1])
for side in (sys.argv[2:6], sys.argv[6:10]):
    path, peer, addr, inc = side
    d = json.load(open(path))
    assert isinstance(d, list) and len(d) == 1, d
    l = d[0]
    assert l["peer"] == peer, l["peer"]
    assert l["addr"] == addr and l["port"] == port, (l["addr"], l["port"])
    assert l["state"] == "up", l["state"]
    assert l["protocol"] == 3, "protocol %r" % l.get("protocol")
    assert re.match(r"^0x[0-9a-f]{16}$", l["incarnation"]), l["incarnation"]
    assert int(l["incarnation"], 16) != 0, "incarnation of %s is zero" % peer
    assert l["incarnation"] == inc, "incarnation of %s is %s, but %s says %s" \
        % (peer, l["incarnation"], peer, inc)
    assert set(l["stats"]) == STATS, sorted(set(l["stats"]) ^ STATS)
    for k, v in l["stats"].items():
        assert isinstance(v, int) and not isinstance(v, bool) and v >= 0, \
            (k, v)
' "$PORT" "$TMP/link-a.json" "$NAME_B" "$ADDR_B" "$INC_B" \
		"$TMP/link-b.json" "$NAME_A" "$ADDR_A" "$INC_A" 2>&1); then
		diag <<<"$out"
		say "link show -j on $NS_A and $NS_B:"
		diag <"$TMP/link-a.json"
		diag <"$TMP/link-b.json"
		return 1
	fi
}

t_link_fields() {
	check_links_json &&
	check_link_text a "$NAME_B" "$ADDR_B" "$INC_B" &&
	check_link_text b "$NAME_A" "$ADDR_A" "$INC_A"
}

t_link_up_event() {
	if ! event_seen link-up; then
		say "no link-up event"
		show_events
		return 1
	fi
	event_is peer "$NAME_B" peer_incarnation "$INC_B" reason none state up
}

# peer add announced the link (idle), and the dial that followed was a
# link-state event (connecting) before link-up: every change of the state
# link show gives is an event.
t_added_events() {
	if ! event_seen link-added; then
		say "no link-added event after peer add"
		show_events
		return 1
	fi
	event_is peer "$NAME_B" reason none state idle || return 1
	if ! event_seen link-state; then
		say "no link-state event while the link came up"
		show_events
		return 1
	fi
	event_is peer "$NAME_B" state connecting
}

# Counters that grow on an idle link that is up, on both sides.
readonly IDLE_GROWING=(ticks_rx ticks_tx rx_bytes tx_bytes)

t_ticks() {
	local -A before
	local side key now ok=0
	for side in a b; do
		link_json "$side" || return 1
		for key in "${IDLE_GROWING[@]}"; do
			before[$side.$key]=$(json_get "$TMP/link-$side.json" "$key") ||
				return 1
		done
	done
	sleep "$TICKS_WAIT"
	for side in a b; do
		link_json "$side" || return 1
		for key in "${IDLE_GROWING[@]}"; do
			now=$(json_get "$TMP/link-$side.json" "$key") || return 1
			((now > before[$side.$key])) && continue
			say "$key on $side: ${before[$side.$key]}, then $now ${TICKS_WAIT}s later"
			ok=1
		done
	done
	return "$ok"
}

t_cut_unreachable() {
	mark_events
	ip -n "$NS_A" link set "$DEV_A" down || return 1
	if ! wait_for "$UNREACHABLE_WAIT" event_seen link-unreachable; then
		say "no link-unreachable within ${UNREACHABLE_WAIT}s of the cut"
		show_events
		show_links
		return 1
	fi
	event_is peer "$NAME_B" peer_incarnation "$INC_B" \
		reason 'tick_timeout|conn_lost' state unreachable || return 1
	state_is a unreachable && return 0
	say "link-unreachable reported, but the state is not unreachable"
	show_links
	return 1
}

t_repair_reachable() {
	mark_events
	ip -n "$NS_A" link set "$DEV_A" up || return 1
	if ! wait_for "$REACHABLE_WAIT" event_seen link-reachable; then
		say "no link-reachable within ${REACHABLE_WAIT}s of the repair"
		show_events
		show_links
		return 1
	fi
	event_is peer "$NAME_B" peer_incarnation "$INC_B" reason none \
		state up || return 1
	if ! wait_for "$UP_WAIT" both_up; then
		say "link-reachable reported, but the link is not up"
		show_links
		return 1
	fi
	# The session resumed: same peer, and no link-down in between.
	if event_seen link-down; then
		say "the session ended during the cut:"
		show_events
		return 1
	fi
	local reconnects
	reconnects=$(link_stat a reconnects) &&
	[[ "$(link_get a incarnation)" == "$INC_B" ]] &&
	((reconnects >= 1)) && return 0
	say "after the repair:"
	diag <"$TMP/link-a.json"
	return 1
}

auth_failures() {
	local a b
	a=$(host_get a auth_failures) && b=$(host_get b auth_failures) &&
		echo $((a + b))
}

# Kills the connection from a's side; bounces the veth if that does not
# take the link down (no `ss -K` in the kernel or in ss).
kill_connection() {
	ip netns exec "$NS_A" ss -K dst "$ADDR_B" >"$TMP/ss.out" 2>&1
	wait_for "$DOWN_WAIT" not_up a && return 0
	say "ss -K did not take the link down; bouncing $DEV_A"
	diag <"$TMP/ss.out"
	ip -n "$NS_A" link set "$DEV_A" down &&
		sleep $((TICK_MS * 2 / 1000)) &&
		ip -n "$NS_A" link set "$DEV_A" up
}

not_up() {
	local s
	s=$(link_state "$1") && [[ $s != up ]]
}

# Polls until auth_failures passes $1, failing if the link comes up.
AUTH_BEFORE=0
auth_failed_not_up() {
	local n
	if state_is a up || state_is b up; then
		say "the link came up with different secrets"
		show_links
		return 2
	fi
	n=$(auth_failures) && ((n > AUTH_BEFORE))
}

t_wrong_secret() {
	local deadline rc
	AUTH_BEFORE=$(auth_failures) || { say "no auth_failures in host show"; return 1; }
	mark_events
	kd_b host set secret-file "$TMP/secret2.key" || return 1
	kill_connection || return 1
	deadline=$((SECONDS + AUTH_WAIT))
	while :; do
		auth_failed_not_up
		rc=$?
		((rc == 0)) && break
		((rc == 2)) && return 1
		if ((SECONDS >= deadline)); then
			say "auth_failures did not grow in ${AUTH_WAIT}s (was $AUTH_BEFORE, a+b)"
			show_links
			return 1
		fi
		sleep "$POLL_STEP"
	done
	# And it stays down.
	deadline=$((SECONDS + STAYS_DOWN))
	while ((SECONDS < deadline)); do
		if state_is a up || state_is b up; then
			say "the link came up with different secrets"
			show_links
			return 1
		fi
		sleep "$POLL_STEP"
	done
}

# The monitor watches a: if a refused beta, it reported auth-failed.
t_auth_failed_event() {
	local n
	n=$(host_get a auth_failures) || return 1
	if ((n == 0)); then
		say "only $NS_B refused the handshake: no event expected on $NS_A"
		return 0
	fi
	if ! event_seen auth-failed; then
		say "auth_failures is $n on $NS_A, but no auth-failed event"
		show_events
		return 1
	fi
	event_is peer "$NAME_B" peer_incarnation "$INC_B"
}

t_fixed_secret() {
	kd_b host set secret-file "$TMP/secret.key" || return 1
	wait_for "$UP_WAIT" both_up && return 0
	say "the link is not back up ${UP_WAIT}s after fixing the secret"
	show_links
	return 1
}

# peer del on a live link: the session ends (link-down), then the link
# goes (link-deleted), both for disconnected_by_admin.
t_peer_del_events() {
	local out
	mark_events
	if ! out=$(kd_a peer del "$NAME_B" 2>&1); then
		say "peer del on a: $out"
		return 1
	fi
	if ! wait_for "$DOWN_WAIT" event_seen link-deleted; then
		say "no link-deleted within ${DOWN_WAIT}s of peer del"
		show_events
		return 1
	fi
	event_is peer "$NAME_B" reason disconnected_by_admin || return 1
	if ! event_seen link-down; then
		say "peer del of a live link: no link-down"
		show_events
		return 1
	fi
	event_is peer "$NAME_B" reason disconnected_by_admin state 'idle|down'
}

# Every link event the monitor printed carries the state after it, and a
# link-state event is a change: its state differs from the one before.
t_state_events() {
	local out
	if ! out=$(python3 -c '
import json, sys
prev, n = {}, 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if not e["event"].startswith("link-"):
        continue
    n += 1
    st = e.get("state")
    if st is None:
        sys.exit("no state: " + line)
    if e["event"] == "link-state" and prev.get(e["peer"]) == st:
        sys.exit("link-state without a change: " + line)
    prev[e["peer"]] = st
if n < 8:
    sys.exit("only %d link events" % n)
print("%d link events, each with its state" % n)
' "$TMP/monitor.out" 2>&1); then
		diag <<<"$out"
		show_events
		return 1
	fi
	diag <<<"$out"
}

t_monitor_json() {
	local out
	if ! out=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        sys.exit("not JSON: " + line)
    assert isinstance(e, dict) and "event" in e, line
' "$TMP/monitor.out" 2>&1); then
		diag <<<"$out"
		return 1
	fi
	kill -0 "$MONITOR_PID" 2>/dev/null && return 0
	say "the monitor exited:"
	diag <"$TMP/monitor.err"
	return 1
}

readonly TESTS=(
	"t_configure|host set name, listen, secret-file, tick, session-timeout on both hosts"
	"t_monitor_start|-j monitor subscribes to the events of $NS_A"
	"t_peer_add|peer add on both hosts"
	"t_link_up|link show reports state up on both sides within ${UP_WAIT}s"
	"t_link_fields|link show: peer, address, incarnation of the peer host, counters"
	"t_link_up_event|link-up event names the peer and its incarnation"
	"t_added_events|peer add: link-added (idle), then link-state (connecting)"
	"t_ticks|ticks and bytes grow both ways on an idle link"
	"t_cut_unreachable|$DEV_A down: link-unreachable within ${UNREACHABLE_WAIT}s"
	"t_repair_reachable|$DEV_A up: link-reachable, same session, reconnects counted"
	"t_wrong_secret|a peer with another secret: auth_failures grows, link stays down"
	"t_auth_failed_event|auth-failed event names the peer"
	"t_fixed_secret|the same secret again: the link comes back up"
	"t_peer_del_events|peer del: link-down, then link-deleted, for disconnected_by_admin"
	"t_state_events|every link event carries its state; link-state is a change"
	"t_monitor_json|every monitor line is JSON and the monitor still runs"
)

# ---- Setup ---------------------------------------------------------------

setup() {
	[[ $EUID -eq 0 ]] || skip_all "must run as root"
	local tool
	for tool in ip ss python3; do
		command -v "$tool" >/dev/null || skip_all "$tool not installed"
	done
	[[ -x "$KDISTCTL" ]] || skip_all "$KDISTCTL not built (make -C tools)"
	KDISTCTL=$(cd "$(dirname "$KDISTCTL")" && pwd)/$(basename "$KDISTCTL")

	TMP=$(mktemp -d "${TMPDIR:-/tmp}/kdistctl-link.XXXXXX") ||
		skip_all "cannot make a temporary directory"
	trap cleanup EXIT
	# The kernel cannot load modules by itself in the test VM. tcp_diag
	# is for `ss -K`; without it the test bounces the veth instead.
	modprobe -q veth 2>/dev/null
	modprobe -q tcp_diag 2>/dev/null
	ip netns del "$NS_A" 2>/dev/null
	ip netns del "$NS_B" 2>/dev/null
	if ! ip netns add "$NS_A" || ! ip netns add "$NS_B"; then
		skip_all "cannot create network namespaces"
	fi
	if ! ip link add "$DEV_A" netns "$NS_A" type veth \
		peer name "$DEV_B" netns "$NS_B"; then
		skip_all "cannot create a veth pair"
	fi
	if ! { ip -n "$NS_A" addr add "$ADDR_A/$PREFIX_LEN" dev "$DEV_A" &&
		ip -n "$NS_B" addr add "$ADDR_B/$PREFIX_LEN" dev "$DEV_B" &&
		ip -n "$NS_A" link set lo up && ip -n "$NS_B" link set lo up &&
		ip -n "$NS_A" link set "$DEV_A" up &&
		ip -n "$NS_B" link set "$DEV_B" up; }; then
		skip_all "cannot configure the veth pair"
	fi

	if "$KDISTCTL" -n "$NS_A" host show 2>&1 | grep -q 'not loaded'; then
		skip_all "the kdist module is not loaded"
	fi
	(
		umask 077
		make_secret "$SECRET_LEN" >"$TMP/secret.key"
		make_secret "$SECRET_LEN" >"$TMP/secret2.key"
	)
}

main() {
	local entry fn desc n=0
	setup
	echo "TAP version 13"
	echo "1..${#TESTS[@]}"
	for entry in "${TESTS[@]}"; do
		fn=${entry%%|*}
		desc=${entry#*|}
		n=$((n + 1))
		if "$fn"; then
			echo "ok $n - $desc"
		else
			echo "not ok $n - $desc"
			FAILED_LINES=$((FAILED_LINES + 1))
		fi
	done
	if ((FAILED_LINES)); then
		echo "# $FAILED_LINES of $n tests failed"
		exit 1
	fi
	exit 0
}

main "$@"
