#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR MIT
#
# The command lines of the measuring scripts under tools/: --help works
# and a wrong argument is refused with exit status 2 and a message, on the
# host, before anything needs the VM. And the analyses those scripts end
# with (tools/ab-table.py, tools/oneway-cut.py, tools/vm-profile.py), on
# made-up inputs whose
# results are worked out by hand in the comments. Prints TAP lines.

TOOLS=$(cd "$(dirname "$0")/../../tools" && pwd)
n=0
bad=0

# check GREP_OPTIONS STATUS PATTERN DESCRIPTION -- COMMAND...
check() {
	opt=$1 want=$2 pat=$3 what=$4
	shift 5
	n=$((n + 1))
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -eq "$want" ] && printf '%s\n' "$out" | grep -q "$opt" "$pat"; then
		echo "ok $n - $what"
	else
		echo "not ok $n - $what (exit $rc, output: $(printf '%s' "$out" | head -n 2))"
		bad=1
	fi
}
# expect STATUS PATTERN DESCRIPTION -- COMMAND...: PATTERN is a regular
# expression found in the output
expect() { check -e "$@"; }
# expect_line STATUS LINE DESCRIPTION -- COMMAND...: LINE is a whole line of
# the output, to the character
expect_line() { check -xFe "$@"; }

# words COMMAND...: COMMAND's output and stderr with every run of blanks
# made one space and none leading, and COMMAND's exit status
words() {
	w=$("$@" 2>&1)
	wrc=$?
	printf '%s\n' "$w" | sed 's/  */ /g; s/^ //'
	return $wrc
}

TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT

AB=$TOOLS/ab-modules.sh
OW=$TOOLS/oneway-trace.sh
BS=$TOOLS/bench.sh
ABT=$TOOLS/ab-table.py
CUT=$TOOLS/oneway-cut.py
VP=$TOOLS/vm-profile.sh
VPY=$TOOLS/vm-profile.py

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

# ab-table.py: the lines ab-modules.sh collects, NAME HOST MODE PATH P50,
# turn by turn. Two turns: old 30/20 = 1.50 and 36/40 = 0.90, median
# 1.20; new 24/20 = 1.20 and 32/40 = 0.80, median 1.00; same host against
# unix, old 10/20 = 0.50 and 14/20 = 0.70, median 0.60.
cat > "$TMP/ab2" <<'END'
old cross-host free dev 30
old cross-host free tcp 20
old same-host free dev 10
old same-host free unix 20
new cross-host free dev 24
new cross-host free tcp 20
old cross-host free dev 36
old cross-host free tcp 40
old same-host free dev 14
old same-host free unix 20
new cross-host free dev 32
new cross-host free tcp 40
END
# Three turns: old 1.50 1.10 2.00, median 1.50 (the mean would be 1.53);
# new 1.00 0.70 2.00, median 1.00.
cat > "$TMP/ab3" <<'END'
old cross-host cpu0 dev 30
old cross-host cpu0 tcp 20
new cross-host cpu0 dev 20
new cross-host cpu0 tcp 20
old cross-host cpu0 dev 33
old cross-host cpu0 tcp 30
new cross-host cpu0 dev 21
new cross-host cpu0 tcp 30
old cross-host cpu0 dev 50
old cross-host cpu0 tcp 25
new cross-host cpu0 dev 40
new cross-host cpu0 tcp 20
END
# With p99s: old p99 ratios 90/60 = 1.50 and 80/100 = 0.80, median 1.15.
awk '{ print $0, ($4 == "dev" ? ($5 == 30 ? 90 : 80) : ($5 == 20 ? 60 : 100)) }' \
	"$TMP/ab2" | grep '^old cross-host' > "$TMP/ab99"
# a p99 on one line only
head -n 1 "$TMP/ab99" > "$TMP/ab99-part"
grep '^old cross-host' "$TMP/ab2" | tail -n +2 >> "$TMP/ab99-part"
# new's second tcp line is missing: its turns cannot be paired
grep -v '^new cross-host free tcp 40$' "$TMP/ab2" > "$TMP/ab-missing"
# a line cut short
head -n 2 "$TMP/ab2" > "$TMP/ab-short"
echo "old same-host free dev" >> "$TMP/ab-short"

expect_line 0 "cross-host free old dev p50 30 36 tcp 20 40 ratios 1.50 0.90 median 1.20x" \
	"ab-table: two turns, old" -- words python3 "$ABT" "$TMP/ab2" old new
