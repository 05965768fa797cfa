#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build kmod/kdist.ko against every other kernel build tree installed, with
# W=1, and fail on any warning or error.
#
#   tools/module-compat.sh [KDIR...]
#
# Without arguments it builds against each /usr/src/linux-headers-*-amd64
# except the one `make module` uses (KDIR in the environment). The test VM
# boots one kernel (Debian's linux-image-amd64, 6.1); this check keeps the
# module compiling on newer ones (tools/install-deps.sh installs Debian's
# 6.12 headers for it). Each build runs in a copy of the sources under
# build/compat/, so the objects of `make module` are left alone.

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO_ROOT
main_kdir="$(readlink -f "${KDIR:-/nonexistent}" 2>/dev/null || true)"

trees=("$@")
if [[ ${#trees[@]} -eq 0 ]]; then
	for d in /usr/src/linux-headers-*-amd64; do
		[[ -f "$d/Makefile" ]] || continue
		[[ "$(readlink -f "$d")" == "$main_kdir" ]] && continue
		trees+=("$d")
	done
fi
if [[ ${#trees[@]} -eq 0 ]]; then
	echo "module-compat: SKIP: no kernel build tree other than $main_kdir is installed"
	exit 0
fi

fail=0
for kdir in "${trees[@]}"; do
	name="$(basename "$kdir")"
	out="$REPO_ROOT/build/compat/$name"
	rm -rf "$out"
	mkdir -p "$out"
	cp "$REPO_ROOT/Kbuild" "$out/"
	(cd "$REPO_ROOT" && find kmod \( -name '*.[ch]' ! -name '*.mod.c' -o -name Kbuild \) \
		-print0 | xargs -0 cp --parents -t "$out")
	log="$out/build.log"
	echo "module-compat: building against $name"
	if ! make -C "$kdir" M="$out" W=1 modules >"$log" 2>&1; then
		echo "module-compat: FAIL: $name: build failed:"
		grep -E 'error|warning' "$log" | head -n 20
		fail=1
		continue
	fi
	if grep -q 'warning:' "$log"; then
		echo "module-compat: FAIL: $name: warnings:"
		grep -A3 'warning:' "$log" | head -n 30
		fail=1
		continue
	fi
	echo "module-compat: ok: $name ($(modinfo -F vermagic "$out/kmod/kdist.ko" | cut -d' ' -f1)), no warnings"
done
exit "$fail"
