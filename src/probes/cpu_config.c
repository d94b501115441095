/* SPDX-License-Identifier: MIT */
/*
 * Does the hypervisor apply what the VMM configured of the CPU? The VMM
 * sets a CPUID leaf and an MSR through the API, and guest code reads them
 * back: at ring 0, where the hypervisor intercepts, and at ring 3, where a
 * scheme that runs user code natively (PVM) may let CPUID reach the real
 * CPU unless the host has CPUID faulting. A filtered MSR must exit to the
 * VMM instead of being handled in the kernel.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "../machine.h"

/*
 * The first 16 bytes of the brand string: entirely the VMM's to choose
 * (KVM never interprets it), and no real CPU says this.
 */
#define MARKER_LEAF 0x80000002u
static const char cpuid_marker[17] = "hvprobe-cpuid-ok";

/* An MSR with no side effect on a guest that never leaves ring 0 or uses swapgs: all 64 bits are kept. */
#define MSR_KERNEL_GS_BASE 0xc0000102u
#define MSR_VALUE_SET UINT64_C(0x00005a5a12345000)   /* canonical, as the MSR requires */
#define MSR_VALUE_BY_VMM UINT64_C(0x00006b6b0badc000) /* what the VMM answers a filtered read with */

static void host_cpuid(uint32_t leaf, uint32_t out[4])
{
#if defined(__x86_64__)
	__cpuid_count(leaf, 0, out[0], out[1], out[2], out[3]);
#else
	(void)leaf;
	memset(out, 0, 4 * sizeof(out[0]));
#endif
}

static int same_leaf(const uint64_t *seen, const uint32_t want[4])
{
	for (int i = 0; i < 4; i++)
		if ((uint32_t)seen[i] != want[i])
			return 0;
	return 1;
}

static void cpuid_applied_at(struct hvp_ctx *ctx, unsigned ring)
{
	struct hvp_machine *m;
	struct hvp_vcpu *vcpu;
	struct hvp_guest_result r;
	struct hvp_status st;
	uint64_t arg[4] = { MARKER_LEAF, 0, 0, 0 };
	uint32_t want[4], host[4];
	int i;

	if (!ctx->be->x86_cpuid_set) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "the API (%s on %s) has no CPUID table for the VMM to set",
				   ctx->be->name, ctx->be->arch);
		return;
	}
	memcpy(want, cpuid_marker, sizeof(want));
	host_cpuid(MARKER_LEAF, host);
	m = hvp_machine_create(ctx, "VM");
	st = hvp_vcpu_start_ring_try(m, 0, &hvp_prog_cpuid_report, arg, ring, &vcpu);
	HVP_ASSERT(ctx, st.err == HVP_OK, "starting the vCPU failed: %s %s", st.call, ctx->be->native_name(st.native));
	st = ctx->be->x86_cpuid_set(vcpu, MARKER_LEAF, 0, want);
	i = hvp_record(ctx, st, "leaf 0x%x = \"%s\"", MARKER_LEAF, cpuid_marker);
	if (st.err != HVP_OK) {
		hvp_decisive(ctx, i);
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the VMM could not set CPUID leaf 0x%x: %s %s", MARKER_LEAF,
				   st.call, ctx->be->native_name(st.native));
		return;
	}
	hvp_guest_run(m, vcpu, &r);
	hvp_decisive(ctx, r.st.evidence);
	for (unsigned k = 0; k < r.n && k < 4; k++)
		hvp_guest_value(ctx, (const char *[]){ "eax", "ebx", "ecx", "edx" }[k], r.value[k]);
	if (!hvp_guest_ok(&r) || r.n != 4) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the guest's CPUID at ring %u did not complete: %s exit", ring,
				   hvp_exit_kind_name(r.last.kind));
		return;
	}
	ctx->f->guest_verified = true;
	if (same_leaf(r.value, want))
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "guest CPUID at ring %u saw the VMM's leaf 0x%x (\"%s\")", ring,
				   MARKER_LEAF, cpuid_marker);
	else if (same_leaf(r.value, host))
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "guest CPUID at ring %u saw the host CPU's own leaf 0x%x, not the "
				   "VMM's: CPUID there is not intercepted", ring, MARKER_LEAF);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "guest CPUID at ring %u saw neither the VMM's leaf 0x%x nor the "
				   "host's (eax=0x%" PRIx64 ")", ring, MARKER_LEAF, r.value[0]);
}

static void run_cpuid_applied_cpl0(struct hvp_ctx *ctx)
{
	cpuid_applied_at(ctx, 0);
}

static void run_cpuid_applied_cpl3(struct hvp_ctx *ctx)
{
	cpuid_applied_at(ctx, 3);
}

const struct hvp_probe probe_cpu_cpuid_applied_cpl0 = {
	.id = "cpu.cpuid_applied_cpl0",
	.question = "Does guest CPUID at ring 0 return the table the VMM set (not the host CPU's)?",
	.timeout_s = 15,
	.arch = "x86_64",
	.run = run_cpuid_applied_cpl0,
};

const struct hvp_probe probe_cpu_cpuid_applied_cpl3 = {
	.id = "cpu.cpuid_applied_cpl3",
	.question = "Does guest CPUID at ring 3 return the table the VMM set (not the host CPU's)?",
	.timeout_s = 15,
	.arch = "x86_64",
	.run = run_cpuid_applied_cpl3,
};

