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
#include <string.h>
#include <time.h>

#include "../bench.h"
#include "../machine.h"

#define GUEST_ITERATIONS 4096      /* bounded even at microseconds per emulated instruction */
#define HOST_ITERATIONS (1 << 20)
#define INSTRUCTIONS_PER_ITERATION 10
#define TRIES 5
#define NATIVE_FACTOR 3.0          /* within this of the host: native */
#define EMULATED_FACTOR 20.0       /* beyond this: one instruction at a time, not a slow cache */

/* The host side of the comparison: the same eight adds and loop as timed_alu, in each architecture's words. */
static double host_ns_per_iteration(void)
{
	double best = 0;

	for (int t = 0; t < TRIES; t++) {
		uint64_t n = HOST_ITERATIONS, acc = 0;
		int64_t t0 = hvp_now_ns();
#if defined(__x86_64__)
		__asm__ volatile("1:\n\t"
				 "add %2, %0\n\tadd %2, %0\n\tadd %2, %0\n\tadd %2, %0\n\t"
				 "add %2, %0\n\tadd %2, %0\n\tadd %2, %0\n\tadd %2, %0\n\t"
				 "dec %1\n\tjnz 1b"
				 : "+r"(acc), "+r"(n)
				 : "r"((uint64_t)1)
				 : "cc");
#elif defined(__aarch64__)
		__asm__ volatile("1:\n\t"
				 "add %0, %0, %2\n\tadd %0, %0, %2\n\tadd %0, %0, %2\n\tadd %0, %0, %2\n\t"
				 "add %0, %0, %2\n\tadd %0, %0, %2\n\tadd %0, %0, %2\n\tadd %0, %0, %2\n\t"
				 "subs %1, %1, #1\n\tb.ne 1b"
				 : "+r"(acc), "+r"(n)
				 : "r"((uint64_t)1)
				 : "cc");
#else
#error "exec.c: the host's ALU block for this architecture"
#endif
		double ns = (double)(hvp_now_ns() - t0) / HOST_ITERATIONS;
		if (t == 0 || ns < best)
			best = ns;
	}
	return best;
}

/* One ring's figures: the guest's and the host's time for the same block. */
struct native_measure {
	double guest_ns, host_ns, ratio; /* per iteration of INSTRUCTIONS_PER_ITERATION instructions */
	uint64_t last_cycles;
};

/*
 * Times the ALU block in a guest at ring and on the host. Returns 0, or -1
 * with the answer already given when it could not (no guest clock, the
 * guest did not run).
 */
static int measure_native(struct hvp_ctx *ctx, unsigned ring, struct native_measure *out)
{
	struct hvp_machine *m = hvp_machine_create(ctx, ring ? "VM ring 3" : "VM ring 0");
	uint64_t arg[4] = { GUEST_ITERATIONS, 1, 0, 0 }, khz;
	struct hvp_guest_result r;
	struct hvp_vcpu *vcpu = NULL;
	struct hvp_status st = hvp_vcpu_start_ring_try(m, 0, &hvp_prog_timed_alu, arg, ring, &vcpu);

	HVP_ASSERT(ctx, st.err == HVP_OK, "starting the vCPU failed: %s %s", st.call, ctx->be->native_name(st.native));
	khz = ctx->be->tsc_khz ? ctx->be->tsc_khz(vcpu) : 0;
	if (khz == 0) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "the API does not tell the guest's TSC frequency, so the "
				   "guest's own timing cannot be read in nanoseconds");
		return -1;
	}
	out->guest_ns = 0;
	for (int t = 0; t < TRIES; t++) {
		if (t && hvp_vcpu_rerun_try(m, vcpu, 0, &hvp_prog_timed_alu, arg, ring).err != HVP_OK)
			break;
		hvp_guest_run(m, vcpu, &r);
		if (!hvp_guest_ok(&r) || r.n != 1)
			break;
		double ns = (double)r.value[0] * 1e6 / (double)khz / GUEST_ITERATIONS;
		if (out->guest_ns == 0 || ns < out->guest_ns)
			out->guest_ns = ns;
		out->last_cycles = r.value[0];
	}
	if (out->guest_ns == 0) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the timing guest did not run at ring %u (%s exit)", ring,
				   hvp_exit_kind_name(r.last.kind));
		return -1;
	}
	out->host_ns = host_ns_per_iteration();
	out->ratio = out->host_ns > 0 ? out->guest_ns / out->host_ns : 0;
	return 0;
}

static const char *native_word(double ratio)
{
	return ratio <= NATIVE_FACTOR ? "native" : ratio >= EMULATED_FACTOR ? "emulated instruction by instruction"
									 : "slower than native";
}

