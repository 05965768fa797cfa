#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitramfs.sh - build the tiny initramfs used by tests/vm/run.sh.
#
# Usage: tests/vm/mkinitramfs.sh KERNEL_VERSION OUTPUT.cpio
#
# The image holds a static busybox, the virtio + 9p modules needed to mount
# the host root filesystem, and tests/vm/init as /init.  Everything else
# (bash, ip, modprobe, the tests, kdist.ko) comes from the host over 9p.
# Called by run.sh whenever the image is missing or older than its inputs.

set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR

readonly BUSYBOX="/bin/busybox"    # from busybox-static
readonly INIT_SCRIPT="$SCRIPT_DIR/init"

# Modules the guest /init loads, in this order, to reach the 9p root.
readonly MODULES=(
	virtio_ring
	virtio
	virtio_pci_modern_dev
	virtio_pci_legacy_dev
	virtio_pci
	netfs
	fscache
	9pnet
	9pnet_virtio
	9p
)

die() { echo "mkinitramfs: error: $*" >&2; exit 1; }

[[ $# -eq 2 ]] || die "usage: $0 KERNEL_VERSION OUTPUT.cpio"
readonly KVER="$1" OUTPUT="$2"

[[ -d "/lib/modules/$KVER" ]] || die "/lib/modules/$KVER not found"
[[ -x "$BUSYBOX" ]] || die "$BUSYBOX not found (apt-get install busybox-static)"
if ldd "$BUSYBOX" >/dev/null 2>&1; then
	die "$BUSYBOX is dynamically linked; need busybox-static"
fi

STAGE="$(mktemp -d "${TMPDIR:-/tmp}/kdist-initramfs.XXXXXX")"
readonly STAGE
trap 'rm -rf "$STAGE"' EXIT

mkdir -p "$STAGE"/{bin,dev,proc,sys,newroot,results,repo,modules}
cp "$BUSYBOX" "$STAGE/bin/busybox"
# One symlink per applet so /init can call "mount", "insmod", ... directly.
for applet in $("$BUSYBOX" --list); do
	[[ "$applet" == busybox ]] || ln -s busybox "$STAGE/bin/$applet"
done

# Copy a module into the image, decompressing it if needed: busybox insmod
# passes the file straight to init_module(), and the kernel only
# understands compressed modules when built with CONFIG_MODULE_DECOMPRESS.
copy_module() {
	local src="$1" dst="$2"
	case "$src" in
	*.ko) cp "$src" "$dst" ;;
	*.ko.xz) xz -dc "$src" >"$dst" ;;
	*.ko.zst) zstd -qdc "$src" >"$dst" ;;
	*.ko.gz) gzip -dc "$src" >"$dst" ;;
	*) die "unknown module format: $src" ;;
	esac
}

: >"$STAGE/modules/order"
for mod in "${MODULES[@]}"; do
	# The last "insmod" line of --show-depends is the module itself; its
	# dependencies are all in MODULES already (and earlier in the list).
	line="$(modprobe -S "$KVER" --show-depends "$mod" | tail -n 1)"
	case "$line" in
	builtin\ *) continue ;;   # built into the kernel: nothing to load
	insmod\ *) path="$(awk '{ print $2 }' <<<"$line")" ;;
	*) die "cannot resolve module $mod for $KVER: $line" ;;
	esac
	copy_module "$path" "$STAGE/modules/$mod.ko"
	echo "$mod" >>"$STAGE/modules/order"
done

install -m 0755 "$INIT_SCRIPT" "$STAGE/init"
echo "$KVER" >"$STAGE/kernel-version"

# newc cpio, uncompressed (small, and nothing to decompress under TCG).
mkdir -p "$(dirname "$OUTPUT")"
(cd "$STAGE" && find . -mindepth 1 | LC_ALL=C sort |
	cpio --quiet -o -H newc -R 0:0) >"$OUTPUT.tmp"
mv "$OUTPUT.tmp" "$OUTPUT"
