/* SPDX-License-Identifier: MIT */
/*
 * Every registered probe run against the mock backend through the real
 * runner: with a well-behaved mock each answers as KVM does, and with a
 * fault injected the probe that asks about it changes its answer. This
 * tests each probe's classification without a hypervisor, under the
 * sanitizers too.
 */
#include <string.h>

#include "mock_backend.h"
#include "probe.h"
#include "runner.h"
#include "tap.h"

static const struct hvp_probe *find(const char *id)
{
	for (unsigned i = 0; i < hvp_n_probes; i++)
		if (strcmp(hvp_probes[i]->id, id) == 0)
			return hvp_probes[i];
	return NULL;
}

static struct hvp_finding run_capped(const char *id, unsigned cap_maps, unsigned cap_vms)
{
	const struct hvp_probe *p = find(id);
	struct hvp_run_opts o = { .be = &hvp_backend_mock, .timeout_s = 10,
				  .caps = { .maps = cap_maps, .vms = cap_vms, .vcpus = 0 },
				  .bench = { .duration_s = 0.1, .pin_cpu = -1 } };
	struct hvp_finding f;
	int interrupted;

	memset(&f, 0, sizeof(f));
	if (p)
		hvp_run_probes(&p, 1, &o, &f, &interrupted);
	return f;
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
	mock_faults.ns_per_instruction[0] = 2400; /* PVM's emulator: about 2.4 us per ring-0 instruction */
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
	mock_faults.ns_per_instruction[0] = 3.0; /* 10x: slow, but not one instruction at a time */
	f = run("exec.native_cpl0", 0);
	ok(t, f.answer == HVP_ANSWER_NO && strstr(f.reason, "slower than native"), "10x the host is only slower: %s",
	   f.reason);
	mock_faults.ns_per_instruction[0] = 0;
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
		{ &mock_faults.msr_set_ignored, "cpu.msr_applied", HVP_ANSWER_NO, "did not read the value the VMM set",
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
	f = run("time.tsc_offset", 0);
	ok(t, f.answer == HVP_ANSWER_YES && strstr(f.reason, "750000 kHz"),
	   "the TSC value and a 3/4 rate the VMM set are what the guest reads: %s", f.reason);
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

	f = run("mem.max_maps", 600);
	ok(&t, strstr(f.reason, "511 maps were accepted") && strstr(f.reason, "refused with EINVAL"),
	   "mem.max_maps counts to the limit, the system memory taking one slot: %s", f.reason);
	f = run("mem.max_maps", 100);
	ok(&t, f.answer == HVP_ANSWER_SKIPPED && strstr(f.reason, "at least 100 maps"),
	   "mem.max_maps says 'at least' when the cap stops it first: %s", f.reason);

	/* The benchmark framework end to end on host-side operations the mock does for real. */
	const char *benches[] = { "bench.vm.create_destroy", "bench.mem.map_unmap.4k" };
	for (unsigned i = 0; i < 2; i++) {
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

	mock_faults.max_slots = 2;
	expect(&t, "mem.two_maps", HVP_ANSWER_NO, "an API with room for one map besides the system memory");
	f = run("mem.many_maps", 0);
	ok(&t, f.answer == HVP_ANSWER_NO && strstr(f.reason, "map 2 of 64 was refused: mock_map EINVAL"),
	   "mem.many_maps names the map that was refused: %s", f.reason);
	mock_faults.max_slots = 0;
	return tap_done(&t);
}
