#!/bin/bash
# SPDX-License-Identifier: MIT
# The real binary against real x86_64 KVM: the seed's questions, answered by
# guests, and the rest of the suite. The runs (tests/e2e/kvm.batch) go as one
# batch to real KVM: this machine's /dev/kvm where a guest runs there,
# otherwise one boot of a VM in QEMU with AMD SVM emulated
# (tests/vm/hvprobe-on-kvm). The checks (tests/e2e/kvm-checks.bash) then read
# the outputs here. Skips only where neither can be had.
#
# HVP_KVM=local|qemu forces where; HVP_KVM_OUT=DIR keeps the outputs there
# (make check keeps them in build/check/kvm-x86_64 for make check-checks).
. "$(dirname "$0")/lib.bash"
[ -n "${HVP_KVM_OUT:-}" ] && rm -f "$HVP_KVM_OUT.ran"

command -v jq >/dev/null || bail "jq is needed to read the JSON reports (apt-get install jq)"
where=$("$top/tests/vm/hvprobe-on-kvm" --where)
case $where in none:*) skip_all "the x86_64 KVM suite needs KVM or QEMU: ${where#none: }" ;; esac
echo "# KVM: $where"
echo "# binary: $HVPROBE"

kvmout=${HVP_KVM_OUT:-$tmp/kvm}
suite_batch kvm.sh "${HVP_KVM_OUT:-}" "x86_64 KVM suite" "${where%%:*} KVM (${where#*: })" "$kvmout" \
	"$top/tests/vm/hvprobe-on-kvm" --batch "$top/tests/e2e/kvm.batch"
ok "the batch ran to its end on ${where%%:*} KVM" [ "$batch_rc" = 0 ]
failing "$kvmout/json.out"

check_dir "$top/tests/e2e/kvm-checks.bash" "$kvmout"
done_testing
