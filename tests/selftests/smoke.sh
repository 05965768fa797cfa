#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# smoke.sh - minimal check that kdist.ko is loaded and usable.
# Prints TAP; exits 0 if all checks pass, 1 otherwise.  Runs inside the test
# VM (tests/vm/run.sh loads the module first).

readonly MODULE_NAME=kdist
readonly SYSFS_DIR="/sys/module/$MODULE_NAME"
readonly DEV_NODE="/dev/$MODULE_NAME"
readonly NUM_CHECKS=3

n=0
failed=0

# check DESCRIPTION COMMAND...: one TAP result line per check.
check() {
	local desc=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n $desc"
	else
		echo "not ok $n $desc"
		failed=$((failed + 1))
	fi
}

# shellcheck disable=SC2317  # called via check()
module_live() {
	# initstate only exists for loadable modules; it must say "live".
	[[ "$(cat "$SYSFS_DIR/initstate" 2>/dev/null)" == live ]]
}

echo "TAP version 13"
echo "1..$NUM_CHECKS"
check "module $MODULE_NAME is loaded ($SYSFS_DIR exists)" test -d "$SYSFS_DIR"
check "module $MODULE_NAME finished init (initstate = live)" module_live
check "$DEV_NODE exists and is a character device" test -c "$DEV_NODE"

if [[ $failed -ne 0 ]]; then
	echo "# $failed of $NUM_CHECKS checks failed"
	exit 1
fi
exit 0