/* The guest reads the MSR the VMM set; returns 1 when it saw MSR_VALUE_SET. */
static int msr_set_is_read(struct hvp_ctx *ctx, struct hvp_machine *m, struct hvp_vcpu *vcpu)
{
	struct hvp_guest_result r;
	struct hvp_status st = ctx->be->x86_msr_set(vcpu, MSR_KERNEL_GS_BASE, MSR_VALUE_SET);

	hvp_record(ctx, st, "MSR 0x%x (KERNEL_GS_BASE) = 0x%" PRIx64, MSR_KERNEL_GS_BASE, MSR_VALUE_SET);
	if (st.err != HVP_OK)
		return 0;
	hvp_guest_run(m, vcpu, &r);
	if (r.n >= 1)
		hvp_guest_value(ctx, "MSR as the guest read it", r.value[0]);
	ctx->f->guest_verified = hvp_guest_ok(&r) && r.n == 1; /* the guest's reading proves yes or no */
	return ctx->f->guest_verified && r.value[0] == MSR_VALUE_SET;
}

/*
 * With reads of the MSR filtered, the guest's read exits to the VMM, which
 * answers with its own value. Returns 1 when it did and the guest got it,
 * 0 when not, -1 when the API cannot filter (why in *why).
 */
static int msr_filtered_read_exits(struct hvp_ctx *ctx, struct hvp_machine *m, struct hvp_vcpu *vcpu,
				   char *why, size_t why_size)
{
	uint64_t arg[4] = { MSR_KERNEL_GS_BASE, 0, 0, 0 };
	struct hvp_guest_result r;
	struct hvp_status st = ctx->be->x86_msr_read_exits ? ctx->be->x86_msr_read_exits(m->vm, MSR_KERNEL_GS_BASE)
							    : (struct hvp_status){ HVP_ERR_UNSUPPORTED, 0, "msr filter", -1 };

	hvp_record(ctx, st, "deny guest reads of MSR 0x%x", MSR_KERNEL_GS_BASE);
	if (st.err != HVP_OK) {
		snprintf(why, why_size, "%s %s", st.call, ctx->be->native_name(st.native));
		return -1;
	}
	HVP_ASSERT(ctx, hvp_vcpu_rerun_try(m, vcpu, 0, &hvp_prog_rdmsr_report, arg, 0).err == HVP_OK,
		   "pointing the vCPU at the program again failed");
	hvp_guest_run(m, vcpu, &r);
	if (r.last.kind != HVP_EXIT_MSR || r.last.write || r.last.addr != MSR_KERNEL_GS_BASE) {
		snprintf(why, why_size, "the read ended in a %s exit with the guest reporting %u values",
			 hvp_exit_kind_name(r.last.kind), r.n);
		return 0;
	}
	hvp_guest_resume(m, vcpu, &r, MSR_VALUE_BY_VMM);
	if (r.n >= 1)
		hvp_guest_value(ctx, "filtered MSR as the guest read it", r.value[0]);
	if (!hvp_guest_ok(&r) || r.n != 1 || r.value[0] != MSR_VALUE_BY_VMM) {
		snprintf(why, why_size, "the read exited to the VMM, but the guest did not get the VMM's answer");
		return 0;
	}
	return 1;
}

static void run_msr_applied(struct hvp_ctx *ctx)
{
	uint64_t arg[4] = { MSR_KERNEL_GS_BASE, 0, 0, 0 };
	struct hvp_machine *m;
	struct hvp_vcpu *vcpu;
	char why[160] = "";
	int applied, filtered;

	if (!ctx->be->x86_msr_set) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "the API (%s on %s) has no call to set a guest MSR",
				   ctx->be->name, ctx->be->arch);
		return;
	}
	m = hvp_machine_create(ctx, "VM");
	vcpu = hvp_vcpu_start(m, 0, &hvp_prog_rdmsr_report, arg);
	applied = msr_set_is_read(ctx, m, vcpu);
	hvp_decisive(ctx, ctx->f->n_evidence - 1);
	if (!applied) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the guest did not read the value the VMM set in MSR 0x%x",
				   MSR_KERNEL_GS_BASE);
		return;
	}
	filtered = msr_filtered_read_exits(ctx, m, vcpu, why, sizeof(why));
	if (filtered < 0)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "the guest read the VMM's MSR 0x%x value; filtering MSR reads "
				   "is not available here (%s)", MSR_KERNEL_GS_BASE, why);
	else if (filtered)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "the guest read the VMM's MSR 0x%x value, and with reads of it "
				   "filtered its read exited to the VMM, whose answer the guest got", MSR_KERNEL_GS_BASE);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the guest read the VMM's MSR 0x%x value, but with reads of it "
				   "filtered: %s", MSR_KERNEL_GS_BASE, why);
}

const struct hvp_probe probe_cpu_msr_applied = {
	.id = "cpu.msr_applied",
	.question = "Does the guest read the MSR value the VMM set, and does a filtered MSR read exit to the VMM?",
	.timeout_s = 15,
	.arch = "x86_64",
	.run = run_msr_applied,
};
