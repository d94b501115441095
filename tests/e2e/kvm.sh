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
rm -rf "$kvmout"
mkdir -p "$kvmout"
start=$SECONDS
"$top/tests/vm/hvprobe-on-kvm" --batch "$top/tests/e2e/kvm.batch" "$kvmout" 2>"$tmp/batch.err"
batch_rc=$?
echo "# the batch took $((SECONDS - start)) s and exited $batch_rc"
# Said on stderr too, and kept for make check's last word: where the suite ran.
ran="x86_64 KVM suite: ran on ${where%%:*} KVM (${where#*: }), its batch $((SECONDS - start)) s, exit $batch_rc"
echo "kvm.sh: $ran" >&2
[ -n "${HVP_KVM_OUT:-}" ] && echo "$ran" >"$HVP_KVM_OUT.ran"
sed 's/^/# /' "$tmp/batch.err"
ok "the batch ran to its end on ${where%%:*} KVM" [ "$batch_rc" = 0 ]
# A finding that failed, said here so that the log shows why.
jq -r '.findings[]? | select(.verdict == "deviates" or .answer == "crashed" or .answer == "hung")
	| "# failing: \(.id): \(.answer) (\(.reason))"' "$kvmout/json.out" 2>/dev/null

check_dir "$top/tests/e2e/kvm-checks.bash" "$kvmout"
done_testing
