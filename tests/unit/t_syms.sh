#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR MIT
#
# The protocol files must build into the kernel as they are, so they may
# call nothing but each other and memcpy, memset and memcmp. Checks the
# undefined symbols of each object given (built without sanitizers);
# prints TAP lines.

allowed=$(printf 'memcpy\nmemset\nmemcmp\n__stack_chk_fail\n';
	  nm --defined-only "$@" | awk 'NF == 3 { print $3 }')
n=0
bad=0
for obj in "$@"; do
	n=$((n + 1))
	extra=$(nm -u "$obj" | awk '{ print $NF }' |
		grep -vxF "$allowed" | tr '\n' ' ')
	if [ -z "$extra" ]; then
		echo "ok $n - $(basename "$obj") calls only memcpy/memset/memcmp"
	else
		echo "not ok $n - $(basename "$obj") calls: $extra"
		bad=1
	fi
done
exit $bad
