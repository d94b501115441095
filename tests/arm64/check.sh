#!/bin/bash
# SPDX-License-Identifier: MIT
# make check-arm64: the whole default probe suite on arm64 KVM, inside QEMU
# with an emulated EL2 (tests/vm/hvprobe-in-qemu-arm64), every finding
# checked on this machine. Skips with the reason where the cross compiler,
# QEMU or Debian's arm64 packages cannot be had.
. "$(dirname "$0")/../e2e/lib.bash"

need() { command -v "$1" >/dev/null || skip_all "$1 is not installed (apt-get install $2)"; }
need aarch64-linux-gnu-gcc "gcc-aarch64-linux-gnu libc6-dev-arm64-cross linux-libc-dev-arm64-cross"
need qemu-system-aarch64 qemu-system-arm
need jq jq
[ -f /usr/aarch64-linux-gnu/include/linux/kvm.h ] || skip_all "no arm64 <linux/kvm.h> (apt-get install linux-libc-dev-arm64-cross)"
if [ ! -f "$top/build/vm-arm64/vmlinuz" ] &&
	[ -z "$(apt-cache depends linux-image-arm64:arm64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')" ]; then
	skip_all "apt does not know Debian's arm64 packages (dpkg --add-architecture arm64 && apt-get update)"
fi
make -s -C "$top" BUILD=build/arm64 ARCH=arm64 CC=aarch64-linux-gnu-gcc LDFLAGS=-static JSONC_H= build/arm64/hvprobe \
	>"$tmp/build.log" 2>&1 || { cat "$tmp/build.log" >&2; echo "Bail out! the arm64 cross build failed"; exit 1; }

report=$tmp/arm64.json
"$top/tests/vm/hvprobe-in-qemu-arm64" run --format json >"$report" 2>"$tmp/arm64.err"
rc=$?
[ "$rc" = 0 ] || { echo "# exit status $rc; failing findings:"; jq -r '.findings[] | select(.verdict == "deviates" or .answer == "crashed" or .answer == "hung") | "#   \(.id): \(.answer) (\(.reason))"' "$report" 2>/dev/null; tail -n 5 "$tmp/arm64.err" | sed 's/^/# /'; }
if [ "$rc" = 99 ] && grep -q 'apt-get download' "$tmp/arm64.err"; then
	skip_all "$(grep -m1 'apt-get download' "$tmp/arm64.err")"
fi
[ -n "${HVP_ARM64_REPORT:-}" ] && cp "$report" "$HVP_ARM64_REPORT"
ok "the suite ran on arm64 KVM and exited 0 (got $rc)" [ "$rc" = 0 ]
ok "the report is JSON from an arm64 host" jq -e '.host.arch == "arm64" and .host.backend == "kvm"' "$report"
if /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; then
	ok "it validates against docs/report-schema.json" /usr/bin/python3 -c '
import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' "$report" "$top/docs/report-schema.json"
fi
probes=$("$HVPROBE_LOCAL" list --format json | jq '[.[] | select(.kind == "probe")] | length')
ok "every probe of the default suite answered ($probes)" jq -e --argjson n "$probes" '.findings | length == $n' "$report"
ok "no probe crashed or hung" jq -e 'all(.findings[]; .answer != "crashed" and .answer != "hung")' "$report"
ok "no finding deviates from the arm64 contract" jq -e '.summary.deviates == 0 and .summary.failing == 0' "$report"
ok "the probes about x86 say they are not applicable, and nothing else is skipped but the capped search" \
	jq -e 'all(.findings[] | select(.answer == "skipped"); (.reason | startswith("not applicable: the question is about x86_64")) or .id == "limits.vms_per_process")' "$report"
# Proof: a guest's reports, or the API's own refusal as the decisive call;
# lifecycle.exit_with_running_vcpu is answered by the process's exit status.
jq -r '.findings[] | select(.answer == "yes" or .answer == "no") | select(.id != "lifecycle.exit_with_running_vcpu")
	| select((.guest_verified | not) and (.decisive < 0 or .evidence[.decisive].errno == "OK")) | .id' "$report" >"$tmp/unproven"
ok "every answer is proven by a guest or by the API's refusal (unproven: $(tr '\n' ' ' <"$tmp/unproven"))" [ ! -s "$tmp/unproven" ]
for id in arm64.ipa_size arm64.nisv arm64.vcpu_init_required; do
	ok "$id: yes" jq -e --arg id "$id" '.findings[] | select(.id == $id) | .answer == "yes"' "$report"
done
ok "arm64.vcpu_init_required: KVM_RUN before KVM_ARM_VCPU_INIT fails with ENOEXEC" \
	jq -e '.findings[] | select(.id == "arm64.vcpu_init_required") | .evidence[.decisive].errno == "ENOEXEC"' "$report"
ok "cpu.hypercall: HVC answered NOT_SUPPORTED in x0 by the kernel" \
	jq -e '.findings[] | select(.id == "cpu.hypercall") | .answer == "yes" and .guest[0].value == "0xffffffffffffffff"' "$report"
ok "exec.native_cpl0/cpl3: EL1 and EL0 timed by the guest's counter" \
	jq -e '[.findings[] | select(.id | startswith("exec.native_")) | .guest_verified] == [true, true]' "$report"
ok "mem.two_maps: the seed's question, proven by the guest" \
	jq -e '.findings[] | select(.id == "mem.two_maps") | .answer == "yes" and .guest_verified' "$report"
done_testing
