#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The main job, run inside the test VM by `make demo` (as root, with
# kdist.ko loaded):
#
#   1. three hosts on a bridge, configured with kdistctl, links shown
#   2. the seed scenarios, real programs on libkdist's cluster services:
#      kdist-fib (a fib service on process group "fib" with a worker on
#      every host, called at its closest member, and still answering while
#      a worker host is cut off), kdist-kv (a key-value store), kdist-filter
#      (a filter service) and kdist-ping (a remote ping-pong), each a
#      globally registered process called from other hosts
#   3. the cable pull of Svensson and Fredlund, kdist against naive TCP
#   4. restart: a node is killed and restarted; a message to its old PID
#      is refused and never reaches the new incarnation
#   5. the latency table of kdist-bench (tools/bench.sh --short)
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
# How long alpha is cut off while the fib client calls, in seconds.
FIB_CUT=4
# How long the links may take to come up, in seconds.
UP_TIMEOUT=30
SECRET_FILE=/tmp/kdist-demo.key
LOG=/tmp/kdist-demo.logs
failed=0
T0=$SECONDS
# The outcome of each numbered step, for the summary.
declare -A HELD
cur=""

step() {
	printf '\n==== %s   [%ds]\n' "$*" $((SECONDS - T0))
	case "$1" in [0-9]*) cur=${1%%.*}; HELD[$cur]=${HELD[$cur]:-held} ;; esac
}
fail() {
	echo "demo: FAILED: $*"
	failed=1
	[ -n "$cur" ] && HELD[$cur]="FAILED"
}
# wait_for FILE TEXT SECONDS: until TEXT is in FILE.
wait_for() {
	local end=$((SECONDS + $3))
	until grep -q "$2" "$1" 2>/dev/null; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2
	done
}
ip_of() { echo "10.78.0.$(($1 + 1))"; }

SERVERS=()
cleanup() {
	for p in "${SERVERS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$LOG"
	for h in "${HOSTS[@]}"; do ip netns del "kd-$h" 2>/dev/null; done
	ip link del "$BRIDGE" 2>/dev/null
	rm -f "$SECRET_FILE"
}
trap cleanup EXIT

rm -rf "$LOG" && mkdir -p "$LOG"

step "1. three hosts: network namespaces on a bridge, configured with kdistctl"
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

echo "-- configure them with kdistctl"
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

echo "-- links come up (authenticated with the shared secret)"
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

step "2. seed scenarios on process groups and global names"
cat <<'EOF'
The fib workers join process group "fib"; clients pick a member with
kd_pg_get_closest. The key-value store, the filter service and pong are
processes registered as global names; clients on other hosts find them by
name alone (kd_global_whereis, kd_global_send).
EOF
# serve NAME HOST COMMAND...: a server in the background, up within 20 s.
serve() {
	local name=$1 host=$2
	shift 2
	ip netns exec "kd-$host" "$@" >"$LOG/$name.out" 2>&1 &
	SERVERS+=($!)
	eval "PID_$name=$!"
	if wait_for "$LOG/$name.out" " up\|registered" 20; then
		sed 's/^/  /' "$LOG/$name.out"
	else
		fail "$name on $host did not start: $(cat "$LOG/$name.out")"
	fi
}
# on HOST COMMAND...: a client, its output indented.
on() {
	local host=$1
	shift
	echo "+ on $host: ${*##*/}"
	ip netns exec "kd-$host" "$@" 2>&1 | sed 's/^/  /'
	return "${PIPESTATUS[0]}"
}
echo "-- fib: a worker on every host joins group fib; a client on gamma calls the closest"
for h in "${HOSTS[@]}"; do serve "fib_$h" "$h" "$HERE/kdist-fib" worker; done
on gamma "$HERE/kdist-fib" client 90 3 || fail "fib service"
echo "-- fib while a worker host is cut off: the worker on gamma stops, so gamma's"
echo "   closest members are alpha's and beta's, taken in turn; alpha's cable is"
echo "   pulled for ${FIB_CUT}s (the tick timeout is ${TICK_MS} ms) while the client calls"
kill -TERM "$PID_fib_gamma" && wait "$PID_fib_gamma" 2>/dev/null
echo "+ on gamma: kdist-fib soak 2 alpha"
ip netns exec kd-gamma "$HERE/kdist-fib" soak 2 alpha \
	> >(tee "$LOG/soak.out" | sed 's/^/  /') 2>&1 &
