#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# fetch-linux-source.sh - extract the few kernel-tree files kdist needs at
# build time from Debian's linux-source package:
#
#   build/linux-source/tools/testing/selftests/kselftest_harness.h
#   build/linux-source/tools/testing/selftests/kselftest.h
#   build/linux-source/scripts/checkpatch.pl
#   build/linux-source/scripts/spelling.txt
#   build/linux-source/scripts/const_structs.checkpatch
#
# The .deb is downloaded with "apt-get download" into build/cache/ and only
# the files above are pulled out of the (large) source tarball.  Nothing here
# is committed; build/ is a generated-artefact directory.  Does nothing if the
# files are already present (delete build/linux-source/ to refetch).
#
# Usage: tests/vm/fetch-linux-source.sh [--force]
#
# Environment:
#   KDIST_LINUX_SOURCE_PKG   source package name (default: linux-source-6.1)
#   KDIST_LINUX_SOURCE_DIR   output directory    (default: <repo>/build/linux-source)

set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
readonly SCRIPT_DIR REPO_ROOT

readonly SOURCE_PKG="${KDIST_LINUX_SOURCE_PKG:-linux-source-6.1}"
readonly OUT_DIR="${KDIST_LINUX_SOURCE_DIR:-$REPO_ROOT/build/linux-source}"
readonly CACHE_DIR="$REPO_ROOT/build/cache/linux-source"
# The meta package whose version we try to match, so the headers fit the
# kernel the VM boots.
readonly KERNEL_META_PKG="linux-image-amd64"

# Files to extract, relative to the top of the kernel tree.
readonly WANTED=(
	tools/testing/selftests/kselftest_harness.h
	tools/testing/selftests/kselftest.h
	scripts/checkpatch.pl
	scripts/spelling.txt
	scripts/const_structs.checkpatch
)

log() { echo "fetch-linux-source: $*"; }
die() { echo "fetch-linux-source: error: $*" >&2; exit 1; }

all_present() {
	local f
	for f in "${WANTED[@]}"; do
		[[ -e "$OUT_DIR/$f" ]] || return 1
	done
}

# Download the .deb into CACHE_DIR (if not cached) and print its path.
download_deb() {
	local want_ver deb
	# Prefer the source version matching the installed kernel image.
	want_ver="$(dpkg-query -W -f='${Version}' "$KERNEL_META_PKG" 2>/dev/null || true)"

	mkdir -p "$CACHE_DIR"
	deb="$(find "$CACHE_DIR" -maxdepth 1 -name "${SOURCE_PKG}_*.deb" | sort | tail -n 1)"
	if [[ -n "$deb" ]]; then
		echo "$deb"
		return
	fi
	(
		cd "$CACHE_DIR"
		# -o APT::Sandbox::User=root: avoids the "_apt cannot access"
		# warning when running as root in a root-owned cache dir.
		if [[ -z "$want_ver" ]] ||
			! apt-get download -qq -o APT::Sandbox::User=root \
				"$SOURCE_PKG=$want_ver" >/dev/null 2>&1; then
			apt-get download -qq -o APT::Sandbox::User=root "$SOURCE_PKG" >/dev/null
		fi
	) || die "apt-get download $SOURCE_PKG failed (try: apt-get update)"
	find "$CACHE_DIR" -maxdepth 1 -name "${SOURCE_PKG}_*.deb" | sort | tail -n 1
}

main() {
	if [[ "${1:-}" == "--force" ]]; then
		rm -rf "$OUT_DIR"
	elif [[ $# -gt 0 ]]; then
		awk 'NR < 4 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "${BASH_SOURCE[0]}"
		[[ "$1" == "-h" || "$1" == "--help" ]] && exit 0
		exit 2
	fi

	if all_present; then
		return 0
	fi

	log "fetching ${WANTED[0]##*/} + checkpatch from $SOURCE_PKG into ${OUT_DIR#"$REPO_ROOT"/}/ ..."
	local deb
	deb="$(download_deb)"
	[[ -f "$deb" ]] || die "no $SOURCE_PKG .deb in $CACHE_DIR"

	# dpkg -x the package into a scratch dir, then pull the wanted files out
	# of the tarball; the first path component ("linux-source-6.1/") is
	# stripped so the layout mirrors a kernel tree.
	# Global (not local) so the EXIT trap can still see it.
	EXTRACT_TMP="$(mktemp -d "$CACHE_DIR/extract.XXXXXX")"
	trap 'rm -rf "$EXTRACT_TMP"' EXIT
	local tmp="$EXTRACT_TMP"
	dpkg -x "$deb" "$tmp/deb"
	local tarball
	tarball="$(find "$tmp/deb/usr/src" -maxdepth 1 -name 'linux-source-*.tar.xz' | head -n 1)"
	[[ -n "$tarball" ]] || die "no linux-source tarball inside $deb"

	local -a patterns=()
	local f
	for f in "${WANTED[@]}"; do
		patterns+=("*/$f")
	done
	mkdir -p "$tmp/tree"
	tar -xJf "$tarball" -C "$tmp/tree" --strip-components=1 --wildcards "${patterns[@]}"

	# Publish atomically-ish: only move files once all were extracted.
	for f in "${WANTED[@]}"; do
		[[ -e "$tmp/tree/$f" ]] || die "$f missing from $tarball"
	done
	for f in "${WANTED[@]}"; do
		mkdir -p "$OUT_DIR/$(dirname "$f")"
		mv "$tmp/tree/$f" "$OUT_DIR/$f"
	done
	log "done ($(basename "$deb"))"
}

main "$@"
