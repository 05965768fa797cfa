#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR MIT
#
# The command lines of the measuring scripts under tools/: --help works
# and a wrong argument is refused with exit status 2 and a message, on the
# host, before anything needs the VM. Prints TAP lines.

TOOLS=$(cd "$(dirname "$0")/../../tools" && pwd)
n=0
bad=0

# expect STATUS PATTERN DESCRIPTION -- COMMAND...
expect() {
	want=$1 pat=$2 what=$3
	shift 4
	n=$((n + 1))
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -eq "$want" ] && printf '%s\n' "$out" | grep -q -- "$pat"; then
		echo "ok $n - $what"
	else
		echo "not ok $n - $what (exit $rc, output: $(printf '%s' "$out" | head -n 2))"
		bad=1
	fi
}

AB=$TOOLS/ab-modules.sh
OW=$TOOLS/oneway-trace.sh
BS=$TOOLS/bench.sh

expect 0 "Usage: bash tools/ab-modules.sh" "ab-modules --help" -- bash "$AB" --help
expect 2 "at least two modules" "ab-modules with one module" -- bash "$AB" a=/x.ko
expect 2 "not a positive number" "ab-modules -r 0" -- bash "$AB" -r 0 a=/x.ko b=/y.ko
expect 2 "needs a number" "ab-modules -n without a number" -- bash "$AB" -n
expect 2 "unknown mode" "ab-modules --modes with a bad mode" -- \
	bash "$AB" --modes "free fast" a=/x.ko b=/y.ko
expect 2 "expected NAME=MODULE.ko" "ab-modules with a bare path" -- bash "$AB" /x.ko
expect 2 "no module /nonexistent/a.ko" "ab-modules with a missing module" -- \
	bash "$AB" a=/nonexistent/a.ko b=/nonexistent/b.ko
expect 2 "unknown option" "ab-modules with an unknown option" -- bash "$AB" --fast
expect 0 "Usage: bash tools/oneway-trace.sh" "oneway-trace --help" -- bash "$OW" --help
expect 2 "unknown option" "oneway-trace with an unknown option" -- bash "$OW" -x
expect 2 "needs a number" "oneway-trace -n without a number" -- bash "$OW" -n
expect 0 "Usage: bash tools/bench.sh" "bench.sh --help" -- bash "$BS" --help
expect 2 "bench.sh:" "bench.sh with an unknown option" -- bash "$BS" --fast
exit $bad
