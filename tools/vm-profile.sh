#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# vm-profile.sh - where the emulator spends its time on kdist's cross-host
# ping-pong and on the TCP baseline. Run as root on the host, not in the
# VM: it boots the test VM, runs `kdist-bench --cross-host pingpong` in
# alternating phases (dev, tcp, dev, tcp, ...), samples the QEMU process
# with `perf record -e cpu-clock` in the middle of each phase, and prints
# the CPU time of all of QEMU's threads per round trip, by part: guest code
# run from the translation cache ([JIT]), QEMU itself (the lookup of the
# next translated block, soft TLB fills, device models), the host kernel
# and libraries, and the QEMU functions whose time differs most.
#
# Usage: bash tools/vm-profile.sh [-n ROUND_TRIPS] [-r PAIRS] [-s SECONDS]
#                                 [--module PATH]
#
#   -n N          round trips of each phase (default 30000); a phase must
#                 outlast the sampling window by a few seconds
#   -r N          pairs of phases, dev then tcp (default 2)
#   -s N          seconds sampled in each phase (default 8)
#   --module P    kdist.ko to load (default kmod/kdist.ko)
#
# Sampling slows QEMU down, so the round trips of a sampled phase are
# longer than a benchmark's; what counts is how dev's time divides
# against tcp's. The per-round-trip figures use each phase's own rate.
set -u -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
COUNT=30000
PAIRS=2
SECS=8
MODULE=$REPO/kmod/kdist.ko

die() { echo "vm-profile.sh: $*" >&2; exit 2; }
usage() { awk 'NR < 4 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }
number() { [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "$1 needs a positive number, not '$2'"; }

while [ $# -gt 0 ]; do
	case "$1" in
	-n|-r|-s)
		[ $# -ge 2 ] || die "$1 needs a number"
		number "$1" "$2"
		case $1 in -n) COUNT=$2 ;; -r) PAIRS=$2 ;; -s) SECS=$2 ;; esac
		shift ;;
	--module)
		[ $# -ge 2 ] || die "--module needs a path"
		MODULE=$2; shift ;;
	-h|--help) usage; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done

[ -f "$MODULE" ] || die "no module at $MODULE (make module)"
[ "$(id -u)" = 0 ] || die "needs root (the VM and perf)"
command -v perf >/dev/null || die "needs perf (apt-get install linux-perf)"
command -v python3 >/dev/null || die "needs python3"
perf record -q -e cpu-clock -o /dev/null -- true 2>/dev/null ||
	die "perf cannot sample cpu-clock here"

# Under build/: the guest sees the repository, not the host's /tmp.
mkdir -p "$REPO/build"
WORK=$(mktemp -d "$REPO/build/vm-profile.XXXXXX")
VMLOG=$WORK/vm.log
OUT=$WORK/vm/out
cleanup() {
	[ -n "${VMPID:-}" ] && kill "$VMPID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

# The guest's side: phases announced by files in the results share.
cat > "$WORK/guest.sh" <<EOF
set -u
B=$REPO/tools/kdist-bench
\$B setup >/dev/null 2>&1 || { echo "kdist-bench setup failed"; exit 1; }
\$B -q -n 500 -r 1 --cross-host pingpong >/dev/null
i=0
for r in \$(seq $PAIRS); do
	for p in dev tcp; do
		i=\$((i + 1))
		touch "\$KDIST_OUT/phase-\$i-\$p"
		\$B -q -n $COUNT -r 1 -w 100 -p \$p --no-baseline \\
			--cross-host pingpong > "\$KDIST_OUT/bench-\$i-\$p.txt"
		touch "\$KDIST_OUT/done-\$i-\$p"
		sleep 1
	done
done
\$B teardown >/dev/null 2>&1
EOF

echo "booting the VM; $PAIRS pairs of phases of $COUNT round trips" >&2
KDIST_VM_DIR=$WORK/vm "$REPO/tests/vm/run.sh" --module "$MODULE" \
	--cmd "bash $WORK/guest.sh" > "$VMLOG" 2>&1 &
VMPID=$!

phases=$((2 * PAIRS))
for i in $(seq "$phases"); do
	p=dev
	[ $((i % 2)) = 0 ] && p=tcp
	while [ ! -e "$OUT/phase-$i-$p" ]; do
		if ! kill -0 "$VMPID" 2>/dev/null; then
			tail -n 20 "$VMLOG" >&2
			die "the VM stopped before phase $i"
		fi
		sleep 0.2
	done
	qemu=$(pgrep -n -x qemu-system-x86) || die "no QEMU process"
	sleep 2
	echo "phase $i/$phases ($p): sampling QEMU for $SECS s" >&2
	perf record -q -e cpu-clock -c 200000 -p "$qemu" \
		-o "$WORK/perf-$i-$p.data" -- sleep "$SECS" 2>/dev/null
	[ -e "$OUT/done-$i-$p" ] &&
		echo "warning: phase $i ended before its sampling did; use a larger -n" >&2
done
if ! wait "$VMPID"; then
	tail -n 20 "$VMLOG" >&2
	die "the VM run failed"
fi
VMPID=

args=()
for i in $(seq "$phases"); do
	p=dev
	[ $((i % 2)) = 0 ] && p=tcp
	rate=$(awk -v p=$p '$1 == p { print $8 }' "$OUT/bench-$i-$p.txt")
	[ -n "$rate" ] || die "phase $i: no result in bench-$i-$p.txt"
	perf report -i "$WORK/perf-$i-$p.data" --no-children --sort dso,sym \
		--stdio -g none -n 2>/dev/null > "$WORK/report-$i-$p.txt" ||
		die "perf report failed on phase $i"
	args+=("$p" "$rate" "$SECS" "$WORK/report-$i-$p.txt")
done
python3 "$HERE/vm-profile.py" -b "$(command -v qemu-system-x86_64)" "${args[@]}"
