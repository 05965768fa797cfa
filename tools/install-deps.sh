#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# install-deps.sh - install the Debian packages kdist needs to build and test.
#
# Usage:
#   tools/install-deps.sh                 install missing packages (idempotent)
#   tools/install-deps.sh --check         only report missing packages (exit 1 if any)
#   tools/install-deps.sh --kver          print the kernel version (uname -r style)
#                                         that linux-image-amd64 depends on
#   tools/install-deps.sh --linux-source  also fetch kselftest_harness.h and
#                                         checkpatch.pl into build/linux-source/
#                                         (see tests/vm/fetch-linux-source.sh)
#   tools/install-deps.sh --help
#
# Only packages that are not installed are passed to apt-get, and
# "apt-get update" is only run when something is missing, so a second run
# takes well under a second.

set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
readonly SCRIPT_DIR REPO_ROOT

# Meta package that pulls in the Debian kernel the test VM boots.
readonly KERNEL_META_PKG="linux-image-amd64"

# Everything the project needs, one package per line.
readonly PACKAGES=(
	build-essential      # gcc, make, libc headers
	pkg-config
	linux-headers-amd64  # to build kmod/kdist.ko out of tree
	linux-headers-6.12-amd64  # a newer kernel: make module-compat
	linux-image-amd64    # the kernel the test VM boots
	liburing-dev
	libmnl-dev
	libssl-dev           # HMAC for link_auth's peer that holds the secret
	qemu-system-x86      # test VM (TCG)
	busybox-static       # test VM initramfs
	kmod                 # modprobe/modinfo (initramfs module resolution)
	iproute2             # ip netns / veth in tests
	python3
	clang
	libclang-rt-14-dev   # libFuzzer runtime for tests/fuzz
	gnuplot-nox          # benchmark plots
	cpio                 # initramfs archive
	xz-utils             # linux-source tarball, compressed modules
	perl                 # checkpatch.pl
)

usage() {
	awk 'NR < 4 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "${BASH_SOURCE[0]}"
}

# Print the names of packages in PACKAGES that are not fully installed.
missing_packages() {
	local status
	# One dpkg-query call for all packages; unknown packages print nothing
	# on stdout (only an error on stderr), so they count as missing.
	status="$(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)"
	local pkg
	for pkg in "${PACKAGES[@]}"; do
		if ! grep -qx "$pkg install ok installed" <<<"$status"; then
			echo "$pkg"
		fi
	done
}

# Print the kernel release (e.g. 6.1.0-56-amd64) that the installed
# linux-image-amd64 meta package depends on.
resolve_kver() {
	local deps first kver
	deps="$(dpkg-query -W -f='${Depends}' "$KERNEL_META_PKG" 2>/dev/null || true)"
	# "linux-image-6.1.0-56-amd64 (= 6.1.192-2)" -> 6.1.0-56-amd64
	first="${deps%%[ ,|]*}"
	kver="${first#linux-image-}"
	kver="${kver%-unsigned}"
	if [[ -z "$first" || "$kver" == "$first" ]]; then
		echo "install-deps: cannot resolve kernel version from $KERNEL_META_PKG" >&2
		return 1
	fi
	echo "$kver"
}

run_as_root() {
	if [[ "$(id -u)" -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		echo "install-deps: need root (or sudo) to run: $*" >&2
		return 1
	fi
}

main() {
	local mode="install" fetch_source=0
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--check) mode="check" ;;
		--kver) mode="kver" ;;
		--linux-source) fetch_source=1 ;;
		-h | --help) usage; exit 0 ;;
		*) echo "install-deps: unknown option: $1" >&2; usage >&2; exit 2 ;;
		esac
		shift
	done

	if [[ "$mode" == "kver" ]]; then
		resolve_kver
		return
	fi

	local -a missing
	mapfile -t missing < <(missing_packages)

	if [[ ${#missing[@]} -eq 0 ]]; then
		echo "install-deps: all ${#PACKAGES[@]} packages present"
	elif [[ "$mode" == "check" ]]; then
		echo "install-deps: missing ${#missing[@]} package(s): ${missing[*]}"
		exit 1
	else
		echo "install-deps: installing ${#missing[@]} package(s): ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		run_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		run_as_root env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends "${missing[@]}"
	fi

	local kver
	kver="$(resolve_kver)"
	if [[ -e "/boot/vmlinuz-$kver" ]]; then
		echo "install-deps: test VM kernel: $kver (/boot/vmlinuz-$kver)"
	else
		echo "install-deps: warning: /boot/vmlinuz-$kver not found" >&2
	fi

	if [[ "$fetch_source" -eq 1 ]]; then
		"$REPO_ROOT/tests/vm/fetch-linux-source.sh"
	fi
}

main "$@"
