# SPDX-License-Identifier: MIT
# The checks of the arm64 KVM suite, on the outputs of tests/arm64/arm64.batch
# in $out (suite.out, the JSON report; suite.rc, its exit status). Sourced by
# tests/arm64/check.sh after the run, and by tests/e2e/checks-fail.sh against
# bad reports, where every check must fail. Every assertion on the report
# goes through jqok, which fails on a missing, empty or broken report.

R=$out/suite.out
echo "# the suite's exit status: $(rc suite)"
ok "the suite ran on arm64 KVM and exited 0, its report complete JSON" \
	eval 'exits suite 0 && json_ok "$R"'
jqok "the report is JSON from an arm64 host" '.host.arch == "arm64" and .host.backend == "kvm"' "$R"
ok_schema "it validates against docs/report-schema.json" "$R"
probes=$("$HVPROBE_LOCAL" list --format json | jq '[.[] | select(.kind == "probe")] | length')
echo "# $probes probes in the default suite"
jqok "every probe of the default suite answered" '.findings | length == $n' "$R" --argjson n "${probes:-0}"
jqok "no probe crashed or hung" 'all(.findings[]; .answer != "crashed" and .answer != "hung")' "$R"
jqok "no finding deviates from the arm64 contract" \
	'.summary.deviates == 0 and .summary.failing == 0 and all(.findings[]; .verdict != "deviates")' "$R"
jqok "the probes about x86 say they are not applicable, and nothing else is skipped but the capped search" \
	'all(.findings[] | select(.answer == "skipped"); (.reason | startswith("not applicable: the question is about x86_64")) or .id == "limits.vms_per_process"
	or (.id == "mem.dirty_ring" and (.reason | test("KVM_CAP_DIRTY_LOG_RING = 0"))))' "$R"
# Proof: a guest's reports, or the API's own refusal as the decisive call;
# lifecycle.exit_with_running_vcpu is answered by the process's exit status.
unproven=$(jq -r '.findings[] | select(.answer == "yes" or .answer == "no") | select(.id != "lifecycle.exit_with_running_vcpu")
	| select((.guest_verified | not) and (.decisive < 0 or .evidence[.decisive].errno == "OK")) | .id' "$R" 2>/dev/null | tr '\n' ' ')
echo "# unproven answers: ${unproven:-none}"
jqok "every answer is proven by a guest or by the API's refusal" \
	'[.findings[] | select(.answer == "yes" or .answer == "no") | select(.id != "lifecycle.exit_with_running_vcpu")
	| select((.guest_verified | not) and (.decisive < 0 or .evidence[.decisive].errno == "OK"))] | length == 0' "$R"
for id in arm64.ipa_size arm64.nisv arm64.vcpu_init_required; do
	jqok "$id: yes" '.findings[] | select(.id == $id) | .answer == "yes"' "$R" --arg id "$id"
done
jqok "arm64.vcpu_init_required: KVM_RUN before KVM_ARM_VCPU_INIT fails with ENOEXEC" \
	'.findings[] | select(.id == "arm64.vcpu_init_required") | .answer == "yes" and .evidence[.decisive].errno == "ENOEXEC"' "$R"
jqok "cpu.hypercall: HVC answered NOT_SUPPORTED in x0 by the kernel" \
	'.findings[] | select(.id == "cpu.hypercall") | .answer == "yes" and .guest[0].value == "0xffffffffffffffff"' "$R"
jqok "exec.native_cpl0/cpl3: EL1 and EL0 timed by the guest's counter, yes exactly when measured native" \
	'[.findings[] | select(.id | startswith("exec.native_")) | .guest_verified
	and ((.answer == "yes") == (.reason | test("time: native")))] == [true, true]' "$R"
jqok "mem.two_maps: the seed's question, proven by the guest" \
	'.findings[] | select(.id == "mem.two_maps") | .answer == "yes" and .guest_verified' "$R"
# Interrupts through the in-kernel vGICv3 and doorbells: the guest's own INTIDs and counts.
avec() { printf '[.findings[] | select(.id == "%s" and .answer == "yes") | .guest[] | select(.label == "vector the guest'"'"'s handler took") | .value] == %s' "$1" "$2"; }
jqok "irq.chip: a GICv3; the guest's handler took the SGI it sent itself (INTID 1)" \
	"($(avec irq.chip '["0x1"]')) and ([.findings[] | select(.id == \"irq.chip\") | .reason | test(\"a GICv2: [A-Za-z]+; an ITS: [A-Za-z]+$\")] == [true])" "$R"
