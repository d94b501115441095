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
#include "../truth.h"
#include "guest_proof.h"

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

/* The refusal a question about a configured value means: the value or the call refused, not a broken call. */
#define VALUE_REFUSALS (HVP_CLASS(HVP_ERR_INVALID) | HVP_CLASS(HVP_ERR_UNSUPPORTED))

/*
 * The VMM sets one leaf on vcpu; returns 0, or -1 after answering no when
 * the API refused it. A failure of another kind ends the probe crashed.
 */
static int set_leaf(struct hvp_ctx *ctx, struct hvp_vcpu *vcpu, uint32_t leaf, uint32_t subleaf, const uint32_t val[4],
		    const char *what)
{
	struct hvp_status st = ctx->be->x86_cpuid_set(vcpu, leaf, subleaf, val);
	int i = hvp_record(ctx, st, "leaf 0x%x.%u = %s", leaf, subleaf, what);

	if (st.err == HVP_OK)
		return 0;
	if (!hvp_refused_as(st, VALUE_REFUSALS))
		hvp_not_evidence(ctx, st, "setting CPUID leaf 0x%x.%u", leaf, subleaf);
	hvp_decisive(ctx, i);
	hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the VMM could not set CPUID leaf 0x%x.%u to %s: %s %s", leaf, subleaf,
			   what, st.call, ctx->be->native_name(st.native));
	return -1;
}

int hvp_cpuid_seen(struct hvp_ctx *ctx, struct hvp_machine *m, unsigned id, const struct hvp_cpuid_ask *ask,
		   uint32_t seen[4], unsigned *ran_at)
{
	static const char *const reg[4] = { "eax", "ebx", "ecx", "edx" };
	uint64_t arg[4] = { ask->leaf, ask->subleaf, 0, 0 };
	struct hvp_guest_result r;
	struct hvp_vcpu *vcpu;
	struct hvp_status st = hvp_vcpu_start_ring_try(m, id, &hvp_prog_cpuid_report, arg, ask->ring, &vcpu);

	hvp_need_ok(ctx, st, "starting the vCPU");
	if (set_leaf(ctx, vcpu, ask->leaf, ask->subleaf, ask->val, ask->what) < 0)
		return -1;
	hvp_guest_run(m, vcpu, &r);
	hvp_need_guest(ctx, &r, 5, "the guest's CPUID");
	HVP_ASSERT(ctx, r.n == 5, "the guest's CPUID made %u reports, not 5", r.n);
	hvp_decisive(ctx, r.st.evidence);
	for (unsigned k = 0; k < 4; k++) {
		char label[48];
		snprintf(label, sizeof(label), "%s%s", ask->label, reg[k]);
		hvp_guest_value(ctx, label, r.value[k]);
		seen[k] = (uint32_t)r.value[k];
	}
	*ran_at = hvp_guest_ring_report(ctx, r.value[4]);
	ctx->f->guest_verified = true;
	return 0;
}

/* The guest's four registers and its ring report decide: the VMM's leaf at the ring asked, or not. */
static void judge_cpuid(struct hvp_ctx *ctx, unsigned ring, unsigned ran_at, const uint32_t seen[4],
			const uint32_t want[4])
{
	uint32_t host[4];
	uint64_t seen64[4] = { seen[0], seen[1], seen[2], seen[3] };

	host_cpuid(MARKER_LEAF, host);
	if (ran_at != ring)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the vCPU was started at ring %u, but the guest proved it ran at "
				   "%s: its CPUID says nothing of ring %u", ring, hvp_ring_name(ran_at), ring);
	else if (same_leaf(seen64, want))
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "guest CPUID at ring %u saw the VMM's leaf 0x%x (\"%s\")", ring,
				   MARKER_LEAF, cpuid_marker);
	else if (same_leaf(seen64, host))
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "guest CPUID at ring %u saw the host CPU's own leaf 0x%x, not the "
				   "VMM's: CPUID there is not intercepted", ring, MARKER_LEAF);
	else
		hvp_probe_abort(ctx, __FILE__, __LINE__, "guest CPUID at ring %u reported neither the VMM's leaf 0x%x nor "
				"the host's (eax=0x%x): whose table it read cannot be told", ring, MARKER_LEAF, seen[0]);
}

