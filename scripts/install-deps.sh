#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs what building and testing hvprobe needs on Debian or Ubuntu:
# the build, `make check` (which includes arm64 KVM inside QEMU: a cross
# compiler, qemu-system-arm, and apt knowing the arm64 architecture, whose
# kernel and busybox packages the test downloads itself).
#   scripts/install-deps.sh        build and `make check`
#   scripts/install-deps.sh --vm   also `make check-vm` (x86_64 KVM inside QEMU)
set -eu
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: run as root (sudo $0 $*)" >&2
	exit 1
fi
pkgs="build-essential clang libclang-rt-dev libjson-c-dev jq python3-jsonschema python3-prometheus-client
	groff-base chromium qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross linux-libc-dev-arm64-cross cpio"
for opt in "$@"; do
	case $opt in
	--vm) pkgs="$pkgs qemu-system-x86 busybox-static" ;;
	*) echo "install-deps: unknown option '$opt' (the only one is --vm)" >&2; exit 2 ;;
	esac
done
dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends $pkgs