static void native_at(struct hvp_ctx *ctx, unsigned ring)
{
	struct native_measure n;

	if (measure_native(ctx, ring, &n) < 0)
		return;
	hvp_guest_value(ctx, "guest TSC cycles for the last loop", n.last_cycles);
	ctx->f->guest_verified = true;
	hvp_finding_answer(ctx->f, n.ratio <= NATIVE_FACTOR ? HVP_ANSWER_YES : HVP_ANSWER_NO,
			   "guest ring %u: %.2f ns per instruction, host: %.2f ns; %.1fx the host's time: %s", ring,
			   n.guest_ns / INSTRUCTIONS_PER_ITERATION, n.host_ns / INSTRUCTIONS_PER_ITERATION, n.ratio,
			   native_word(n.ratio));
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

#define REAL_MODE_MARKER 0x6c616572u /* "real" */

/*
 * Real mode is how firmware and every x86 boot protocol start; VMX ran it
 * natively only once "unrestricted guest" came, and schemes that run only
 * long-mode guests (PVM) cannot at all. The guest proves the mode: it reads
 * memory through real-mode segment arithmetic and reports CR0.PE clear.
 */
static void run_real_mode(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	uint32_t marker = REAL_MODE_MARKER;
	struct hvp_guest_result r;
	struct hvp_vcpu *vcpu;
	struct hvp_status st;

	memcpy(m->sys + HVP_SYS_DATA - HVP_SYS_GPA, &marker, sizeof(marker));
	st = hvp_vcpu_start_ring_try(m, 0, &hvp_prog_real_mode16, NULL, HVP_REAL_MODE, &vcpu);
	if (st.err != HVP_OK) {
		hvp_decisive(ctx, st.evidence);
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the API refused a vCPU in real mode: %s %s", st.call,
				   ctx->be->native_name(st.native));
		return;
	}
	hvp_guest_run(m, vcpu, &r);
	hvp_decisive(ctx, r.st.evidence);
	if (r.n >= 1)
		hvp_guest_value(ctx, "u32 at 0x9000:0000", r.value[0] & 0xffffffff);
	if (r.n >= 2)
		hvp_guest_value(ctx, "CR0", r.value[1] & 0xffffffff);
	if (!hvp_guest_ok(&r) || r.n != 2) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "real-mode code did not run: the run ended in a %s exit "
				   "(reason %" PRIu64 ", detail 0x%" PRIx64 ") after %u reports",
				   hvp_exit_kind_name(r.last.kind), r.last.native_reason, r.last.native_detail, r.n);
		return;
	}
	ctx->f->guest_verified = (uint32_t)r.value[0] == REAL_MODE_MARKER && !(r.value[1] & 1);
	if (ctx->f->guest_verified)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "the vCPU ran 16-bit real-mode code: it read 0x%x at 0x9000:0000 "
				   "through segment arithmetic, with CR0.PE clear", REAL_MODE_MARKER);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the code ran, but not as real mode: it read 0x%" PRIx64
				   " at 0x9000:0000 with CR0 = 0x%" PRIx64, r.value[0] & 0xffffffff, r.value[1] & 0xffffffff);
}

const struct hvp_probe probe_exec_real_mode = {
	.id = "exec.real_mode",
	.question = "Can a vCPU run 16-bit real-mode code (as firmware and boot loaders start)?",
	.timeout_s = 15,
	.arch = "x86_64",
	.run = run_real_mode,
};

/* What the host's facts say runs guests, before any measurement. */
static void declared_scheme(const char *arch, const struct hvp_facts *facts, char *out, size_t size)
{
	const char *mods = hvp_facts_get(facts, "kvm_modules"), *hyp = hvp_facts_get(facts, "host_hypervisor");
	int nested = hyp && strncmp(hyp, "yes", 3) == 0;

	if (strcmp(arch, "arm64") == 0)
		snprintf(out, size, "Arm virtualization at EL2 (%s)", mods ? mods : "KVM");
	else if (mods && strstr(mods, "kvm_pvm"))
		snprintf(out, size, "PVM, a software scheme (module kvm_pvm)");
	else if (mods && strstr(mods, "kvm_intel"))
		snprintf(out, size, "%sIntel VMX (module kvm_intel)", nested ? "nested " : "");
	else if (mods && strstr(mods, "kvm_amd"))
		snprintf(out, size, "%sAMD SVM (module kvm_amd)", nested ? "nested " : "");
	else
		snprintf(out, size, "unknown (modules: %s)", mods ? mods : "not reported");
}

/*
 * Which virtualization runs guests here: the module, the CPU flags and
 * whether this host is itself a guest say what should happen; the timed
 * guests at each ring say what does. A mismatch is stated, not hidden.
 */
static void run_vendor(struct hvp_ctx *ctx)
{
	struct native_measure k, u;
	struct hvp_facts facts = { 0 };
	char scheme[96];
	const char *flags, *hyp;
	int hardware, native_both;

	ctx->be->facts(ctx->hv, &facts);
	declared_scheme(ctx->be->arch, &facts, scheme, sizeof(scheme));
	flags = hvp_facts_get(&facts, "cpu_flags");
	hyp = hvp_facts_get(&facts, "host_hypervisor");
	if (measure_native(ctx, 0, &k) < 0 || measure_native(ctx, 3, &u) < 0)
		return;
	hvp_guest_value(ctx, "ring 0 / host time, x1000", (uint64_t)(k.ratio * 1000));
	hvp_guest_value(ctx, "ring 3 / host time, x1000", (uint64_t)(u.ratio * 1000));
	ctx->f->guest_verified = true;
	hardware = strstr(scheme, "VMX") || strstr(scheme, "SVM") || strstr(scheme, "EL2");
	native_both = k.ratio <= NATIVE_FACTOR && u.ratio <= NATIVE_FACTOR;
	hvp_finding_answer(ctx->f, native_both ? HVP_ANSWER_YES : HVP_ANSWER_NO,
			   "%s; CPU flags: %s; this host a guest: %s; measured: ring 0 %s (%.1fx), ring 3 %s (%.1fx)%s",
			   scheme, flags ? flags : "not reported", hyp ? hyp : "not reported",
			   native_word(k.ratio), k.ratio, native_word(u.ratio), u.ratio,
			   hardware && !native_both ? " - slower than hardware virtualization should be" :
			   !hardware && native_both && !strstr(scheme, "unknown") ? " - native at both rings, unlike a software scheme" : "");
}

const struct hvp_probe probe_exec_vendor = {
	.id = "exec.vendor",
	.question = "Does this host run guests with hardware-grade virtualization, guest code native at every ring?",
	.timeout_s = 30,
	.run = run_vendor,
};
