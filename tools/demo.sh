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

step "4. latency: kdist against TCP and Unix sockets, measured in this boot"
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
