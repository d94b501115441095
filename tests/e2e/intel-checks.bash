# SPDX-License-Identifier: MIT
# The checks of the x86_64 KVM suite on Intel VMX (kvm_intel inside Bochs),
# on the outputs of tests/e2e/intel.batch in $out: those that hold on any
# x86_64 KVM host (tests/e2e/kvm-suite-checks.bash), then every probe
# answering and the answers only Intel's KVM gives. Sourced by
# tests/e2e/intel.sh after the batch ran, and by tests/e2e/checks-fail.sh
# against bad outputs, where every check must fail. No check reads a
# duration: under Bochs guest time is instructions / ips.

# shellcheck source=tests/e2e/kvm-suite-checks.bash
. "$(dirname "${BASH_SOURCE[0]}")/kvm-suite-checks.bash"

probes=$("$HVPROBE_LOCAL" list --format json 2>/dev/null | jq '[.[] | select(.kind == "probe")] | length')
echo "# $probes probes in the default suite, $nprobes in the report"
jqok "every probe of the default suite answered" '.findings | length == $n' "$J" --argjson n "${probes:-0}"
jqok "the report is from an Intel host with VMX, KVM's module kvm_intel" \
	'.host.cpu_vendor == "GenuineIntel" and (.host.cpu_flags | split(" ") | index("vmx"))
	and (.host.kvm_modules | split(" ") | index("kvm_intel"))' "$J"
jqok "exec.vendor: Intel VMX, from the module kvm_intel, yes exactly when both rings measured native" \
	'.findings[] | select(.id == "exec.vendor") | .guest_verified and (.reason | test("Intel VMX \\(module kvm_intel\\)"))
	and ((.answer == "yes") == (.reason | test("ring 0 native .*ring 3 native ")))' "$J"
jqok "cpu.hypercall: VMCALL, Intel's, handled in the kernel, the guest got -KVM_ENOSYS" \
	'.findings[] | select(.id == "cpu.hypercall") | .answer == "yes" and .verdict == "as documented"
	and (.reason | startswith("VMCALL ")) and .guest[0].value == "0xfffffffffffffc18"' "$J"
# Intel runs real mode through unrestricted guest (EPT): the guest proves it
# read through segment arithmetic ("real" at 0x9000:0) with CR0.PE clear.
jqok "exec.real_mode: yes, the guest ran 16-bit code with CR0.PE clear" \
	'.findings[] | select(.id == "exec.real_mode") | .answer == "yes" and .guest_verified and (.guest | length) == 2
	and .guest[0].value == "0x6c616572" and (.guest[1].value | .[-1:] | IN("0", "2", "4", "6", "8", "a", "c", "e"))' "$J"
ok "info names kvm_intel and Intel VMX" \
	eval 'has info "^kvm_modules +kvm_intel( |\$)" && has info "^cpu_vendor +GenuineIntel\$" && has info "^virtualization +Intel VMX \\(module kvm_intel\\)"'