expect_line 0 "cross-host free new dev p50 24 32 tcp 20 40 ratios 1.20 0.80 median 1.00x" \
	"ab-table: two turns, new" -- words python3 "$ABT" "$TMP/ab2" old new
expect_line 0 "same-host free old dev p50 10 14 unix 20 20 ratios 0.50 0.70 median 0.60x" \
	"ab-table: same host, against unix" -- words python3 "$ABT" "$TMP/ab2" old new
expect_line 0 "cross-host cpu0 old dev p50 30 33 50 tcp 20 30 25 ratios 1.50 1.10 2.00 median 1.50x" \
	"ab-table: three turns, old" -- words python3 "$ABT" "$TMP/ab3" old new
expect_line 0 "cross-host cpu0 new dev p50 20 21 40 tcp 20 30 20 ratios 1.00 0.70 2.00 median 1.00x" \
	"ab-table: three turns, new" -- words python3 "$ABT" "$TMP/ab3" old new
expect_line 0 "dev p99 90 80 tcp 60 100 ratios 1.50 0.80 median 1.15x" \
	"ab-table: the p99 row" -- words python3 "$ABT" "$TMP/ab99" old
expect_line 0 "cross-host free old dev p50 30 36 tcp 20 40 ratios 1.50 0.90 median 1.20x" \
	"ab-table: the p50 row beside the p99" -- words python3 "$ABT" "$TMP/ab99" old
expect_line 0 "no p99 row" "ab-table: no p99 row without p99s" -- \
	sh -c 'python3 "$1" "$2" old new | grep -q p99 || echo "no p99 row"' \
	sh "$ABT" "$TMP/ab2"
expect 2 "old cross-host free: a p99 on some lines only" \
	"ab-table refuses p99s on some lines only" -- \
	python3 "$ABT" "$TMP/ab99-part" old
expect 2 "new cross-host free: 2 dev p50s but 1 tcp" \
	"ab-table refuses a missing baseline line" -- \
	python3 "$ABT" "$TMP/ab-missing" old new
expect_line 2 "cross-host free old dev p50 30 36 tcp 20 40 ratios 1.50 0.90 median 1.20x" \
	"ab-table still prints the complete rows" -- \
	words python3 "$ABT" "$TMP/ab-missing" old new
expect 2 "ab-short:3: expected 'name host mode path p50 \\[p99\\]'" \
	"ab-table refuses a line cut short" -- \
	python3 "$ABT" "$TMP/ab-short" old new

