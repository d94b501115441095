#!/bin/bash
# SPDX-License-Identifier: MIT
# make check-intel: the x86_64 KVM suite on Intel VMX, kvm_intel inside
# Bochs (tests/vm/hvprobe-in-bochs): the whole default probe suite and
# `hvprobe info` as one batch (tests/e2e/intel.batch) in one boot, then
# checked here (tests/e2e/intel-checks.bash). Skips only on a machine that
# cannot run Bochs's x86_64 guest or has no Bochs; anything else missing
# fails with the reason, since scripts/install-deps.sh installs it.
#
# HVP_INTEL_OUT=DIR keeps the outputs there (make check: build/check/kvm-intel,
# for make check-checks). HVP_VM_TIMEOUT (default here 1500 s) bounds the run.
. "$(dirname "$0")/lib.bash"
[ -n "${HVP_INTEL_OUT:-}" ] && rm -f "$HVP_INTEL_OUT.ran"

[ "$(uname -s)" = Linux ] && [ "$(uname -m)" = x86_64 ] ||
	skip_all "the kvm_intel suite runs an x86_64 Linux in Bochs, from Linux on x86_64 (this is $(uname -sm))"
command -v bochs >/dev/null ||
	skip_all "the kvm_intel suite runs inside Bochs, which is not installed (apt-get install bochs bochsbios vgabios isolinux syslinux-common xorriso)"
command -v jq >/dev/null || bail "jq is needed to read the JSON reports (apt-get install jq)"
echo "# KVM: kvm_intel inside Bochs (emulated Intel VMX)"
echo "# binary: $HVPROBE"

intelout=${HVP_INTEL_OUT:-$tmp/intel}
export HVP_VM_BIN=$HVPROBE HVP_VM_TIMEOUT=${HVP_VM_TIMEOUT:-1500}
suite_batch intel.sh "${HVP_INTEL_OUT:-}" "x86_64 KVM suite on Intel VMX" "kvm_intel inside Bochs" "$intelout" \
	"$top/tests/vm/hvprobe-in-bochs" --batch "$top/tests/e2e/intel.batch"
ok "the batch ran to its end on kvm_intel inside Bochs" [ "$batch_rc" = 0 ]
failing "$intelout/json.out"
jq -r '.summary? | "# the suite: \(.)"' "$intelout/json.out" 2>/dev/null

check_dir "$top/tests/e2e/intel-checks.bash" "$intelout"
done_testing