jqok "irq.irqfd: the eventfd write on GSI 20 arrived as SPI INTID 52" "$(avec irq.irqfd '["0x34"]')" "$R"
jqok "irq.guest_timer: the virtual timer's PPI 27 with no exit to userspace" \
	"($(avec irq.guest_timer '["0x1b"]')) and ([.findings[] | select(.id == \"irq.guest_timer\") | .guest[] | select(.label | test(\"exits to userspace\")) | .value] == [\"0x0\"])" "$R"
jqok "irq.irqfd_resample: the level SPI 52 taken and ended, then the resample eventfd counted" \
	"($(avec irq.irqfd_resample '["0x34"]')) and ([.findings[] | select(.id == \"irq.irqfd_resample\") | .guest[] | select(.label | test(\"resample eventfd count\")) | .value != \"0x0\"] == [true])" "$R"
jqok "irq.route_limit: 4096 GIC pin routes (KVM_MAX_IRQ_ROUTES), 4097 refused with EINVAL, GSI 4095 delivered SPI 52" \
	"($(avec irq.route_limit '["0x34"]')) and ([.findings[] | select(.id == \"irq.route_limit\") | .evidence[.decisive].errno == \"EINVAL\" and (.reason | test(\"has 4096 entries .*states 4096\"))] == [true])" "$R"
jqok "irq.inject_userspace: KVM_IRQ_LINE raised the vCPU's IRQ line (lowered after the report); the handler read ISR_EL1.I (0x80)" \
	"($(avec irq.inject_userspace '["0x80"]')) and ([.findings[] | select(.id == \"irq.inject_userspace\") | [.evidence[] | select(.call | startswith(\"KVM_IRQ_LINE\")) | .call + \" \" + .errno]] == [[\"KVM_IRQ_LINE(KVM_ARM_IRQ_CPU_IRQ, 1) OK\", \"KVM_IRQ_LINE(KVM_ARM_IRQ_CPU_IRQ, 0) OK\"]])" "$R"
jqok "irq.msi: through the ITS, the signalled MSI (event 0) and the routed one (event 1) arrived as LPIs 8192 and 8193" \
	"($(avec irq.msi '["0x2000", "0x2001"]')) and ([.findings[] | select(.id == \"irq.msi\") | [.evidence[] | select(.call | startswith(\"KVM_SIGNAL_MSI(KVM_MSI_VALID_DEVID)\")) | .errno]] == [[\"OK\"]])" "$R"
abell() { printf '[.findings[] | select(.id == "%s" and .answer == "yes") | .guest[] | .value] == %s' "$1" "$2"; }
jqok "io.ioeventfd_mmio: 8 stores, the eventfd counted 8, no exit at the doorbell" "$(abell io.ioeventfd_mmio '["0x8", "0x8", "0x0"]')" "$R"
jqok "io.ioeventfd_datamatch: 8 stores of the value counted, the 8 of another exited" "$(abell io.ioeventfd_datamatch '["0x8", "0x8", "0x8"]')" "$R"
jqok "io.ioeventfd_mmio_any_length: 32 stores of four widths, all counted" "$(abell io.ioeventfd_mmio_any_length '["0x20", "0x20", "0x0"]')" "$R"
jqok "io.coalesced_mmio: the ring held the guest's stores in order, no exit at the zone" \
	"$(abell io.coalesced_mmio '["0x1", "0x2", "0x3", "0x4", "0x0"]')" "$R"
IB=$out/irqbench.out
ok "bench.irq.irqfd_latency runs on arm64, its report complete JSON" eval 'exits irqbench 0 && json_ok "$IB"'
jqok "and measures, every sample ending in the guest's handler for SPI INTID 52" \
	'[.findings[] | select(.id == "bench.irq.irqfd_latency") | .answer == "yes" and .guest_verified and .bench.samples >= 5 and .bench.median_ns > 0 and ([.guest[] | select(.label == "vector the handler took first") | .value] == ["0x34"])] == [true]' "$IB"
