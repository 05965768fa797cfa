#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo_services.sh - the demo's seed scenarios (tools/demo/) across three
# hosts, checked by their exit status and what they print: the fib service
# on process group "fib" (closest member, and calls going on while a
# worker host is cut off), the key-value store, the filter service and the
# ping-pong, each a globally registered process called from other hosts,
# and the restart of the pong node.
#
#   alpha 10.98.0.1 --+
#   beta  10.98.0.2 --+-- bridge kdds (initial namespace)
#   gamma 10.98.0.3 --+
#
# Tick 1000 ms, session timeout 30000 ms, as in tools/demo.sh.
#
# Runs as root inside the test VM (tests/vm/run.sh loads the module first).
# Prints TAP, one line per test. Exit status: 0 all passed, 1 a test failed,
# 4 skipped (KSFT_SKIP: not root, module not loaded, a program missing).

# The t_* functions are called through the TESTS table.
# shellcheck disable=SC2317

set -u

SELF_DIR="$(cd "$(dirname "$0")" && pwd)"
readonly SELF_DIR
# shellcheck source=kd_lib.sh
. "$SELF_DIR/kd_lib.sh"
TOOLS="${TOOLS:-$SELF_DIR/../../tools}"
readonly KDISTCTL="$TOOLS/kdistctl"
readonly HOSTS=(alpha beta gamma)
readonly BRIDGE=kdds
readonly PORT=4370
readonly TICK_MS=1000
readonly SESSION_MS=30000
readonly UP_WAIT=30		# s, for the links to come up
readonly START_WAIT=20		# s, for a server to say it is up

TMP=""
SERVERS=()
declare -A PID

cleanup() {
	local p
	for p in "${SERVERS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	for h in "${HOSTS[@]}"; do ip netns del "kdds-$h" 2>/dev/null; done
	ip link del "$BRIDGE" 2>/dev/null
	[[ -n "$TMP" ]] && rm -rf "$TMP"
}

ip_of() {
	echo "10.98.0.$(($1 + 1))"
}

# wait_text FILE TEXT SECONDS: until TEXT (a grep pattern) is in FILE.
wait_text() {
	local end=$((SECONDS + $3))
	until grep -q "$2" "$1" 2>/dev/null; do
		((SECONDS < end)) || return 1
		sleep 0.2
	done
}

# on HOST OUT PROGRAM ARGS...: runs a client; its output goes to OUT and,
# as diagnostics, to the TAP stream. Returns the client's exit status.
on() {
	local host=$1 out=$2 st
	shift 2
	ip netns exec "kdds-$host" "$@" >"$out" 2>&1
	st=$?
	diag <"$out"
	return "$st"
}

# serve KEY HOST PROGRAM ARGS...: a server in the background, up within
# START_WAIT seconds (it prints " up" or "registered").
serve() {
	local key=$1 host=$2
	shift 2
	ip netns exec "kdds-$host" "$@" >"$TMP/$key.out" 2>&1 &
	PID[$key]=$!
	SERVERS+=($!)
	if ! wait_text "$TMP/$key.out" " up\|registered" "$START_WAIT"; then
		echo "# $key on $host did not start:"
		diag <"$TMP/$key.out"
		return 1
	fi
}

setup() {
	local i j h
	modprobe -q bridge
	modprobe -q veth
	ip link add "$BRIDGE" type bridge && ip link set "$BRIDGE" up || return 1
	for i in "${!HOSTS[@]}"; do
		h=${HOSTS[$i]}
		ip netns add "kdds-$h" &&
		ip link add "vds-$h" type veth peer name eth0 netns "kdds-$h" &&
		ip link set "vds-$h" master "$BRIDGE" up &&
		ip -n "kdds-$h" addr add "$(ip_of "$i")/24" dev eth0 &&
		ip -n "kdds-$h" link set eth0 up &&
		ip -n "kdds-$h" link set lo up || return 1
	done
	head -c 32 /dev/urandom | base64 | head -c 32 >"$TMP/secret"
	for i in "${!HOSTS[@]}"; do
		h=${HOSTS[$i]}
		"$KDISTCTL" -n "kdds-$h" host set name "$h" \
			listen "$(ip_of "$i"):$PORT" secret-file "$TMP/secret" \
			tick "$TICK_MS" session-timeout "$SESSION_MS" || return 1
		for j in "${!HOSTS[@]}"; do
			[[ $i == "$j" ]] && continue
			"$KDISTCTL" -n "kdds-$h" peer add "${HOSTS[$j]}" \
				"$(ip_of "$j"):$PORT" || return 1
		done
	done
	local end=$((SECONDS + UP_WAIT))
	for h in "${HOSTS[@]}"; do
		until [[ $("$KDISTCTL" -n "kdds-$h" link show 2>/dev/null |
			   grep -c 'state: up') == 2 ]]; do
			((SECONDS < end)) || { "$KDISTCTL" -n "kdds-$h" link show | diag; return 1; }
			sleep 0.5
		done
	done
}

# ---- Tests ---------------------------------------------------------------

# A client finds no server by a name nobody registered: it fails, clearly.
t_no_server() {
	on gamma "$TMP/noserver.out" "$TOOLS/kdist-kv" lookup greeting
	[[ $? == 1 ]] && grep -q 'global name "kv"' "$TMP/noserver.out"
}

# Workers on every host; a client on gamma calls the closest member, the
# one on its own host, for fib(0..90), every answer exact, fib(94) refused.
t_fib_closest() {
	local h
	for h in "${HOSTS[@]}"; do
		serve "fib_$h" "$h" "$TOOLS/kdist-fib" worker || return 1
	done
	on gamma "$TMP/fib.out" "$TOOLS/kdist-fib" client 90 3 &&
	grep -q '^91 served by fib@gamma (on this host' <(sed 's/^ *//' "$TMP/fib.out")
}

