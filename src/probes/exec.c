/* SPDX-License-Identifier: MIT */
/*
 * Does guest code run natively at each privilege level, or is it emulated
 * one instruction at a time? Hosts that offer /dev/kvm without VMX or SVM
 * (PVM, say) run ring-3 guest code natively but emulate ring 0, and every
 * figure a VMM author reads depends on which. The same block of plain ALU
 * instructions is timed in the guest (by its TSC) and on the host; the
 * answer is measured, never read off CPU flags.
 */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "../bench.h"
#include "../machine.h"

#define GUEST_ITERATIONS 4096      /* bounded even at microseconds per emulated instruction */
#define HOST_ITERATIONS (1 << 20)
#define INSTRUCTIONS_PER_ITERATION 10
#define TRIES 5
#define NATIVE_FACTOR 3.0          /* within this of the host: native */

/* The host side of the comparison: the same eight adds and loop as timed_alu. */
static double host_ns_per_iteration(void)
{
	double best = 0;

	for (int t = 0; t < TRIES; t++) {
		uint64_t n = HOST_ITERATIONS, acc = 0;
		int64_t t0 = hvp_now_ns();
		__asm__ volatile("1:\n\t"
				 "add %2, %0\n\tadd %2, %0\n\tadd %2, %0\n\tadd %2, %0\n\t"
				 "add %2, %0\n\tadd %2, %0\n\tadd %2, %0\n\tadd %2, %0\n\t"
				 "dec %1\n\tjnz 1b"
				 : "+r"(acc), "+r"(n)
				 : "r"((uint64_t)1)
				 : "cc");
		double ns = (double)(hvp_now_ns() - t0) / HOST_ITERATIONS;
		if (t == 0 || ns < best)
			best = ns;
	}
	return best;
}

static void native_at(struct hvp_ctx *ctx, unsigned ring)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	uint64_t arg[4] = { GUEST_ITERATIONS, 1, 0, 0 }, khz;
	struct hvp_guest_result r;
	struct hvp_vcpu *vcpu = NULL;
	struct hvp_status st = hvp_vcpu_start_ring_try(m, 0, &hvp_prog_timed_alu, arg, ring, &vcpu);
	double guest = 0, host, ratio;

	HVP_ASSERT(ctx, st.err == HVP_OK, "starting the vCPU failed: %s %s", st.call, ctx->be->native_name(st.native));
	khz = ctx->be->tsc_khz ? ctx->be->tsc_khz(vcpu) : 0;
	if (khz == 0) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "the API does not tell the guest's TSC frequency, so the "
				   "guest's own timing cannot be read in nanoseconds");
		return;
	}
	for (int t = 0; t < TRIES; t++) {
		if (t && hvp_vcpu_rerun_try(m, vcpu, 0, &hvp_prog_timed_alu, arg, ring).err != HVP_OK)
			break;
		hvp_guest_run(m, vcpu, &r);
		if (!hvp_guest_ok(&r) || r.n != 1)
			break;
		double ns = (double)r.value[0] * 1e6 / (double)khz / GUEST_ITERATIONS;
		if (guest == 0 || ns < guest)
			guest = ns;
	}
	if (guest == 0) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the timing guest did not run at ring %u (%s exit)", ring,
				   hvp_exit_kind_name(r.last.kind));
		return;
	}
	host = host_ns_per_iteration();
	ratio = host > 0 ? guest / host : 0;
	hvp_guest_value(ctx, "guest TSC cycles for the last loop", r.value[0]);
	ctx->f->guest_verified = true;
	hvp_finding_answer(ctx->f, ratio <= NATIVE_FACTOR ? HVP_ANSWER_YES : HVP_ANSWER_NO,
			   "guest ring %u: %.2f ns per instruction, host: %.2f ns; %.1fx the host's time: %s", ring,
			   guest / INSTRUCTIONS_PER_ITERATION, host / INSTRUCTIONS_PER_ITERATION, ratio,
			   ratio <= NATIVE_FACTOR ? "native" : ratio >= 20 ? "emulated instruction by instruction"
									: "slower than native");
}

static void run_native_cpl0(struct hvp_ctx *ctx)
{
	native_at(ctx, 0);
}

static void run_native_cpl3(struct hvp_ctx *ctx)
{
	native_at(ctx, 3);
}

const struct hvp_probe probe_exec_native_cpl0 = {
	.id = "exec.native_cpl0",
	.question = "Does guest code at ring 0 run natively (within 3x of the same code on the host)?",
	.timeout_s = 30,
	.run = run_native_cpl0,
};

const struct hvp_probe probe_exec_native_cpl3 = {
	.id = "exec.native_cpl3",
	.question = "Does guest code at ring 3 run natively (within 3x of the same code on the host)?",
	.timeout_s = 30,
	.run = run_native_cpl3,
};