# oneway-cut.py: a made-up trace in the tracer's text format. ev prints one
# line: ev TASK-PID CPU MICROSECONDS EVENT.
ev() {
	printf '%16s [%03d] d.... %d.%06d: %s\n' "$1" "$2" \
		$(($3 / 1000000)) $(($3 % 1000000)) "$4"
}
# trip PATH SECOND RIDLE SENDMSG READY READY_RET SENDMSG_RET WRITE_RET READ
#      IDLE IPI READ_RET
# One one-way trip, from kdist-bench-100 on CPU 0 to kdist-bench-200 on
# CPU 1: its write() enters at SECOND, the other points follow at the
# given microseconds after that; CPU 1 went idle at RIDLE (negative).
trip() {
	case $1 in
	dev) rf=link_sk_data_ready rp=ow_ready rd=sys_read ;;
	tcp) rf=sock_def_readable rp=ow_ready_tcp rd=sys_recvfrom ;;
	esac
	t=$(($2 * 1000000))
	ev kdist-bench-200 1 $((t + $3)) "sched_switch: prev_comm=kdist-bench prev_pid=200 prev_prio=120 prev_state=S ==> next_comm=swapper/1 next_pid=0 next_prio=120"
	ev kdist-bench-100 0 $t "sys_write(fd: 4, buf: 7ffc1000, count: 40)"
	ev kdist-bench-100 0 $((t + $4)) "ow_send: (tcp_sendmsg+0x0/0x50)"
	ev kdist-bench-100 0 $((t + $5)) "$rp: ($rf+0x0/0x90)"
	ev kdist-bench-100 0 $((t + $6)) "${rp}_ret: (tcp_data_queue+0x5a0/0xc40 <- $rf)"
	ev kdist-bench-100 0 $((t + $7)) "ow_send_ret: (sock_write_iter+0x9c/0x110 <- tcp_sendmsg)"
	ev kdist-bench-100 0 $((t + $8)) "sys_write -> 0x28"
	ev kdist-bench-100 0 $((t + $9)) "$rd(fd: 4, buf: 7ffc1000, count: 40)"
	ev kdist-bench-100 0 $((t + ${10})) "sched_switch: prev_comm=kdist-bench prev_pid=100 prev_prio=120 prev_state=S ==> next_comm=swapper/0 next_pid=0 next_prio=120"
	ev '<idle>-0' 1 $((t + ${11})) "ow_ipi: (__sysvec_call_function_single+0x0/0xa0)"
	ev '<idle>-0' 1 $((t + ${11} + 1)) "sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=kdist-bench next_pid=200 next_prio=120"
	ev kdist-bench-200 1 $((t + ${12})) "$rd -> 0x28"
}
# The segments, µs:  write sendmsg ready ready_ret sendmsg_ret write_ret
#                    read idle ipi read_ret, and the one-way trip
#   dev at 1000 s:   10 5 3 2 1 4 6 20 30, 81 (another task's read()
#                    returns on the sender's CPU before the receiver's)
#   dev at 1001 s:   12 5 3 2 1 4 8 -6 31, 60 (the IPI comes before the
#                    sender goes idle; a stray IPI comes before ready)
#   dev at 1002 s:   14 7 3 2 1 4 6 10 30, 77 (a kworker runs between
#                    read and idle; another task's read() returns on the
#                    receiver's CPU before the IPI, and is not the trip's)
#   tcp at 1010 s:   8 4 2 2 1 3 5 15 20, 60
#   tcp at 1011 s:   10 4 2 2 1 3 5 25 20, 72
# With so few trips the middle 90% are all of them. CPU 1 had been idle
# for 150 + 51, 50 + 29, 200 + 47, 310 + 40 and 400 + 52 µs when the
# IPI came, 36, 12, 26, 28 and 38 µs after ready.
{
	echo "# tracer: nop"
	trip dev 1000 -150 10 15 18 20 21 25 31 51 81
	ev sshd-300 0 $((1000000000 + 70)) "sys_read -> 0x40"
	trip dev 1001 -50 12 17 20 22 23 27 35 29 60
	ev '<idle>-0' 1 $((1001000000 + 5)) "ow_ipi: (__sysvec_call_function_single+0x0/0xa0)"
	trip dev 1002 -200 14 21 24 26 27 31 37 47 77
	ev kdist-bench-100 0 $((1002000000 + 33)) "sched_switch: prev_comm=kdist-bench prev_pid=100 prev_prio=120 prev_state=S ==> next_comm=kworker/0:1 next_pid=57 next_prio=120"
	ev sshd-301 1 $((1002000000 + 40)) "sys_read -> 0x40"
	trip tcp 1010 -310 8 12 14 16 17 20 25 40 60
	trip tcp 1011 -400 10 14 16 18 19 22 27 52 72
} > "$TMP/trace"
while IFS= read -r line; do
	expect_line 0 "$line" "oneway-cut: $line" -- words python3 "$CUT" "$TMP/trace"
done <<'END'
one-way trips cut: dev 3, tcp 2; µs, the median and the mean of the middle 90%
write -> sendmsg 12.0 9.0 12.0 9.0 +3.0
sendmsg -> ready 5.0 4.0 5.7 4.0 +1.7
ready -> ready_ret 3.0 2.0 3.0 2.0 +1.0
ready_ret -> sendmsg_ret 2.0 2.0 2.0 2.0 +0.0
sendmsg_ret -> write_ret 1.0 1.0 1.0 1.0 +0.0
write_ret -> read 4.0 3.0 4.0 3.0 +1.0
read -> idle 6.0 5.0 6.7 5.0 +1.7
idle -> ipi 10.0 20.0 8.0 20.0 -12.0
ipi -> read_ret 30.0 20.0 30.3 20.0 +10.3
one-way (write -> read_ret) 77.0 66.0 72.7 66.0 +6.7
ipi - idle 10.0 20.0 8.0 20.0 -12.0
0-100 µs 12.0 ( 1) -
100-200 µs - -
200-300 µs 31.0 ( 2) -
300-400 µs - 28.0 ( 1)
>= 400 µs - 38.0 ( 1)
ipi - idle, dev: p10 -6.0 p50 10.0 p90 20.0 µs
ipi - idle, tcp: p10 15.0 p50 25.0 p90 25.0 µs
END

