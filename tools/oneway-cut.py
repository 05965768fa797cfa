#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# oneway-cut.py - the analysis of oneway-trace.sh.
#
# Usage: python3 tools/oneway-cut.py TRACE
#
# TRACE is the tracer's text output (/sys/kernel/tracing/trace) with the
# events that oneway-trace.sh enables: the syscalls write, read and
# recvfrom (entry and exit), sched_switch, and its kprobes ow_send and
# ow_send_ret (tcp_sendmsg), ow_ready and ow_ready_ret (link_sk_data_ready),
# ow_ready_tcp and ow_ready_tcp_ret (sock_def_readable) and ow_ipi
# (__sysvec_call_function_single). Each write() of a kdist-bench task
# starts a one-way trip, cut at the points listed in oneway-trace.sh; the
# trip is dev or tcp by its data-ready callback.
#
# It prints, per segment and path, the median and the mean of the middle
# 90% in µs; then the delay from the data-ready callback to the
# receiver's wake-up IPI, median and number of trips, by how long the
# receiver's CPU had been idle; then p10, p50 and p90 of "ipi - idle".
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
