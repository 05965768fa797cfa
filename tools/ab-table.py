#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# ab-table.py - the table at the end of ab-modules.sh.
#
# Usage: python3 tools/ab-table.py FILE NAME...
#
# FILE has one line per ping-pong run, in the order of the turns:
#
#   NAME HOST MODE PATH P50 [P99]
#
# (HOST cross-host or same-host, PATH dev or its baseline: tcp cross-host,
# unix same-host). For every HOST and MODE, and every NAME in the order
# given, it prints the p50s of dev and of the baseline turn by turn, the
# ratio dev / baseline of each turn and the median of those ratios; when
# the lines carry a p99 as well, a second row gives the same for the p99. A
# malformed line, or a module whose dev and baseline have different numbers
# of turns (the turns would be paired wrongly), is an error: a message on
# stderr and exit status 2, after the rows that are complete.
import collections, statistics, sys

def die(msg):
    print(f"ab-table.py: {msg}", file=sys.stderr)
    sys.exit(2)

p50 = collections.defaultdict(list)
p99 = collections.defaultdict(list)
with open(sys.argv[1]) as f:
    for no, line in enumerate(f, 1):
        try:
            name, host, mode, path, v, *rest = line.split()
            if len(rest) > 1:
                raise ValueError
            p50[(name, host, mode, path)].append(float(v))
            if rest:
                p99[(name, host, mode, path)].append(float(rest[0]))
        except ValueError:
            die(f"{sys.argv[1]}:{no}: expected 'name host mode path p50 "
                f"[p99]', got {line.strip()!r}")
def row(lead, what, d, base, b):
    """One row: the turns' values of dev and of the baseline, their ratios
    and the median ratio."""
    r = [x / y for x, y in zip(d, b)]
    print(f"{lead}  dev {what} "
          f"{' '.join(f'{x:.0f}' for x in d)}  {base} "
          f"{' '.join(f'{x:.0f}' for x in b)}  ratios "
          f"{' '.join(f'{x:.2f}' for x in r)}  median "
          f"{statistics.median(r):.2f}x")

names = sys.argv[2:]
keys = sorted({(h, m) for _, h, m, _ in p50}, key=lambda k: (k[0], k[1]))
bad = 0
for host, mode in keys:
    base = 'tcp' if host == 'cross-host' else 'unix'
    for name in names:
        d, b = p50.get((name, host, mode, 'dev'), []), \
            p50.get((name, host, mode, base), [])
        if not d and not b:
            continue
        if len(d) != len(b):
            print(f"ab-table.py: {name} {host} {mode}: {len(d)} dev p50s "
                  f"but {len(b)} {base}", file=sys.stderr)
            bad = 1
            continue
        row(f"{host:10s} {mode:4s} {name:>10s}", "p50", d, base, b)
        n = len(d)
        d, b = p99.get((name, host, mode, 'dev'), []), \
            p99.get((name, host, mode, base), [])
        if len(d) != n or len(b) != n:
            if d or b:
                print(f"ab-table.py: {name} {host} {mode}: a p99 on some "
                      f"lines only", file=sys.stderr)
                bad = 1
            continue
        row(f"{'':10s} {'':4s} {'':>10s}", "p99", d, base, b)
sys.exit(2 if bad else 0)
