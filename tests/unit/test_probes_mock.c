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
		if (strncmp(id, "exec.", 5) == 0) { /* the mock has no guest clock to time its models with */
			ok(&t, f.answer == HVP_ANSWER_SKIPPED && strstr(f.reason, "TSC frequency"), "%s: skipped (%s)", id,
			   f.reason);
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
