#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs everything that building hvprobe and every part of `make check`
# need, on a brand-new Debian 12 or Ubuntu 24.04 machine:
#
#   the build       build-essential, libjson-c-dev
#   the tests       jq, python3-jsonschema, python3-prometheus-client,
#                   groff-base, chromium (Debian; on Ubuntu it is a snap,
#                   and the one Chromium check skips), clang and
#                   libclang-rt-dev (the clang build and libFuzzer), llvm
#                   (llvm-objcopy: check-hvf compares the guest programs
#                   assembled for Apple's targets byte for byte)
#   x86_64 KVM      qemu-system-x86, busybox-static, cpio (and zstd for
#     in QEMU       Ubuntu's compressed kernel modules)
#   x86_64 KVM on   bochs, bochsbios, vgabios (Bochs emulates Intel VMX,
#     Intel VMX     where kvm_intel runs), isolinux, syslinux-common and
#     in Bochs      xorriso (the CD Bochs boots the kernel from)
#   the package     debhelper and lintian (check-deb builds the .deb with
#                   dpkg-buildpackage and runs lintian on it); systemd's
#                   systemd-analyze verifies the units (check-systemd)
#   arm64 KVM       qemu-system-arm, gcc-aarch64-linux-gnu,
#     in QEMU       libc6-dev-arm64-cross, linux-libc-dev-arm64-cross, and
#                   apt knowing the arm64 architecture: the tests download
#                   the kernel and busybox packages they boot themselves
#
# QEMU is run with no network card and no display, so the recommended
# firmware packages (ipxe-qemu, EFI) are not needed; none are installed.
#   scripts/install-deps.sh        (as root)
# --vm is still accepted and does nothing more: make check needs it all.
set -eu
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: run as root (sudo $0 $*)" >&2
	exit 1
fi
for opt in "$@"; do
	case $opt in
	--vm) ;;
	*) echo "install-deps: unknown option '$opt'" >&2; exit 2 ;;
	esac
done

. /etc/os-release
pkgs="build-essential libjson-c-dev jq python3-jsonschema python3-prometheus-client groff-base
	clang libclang-rt-dev llvm debhelper lintian
	qemu-system-x86 busybox-static cpio zstd
	bochs bochsbios vgabios isolinux syslinux-common xorriso
	qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross linux-libc-dev-arm64-cross"
case $ID in
ubuntu) ;;
*) pkgs="$pkgs chromium" ;;
esac

# apt must know arm64 to download the arm64 kernel and busybox. Debian's
# mirrors carry every architecture; Ubuntu keeps arm64 on its ports archive,
# so there the existing sources are limited to the machine's architecture
# and a source for arm64 is added.
native=$(dpkg --print-architecture)
if [ "$native" != arm64 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
	dpkg --add-architecture arm64
fi
if [ "$ID" = ubuntu ] && [ "$native" != arm64 ] && [ ! -f /etc/apt/sources.list.d/hvprobe-arm64.sources ]; then
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# deb822 stanzas without an Architectures field get the native one.
		awk -v arch="$native" '
			/^[[:space:]]*$/ { if (open && !has) print "Architectures: " arch; open = 0; has = 0; print; next }
			/^#/ { print; next }
			{ open = 1 } /^Architectures:/ { has = 1 } { print }
			END { if (open && !has) print "Architectures: " arch }' "$f" >"$f.new" && mv "$f.new" "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -i -E -e "s/^deb(-src)? +(http|https|ftp|file|mirror)/deb\1 [arch=$native] \2/" \
			-e "/^deb(-src)? +\[[^]]*arch=/!s/^deb(-src)? +\[/deb\1 [arch=$native /" "$f"
	done
	cat >/etc/apt/sources.list.d/hvprobe-arm64.sources <<EOF
Types: deb
URIs: http://ports.ubuntu.com/ubuntu-ports
Suites: $VERSION_CODENAME $VERSION_CODENAME-updates $VERSION_CODENAME-security
Components: main universe
Architectures: arm64
Signed-By: /usr/share/keyrings/ubuntu-archive-keyring.gpg
EOF
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends $pkgs
