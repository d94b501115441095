# SPDX-License-Identifier: MIT
# The checks of the x86_64 KVM suite that hold on any x86_64 KVM host, AMD's
# or Intel's: on the default suite's JSON report ($out/json.out, from the
# entry "hv json --format json") and on `hvprobe info` ($out/info.out).
# Sourced by tests/e2e/kvm-checks.bash (kvm_amd inside QEMU, or /dev/kvm)
# and tests/e2e/intel-checks.bash (kvm_intel inside Bochs), and with them by
# tests/e2e/checks-fail.sh against bad outputs, where every check must fail.
# Each check reads what it asserts on through jqok/json_ok, or asks for the
# run's exit status together with a complete report.

seed="vm.sequential_in_one_thread vm.two_in_one_thread vm.destroy_after_refused_create
vm.two_in_two_threads vm.two_in_two_processes mem.two_maps"
J=$out/json.out

# complete NAME: the output of the run NAME is whole (a check on part of a
# report proves nothing): by its own last line, or one section per probe.
complete() {
	local f=$out/$1.out
	[ -s "$f" ] || return 1
	case $1 in
	text | subset) tail -n 1 "$f" | grep -qE '^[0-9]+ probes in .*deviate' ;;
	benchtext) tail -n 1 "$f" | grep -qE '^[0-9]+ benchmarks: ' ;;
	md) [ -n "$nprobes" ] && [ "$(grep -c '^### `' "$f")" = "$nprobes" ] ;;
	info) tail -n 1 "$f" | grep -q '^virtualization ' ;;
	cpuinfo) grep -q '^feature MSRs (' "$f" && tail -n 1 "$f" | grep -qE '^(  0x[0-9a-f]{8} = 0x[0-9a-f]{16}|feature MSRs \(0\):)$' ;;
	html) tail -n 1 "$f" | grep -q '</html>' ;;
	*) return 1 ;;
	esac
}
# has NAME PATTERN: the whole output of NAME has a line matching PATTERN (grep -E).
has() { complete "$1" && grep -qE -- "$2" "$out/$1.out"; }
# agrees: a finding's answer is yes exactly when its own measurement says native.
agrees='((.answer == "yes") == (.reason | test("time: native")))'

ok "the default run exits 0 (nothing deviates), its report complete JSON" \
	eval 'exits json 0 && json_ok "$J"'
jqok "the JSON report parses" '.' "$J"
jqok "it has schema_version 1" '.schema_version == 1' "$J"
jqok "its host block names the backend" '.host.backend == "kvm"' "$J"
for id in $seed; do
	jqok "$id: answered yes, as documented" \
		'.findings[] | select(.id == $id) | .answer == "yes" and .verdict == "as documented"' "$J" --arg id "$id"
	jqok "$id: a yes proven by a guest" \
		'.findings[] | select(.id == $id) | .answer == "yes" and .guest_verified and (.guest | length) >= 2' "$J" --arg id "$id"
	jqok "$id: a yes with every call as evidence, with its native result" \
		'.findings[] | select(.id == $id) | .answer == "yes" and (.evidence | length) > 3 and all(.evidence[]; .errno == "OK")' "$J" --arg id "$id"
done
jqok "mem.two_maps: the guest read each region's own value" \
	'.findings[] | select(.id == "mem.two_maps") | .answer == "yes" and [.guest[].value] == ["0x5eed00000000a001", "0x5eed00000000b002"]' "$J"
jqok "vm.two_in_one_thread: VM B did not see VM A's value" \
	'.findings[] | select(.id == "vm.two_in_one_thread") | .answer == "yes" and .guest[2].value == "0x0"' "$J"
ok_schema "the report validates against docs/report-schema.json" "$J"

nprobes=$(jq '.findings | length' "$J" 2>/dev/null)
jqok "no probe crashed or hung" 'all(.findings[]; .answer == "yes" or .answer == "no" or .answer == "skipped")' "$J"
jqok "every documented answer is as documented" 'all(.findings[]; .verdict != "deviates")' "$J"
for id in mem.overlap_partial mem.overlap_identical mem.overlap_contained; do
	jqok "$id: refused with EEXIST, the first map still read by the guest" \
		'.findings[] | select(.id == $id) | .answer == "yes" and .guest_verified and .evidence[.decisive].errno == "EEXIST"' "$J" --arg id "$id"
done
for id in mem.many_maps mem.adjacent_maps mem.alias mem.unmapped_access mem.unmap_then_access mem.move \
	mem.remap_new_host_memory mem.readonly mem.coherence mem.dirty_log mem.backing_private mem.backing_shared \
	mem.backing_memfd mem.backing_hugepages mem.sparse_large; do
	jqok "$id: yes, proven by the guest" \
		'.findings[] | select(.id == $id) | .answer == "yes" and .guest_verified' "$J" --arg id "$id"
done
jqok "fork.vm_used_in_child: the child's calls fail with EIO" \
	'.findings[] | select(.id == "fork.vm_used_in_child") | .answer == "no" and .evidence[.decisive].errno == "EIO"' "$J"
