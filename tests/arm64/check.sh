#!/bin/bash
# SPDX-License-Identifier: MIT
# make check-arm64: the whole default probe suite on arm64 KVM, inside QEMU
# with an emulated EL2 (tests/vm/hvprobe-in-qemu-arm64), cross-built
# statically; every finding is then checked on this machine
# (tests/arm64/checks.bash). Skips only where qemu-system-aarch64 cannot be
# had; anything else missing (the cross compiler, apt knowing arm64) fails
# with the reason, since scripts/install-deps.sh installs it.
# HVP_ARM64_OUT=DIR keeps the outputs there (make check: build/check/kvm-arm64);
# HVP_ARM64_REPORT=FILE keeps a copy of the JSON report.
. "$(dirname "$0")/../e2e/lib.bash"
[ -n "${HVP_ARM64_OUT:-}" ] && rm -f "$HVP_ARM64_OUT.ran"

command -v qemu-system-aarch64 >/dev/null ||
	skip_all "the arm64 KVM suite runs inside QEMU, and qemu-system-aarch64 is not installed (apt-get install qemu-system-arm)"
need() { command -v "$1" >/dev/null || bail "$1 is not installed (scripts/install-deps.sh; apt-get install $2)"; }
need aarch64-linux-gnu-gcc "gcc-aarch64-linux-gnu libc6-dev-arm64-cross linux-libc-dev-arm64-cross"
need jq jq
need cpio cpio
[ -f /usr/aarch64-linux-gnu/include/linux/kvm.h ] ||
	bail "no arm64 <linux/kvm.h> (apt-get install linux-libc-dev-arm64-cross)"
make -s -C "$top" BUILD=build/arm64 ARCH=arm64 CC=aarch64-linux-gnu-gcc LDFLAGS=-static JSONC_H= build/arm64/hvprobe \
	>"$tmp/build.log" 2>&1 || { sed 's/^/# /' "$tmp/build.log"; bail "the arm64 cross build failed"; }

armout=${HVP_ARM64_OUT:-$tmp/arm64}
suite_batch check.sh "${HVP_ARM64_OUT:-}" "arm64 KVM suite" "arm64 KVM inside QEMU (emulated EL2)" "$armout" \
	"$top/tests/vm/hvprobe-in-qemu-arm64" --batch "$top/tests/arm64/arm64.batch"
ok "the batch ran to its end on arm64 KVM inside QEMU" [ "$batch_rc" = 0 ]
failing "$armout/suite.out"
[ "$(rc suite)" = 0 ] 2>/dev/null || tail -n 5 "$armout/suite.err" 2>/dev/null | sed 's/^/# /'
[ -n "${HVP_ARM64_REPORT:-}" ] && cp "$armout/suite.out" "$HVP_ARM64_REPORT"

check_dir "$top/tests/arm64/checks.bash" "$armout"
done_testing
