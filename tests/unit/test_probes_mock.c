/* SPDX-License-Identifier: MIT */
/*
 * Every registered probe run against the mock backend through the real
 * runner: with a well-behaved mock each answers as KVM does, and with a
 * fault injected the probe that asks about it changes its answer. This
 * tests each probe's classification without a hypervisor, under the
 * sanitizers too.
 */
#include <errno.h>
#include <string.h>

#include "guest_state.h"
#include "mock_backend.h"
#include "probe.h"
#include "runner.h"
#include "tap.h"

static struct hvp_finding run_timed(const char *id, unsigned cap_maps, unsigned cap_vms, unsigned timeout_s)
{
	const struct hvp_probe *p = hvp_probe_find(id);
	struct hvp_run_opts o = { .be = &hvp_backend_mock, .timeout_s = timeout_s,
				  .caps = { .maps = cap_maps, .vms = cap_vms, .vcpus = 0 },
				  .bench = { .duration_s = 0.1, .pin_cpu = -1 } };
	struct hvp_finding f;
	int interrupted;

	memset(&f, 0, sizeof(f));
	if (p)
		hvp_run_probes(&p, 1, &o, &f, &interrupted);
	return f;
}

static struct hvp_finding run_capped(const char *id, unsigned cap_maps, unsigned cap_vms)
{
	return run_timed(id, cap_maps, cap_vms, 10);
}

/* Whether one of the finding's recorded calls says what. */
static bool evidence_says(const struct hvp_finding *f, const char *what)
{
	for (unsigned i = 0; i < f->n_evidence && i < HVP_EVIDENCE_MAX; i++)
		if (strstr(f->evidence[i].detail, what))
			return true;
	return false;
}

static struct hvp_finding run(const char *id, unsigned cap_maps)
{
	return run_capped(id, cap_maps, 600);
}

