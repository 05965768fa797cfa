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
python3 - "$OUT/trace.txt" <<'EOF'
import bisect, re, statistics, sys

EV = re.compile(r'\s*(\S+)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+): (\w+):? ?(.*)')
events = []
for line in open(sys.argv[1]):
    if line.startswith('#'):
        continue
    m = EV.match(line)
    if not m:
        continue
    comm, pid, cpu, t, name, rest = m.groups()
    if name.startswith('sys_'):
        base = {'sys_write': 'write', 'sys_read': 'read',
                'sys_recvfrom': 'read'}.get(name)
        if not base:
            continue
        name = base + ('_ret' if '->' in rest else '')
    elif name == 'sched_switch':
        if 'next_pid=0 ' not in rest + ' ':
            continue
        name = 'idle'
    name = {'ow_send': 'sendmsg', 'ow_send_ret': 'sendmsg_ret',
            'ow_ready': 'ready', 'ow_ready_ret': 'ready_ret',
            'ow_ready_tcp': 'ready', 'ow_ready_tcp_ret': 'ready_ret',
            'ow_ipi': 'ipi'}.get(name, name)
    kind = 'dev' if rest.startswith('(link_sk') else \
           'tcp' if rest.startswith('(sock_def') else None
    events.append((float(t) * 1e6, int(cpu), comm, int(pid), name, kind))
events.sort()

ORDER = ['write', 'sendmsg', 'ready', 'ready_ret', 'sendmsg_ret',
         'write_ret', 'read', 'idle', 'ipi', 'read_ret']
# where each point is looked for: the sender's task, the sender's CPU
# (softirq, idle), or the other CPU
WHERE = {'sendmsg': 'task', 'sendmsg_ret': 'task', 'write_ret': 'task',
         'read': 'task', 'ready': 'cpu', 'ready_ret': 'cpu',
         'idle': 'cpu', 'ipi': 'other', 'read_ret': 'other'}
segs = {'dev': {}, 'tcp': {}}
wakes = {'dev': [], 'tcp': []}
# when each CPU went idle, in order: looked up by bisection per trip
idle_at = {}
for e in events:
    if e[4] == 'idle':
        idle_at.setdefault(e[1], []).append(e[0])
for i, e in enumerate(events):
    if e[4] != 'write' or not e[2].startswith('kdist-b'):
        continue
    t0, cpu, pid = e[0], e[1], e[3]
    got, kind = {'write': t0}, None
    for f in events[i + 1:i + 80]:
        name = f[4]
        if name not in WHERE or name in got:
            continue
        w = WHERE[name]
        if (w == 'task' and f[3] != pid) or \
           (w == 'cpu' and f[1] != cpu) or (w == 'other' and f[1] == cpu):
            continue
        # the wake-up IPI is sent from the data-ready callback; it may be
        # handled before the sender reads or goes idle
        if name == 'ipi' and 'ready' not in got:
            continue
        if name == 'read_ret' and 'ipi' not in got:
            continue
        got[name] = f[0]
        if name == 'ready':
            kind = f[5]
        if name == 'ipi':
            rcpu = f[1]
        if name == 'read_ret':
            break
    if kind and all(k in got for k in ORDER):
        # how long the receiver's CPU had been idle when the IPI came
        idles = idle_at.get(rcpu, [])
        k = bisect.bisect_right(idles, got['ipi'])
        if k:
            wakes[kind].append((got['ipi'] - idles[k - 1],
                                got['ipi'] - got['ready']))
        s = segs[kind]
        for a, b in zip(ORDER, ORDER[1:]):
            s.setdefault(f'{a} -> {b}', []).append(got[b] - got[a])
        s.setdefault('one-way (write -> read_ret)', []).append(
            got['read_ret'] - t0)
        s.setdefault('ipi - idle', []).append(got['ipi'] - got['idle'])

def q(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))]

n = {k: len(v.get('ipi - idle', [])) for k, v in segs.items()}
def tmean(v):
    # the mean of the middle 90%: the segments' means add up to the
    # one-way trip's (their medians need not), without the outliers
    v = sorted(v)
    k = len(v) // 20
    v = v[k:len(v) - k] or v
    return sum(v) / len(v)

print(f"\none-way trips cut: dev {n['dev']}, tcp {n['tcp']}; µs, the median "
      "and the mean of the middle 90%")
print(f"{'segment':34s} {'dev p50':>8s} {'tcp p50':>8s} {'dev mean':>9s} "
      f"{'tcp mean':>9s} {'diff':>7s}")
for key in segs['tcp']:
    d, t = segs['dev'].get(key), segs['tcp'].get(key)
    if not d or not t:
        continue
    print(f"{key:34s} {statistics.median(d):8.1f} {statistics.median(t):8.1f} "
          f"{tmean(d):9.1f} {tmean(t):9.1f} {tmean(d) - tmean(t):+7.1f}")
print("\nfrom the data-ready callback to the receiver's IPI, median µs (trips), "
      "by how long the receiver's CPU had been idle:")
EDGES = (0, 100, 200, 300, 400, 1e9)
print(f"{'idle for':>14s} " + ' '.join(f"{k:>14s}" for k in ('dev', 'tcp')))
for lo, hi in zip(EDGES, EDGES[1:]):
    cells = []
    for k in ('dev', 'tcp'):
        w = [x for h, x in wakes[k] if lo <= h < hi]
        cells.append(f"{statistics.median(w):7.1f} ({len(w):4d})" if w
                     else f"{'-':>14s}")
    label = f"{lo:.0f}-{hi:.0f} µs" if hi < 1e9 else f">= {lo:.0f} µs"
    print(f"{label:>14s} " + ' '.join(cells))
for k in ('dev', 'tcp'):
    v = segs[k].get('ipi - idle')
    if v:
        print(f"ipi - idle, {k}: p10 {q(v, .1):.1f}  p50 {q(v, .5):.1f}  "
              f"p90 {q(v, .9):.1f} µs")
EOF
