#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# vm-profile.py - the analysis of tools/vm-profile.sh. Reads, for each
# phase, `perf report --no-children --sort dso,sym --stdio -g none -n` of
# the QEMU process sampled with a fixed cpu-clock period, and prints the CPU
# time of all its threads per round trip, in µs, by part and by function,
# dev against tcp.
#
# Usage: vm-profile.py [-p PERIOD_US] [-b QEMU] PATH RATE SECONDS REPORT ...
#
#   PATH     dev or tcp
#   RATE     the phase's round trips per second
#   SECONDS  how long the phase was sampled
#   REPORT   the perf report text of that phase
#   -p N     µs of CPU time per sample (default 200, perf's -c 200000)
#   -b FILE  the QEMU binary: an address perf left unnamed in it (a static
#            function) is shown as the exported symbol before it, plus the
#            offset (static functions lie between exported ones)
#
# Exits 2 with a message on bad arguments or a report it cannot read.
import bisect
import collections
import re
import subprocess
import sys

LINE = re.compile(r'^\s*([\d.]+)%\s+(\d+)\s+(.+?)\s+\[([.kgu])\]\s+(.*?)\s*$')
TOP = 12


def die(msg):
    print(f'vm-profile.py: {msg}', file=sys.stderr)
    sys.exit(2)


def part(dso):
    if dso.startswith('[JIT]'):
        return 'guest code ([JIT])'
    if dso.startswith('[kernel'):
        return 'host kernel'
    if dso.startswith('qemu-system') or dso.startswith('accel-tcg'):
        return 'QEMU'
    return 'libraries'


def load(report, scale):
    """Per (dso, symbol): µs per round trip, for one phase."""
    d = collections.Counter()
    try:
        f = open(report)
    except OSError as e:
        die(f'{report}: {e.strerror}')
    with f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            dso = m.group(3)
            # One JIT map per thread: the same code, whichever thread ran it.
            if dso.startswith('[JIT]'):
                dso, sym = '[JIT]', ''
            else:
                sym = m.group(5)
            d[(dso, sym)] += int(m.group(2)) * scale
    if not d:
        die(f'{report}: no samples')
    return d


def symbols(binary):
    """Sorted (address, name) of the exported functions of @binary."""
    try:
        out = subprocess.run(['nm', '-D', '--defined-only', binary],
                             capture_output=True, text=True,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        die(f'cannot read the symbols of {binary}')
    syms = []
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3 and f[1] in 'tT':
            syms.append((int(f[0], 16), f[2]))
    return sorted(syms)


def name(k, syms):
    dso, sym = k
    m = re.fullmatch(r'0x([0-9a-f]+)', sym)
    if not syms or not m or not dso.startswith('qemu-system'):
        return sym
    a = int(m.group(1), 16)
    i = bisect.bisect_right(syms, (a, '\uffff')) - 1
    if i < 0:
        return sym
    return f'{sym} ({syms[i][1]}+{a - syms[i][0]:#x})'


def main(argv):
    period = 200.0
    syms = None
    while len(argv) >= 2 and argv[0] in ('-p', '-b'):
        if argv[0] == '-b':
            syms = symbols(argv[1])
        else:
            try:
                period = float(argv[1])
            except ValueError:
                die(f'-p needs a number, not {argv[1]!r}')
        argv = argv[2:]
    if not argv or len(argv) % 4:
        die('usage: vm-profile.py [-p PERIOD_US] [-b QEMU] '
            'PATH RATE SECONDS REPORT ...')
    runs = {'dev': [], 'tcp': []}
    for i in range(0, len(argv), 4):
        path, rate, secs, report = argv[i:i + 4]
        if path not in runs:
            die(f'path {path!r} is neither dev nor tcp')
        try:
            rate, secs = float(rate), float(secs)
        except ValueError:
            die(f'rate and seconds must be numbers: {rate!r} {secs!r}')
        if rate <= 0 or secs <= 0:
            die('rate and seconds must be positive')
        runs[path].append(load(report, period / (rate * secs)))
    if not runs['dev'] or not runs['tcp']:
        die('needs at least one dev phase and one tcp phase')

    mean = {}
    for path, phases in runs.items():
        m = collections.Counter()
        for ph in phases:
            for k, v in ph.items():
                m[k] += v / len(phases)
        mean[path] = m
    dev, tcp = mean['dev'], mean['tcp']

    print(f"CPU time of QEMU's threads per round trip, µs "
          f"(means of {len(runs['dev'])} dev and {len(runs['tcp'])} tcp "
          f"phases)")
    print(f"{'part':<22} {'dev':>8} {'tcp':>8} {'dev - tcp':>10}")
    parts = ['guest code ([JIT])', 'QEMU', 'host kernel', 'libraries']
    for p in parts:
        a = sum(v for k, v in dev.items() if part(k[0]) == p)
        b = sum(v for k, v in tcp.items() if part(k[0]) == p)
        print(f'{p:<22} {a:8.1f} {b:8.1f} {a - b:+10.1f}')
    a, b = sum(dev.values()), sum(tcp.values())
    print(f"{'all':<22} {a:8.1f} {b:8.1f} {a - b:+10.1f}")

    print(f'\nthe {TOP} functions of QEMU and the host kernel whose time '
          f'differs most, µs per round trip:')
    keys = [k for k in set(dev) | set(tcp) if k[0] != '[JIT]']
    keys.sort(key=lambda k: (-abs(dev[k] - tcp[k]), k))
    for k in keys[:TOP]:
        print(f'{dev[k] - tcp[k]:+8.1f}  dev {dev[k]:6.1f}  tcp {tcp[k]:6.1f}'
              f'  {k[0]}  {name(k, syms)}')


if __name__ == '__main__':
    main(sys.argv[1:])