/* Probes whose "yes" the guest cannot prove: its access failing is the answer, or nothing ran. */
static int guest_unprovable(const char *id)
{
	static const char *const ids[] = { "mem.unaligned_guest_addr", "mem.unaligned_host_addr", "mem.unaligned_size",
					   "mem.zero_size", "mem.host_unmapped_while_mapped",
					   "vcpu.duplicate_id", "lifecycle.exit_with_running_vcpu", "cpu.hlt" };
	for (unsigned i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (strcmp(id, ids[i]) == 0)
			return 1;
	return 0;
}

static void expect(struct tap *t, const char *id, enum hvp_answer want, const char *why)
{
	struct hvp_finding f = run(id, 0);

	ok(t, f.answer == want, "%s: %s (%s) — %s", id, hvp_answer_name(f.answer), f.reason, why);
}

/* How this host runs guests: each classification turned by the fault that should turn it. */
static void execution_fidelity(struct tap *t)
{
	struct hvp_finding f;

	f = run("exec.native_cpl0", 0);
	ok(t, f.answer == HVP_ANSWER_YES && strstr(f.reason, ": native"), "ring 0 at host speed is native: %s", f.reason);
	mock_faults.alu_slowdown[0] = 8000; /* PVM's emulator: about 2.4 us per ring-0 instruction, 0.3 ns on the host */
	f = run("exec.native_cpl0", 0);
	ok(t, f.answer == HVP_ANSWER_NO && strstr(f.reason, "emulated instruction by instruction"),
	   "ring 0 at 2.4 us per instruction is emulated: %s", f.reason);
	f = run("exec.native_cpl3", 0);
	ok(t, f.answer == HVP_ANSWER_YES, "while ring 3 stays native: %s", f.reason);
	mock_faults.modules = "kvm_pvm kvm";
	f = run("exec.vendor", 0);
	ok(t, f.answer == HVP_ANSWER_NO && strstr(f.reason, "PVM") &&
		      strstr(f.reason, "ring 0 emulated instruction by instruction") && strstr(f.reason, "ring 3 native") &&
		      !strstr(f.reason, " - "),
	   "exec.vendor: PVM, ring 0 emulated, ring 3 native, as expected of it: %s", f.reason);
	mock_faults.modules = "kvm_intel kvm";
	f = run("exec.vendor", 0);
	ok(t, f.answer == HVP_ANSWER_NO && strstr(f.reason, "slower than hardware virtualization should be"),
	   "exec.vendor: VMX with an emulated ring 0 is called out: %s", f.reason);
	mock_faults.alu_slowdown[0] = 10; /* slow, but not one instruction at a time */
	f = run("exec.native_cpl0", 0);
	ok(t, f.answer == HVP_ANSWER_NO && strstr(f.reason, "slower than native"), "10x the host is only slower: %s",
	   f.reason);
	mock_faults.alu_slowdown[0] = 0;
	f = run("exec.vendor", 0);
	ok(t, f.answer == HVP_ANSWER_YES && strstr(f.reason, "Intel VMX") && !strstr(f.reason, " - "),
	   "exec.vendor: VMX native at both rings: %s", f.reason);
	mock_faults.modules = NULL;

	static const struct fault_case {
		bool *fault;
		const char *id;
		enum hvp_answer want;
		const char *says;
		const char *why;
	} cases[] = {
		{ &mock_faults.cpuid_ring3_host, "cpu.cpuid_applied_cpl3", HVP_ANSWER_NO, "host CPU's own leaf",
		  "ring-3 CPUID reaching the host CPU is caught" },
		{ &mock_faults.cpuid_ring3_host, "cpu.cpuid_applied_cpl0", HVP_ANSWER_YES, "the VMM's leaf",
		  "while ring 0 sees the VMM's table" },
		{ &mock_faults.cpuid_ring3_host, "cpu.model", HVP_ANSWER_NO, "at ring 3 the guest still did",
		  "a reduced model ring-3 CPUID does not see is caught" },
		{ &mock_faults.msr_set_ignored, "cpu.msr_applied", HVP_ANSWER_NO, "not the value the VMM set",
		  "an MSR write the API drops is caught" },
		{ &mock_faults.msr_filter_ignored, "cpu.msr_applied", HVP_ANSWER_NO, "filtered",
		  "a filter that does not exit is caught" },
		{ &mock_faults.tsc_runs_fast, "time.tsc_rate", HVP_ANSWER_NO, "ran at 1",
		  "a TSC 10% fast is caught (the mock's clock: 1000000 kHz)" },
		{ &mock_faults.tsc_offset_ignored, "time.tsc_offset", HVP_ANSWER_NO, "but the guest read",
		  "a dropped TSC value is caught" },
		{ &mock_faults.no_real_mode, "exec.real_mode", HVP_ANSWER_NO, "refused a vCPU in real mode",
		  "an API without real mode says so" },
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		*cases[i].fault = true;
		f = run(cases[i].id, 0);
		*cases[i].fault = false;
		ok(t, f.answer == cases[i].want && strstr(f.reason, cases[i].says), "%s: %s (%s)", cases[i].id,
		   cases[i].why, f.reason);
	}
	mock_faults.cpuid_set_refused = 1;
	f = run("cpu.model", 0);
	mock_faults.cpuid_set_refused = 0;
	ok(t, f.answer == HVP_ANSWER_NO && strstr(f.reason, "could not set CPUID leaf") && f.n_evidence &&
		      strstr(f.evidence[f.n_evidence - 1].call, "mock_cpuid_set"),
	   "cpu.model: the model's own leaf refused is the answer no, and the probe ends there: %s", f.reason);
	f = run("cpu.model", 0);
	ok(t, f.answer == HVP_ANSWER_YES && f.guest_verified && strstr(f.reason, "guests at ring 0 and ring 3 did not"),
	   "cpu.model: the model's feature seen, and not once cleared, at both rings: %s", f.reason);
	f = run("time.tsc_offset", 0);
	ok(t, f.answer == HVP_ANSWER_YES && strstr(f.reason, "750000 kHz"),
	   "the TSC value and a 3/4 rate the VMM set are what the guest reads: %s", f.reason);
}

/* The value a guest reported under label, or ~0 when it reported none. */
static uint64_t guest_value(const struct hvp_finding *f, const char *label)
{
	for (unsigned i = 0; i < f->n_guest; i++)
		if (strcmp(f->guest[i].label, label) == 0)
			return f->guest[i].value;
	return ~UINT64_C(0);
}

static int has_evidence(const struct hvp_finding *f, const char *call)
{
	for (unsigned i = 0; i < f->n_evidence; i++)
		if (strcmp(f->evidence[i].call, call) == 0)
			return 1;
	return 0;
}

/* Questions about a ring are answered by the ring the guest reports it ran at, not by the one asked for. */
static void ring_proofs(struct tap *t)
{
	static const char *const asked_ring3[] = { "exec.native_cpl3", "cpu.cpuid_applied_cpl3" };
	struct hvp_finding f;

	f = run("exec.native_cpl3", 0);
	ok(t, f.answer == HVP_ANSWER_YES && f.guest_verified && guest_value(&f, "ring report") == 0x33,
	   "exec.native_cpl3: the guest's ring report is CS 0x33, ring 3 (0x%llx)",
	   (unsigned long long)guest_value(&f, "ring report"));
	f = run("cpu.cpuid_applied_cpl0", 0);
	ok(t, f.answer == HVP_ANSWER_YES && guest_value(&f, "ring report") == 0x08,
	   "cpu.cpuid_applied_cpl0: the guest's ring report is CS 0x08, ring 0 (%s)", f.reason);
	mock_faults.ring_ignored = true; /* every vCPU runs at ring 0, whatever the VMM asked */
	for (unsigned i = 0; i < 2; i++) {
		f = run(asked_ring3[i], 0);
		ok(t, f.answer == HVP_ANSWER_NO && f.guest_verified && strstr(f.reason, "proved it ran at ring 0"),
		   "%s: a vCPU asked for ring 3 that runs at ring 0 is caught by its ring report: %s", asked_ring3[i],
		   f.reason);
	}
	f = run("exec.vendor", 0);
	ok(t, f.answer == HVP_ANSWER_NO && strstr(f.reason, "ran at ring 0 and ring 0"),
	   "exec.vendor: rings 0 and 3 asked, 0 and 0 proven: %s", f.reason);
	f = run("exec.native_cpl0", 0);
	ok(t, f.answer == HVP_ANSWER_YES, "exec.native_cpl0: ring 0 asked and proven: %s", f.reason);
	mock_faults.ring_ignored = false;
}

/* cpu.msr_applied: each half answered by its own evidence; a broken filter call answers neither. */
static void msr_halves(struct tap *t)
{
	struct hvp_finding f;

	mock_faults.msr_filter_unsupported = true;
	f = run("cpu.msr_applied", 0);
	ok(t, f.answer == HVP_ANSWER_NO && strstr(f.reason, "cannot filter") && !f.guest_verified,
	   "an API without MSR filters answers the second half no, by its own refusal: %s", f.reason);
	mock_faults.msr_filter_unsupported = false;
	static const int errs[] = { EPROTO, EINVAL };
	for (unsigned i = 0; i < 2; i++) {
		mock_faults.msr_filter_errno = errs[i];
		f = run("cpu.msr_applied", 0);
		ok(t, f.answer == HVP_ANSWER_CRASHED && strstr(f.reason, i ? "EINVAL" : "EPROTO"),
		   "a filter call that fails (%s) asks nothing: crashed, not yes: %s", i ? "EINVAL" : "EPROTO", f.reason);
	}
	mock_faults.msr_filter_errno = 0;
}

/* Where the API states no TSC rate the guest's timing cannot be read: said, with the API's answer. */
static void tsc_rate_stated(struct tap *t)
{
	static const char *const timed[] = { "time.tsc_rate", "time.tsc_offset", "exec.native_cpl0" };
	struct hvp_finding f;

	mock_faults.tsc_khz_unknown = true;
	for (unsigned i = 0; i < 3; i++) {
		f = run(timed[i], 0);
		ok(t, f.answer == HVP_ANSWER_SKIPPED && strstr(f.reason, "0 kHz") && has_evidence(&f, "tsc_khz"),
		   "%s: the API's 0 kHz is in the evidence and the reason: %s", timed[i], f.reason);
	}
	mock_faults.tsc_khz_unknown = false;
	mock_faults.tsc_khz_errno = EIO; /* KVM's word for an unstable host TSC */
	f = run("time.tsc_rate", 0);
	ok(t, f.answer == HVP_ANSWER_SKIPPED && strstr(f.reason, "0 kHz, EIO") && has_evidence(&f, "tsc_khz"),
	   "KVM's EIO for the TSC rate is its answer, named: %s", f.reason);
	mock_faults.tsc_khz_errno = EPROTO;
	f = run("time.tsc_rate", 0);
	ok(t, f.answer == HVP_ANSWER_CRASHED && strstr(f.reason, "EPROTO") && has_evidence(&f, "tsc_khz"),
	   "a query for the TSC rate that breaks otherwise is no skip: %s", f.reason);
	mock_faults.tsc_khz_errno = 0;

	mock_faults.tsc_khz_set_errno = EINVAL; /* KVM without TSC scaling: a lower rate is refused */
	f = run("time.tsc_offset", 0);
	ok(t, f.answer == HVP_ANSWER_YES && strstr(f.reason, "cannot be set lower"),
	   "time.tsc_offset: the value is read, a lower rate refused as KVM refuses it: %s", f.reason);
	mock_faults.tsc_khz_set_errno = EPROTO;
	f = run("time.tsc_offset", 0);
	ok(t, f.answer == HVP_ANSWER_CRASHED && strstr(f.reason, "EPROTO"),
	   "time.tsc_offset: a rate call that breaks (EPROTO) is no refusal: %s", f.reason);
	mock_faults.tsc_khz_set_errno = 0;
}

/* Values the API or the guest's CPU decide come from the model, KVM's by default: another is caught. */
static void modelled_values(struct tap *t)
{
	struct hvp_finding f;

	mock_faults.hypercall_result = 0;
	f = run("cpu.hypercall", 0);
	ok(t, f.answer == HVP_ANSWER_CRASHED && strstr(f.reason, "not what the kernel answers"),
	   "cpu.hypercall: a result register that is no kernel's answer to an unknown call proves nothing: %s", f.reason);
	mock_faults.hypercall_result = MOCK_KVM_ENOSYS;
	f = run("cpu.hypercall", 0);
	ok(t, f.answer == HVP_ANSWER_YES && strstr(f.reason, "-KVM_ENOSYS"), "and KVM's -KVM_ENOSYS does: %s", f.reason);

	mock_faults.real_mode_cr0 = MOCK_CR0_ET | 1;
	f = run("exec.real_mode", 0);
	ok(t, f.answer == HVP_ANSWER_NO && strstr(f.reason, "CR0 = 0x11") && f.guest_verified,
	   "exec.real_mode: CR0.PE set where real mode was asked for is caught: %s", f.reason);
	mock_faults.real_mode_cr0 = MOCK_CR0_ET;
}

/* Interrupts and doorbells: what the API lacks is skipped by name; what it drops turns the answer. */
static void interrupts(struct tap *t)
{
	static const char *const ids[] = { "irq.chip", "irq.irqfd", "irq.irqfd_resample", "irq.msi", "irq.route_limit",
					   "irq.inject_userspace", "irq.guest_timer", "io.ioeventfd_pio", "io.ioeventfd_mmio",
					   "io.ioeventfd_datamatch", "io.ioeventfd_mmio_any_length", "io.coalesced_mmio" };
	const char *const lat[] = { "bench.irq.irqfd_latency", "bench.irq.msi_latency" };
	struct hvp_finding f;

	mock_faults.irq_absent = true;
	for (unsigned i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		f = run(ids[i], 0);
		ok(t, f.answer == HVP_ANSWER_SKIPPED && strstr(f.reason, "KVM_") && strstr(f.reason, " is 0"),
		   "%s without the capability: skipped, naming it and its value (%s)", ids[i], f.reason);
	}
	mock_faults.irq_absent = false;
	mock_faults.irq_wakes_lost = 1; /* VM A's halted guest wakes only once kicked (after 30 s) */
	f = run_timed("irq.chip", 0, 600, 120);
	ok(t, f.answer == HVP_ANSWER_YES && strstr(f.reason, "only once kicked and entered again: a lost wakeup") &&
		      evidence_says(&f, "kicked at 30 s, 0 of 1 interrupts taken, pc 0x"),
	   "irq.chip: a lost wakeup, the vector taken on the next entry, is a yes that says so, the kick's pc in "
	   "the evidence (%s)", f.reason);
	mock_faults.irq_wakes_lost = 0;
	mock_faults.irq_lost = true; /* the guest then waits out its bound (30 s) and a re-entry (10 s) */
	f = run_timed("irq.irqfd", 0, 600, 120);
	ok(t, f.answer == HVP_ANSWER_NO && f.guest_verified && strstr(f.reason, "took 0 of the 1"),
	   "irq.irqfd: an eventfd write that never arrives is a no, from the waiting guest (%s)", f.reason);
	f = run_timed("irq.msi", 0, 600, 120);
	ok(t, f.answer == HVP_ANSWER_NO && strstr(f.reason, "took 0 of the 2"), "irq.msi: no, nothing arrived (%s)",
	   f.reason);
	mock_faults.irq_lost = false;
	mock_faults.bells_ignored = true;
	for (unsigned i = 7; i < sizeof(ids) / sizeof(ids[0]); i++) {
		f = run(ids[i], 0);
		ok(t, f.answer == HVP_ANSWER_NO && f.guest_verified, "%s: no when the writes exit anyway (%s)", ids[i],
		   f.reason);
	}
	mock_faults.bells_ignored = false;
	for (unsigned i = 0; i < 2; i++) {
		f = run(lat[i], 0);
		ok(t, f.answer == HVP_ANSWER_YES && f.guest_verified && f.bench.n >= 5 && f.bench.median > 0,
		   "%s measures on the mock's guest: %u samples, median %.0f ns", lat[i], f.bench.n, f.bench.median);
	}
}

int main(void)
{
	struct hvp_finding f;
	struct tap t;

	TAP_PLAN_LATER(&t);
	for (unsigned i = 0; i < hvp_n_probes; i++) {
		const char *id = hvp_probes[i]->id;
		if (hvp_probes[i]->kind == HVP_PROBE_BENCH)
			continue; /* the mock runs no benchmark loops; see below for the framework */
		f = run(id, 600);
		if (hvp_probes[i]->arch && strcmp(hvp_probes[i]->arch, hvp_backend_mock.arch) != 0) {
			ok(&t, f.answer == HVP_ANSWER_SKIPPED && strstr(f.reason, "not applicable"),
			   "%s: not applicable on %s (%s)", id, hvp_backend_mock.arch, f.reason);
			continue;
		}
		if (strcmp(id, "fork.fd_passed") == 0) { /* the mock's handles are pointers: nothing to hand over */
			ok(&t, f.answer == HVP_ANSWER_SKIPPED && strstr(f.reason, "no way to hand a VM"), "%s: skipped (%s)",
			   id, f.reason);
			continue;
		}
		if (strcmp(id, "fork.vm_used_in_child") == 0) { /* KVM's answer, which the mock keeps */
			ok(&t, f.answer == HVP_ANSWER_NO && strstr(f.reason, "EIO"), "%s: no, EIO in the child (%s)", id,
			   f.reason);
			continue;
		}
		ok(&t, f.answer == HVP_ANSWER_YES && (f.guest_verified || guest_unprovable(id)),
		   "%s on a well-behaved API: %s%s (%s)", id, hvp_answer_name(f.answer),
		   f.guest_verified ? ", guest-verified" : "", f.reason);
	}

	interrupts(&t);

	f = run("mem.max_maps", 600);
	ok(&t, strstr(f.reason, "511 maps were accepted") && strstr(f.reason, "refused with EINVAL"),
	   "mem.max_maps counts to the limit, the system memory taking one slot: %s", f.reason);
	f = run("mem.max_maps", 100);
	ok(&t, f.answer == HVP_ANSWER_SKIPPED && strstr(f.reason, "at least 100 maps"),
	   "mem.max_maps says 'at least' when the cap stops it first: %s", f.reason);

	/* The benchmark framework end to end on host-side operations the mock does for real. */
	const char *benches[] = { "bench.vm.create_destroy", "bench.mem.map_unmap.4k", "bench.state.save", "bench.state.restore",
				  "bench.mem.dirty_harvest.bitmap", "bench.mem.dirty_harvest.manual",
				  "bench.mem.dirty_harvest.ring" };
	for (unsigned i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
		f = run(benches[i], 0);
		ok(&t, f.answer == HVP_ANSWER_YES && f.bench.present && f.bench.n >= 5 && f.bench.median > 0 &&
			       f.bench.min <= f.bench.median && f.bench.median <= f.bench.p99 && f.bench.p99 <= f.bench.max &&
			       f.bench.ops_per_sample >= 1 && strcmp(f.bench.ring, "host") == 0,
		   "%s measures through the runner: %u samples of %llu ops, median %.0f ns", benches[i], f.bench.n,
		   (unsigned long long)f.bench.ops_per_sample, f.bench.median);
	}

	f = run_capped("limits.vms_per_process", 0, 600);
	ok(&t, strstr(f.reason, "100 VMs were created in one process; VM 101 was refused with ENOMEM") != NULL,
	   "limits.vms_per_process counts to the refusal: %s", f.reason);
	f = run_capped("limits.vms_per_process", 0, 10);
	ok(&t, f.answer == HVP_ANSWER_SKIPPED && strstr(f.reason, "at least 10 VMs") && f.guest_verified,
	   "and says 'at least' at the cap, the first and last VM still running guests: %s", f.reason);
	f = run("limits.vcpus_per_vm", 0);
	ok(&t, strstr(f.reason, "1024 vCPUs were created, vCPU 1024 was refused with EINVAL") && f.guest_verified,
	   "limits.vcpus_per_vm counts to the refusal and the last vCPU runs: %s", f.reason);

	execution_fidelity(&t);
	ring_proofs(&t);
	msr_halves(&t);
	tsc_rate_stated(&t);
	modelled_values(&t);

	mock_faults.allow_overlap = true;
	expect(&t, "mem.overlap_partial", HVP_ANSWER_NO, "an API that accepts overlapping maps");
	expect(&t, "mem.overlap_identical", HVP_ANSWER_NO, "an API that accepts overlapping maps");
	expect(&t, "mem.overlap_contained", HVP_ANSWER_NO, "an API that accepts overlapping maps");
	mock_faults.allow_overlap = false;

	mock_faults.readonly_writes_land = true;
	expect(&t, "mem.readonly", HVP_ANSWER_NO, "read-only maps that take writes");
	mock_faults.readonly_writes_land = false;

	mock_faults.dirty_log_sticky = true;
	expect(&t, "mem.dirty_log", HVP_ANSWER_NO, "a dirty log that does not clear");
	mock_faults.dirty_log_sticky = false;

	mock_faults.state_lost = HVP_LOST_FPU | HVP_LOST_MSR;
	f = run("state.save_restore", 0);
	ok(&t, f.answer == HVP_ANSWER_NO && f.guest_verified && strstr(f.reason, "MSRs, x87/SSE"),
	   "state.save_restore names the classes a restore lost: %s", f.reason);
	mock_faults.state_lost = 0;
	f = run("state.save_restore", 0);
	ok(&t, f.answer == HVP_ANSWER_YES && strstr(f.reason, "local APIC (14 registers, CR8, timer, IRR)"),
	   "state.save_restore carries the local APIC where the API has an irqchip: %s", f.reason);
	mock_faults.lapic_unsaved = true;
	f = run("state.save_restore", 0);
	ok(&t, f.answer == HVP_ANSWER_NO && f.guest_verified && strstr(f.reason, "local APIC registers, local APIC timer, "
								       "the interrupt pending in the IRR"),
	   "state.save_restore names a local APIC the saved state left out: %s", f.reason);
	mock_faults.lapic_unsaved = false;
	mock_faults.irq_absent = true;
	f = run("state.save_restore", 0);
	ok(&t, f.answer == HVP_ANSWER_YES && strstr(f.reason, "(local APIC not covered: KVM_CAP_IRQCHIP is 0)"),
	   "state.save_restore says the local APIC was not covered, with the capability's value: %s", f.reason);
	mock_faults.irq_absent = false;
	mock_faults.avx_faults = true;
	f = run("state.save_restore", 0);
	ok(&t, f.answer == HVP_ANSWER_YES && f.guest_verified && strstr(f.reason, "AVX faulted here: not exercised"),
	   "state.save_restore tries again without AVX where the guest's AVX faults, and says so: %s", f.reason);
	mock_faults.avx_faults = false;
	mock_faults.xsave_bytes = 512;
	expect(&t, "state.xsave_size", HVP_ANSWER_NO, "a saved FPU class smaller than the guest's XSAVE area");
	mock_faults.xsave_bytes = 0;
	mock_faults.tsc_restore_behind = true;
	expect(&t, "state.tsc_across_restore", HVP_ANSWER_NO, "a restore that puts the guest's TSC a second off");
	mock_faults.tsc_restore_behind = false;
	mock_faults.dirty_clear_ignored = true;
	expect(&t, "mem.dirty_log_manual_protect", HVP_ANSWER_NO, "a manual dirty log that clearing leaves as it was");
	mock_faults.dirty_clear_ignored = false;
	mock_faults.ring_never_full = true;
	expect(&t, "mem.dirty_ring", HVP_ANSWER_NO, "a dirty ring that never stops the run when full");
	mock_faults.ring_never_full = false;

	mock_faults.max_slots = 2;
	expect(&t, "mem.two_maps", HVP_ANSWER_NO, "an API with room for one map besides the system memory");
	f = run("mem.many_maps", 0);
	ok(&t, f.answer == HVP_ANSWER_NO && strstr(f.reason, "map 2 of 64 was refused: mock_map EINVAL"),
	   "mem.many_maps names the map that was refused: %s", f.reason);
	mock_faults.max_slots = 0;
	return tap_done(&t);
}