# The guest's own word that it ran with the MMU on: exec.native_cpl0's ring
# report at EL1 is SCTLR_EL1's low half above CurrentEL (src/guest_arm64.S,
# RING), with M, C and I set.
jqok "exec.native_cpl0: the guest at EL1 read SCTLR_EL1 with the MMU and caches on (M, C, I)" \
	'def hex: ascii_downcase | explode | reduce .[] as $c (0; . * 16 + (if $c >= 97 then $c - 87 else $c - 48 end));
	def bit($n): (. / pow(2; $n) | floor) % 2 == 1;
	.findings[] | select(.id == "exec.native_cpl0") | (.answer == "yes") == (.reason | test("time: native"))
	and ([.guest[] | select(.label == "ring report") | "0000000000000000\(.value[2:])"[-16:]
	| select(.[8:] == "00000004") | .[:8] | hex | bit(0) and bit(2) and bit(12)] == [true])' "$R"

# The guest CPU model: KVM's ID registers, proven by a guest at EL1 (EL0
# cannot read them), and Linux 6.1's lack of writable masks said.
jqok "cpu.model: a guest at EL1 saw a feature of KVM's model, and read it cleared once the VMM cleared it" \
	'.findings[] | select(.id == "cpu.model") | .answer == "yes" and .guest_verified
	and ([.guest[] | select(.label | startswith("reduced model, EL1"))] | length) == 1
	and (.reason | test("the guest at EL1 read 0 \\(EL0 cannot read ID registers"))' "$R"
jqok "the host block holds the guest CPU model: ten ID registers, named features, why no writable masks" \
	'.host.cpu_model | .arch == "arm64" and (.id_registers | length) == 10 and (.features | index("asimd")) != null
	and (.note | test("KVM_ARM_GET_REG_WRITABLE_MASKS"))' "$R"
ok "info --cpu shows the named features and the ID registers" \
	eval 'exits cpuinfo 0 && grep -q "^features offered:" "$out/cpuinfo.out" && grep -qE "^  ID_AA64ISAR0_EL1 += 0x[0-9a-f]{16}" "$out/cpuinfo.out" &&
	tail -n 1 "$out/cpuinfo.out" | grep -qE "^  ID_AA64MMFR2_EL1 += 0x[0-9a-f]{16}"'

# Snapshots and dirty tracking (issue 16).
jqok "state.save_restore: yes, the guest restored in a new process found every class it set intact" \
	'.findings[] | select(.id == "state.save_restore") | .answer == "yes" and .guest_verified
	and (.evidence[.decisive].detail | startswith("new process:")) and (.guest[] | select(.label | startswith("classes")) | .value) == "0x0"
	and any(.evidence[]; .call == "KVM_GET_* (vcpu state)" and (.detail | test("core sysregs timer")))' "$R"
jqok "state.save_restore: SVE's Z, P and FFR checked by the guest where KVM offers SVE, else the reason names the capability" \
	'.findings[] | select(.id == "state.save_restore") | .answer == "yes"
	and (.reason | test("SVE \\([0-9]+-byte vectors: Z, P, FFR\\) intact") or test("no SVE: KVM_CAP_ARM_SVE = 0"))' "$R"
jqok "state.counter_offset: yes, the guest's virtual counter went on, read by the guest before and after" \
	'.findings[] | select(.id == "state.counter_offset") | .answer == "yes" and .guest_verified and (.guest | length) == 2' "$R"
jqok "mem.dirty_log_manual_protect: yes, pages stayed dirty until KVM_CLEAR_DIRTY_LOG" \
	'.findings[] | select(.id == "mem.dirty_log_manual_protect") | .answer == "yes" and .guest_verified
	and .evidence[.decisive].call == "KVM_CLEAR_DIRTY_LOG"' "$R"
jqok "mem.dirty_ring: answered where the host has a ring, else skipped with the capability's value" \
	'.findings[] | select(.id == "mem.dirty_ring") | (.answer == "yes" and .guest_verified) or (.answer == "skipped" and (.reason | test("KVM_CAP_DIRTY_LOG_RING = 0")))' "$R"
BS=$out/benchstate.out
jqok "the snapshot and dirty-tracking benchmarks measured, the ring skipped with the capability's value where 6.1 has none" \
	'[.findings[] | select(.bench or (.id | startswith("bench.")))] | length == 5
	and all(.[]; (.answer == "yes" and .bench.samples >= 5 and .bench.min_ns <= .bench.median_ns)
	or (.id == "bench.mem.dirty_harvest.ring" and .answer == "skipped" and (.reason | test("KVM_CAP_DIRTY_LOG_RING = 0"))))' "$BS"