static void cpuid_applied_at(struct hvp_ctx *ctx, unsigned ring)
{
	struct hvp_cpuid_ask ask = { .leaf = MARKER_LEAF, .ring = ring, .what = "\"hvprobe-cpuid-ok\"", .label = "" };
	struct hvp_machine *m;
	uint32_t seen[4];
	unsigned ran_at;

	if (!ctx->be->x86_cpuid_set) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "the API (%s on %s) has no CPUID table for the VMM to set",
				   ctx->be->name, ctx->be->arch);
		return;
	}
	memcpy(ask.val, cpuid_marker, sizeof(ask.val));
	m = hvp_machine_create(ctx, "VM");
	if (hvp_cpuid_seen(ctx, m, 0, &ask, seen, &ran_at) < 0)
		return;
	judge_cpuid(ctx, ring, ran_at, seen, ask.val);
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

/*
 * The first half: the guest reads the MSR the VMM set. Returns 1 when it
 * read MSR_VALUE_SET; 0 after answering no, when the API refused the value
 * or the guest read another.
 */
static int msr_set_is_read(struct hvp_ctx *ctx, struct hvp_machine *m, struct hvp_vcpu *vcpu)
{
	struct hvp_guest_result r;
	struct hvp_status st = ctx->be->x86_msr_set(vcpu, MSR_KERNEL_GS_BASE, MSR_VALUE_SET);
	int i = hvp_record(ctx, st, "MSR 0x%x (KERNEL_GS_BASE) = 0x%" PRIx64, MSR_KERNEL_GS_BASE, MSR_VALUE_SET);

	if (st.err != HVP_OK) {
		if (!hvp_refused_as(st, VALUE_REFUSALS))
			hvp_not_evidence(ctx, st, "setting MSR 0x%x", MSR_KERNEL_GS_BASE);
		hvp_decisive(ctx, i);
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the API refused the VMM's value for MSR 0x%x: %s %s",
				   MSR_KERNEL_GS_BASE, st.call, ctx->be->native_name(st.native));
		return 0;
	}
	hvp_guest_run(m, vcpu, &r);
	hvp_need_guest(ctx, &r, 1, "the guest reading the MSR");
	HVP_ASSERT(ctx, r.n == 1, "the guest reading the MSR made %u reports, not 1", r.n);
	hvp_decisive(ctx, r.st.evidence);
	hvp_guest_value(ctx, "MSR as the guest read it", r.value[0]);
	ctx->f->guest_verified = true;
	if (r.value[0] == MSR_VALUE_SET)
		return 1;
	hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the guest read 0x%" PRIx64 " from MSR 0x%x, not the value the VMM set "
			   "(0x%" PRIx64 ")", r.value[0], MSR_KERNEL_GS_BASE, MSR_VALUE_SET);
	return 0;
}

/*
 * Makes the guest's reads of the MSR exit to the VMM. Returns 0, or -1
 * after answering no when the API has no such filter (the question's
 * refusal: there is no filtered read to exit). Any other failure is
 * hvprobe's setup breaking, not the answer: the probe ends crashed.
 */
static int filter_msr_reads(struct hvp_ctx *ctx, struct hvp_machine *m)
{
	struct hvp_status st;
	int i;

	ctx->f->guest_verified = false; /* this half's answer is the API's until its guest reports */
	if (!ctx->be->x86_msr_read_exits) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the guest read the VMM's MSR 0x%x value, but the API (%s) has no "
				   "way to make MSR reads exit to the VMM", MSR_KERNEL_GS_BASE, ctx->be->name);
		return -1;
	}
	st = ctx->be->x86_msr_read_exits(m->vm, MSR_KERNEL_GS_BASE);
	i = hvp_record(ctx, st, "deny guest reads of MSR 0x%x", MSR_KERNEL_GS_BASE);
	if (st.err == HVP_OK)
		return 0;
	if (!hvp_refused_as(st, HVP_CLASS(HVP_ERR_UNSUPPORTED)))
		hvp_not_evidence(ctx, st, "filtering reads of MSR 0x%x", MSR_KERNEL_GS_BASE);
	hvp_decisive(ctx, i);
	hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the guest read the VMM's MSR 0x%x value, but the API cannot filter "
			   "MSR reads here: %s %s", MSR_KERNEL_GS_BASE, st.call, ctx->be->native_name(st.native));
	return -1;
}

