#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# oneway-trace.sh - where the time of a cross-host one-way trip goes, for
# kdist's dev path and for the TCP baseline, from kernel trace events. Run
# as root in the test VM with kdist.ko loaded:
#
#   tests/vm/run.sh --cmd "bash tools/oneway-trace.sh"
#
# Usage: bash tools/oneway-trace.sh [-n ROUND_TRIPS] [-r ROUNDS]
#
#   -n N     round trips of each path (default 4000)
#   -r N     interleaved rounds (default 10)
#
# It runs `kdist-bench --cross-host pingpong` (dev and tcp, interleaved)
# under the tracer and cuts every one-way trip, from a write() on one side
# to the read() that returns the message on the other, at these points:
#
#   write       the sender enters write()
#   sendmsg     tcp_sendmsg() is entered
#   ready       the receiving socket's data-ready callback is entered
#               (kdist's link_sk_data_ready, or sock_def_readable for TCP)
#   ready_ret   ... and returns (it has woken the reader by then)
#   sendmsg_ret tcp_sendmsg() returns
#   write_ret   write() returns
#   read        the sender enters its next read()
#   idle        the sender's CPU switches to the idle task
#   ipi         the receiver's CPU handles the wake-up IPI
#   read_ret    the receiver's read() returns the message
#
# and prints the median of each segment per path, in µs, and the mean of
# its middle 90% (means add up along the trip, medians need not), then the
# delay from the data-ready callback to the receiver's wake-up IPI by how
# long the receiver's CPU had been idle. Trace events
# cost time of their own, so compare the paths, not the absolute values.
# The "ipi - idle" line says whether the receiver's CPU wakes while the
# sender still runs (negative) or only once it has gone idle.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
BENCH=$HERE/kdist-bench
T=/sys/kernel/tracing
COUNT=4000
ROUNDS=10

die() { echo "oneway-trace.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case "$1" in
	-n) [ $# -ge 2 ] || die "-n needs a number"; COUNT=$2; shift ;;
	-r) [ $# -ge 2 ] || die "-r needs a number"; ROUNDS=$2; shift ;;
	-h|--help) awk 'NR < 4 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done

[ "$(id -u)" = 0 ] || die "needs root"
[ -c /dev/kdist ] || die "kdist.ko is not loaded"
command -v python3 >/dev/null || die "needs python3"
mountpoint -q $T || mount -t tracefs none $T || die "no tracefs"

OUT=$(mktemp -d)
cleanup() {
	echo 0 > $T/tracing_on
	echo 0 > $T/events/enable
	echo > $T/kprobe_events
	"$BENCH" teardown >/dev/null 2>&1
	rm -rf "$OUT"
}
trap cleanup EXIT

"$BENCH" setup >/dev/null || die "could not set up the benchmark hosts"
echo "warming up..." >&2
"$BENCH" -q -n 1000 -r 1 --cross-host pingpong >/dev/null ||
	die "kdist-bench failed"

echo 0 > $T/tracing_on
echo nop > $T/current_tracer
echo > $T/kprobe_events
{
	echo 'p:ow_send tcp_sendmsg'
	echo 'r:ow_send_ret tcp_sendmsg'
	echo 'p:ow_ready link_sk_data_ready'
	echo 'r:ow_ready_ret link_sk_data_ready'
	echo 'p:ow_ready_tcp sock_def_readable'
	echo 'r:ow_ready_tcp_ret sock_def_readable'
	echo 'p:ow_ipi __sysvec_call_function_single'
} >> $T/kprobe_events || die "cannot place kprobes"
for e in kprobes/ow_send kprobes/ow_send_ret kprobes/ow_ready \
	 kprobes/ow_ready_ret kprobes/ow_ready_tcp kprobes/ow_ready_tcp_ret \
	 kprobes/ow_ipi syscalls/sys_enter_write syscalls/sys_exit_write \
	 syscalls/sys_enter_read syscalls/sys_exit_read \
	 syscalls/sys_enter_recvfrom syscalls/sys_exit_recvfrom \
	 sched/sched_switch; do
	echo 1 > $T/events/$e/enable || die "no event $e"
done
echo 65536 > $T/buffer_size_kb
echo > $T/trace
echo 1 > $T/tracing_on
echo "tracing $COUNT round trips a path in $ROUNDS rounds..." >&2
"$BENCH" -q -n "$COUNT" -r "$ROUNDS" -w 100 -p dev --cross-host pingpong \
	> "$OUT/bench.txt" || die "kdist-bench failed"
echo 0 > $T/tracing_on
cat $T/trace > "$OUT/trace.txt"
lost=$(awk '/overrun:/ { s += $2 } END { print s + 0 }' $T/per_cpu/cpu*/stats)

echo "kdist one-way trips, cross-host, traced; $(uname -r), $(nproc) CPUs"
cat "$OUT/bench.txt"
[ "$lost" = 0 ] || echo "warning: $lost trace events lost (buffer overrun)"
python3 "$HERE/oneway-cut.py" "$OUT/trace.txt"
