#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The main job, run inside the test VM by `make demo` (as root, with
# kdist.ko loaded): three hosts on a bridge, configured with kdistctl, their
# links brought up and shown, and the latency table of kdist-bench.
#
#   alpha 10.78.0.1 --+
#   beta  10.78.0.2 --+-- bridge kddemo (initial namespace)
#   gamma 10.78.0.3 --+
#
# Exit status 0 only if every step held.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
KDISTCTL=$HERE/kdistctl
BENCH=$HERE/bench.sh
HOSTS=(alpha beta gamma)
BRIDGE=kddemo
PORT=4370
TICK_MS=1000
SESSION_MS=30000
# How long the links may take to come up, in seconds.
UP_TIMEOUT=30
SECRET_FILE=/tmp/kdist-demo.key
failed=0

step() { printf '\n==== %s\n' "$*"; }
fail() { echo "demo: FAILED: $*"; failed=1; }
ip_of() { echo "10.78.0.$(($1 + 1))"; }

cleanup() {
	for h in "${HOSTS[@]}"; do ip netns del "kd-$h" 2>/dev/null; done
	ip link del "$BRIDGE" 2>/dev/null
	rm -f "$SECRET_FILE"
}
trap cleanup EXIT

step "1. three hosts: network namespaces on a bridge"
modprobe -q bridge; modprobe -q veth
ip link add "$BRIDGE" type bridge && ip link set "$BRIDGE" up || fail "bridge"
for i in "${!HOSTS[@]}"; do
	h=${HOSTS[$i]}
	ip netns add "kd-$h" &&
	ip link add "v-$h" type veth peer name eth0 netns "kd-$h" &&
	ip link set "v-$h" master "$BRIDGE" up &&
	ip -n "kd-$h" addr add "$(ip_of "$i")/24" dev eth0 &&
	ip -n "kd-$h" link set eth0 up &&
	ip -n "kd-$h" link set lo up || fail "namespace kd-$h"
	echo "host $h: namespace kd-$h, $(ip_of "$i")"
done

step "2. configure them with kdistctl"
head -c 32 /dev/urandom | base64 | head -c 32 >"$SECRET_FILE"
for i in "${!HOSTS[@]}"; do
	h=${HOSTS[$i]}
	echo "+ kdistctl -n kd-$h host set name $h listen $(ip_of "$i"):$PORT secret-file $SECRET_FILE tick $TICK_MS session-timeout $SESSION_MS"
	"$KDISTCTL" -n "kd-$h" host set name "$h" listen "$(ip_of "$i"):$PORT" \
		secret-file "$SECRET_FILE" tick "$TICK_MS" \
		session-timeout "$SESSION_MS" || fail "host set on $h"
	for j in "${!HOSTS[@]}"; do
		[ "$i" = "$j" ] && continue
		"$KDISTCTL" -n "kd-$h" peer add "${HOSTS[$j]}" "$(ip_of "$j"):$PORT" ||
			fail "peer add ${HOSTS[$j]} on $h"
	done
done
"$KDISTCTL" -n kd-alpha host show

step "3. links come up (authenticated with the shared secret)"
deadline=$((SECONDS + UP_TIMEOUT))
for h in "${HOSTS[@]}"; do
	until [ "$("$KDISTCTL" -n "kd-$h" -j link show 2>/dev/null |
		   python3 -c 'import json,sys; print(sum(l["state"] == "up" for l in json.load(sys.stdin)))' 2>/dev/null)" = 2 ]; do
		if [ $SECONDS -ge $deadline ]; then
			fail "links of $h not up after ${UP_TIMEOUT}s"
			break
		fi
		sleep 0.5
	done
done
"$KDISTCTL" -n kd-alpha link show

step "4. the cable pull of Svensson and Fredlund (2007)"
# alpha streams numbers to beta every 10 ms; beta's cable is pulled for
# 8 s (longer than the 1 s tick timeout, shorter than the 30 s session
# timeout), then put back. Same experiment over kdist and over a naive
# TCP stream with an application tick that reconnects, as Erlang does.
PULL=$HERE/kdist-cablepull
COUNT=2000
INTERVAL_MS=10
CUT_AFTER=5
CUT_FOR=8
TCP_PORT=5555
declare -A RESULT
pull() { # transport, receiver command..., -- sender command...
	local name=$1 out=/tmp/kdist-demo-$1.out rcv=() snd=()
	shift
	while [ "$1" != -- ]; do rcv+=("$1"); shift; done
	shift
	snd=("$@")
	ip netns exec kd-beta "$PULL" "${rcv[@]}" >"$out" &
	local rpid=$!
	until grep -q ready "$out" 2>/dev/null; do sleep 0.2; done
	ip netns exec kd-alpha "$PULL" "${snd[@]}" >/dev/null &
	local spid=$!
	sleep $CUT_AFTER
	echo "$name: cable pulled at ${CUT_AFTER}s for ${CUT_FOR}s"
	tc -n kd-beta qdisc add dev eth0 root netem loss 100%
	sleep $CUT_FOR
	tc -n kd-beta qdisc del dev eth0 root
	echo "$name: cable back"
	wait $spid
	wait $rpid
	RESULT[$name]=$(grep received "$out")
	rm -f "$out"
}
if [ -x "$PULL" ]; then
	pull kdist recv-kdist sink 120 -- \
		send-kdist source sink@beta $COUNT $INTERVAL_MS
	pull tcp recv-tcp $TCP_PORT 120 $TICK_MS -- \
		send-tcp 10.78.0.2 $TCP_PORT $COUNT $INTERVAL_MS $TICK_MS
	field() { echo "${RESULT[$1]}" | awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }'; }
	printf '\n%-12s %6s %9s %6s %11s %13s  %s\n' transport sent received lost duplicated out-of-order "first gap"
	for t in kdist tcp; do
		printf '%-12s %6s %9s %6s %11s %13s  %s\n' "$t" $COUNT \
			"$(field $t received)" "$(field $t lost)" \
			"$(field $t duplicated)" "$(field $t out-of-order)" \
			"$(field $t first-gap)"
	done
	[ "$(field kdist received)" = $COUNT ] && [ "$(field kdist lost)" = 0 ] &&
		[ "$(field kdist duplicated)" = 0 ] &&
		[ "$(field kdist out-of-order)" = 0 ] ||
		fail "kdist lost, duplicated or reordered messages in the cable pull"
else
	fail "kdist-cablepull is not built"
fi

step "5. latency: kdist against TCP and Unix sockets, measured in this boot"
if [ -x "$HERE/kdist-bench" ] && [ -f "$BENCH" ]; then
	bash "$BENCH" || fail "kdist-bench"
else
	echo "kdist-bench is not built yet: no latency table in this demo"
fi

step "summary"
if [ $failed = 0 ]; then
	echo "demo: every step held"
else
	echo "demo: some steps FAILED (see above)"
fi
exit $failed
