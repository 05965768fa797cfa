#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Module load and unload, 20 times, with three namespaces (hosts) alive,
# one of them listening. Every load must recreate a host for every
# namespace; an open /dev/kdist file must keep the module from unloading;
# dmesg must stay clean (the VM runner also fails the test on any WARNING,
# BUG or lockdep report). The proto_max parameter takes 1 to 3 and refuses
# anything else, keeping its value; so does wake_spin_us past 0..1000.
#
#   init netns ----- kdml-a (listening on 0.0.0.0:4370)
#                |-- kdml-b
#                `-- kdml-c
set -u
ROUNDS=20
HERE=$(cd "$(dirname "$0")" && pwd)
MODULE=${KDIST_MODULE:-$HERE/../../kmod/kdist.ko}
KDISTCTL=$HERE/../../tools/kdistctl
HOSTS=/sys/class/misc/kdist/hosts
NS="kdml-a kdml-b kdml-c"
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
cleanup() { for ns in $NS; do ip netns del "$ns" 2>/dev/null; done; }
trap cleanup EXIT

echo "TAP version 13"
echo "1..9"
lsmod | grep -q '^kdist ' || insmod "$MODULE"
for ns in $NS; do ip netns add "$ns"; done
check "three namespaces created" test "$(ip netns list | grep -c '^kdml-')" -eq 3
"$KDISTCTL" -n kdml-a host set listen 0.0.0.0:4370 tick 1000 >/dev/null 2>&1 ||
	ip netns exec kdml-a true
want=$(cat "$HOSTS")
echo "# hosts alive: $want"

dmesg_before=$(dmesg | wc -l)
bad=0
for i in $(seq 1 "$ROUNDS"); do
	if ! rmmod kdist; then bad=1; echo "# round $i: rmmod failed"; break; fi
	if [ -e /sys/module/kdist ]; then bad=1; echo "# round $i: still loaded"; break; fi
	if ! insmod "$MODULE"; then bad=1; echo "# round $i: insmod failed"; break; fi
	got=$(cat "$HOSTS")
	if [ "$got" != "$want" ]; then
		bad=1; echo "# round $i: $got hosts, want $want"; break
	fi
	"$KDISTCTL" -n kdml-a host set listen 0.0.0.0:4370 >/dev/null 2>&1
done
check "$ROUNDS load/unload rounds with every host recreated" test $bad -eq 0

exec 3<>/dev/kdist
check "rmmod refused while /dev/kdist is open" sh -c '! rmmod kdist 2>/dev/null'
check "module still loaded with the file open" test -e /sys/module/kdist
exec 3>&-
check "rmmod works once the file is closed" rmmod kdist
check "insmod again" insmod "$MODULE"
new=$(dmesg | tail -n +"$((dmesg_before + 1))" | grep -E 'kdist' | grep -viE 'loaded|unloaded' || true)
check "no unexpected kdist messages in dmesg" test -z "$new"

# param_ok NAME DEFAULT "GOOD..." "BAD...": module parameter NAME reads
# DEFAULT, takes each GOOD value, then refuses each BAD one and keeps the
# last good value; DEFAULT is put back at the end.
param_ok() {
	local p=/sys/module/kdist/parameters/$1 def=$2 good=$3 bad=$4 v last
	[ "$(cat "$p")" = "$def" ] || { echo "# default $(cat "$p")"; return 1; }
	for v in $good; do
		echo "$v" >"$p" && [ "$(cat "$p")" = "$v" ] ||
			{ echo "# $v not taken"; return 1; }
		last=$v
	done
	for v in $bad ""; do
		if (echo "$v" >"$p") 2>/dev/null; then
			echo "# '$v' taken"; return 1
		fi
		[ "$(cat "$p")" = "$last" ] || { echo "# '$v' changed it"; return 1; }
	done
	echo "$def" >"$p"
}
check "proto_max takes 1 to 3, refuses 0, 4 and junk" \
	param_ok proto_max 3 "1 2 3" "0 4 x"
check "wake_spin_us takes 0 to 1000, refuses 1001 and junk" \
	param_ok wake_spin_us 100 "0 1000" "1001 -1 x"
[ -n "$new" ] && echo "$new" | sed 's/^/# /'
exit $failed