# gamma's worker stops; gamma's client keeps calling alpha's and beta's
# while alpha is cut off for 4 s, and alpha serves again after it.
t_fib_cut() {
	local spid st
	kill -TERM "${PID[fib_gamma]}" && wait "${PID[fib_gamma]}" 2>/dev/null
	ip netns exec kdds-gamma "$TOOLS/kdist-fib" soak 2 alpha \
		>"$TMP/soak.out" 2>&1 &
	spid=$!
	if ! wait_text "$TMP/soak.out" "^ready" 20; then
		kill "$spid"
		diag <"$TMP/soak.out"
		return 1
	fi
	sleep 2
	tc -n kdds-alpha qdisc add dev eth0 root netem loss 100% &&
		kill -USR1 "$spid"
	sleep 4
	tc -n kdds-alpha qdisc del dev eth0 root
	kill -USR2 "$spid"
	wait "$spid"
	st=$?
	diag <"$TMP/soak.out"
	# During the cut: calls were made, every one answered by beta's
	# worker. A worker's column is field k of the header line, k + 2 of
	# a row (whose phase name is three words).
	[[ $st == 0 ]] &&
	awk '$1 == "phase" { for (k = 3; k <= NF; k++) col[$k] = k + 2 }
	     $1 == "during" {
		beta = 0
		for (w in col) if (w ~ /^fib@beta/) beta = $(col[w])
		ok = $4 > 0 && beta == $4
	     }
	     END { exit !ok }' "$TMP/soak.out"
}

# The key-value store on alpha, global name "kv": 100 keys stored and
# looked up from gamma, a store from beta seen by a lookup from gamma, and
# a key never stored not found (exit 3).
t_kv() {
	serve kv alpha "$TOOLS/kdist-kv" server &&
	on gamma "$TMP/kv1.out" "$TOOLS/kdist-kv" check 100 &&
	on beta "$TMP/kv2.out" "$TOOLS/kdist-kv" store greeting "hi from beta" &&
	on gamma "$TMP/kv3.out" "$TOOLS/kdist-kv" lookup greeting &&
	grep -qx 'lookup greeting -> hi from beta' "$TMP/kv3.out" || return 1
	on alpha "$TMP/kv4.out" "$TOOLS/kdist-kv" lookup nothing-here
	[[ $? == 3 ]]
}

# The filter service on beta, global name "filter": the check set from
# alpha, and the primes of 1..30 from gamma.
t_filter() {
	serve filter beta "$TOOLS/kdist-filter" server &&
	on alpha "$TMP/f1.out" "$TOOLS/kdist-filter" check &&
	on gamma "$TMP/f2.out" "$TOOLS/kdist-filter" call prime $(seq 1 30) &&
	grep -qx '  -> \[2, 3, 5, 7, 11, 13, 17, 19, 23, 29\]' "$TMP/f2.out" ||
		return 1
	on gamma "$TMP/f3.out" "$TOOLS/kdist-filter" call no-such-predicate 1 2
	[[ $? == 1 ]] && grep -q 'Invalid argument' "$TMP/f3.out"
}

# pong on gamma, global name "pong": 200 pings from alpha, in order; then
# pong is killed and restarted while a client on beta watches: its old PID
# is refused and the new incarnation receives nothing meant for it.
t_ping_restart() {
	local rpid st
	serve pong gamma "$TOOLS/kdist-ping" serve &&
	on alpha "$TMP/p1.out" "$TOOLS/kdist-ping" client 200 || return 1
	ip netns exec kdds-beta "$TOOLS/kdist-ping" restart \
		>"$TMP/restart.out" 2>&1 &
	rpid=$!
	if ! wait_text "$TMP/restart.out" "restart pong@gamma now" 20; then
		kill "$rpid"
		diag <"$TMP/restart.out"
		return 1
	fi
	kill -KILL "${PID[pong]}" && wait "${PID[pong]}" 2>/dev/null
	serve pong gamma "$TOOLS/kdist-ping" serve || { kill "$rpid"; return 1; }
	wait "$rpid"
	st=$?
	diag <"$TMP/restart.out"
	[[ $st == 0 ]] && grep -q 'refused, -ESRCH' "$TMP/restart.out"
}

TESTS=(no_server fib_closest fib_cut kv filter ping_restart)

# ---- Main ----------------------------------------------------------------

[[ $EUID == 0 ]] || skip_all "not root"
[[ -c /dev/kdist ]] || skip_all "kdist.ko not loaded (/dev/kdist missing)"
for p in kdistctl kdist-fib kdist-kv kdist-filter kdist-ping; do
	[[ -x $TOOLS/$p ]] || skip_all "$TOOLS/$p not built (make)"
done
command -v tc >/dev/null || skip_all "tc (iproute2) missing"

TMP=$(mktemp -d)
trap cleanup EXIT
echo "TAP version 13"
echo "1..${#TESTS[@]}"
setup >"$TMP/setup.out" 2>&1
st=$?
diag <"$TMP/setup.out"
if [[ $st != 0 ]]; then
	for i in "${!TESTS[@]}"; do
		echo "not ok $((i + 1)) ${TESTS[$i]} # setup failed"
	done
	exit 1
fi
failed=0
for i in "${!TESTS[@]}"; do
	if "t_${TESTS[$i]}"; then
		echo "ok $((i + 1)) ${TESTS[$i]}"
	else
		echo "not ok $((i + 1)) ${TESTS[$i]}"
		failed=1
	fi
done
exit "$failed"