spid=$!
if wait_for "$LOG/soak.out" "^ready" 20; then
	sleep 2
	tc -n kd-alpha qdisc add dev eth0 root netem loss 100% &&
		kill -USR1 "$spid"
	sleep "$FIB_CUT"
	tc -n kd-alpha qdisc del dev eth0 root
	kill -USR2 "$spid"
	wait "$spid" || fail "fib service while alpha was cut off"
else
	kill "$spid" 2>/dev/null
	fail "the fib soak client did not start"
fi
sleep 0.2	# let tee and sed finish
echo "-- key-value store: global name kv, served on alpha, called from gamma and beta"
serve kv alpha "$HERE/kdist-kv" server
on gamma "$HERE/kdist-kv" check 100 || fail "kv store"
on beta "$HERE/kdist-kv" store greeting "hello from beta" ||
	fail "kv store from beta"
on gamma "$HERE/kdist-kv" lookup greeting || fail "kv lookup"
echo "-- filter service: global name filter, served on beta, called from alpha and gamma"
serve filter beta "$HERE/kdist-filter" server
on alpha "$HERE/kdist-filter" check || fail "filter service"
on gamma "$HERE/kdist-filter" call prime $(seq 1 30) || fail "filter call"
echo "-- remote ping-pong: global name pong, served on gamma, pinged from alpha"
serve pong gamma "$HERE/kdist-ping" serve
on alpha "$HERE/kdist-ping" client 500 || fail "ping-pong"

step "3. the cable pull of Svensson and Fredlund (2007)"
# alpha streams numbers to beta every 10 ms; beta's cable is pulled for
# 8 s (longer than the 1 s tick timeout, shorter than the 30 s session
# timeout), then put back. Same experiment over kdist and over a naive
# TCP stream with an application tick that reconnects, as Erlang does.
PULL=$HERE/kdist-cablepull
COUNT=1500
INTERVAL_MS=10
CUT_AFTER=3
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

step "4. restart: kill pong@gamma, start it again, send to its old PID"
ip netns exec kd-beta "$HERE/kdist-ping" restart \
	>"$LOG/restart.out" 2>&1 &
rpid=$!
if wait_for "$LOG/restart.out" "restart pong@gamma now" 20; then
	sed 's/^/  /' "$LOG/restart.out"
	kill -KILL "$PID_pong" && wait "$PID_pong" 2>/dev/null
	echo "  killed the pong server (SIGKILL); starting it again"
	serve pong gamma "$HERE/kdist-ping" serve
	wait $rpid
	st=$?
	sed -n '/restart pong@gamma now/,$p' "$LOG/restart.out" | tail -n +2 |
		sed 's/^/  /'
	[ $st = 0 ] || fail "restart"
else
	cat "$LOG/restart.out"
	kill $rpid 2>/dev/null
	fail "the restart client did not find global name pong"
fi

step "5. latency: kdist against TCP and Unix sockets, measured in this boot"
if [ -x "$HERE/kdist-bench" ] && [ -f "$BENCH" ]; then
	# In the test VM, the histograms go to the results directory.
	bash "$BENCH" --short ${KDIST_OUT:+--plot "$KDIST_OUT/plots"} ||
		fail "kdist-bench"
else
	echo "kdist-bench is not built yet: no latency table in this demo"
fi

printf '\n==== summary   [%ds]\n' $((SECONDS - T0))
names=([1]="three hosts, kdistctl, links up" [2]="fib (and a cut), kv, filter, ping"
       [3]="cable pull: kdist lost nothing" [4]="restart: old PID refused"
       [5]="kdist-bench table")
for i in 1 2 3 4 5; do
	printf '  %d. %-34s %s\n' $i "${names[$i]}" "${HELD[$i]:-not run}"
done
if [ $failed = 0 ]; then
	echo "demo: every step held ($((SECONDS - T0)) s in the VM)"
else
	echo "demo: some steps FAILED (see above)"
fi
exit $failed
