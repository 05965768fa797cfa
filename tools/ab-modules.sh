#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# ab-modules.sh - compare builds of kdist.ko in one VM boot. Run as root in
# the test VM with no module loaded:
#
#   tests/vm/run.sh --no-module --cmd \
#       "bash tools/ab-modules.sh old=build/old.ko new=kmod/kdist.ko"
#
# Usage: bash tools/ab-modules.sh [OPTIONS] NAME=MODULE.ko[:P=V,...]...
#
#   A module may be given parameters, loaded with it: "spin0=kdist.ko:
#   wake_spin_us=0" compares a parameter's values with one build.
#
#   -r N            alternations: each module is loaded N times (default 4)
#   -n N            round trips of each ping-pong (default 6000)
#   --modes LIST    "free", "cpu0" (both ends on CPU 0) and "spin" (reads
#                   busy-poll 1 ms), space-separated (default "free cpu0")
#   --same-host     also the same-host ping-pong against a Unix socket
#
# Runs between two boots differ more than the runs of one boot, so a
# change is judged by modules measured in the same boot, alternated: each
# turn loads one module, makes the benchmark's hosts afresh, runs
# `kdist-bench pingpong` (dev against its baseline, in 20 interleaved
# rounds) in every mode, then removes the hosts and the module. At the end
# it prints, per mode and module, the p50 ratio of every turn and their
# median, and the same for the p99.
set -u -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
BENCH=$HERE/kdist-bench
TURNS=4
COUNT=6000
MODES="free cpu0"
SAME=0

usage() { awk 'NR < 4 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }
die() { echo "ab-modules.sh: $*" >&2; exit 2; }

declare -a NAMES=() PATHS=() PARAMS=()
while [ $# -gt 0 ]; do
	case "$1" in
	-r) [ $# -ge 2 ] || die "-r needs a number"; TURNS=$2; shift ;;
	-n) [ $# -ge 2 ] || die "-n needs a number"; COUNT=$2; shift ;;
	--modes) [ $# -ge 2 ] || die "--modes needs a list"; MODES=$2; shift ;;
	--same-host) SAME=1 ;;
	-h|--help) usage; exit 0 ;;
	-*) die "unknown option $1 (see --help)" ;;
	*=*) NAMES+=("${1%%=*}"); m=${1#*=}; PATHS+=("${m%%:*}")
	     if [ "$m" != "${m#*:}" ]; then PARAMS+=("${m#*:}")
	     else PARAMS+=(""); fi ;;
	*) die "expected NAME=MODULE.ko, got $1" ;;
	esac
	shift
done

[[ "$TURNS" =~ ^[1-9][0-9]*$ ]] || die "-r: not a positive number: $TURNS"
[[ "$COUNT" =~ ^[1-9][0-9]*$ ]] || die "-n: not a positive number: $COUNT"
[ ${#NAMES[@]} -ge 2 ] || die "give at least two modules (see --help)"
for m in $MODES; do
	case $m in free|cpu0|spin) ;; *) die "unknown mode $m" ;; esac
done
for p in "${PATHS[@]}"; do
	[ -r "$p" ] || die "no module $p"
done
[ "$(id -u)" = 0 ] || die "needs root"
[ -e /dev/kdist ] && die "a kdist module is loaded: boot with --no-module"
command -v python3 >/dev/null || die "needs python3"

OUT=$(mktemp)
cleanup() {
	"$BENCH" teardown >/dev/null 2>&1
	rmmod kdist 2>/dev/null
	rm -f "$OUT"
}
trap cleanup EXIT

total=$((TURNS * ${#NAMES[@]}))
turn=0
for _ in $(seq "$TURNS"); do
	for i in "${!NAMES[@]}"; do
		name=${NAMES[$i]}
		turn=$((turn + 1))
		echo "turn $turn/$total: ${name} (${PATHS[$i]}${PARAMS[$i]:+ ${PARAMS[$i]}})" >&2
		# shellcheck disable=SC2086 # one word per parameter
		insmod "${PATHS[$i]}" ${PARAMS[$i]//,/ } ||
			die "insmod ${PATHS[$i]} ${PARAMS[$i]} failed"
		"$BENCH" setup >/dev/null 2>&1 || die "kdist-bench setup failed"
		"$BENCH" -q -n 500 -r 1 --cross-host pingpong >/dev/null ||
			die "warm-up failed"
		for m in $MODES; do
			case $m in
			free) o=() ;;
			cpu0) o=(--cpu 0) ;;
			spin) o=(--busy-poll 1000) ;;
			esac
			hosts=cross-host
			[ "$SAME" = 1 ] && hosts="cross-host same-host"
			for h in $hosts; do
				"$BENCH" -q -n "$COUNT" -r 20 -w 100 --"$h" \
					"${o[@]}" pingpong |
					awk -v n="$name" -v m="$m" -v h="$h" \
					'$1 ~ /^(dev|tcp|unix)$/ { print n, h, m, $1, $2, $4 }' \
					>> "$OUT" || die "kdist-bench failed"
			done
		done
		"$BENCH" teardown >/dev/null 2>&1
		rmmod kdist || die "rmmod failed"
	done
done

echo "p50 and p99 ratios of dev to its baseline, per turn, and the median of the turns"
python3 "$HERE/ab-table.py" "$OUT" "${NAMES[@]}"