jqok "fork.fd_passed: a VM handed over is refused to the receiver with EIO" \
	'.findings[] | select(.id == "fork.fd_passed") | .answer == "no" and .evidence[.decisive].errno == "EIO"' "$J"
for id in vcpu.run_from_other_thread vcpu.regs_from_other_thread vcpu.two_parallel vcpu.one_thread_two_vcpus \
	fork.child_own_vm fork.guest_memory_private fork.guest_memory_shared limits.threads_running_vcpus \
	lifecycle.close_vm_keep_vcpu lifecycle.use_after_destroy lifecycle.destroy_while_running; do
	jqok "$id: yes, proven by the guest" \
		'.findings[] | select(.id == $id) | .answer == "yes" and .guest_verified' "$J" --arg id "$id"
done
jqok "vcpu.kick and vcpu.signal_during_run: run returned EINTR" \
	'[.findings[] | select(.id == "vcpu.kick" or .id == "vcpu.signal_during_run") | .answer == "yes" and .evidence[.decisive].errno == "EINTR"] == [true, true]' "$J"
jqok "exec.native_cpl0/cpl3: a measured answer with the guest's own timing, yes exactly when it says native" \
	'[.findings[] | select(.id | startswith("exec.native_")) | (.answer == "yes" or .answer == "no") and .guest_verified and (.reason | test("ns per instruction")) and '"$agrees"'] == [true, true]' "$J"
jqok "cpu.hypercall: handled in the kernel, the guest got -KVM_ENOSYS" \
	'.findings[] | select(.id == "cpu.hypercall") | .answer == "yes" and .guest[0].value == "0xfffffffffffffc18"' "$J"
jqok "cpu.hlt: a hlt exit" '.findings[] | select(.id == "cpu.hlt") | .answer == "yes"' "$J"
jqok "exec.vendor: the scheme from the module, both rings measured, yes exactly when both are native" \
	'.findings[] | select(.id == "exec.vendor") | .guest_verified and (.reason | test("module kvm_") and test("measured: ring 0 .*ring 3 "))
	and ((.answer == "yes") == (.reason | test("ring 0 native .*ring 3 native ")))' "$J"
jqok "exec.real_mode: answered; a yes is proven by the guest (CR0.PE clear), and says so" \
	'.findings[] | select(.id == "exec.real_mode") | ((.answer == "yes" and .guest_verified) or .answer == "no")
	and ((.answer == "yes") == (.reason | startswith("the vCPU ran 16-bit real-mode code")))' "$J"
for id in cpu.cpuid_applied_cpl0 cpu.cpuid_applied_cpl3 cpu.msr_applied time.tsc_rate time.tsc_offset; do
	jqok "$id: yes, the guest read what the VMM set" \
		'.findings[] | select(.id == $id) | .answer == "yes" and .guest_verified' "$J" --arg id "$id"
done
jqok "cpu.cpuid_applied_cpl3: the guest's CPUID at ring 3 reported the VMM's marker" \
	'.findings[] | select(.id == "cpu.cpuid_applied_cpl3") | .answer == "yes" and [.guest[] | select(.label | IN("eax", "ebx", "ecx", "edx")) | .value] == ["0x72707668", "0x2d65626f", "0x69757063", "0x6b6f2d64"]' "$J"
jqok "cpu.msr_applied: the filtered read exited to the VMM, whose value the guest got" \
	'.findings[] | select(.id == "cpu.msr_applied") | .answer == "yes" and any(.evidence[]; .call == "KVM_X86_SET_MSR_FILTER" and .errno == "OK") and any(.guest[]; .value == "0x6b6b0badc000")' "$J"
jqok "time.tsc_rate: the measured rate is stated against the API's" \
	'.findings[] | select(.id == "time.tsc_rate") | .answer == "yes" and (.reason | test("the API says [0-9]+ kHz; .* ran at [0-9]+-[0-9]+ kHz"))' "$J"
jqok "vcpu.duplicate_id: EEXIST" \
	'.findings[] | select(.id == "vcpu.duplicate_id") | .answer == "yes" and .evidence[.decisive].errno == "EEXIST"' "$J"
jqok "limits.vcpus_per_vm: refused at the limit, or the cap" \
	'.findings[] | select(.id == "limits.vcpus_per_vm") | (.answer == "yes" and .guest_verified) or .answer == "skipped"' "$J"
jqok "mem.readonly: the VMM saw the guest's write value" \
	'.findings[] | select(.id == "mem.readonly") | .answer == "yes" and any(.guest[]; .value == "0x5707e0000000d00d")' "$J"
jqok "mem.max_maps: a refusal from KVM itself, or the cap" \
	'.findings[] | select(.id == "mem.max_maps") | (.answer == "yes" and .evidence[.decisive].call == "KVM_SET_USER_MEMORY_REGION") or .answer == "skipped"' "$J"

I=$out/info.out
ok "info exits 0" eval 'exits info 0 && complete info'
ok "info judges by a guest that ran" has info '^guest_runs +yes'
ok "info names the KVM module" has info '^kvm_modules +kvm'
ok "info states how guests run here, measured" has info '^virtualization .*measured: ring 0'
ok "info shows the capabilities" has info '^KVM_CAP_NR_MEMSLOTS +[0-9]'
