#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs what building and testing hvprobe needs on Debian or Ubuntu.
#   scripts/install-deps.sh        build and `make check`
#   scripts/install-deps.sh --vm   also `make check-vm` (real KVM inside QEMU)
set -eu
pkgs="build-essential clang libclang-rt-dev libjson-c-dev jq python3-jsonschema python3-prometheus-client groff-base chromium"
if [ "${1:-}" = "--vm" ]; then
	pkgs="$pkgs qemu-system-x86 busybox-static cpio"
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: run as root (sudo $0 $*)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends $pkgs