# 20 dev trips like the first, but the sender runs 2 µs from read() to
# idle in 12 of them, 10 µs in 7 and 100 µs in one: median 2, mean 9.7;
# the middle 90% leave out one 2 and the 100: (11 * 2 + 7 * 10) / 18 =
# 5.1.
{
	i=1
	while [ $i -le 20 ]; do
		g=2
		[ $i -gt 12 ] && g=10
		[ $i -eq 20 ] && g=100
		trip dev $((2000 + i)) -150 10 15 18 20 21 25 $((25 + g)) \
			$((45 + g)) $((75 + g))
		i=$((i + 1))
	done
	trip tcp 1010 -310 8 12 14 16 17 20 25 40 60
	trip tcp 1011 -400 10 14 16 18 19 22 27 52 72
} > "$TMP/trace20"
expect_line 0 "read -> idle 2.0 5.0 5.1 5.0 +0.1" \
	"oneway-cut: the mean of the middle 90% leaves out the extremes" -- \
	words python3 "$CUT" "$TMP/trace20"
# vm-profile.sh: its command line, checked before it boots anything.
expect 0 "Usage: bash tools/vm-profile.sh" "vm-profile --help" -- bash "$VP" --help
expect 2 "needs a positive number" "vm-profile -n 0" -- bash "$VP" -n 0
expect 2 "needs a number" "vm-profile -s without a number" -- bash "$VP" -s
expect 2 "no module at /nonexistent.ko" "vm-profile with a missing module" -- \
	bash "$VP" --module /nonexistent.ko
expect 2 "unknown option --fast" "vm-profile with an unknown option" -- \
	bash "$VP" --fast

# vm-profile.py: perf reports of made-up phases. At -p 100 (µs a sample),
# a phase of 10 s at 50 round trips a second has 500 round trips, so a
# sample is 0.2 µs a round trip.
#   dev: JIT 1000 + 500 samples (two threads' maps, one part) = 300 µs;
#        qht_lookup_custom 400 = 80; the host kernel 100 = 20; libc 50 = 10
#   tcp: at 100 round trips a second, 0.1 µs a sample: JIT 2000 = 200;
#        qht_lookup_custom 300 = 30; the host kernel 200 = 20; libc 100 = 10
vp_report() {
	printf '# Samples: 2K of event cpu-clock\n#\n'
	printf '    %s%%  %s  %s  [%s] %s\n' "$@"
}
vp_report 40.0 1000 "[JIT] tid 11" . 0x7f0000001000 \
	20.0 500 "[JIT] tid 12" . 0x7f0000002000 \
	19.0 400 qemu-system-x86_64 . qht_lookup_custom \
	4.0 100 "[kernel.kallsyms]" k finish_task_switch \
	2.0 50 libc.so.6 . __memmove_avx_unaligned > "$TMP/vp-dev"
vp_report 77.0 2000 "[JIT] tid 11" . 0x7f0000001000 \
	11.0 300 qemu-system-x86_64 . qht_lookup_custom \
	8.0 200 "[kernel.kallsyms]" k finish_task_switch \
	4.0 100 libc.so.6 . __memmove_avx_unaligned > "$TMP/vp-tcp"
vp() { words python3 "$VPY" -p 100 dev 50 10 "$TMP/vp-dev" tcp 100 10 "$TMP/vp-tcp"; }
expect_line 0 "guest code ([JIT]) 300.0 200.0 +100.0" \
	"vm-profile.py: the JIT part, both threads' maps in one" -- vp
expect_line 0 "QEMU 80.0 30.0 +50.0" "vm-profile.py: the QEMU part" -- vp
expect_line 0 "all 410.0 260.0 +150.0" "vm-profile.py: all parts" -- vp
expect_line 0 "+50.0 dev 80.0 tcp 30.0 qemu-system-x86_64 qht_lookup_custom" \
	"vm-profile.py: the function that differs most comes first" -- vp
# two dev phases are averaged: the second one, at twice the rate, has half
# the time a round trip (150 µs of JIT), so the mean is 225
expect_line 0 "guest code ([JIT]) 225.0 200.0 +25.0" \
	"vm-profile.py: phases of one path are averaged" -- \
	words python3 "$VPY" -p 100 dev 50 10 "$TMP/vp-dev" \
	dev 100 10 "$TMP/vp-dev" tcp 100 10 "$TMP/vp-tcp"
expect 2 "needs at least one dev phase and one tcp phase" \
	"vm-profile.py without a tcp phase" -- \
	python3 "$VPY" dev 50 10 "$TMP/vp-dev"
expect 2 "no samples" "vm-profile.py on a report without samples" -- \
	python3 "$VPY" dev 50 10 /dev/null tcp 100 10 "$TMP/vp-tcp"
expect 2 "rate and seconds must be positive" "vm-profile.py with a rate of 0" -- \
	python3 "$VPY" dev 0 10 "$TMP/vp-dev" tcp 100 10 "$TMP/vp-tcp"
exit $bad