/*
 * The second half: with reads of the MSR filtered, the guest's read exits
 * to the VMM, which answers with its own value. Returns 1 when it did and
 * the guest reported getting it; 0 after answering no.
 */
static int msr_filtered_read_exits(struct hvp_ctx *ctx, struct hvp_machine *m, struct hvp_vcpu *vcpu)
{
	uint64_t arg[4] = { MSR_KERNEL_GS_BASE, 0, 0, 0 };
	struct hvp_guest_result r;
	struct hvp_status st;
	int exited;

	if (filter_msr_reads(ctx, m) < 0)
		return 0;
	st = hvp_vcpu_rerun_try(m, vcpu, 0, &hvp_prog_rdmsr_report, arg, 0);
	hvp_need_ok(ctx, st, "pointing the vCPU at the program again");
	hvp_guest_run(m, vcpu, &r);
	exited = r.st.err == HVP_OK && r.last.kind == HVP_EXIT_MSR && !r.last.write && r.last.addr == MSR_KERNEL_GS_BASE;
	if (exited)
		hvp_guest_resume(m, vcpu, &r, MSR_VALUE_BY_VMM);
	hvp_need_guest(ctx, &r, 1, exited ? "the guest after its filtered read exited to the VMM"
					  : "the guest's filtered read (no exit to the VMM)");
	HVP_ASSERT(ctx, r.n == 1, "the guest's filtered read made %u reports, not 1", r.n);
	hvp_decisive(ctx, r.st.evidence);
	hvp_guest_value(ctx, "filtered MSR as the guest read it", r.value[0]);
	ctx->f->guest_verified = true;
	if (!exited)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the guest read the VMM's MSR 0x%x value, but with reads of it "
				   "filtered its read was handled in the kernel anyway (it got 0x%" PRIx64 ")",
				   MSR_KERNEL_GS_BASE, r.value[0]);
	else if (r.value[0] != MSR_VALUE_BY_VMM)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the guest read the VMM's MSR 0x%x value; with reads of it filtered "
				   "its read exited to the VMM, but the guest got 0x%" PRIx64 ", not the VMM's answer 0x%" PRIx64,
				   MSR_KERNEL_GS_BASE, r.value[0], MSR_VALUE_BY_VMM);
	return exited && r.value[0] == MSR_VALUE_BY_VMM;
}

static void run_msr_applied(struct hvp_ctx *ctx)
{
	uint64_t arg[4] = { MSR_KERNEL_GS_BASE, 0, 0, 0 };
	struct hvp_machine *m;
	struct hvp_vcpu *vcpu;

	if (!ctx->be->x86_msr_set) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "the API (%s on %s) has no call to set a guest MSR",
				   ctx->be->name, ctx->be->arch);
		return;
	}
	m = hvp_machine_create(ctx, "VM");
	vcpu = hvp_vcpu_start(m, 0, &hvp_prog_rdmsr_report, arg);
	if (!msr_set_is_read(ctx, m, vcpu))
		return;
	if (msr_filtered_read_exits(ctx, m, vcpu))
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "the guest read the VMM's MSR 0x%x value, and with reads of it "
				   "filtered its read exited to the VMM, whose answer the guest got", MSR_KERNEL_GS_BASE);
}

const struct hvp_probe probe_cpu_msr_applied = {
	.id = "cpu.msr_applied",
	.question = "Does the guest read the MSR value the VMM set, and does a filtered MSR read exit to the VMM?",
	.timeout_s = 15,
	.arch = "x86_64",
	.run = run_msr_applied,
};
