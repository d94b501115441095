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
#include "../truth.h"
#include "guest_proof.h"

#define GUEST_ITERATIONS 4096      /* bounded even at microseconds per emulated instruction */
#define HOST_SAMPLES 100           /* of GUEST_ITERATIONS each, as the guest's: the fastest counts */
#define INSTRUCTIONS_PER_ITERATION 10
#define TRIES 5
#define NATIVE_FACTOR 3.0          /* within this of the host: native */
#define EMULATED_FACTOR 20.0       /* beyond this: one instruction at a time, not a slow cache */

unsigned hvp_guest_ring_report(struct hvp_ctx *ctx, uint64_t word)
{
	int ring = hvp_guest_arch_ring(word);

	hvp_guest_value(ctx, "ring report", word);
	HVP_ASSERT(ctx, ring >= 0, "the guest's ring report 0x%" PRIx64 " names no privilege level: the program "
		   "could not tell where it ran, or the report is not the one it made", word);
	return (unsigned)ring;
}

const char *hvp_ring_name(unsigned ring)
{
	return ring == 0 ? "ring 0" : ring == 3 ? "ring 3" : "another level";
}

/*
 * The host side of the comparison: timed_alu's block on the host CPU, in
 * batches as long as the guest's. The fastest batch counts, as the
 * guest's does: a batch the scheduler interrupts is only slower, and a
 * longer one would be interrupted more often on a busy host than the
 * guest's short ones, flattering the guest.
 */
static double host_ns_per_iteration(void)
{
	double best = 0;

	for (int t = 0; t < HOST_SAMPLES; t++) {
		int64_t t0 = hvp_now_ns();
		hvp_guest_arch_alu_on_host(GUEST_ITERATIONS);
		double ns = (double)(hvp_now_ns() - t0) / GUEST_ITERATIONS;
		if (t == 0 || ns < best)
			best = ns;
	}
	return best;
}

/* One ring's figures: the guest's and the host's time for the same block, and where the guest ran. */
struct native_measure {
	double guest_ns, host_ns, ratio; /* per iteration of INSTRUCTIONS_PER_ITERATION instructions */
	uint64_t best_cycles;
	unsigned ran_at;                 /* the ring the guest proved it ran at */
	int evidence;                    /* the run that timed best_cycles */
};

/*
 * One run of timed_alu at ring; the program must end with its two reports
 * (the cycles, the ring), or nothing is measured and the probe crashes.
 */
static void timed_run(struct hvp_machine *m, struct hvp_vcpu *vcpu, unsigned ring, int again,
		      struct hvp_guest_result *r)
{
	uint64_t arg[4] = { GUEST_ITERATIONS, 1, 0, 0 };
	char what[48];

	if (again)
		hvp_need_ok(m->ctx, hvp_vcpu_rerun_try(m, vcpu, 0, &hvp_prog_timed_alu, arg, ring),
			    "pointing the vCPU at the timing program again");
	hvp_guest_run(m, vcpu, r);
	snprintf(what, sizeof(what), "the timing guest at ring %u", ring);
	hvp_need_guest(m->ctx, r, 2, what);
	HVP_ASSERT(m->ctx, r->n == 2, "%s made %u reports, not 2", what, r->n);
}

/*
 * Times the ALU block in a guest started at ring, and on the host. Returns
 * 0, or -1 with the finding skipped when the API states no guest clock
 * rate. Every run must report the same ring.
 */
static int measure_native(struct hvp_ctx *ctx, unsigned ring, struct native_measure *out)
{
	struct hvp_machine *m = hvp_machine_create(ctx, ring ? "VM ring 3" : "VM ring 0");
	uint64_t arg[4] = { GUEST_ITERATIONS, 1, 0, 0 }, khz;
	struct hvp_guest_result r;
	struct hvp_vcpu *vcpu = NULL;
	struct hvp_status st = hvp_vcpu_start_ring_try(m, 0, &hvp_prog_timed_alu, arg, ring, &vcpu);

	hvp_need_ok(ctx, st, "starting the vCPU");
	khz = hvp_guest_tsc_khz(ctx, vcpu);
	if (khz == 0)
		return -1;
	out->guest_ns = 0;
	for (int t = 0; t < TRIES; t++) {
		timed_run(m, vcpu, ring, t > 0, &r);
		if (t == 0)
			out->ran_at = hvp_guest_ring_report(ctx, r.value[1]);
		HVP_ASSERT(ctx, hvp_guest_arch_ring(r.value[1]) == (int)out->ran_at,
			   "the timing guest's ring report changed between runs (0x%" PRIx64 ")", r.value[1]);
		HVP_ASSERT(ctx, r.value[0] > 0, "the guest's clock did not advance over %d iterations", GUEST_ITERATIONS);
		double ns = (double)r.value[0] * 1e6 / (double)khz / GUEST_ITERATIONS;
		if (out->guest_ns == 0 || ns < out->guest_ns) {
			out->guest_ns = ns;
			out->best_cycles = r.value[0];
			out->evidence = r.st.evidence;
		}
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
	hvp_guest_value(ctx, "guest TSC cycles for the fastest loop", n.best_cycles);
	hvp_decisive(ctx, n.evidence);
	ctx->f->guest_verified = true; /* the guest timed itself and said where it ran */
	if (n.ran_at != ring) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the vCPU was started at ring %u, but the guest proved it ran at %s",
				   ring, hvp_ring_name(n.ran_at));
		return;
	}
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

/* The refusal of real mode: the state refused as invalid (KVM_SET_SREGS' EINVAL), or the API without it. */
#define REAL_MODE_REFUSALS (HVP_CLASS(HVP_ERR_INVALID) | HVP_CLASS(HVP_ERR_UNSUPPORTED))

/* vCPU 0 of m, created apart from its boot so that a refused boot is told from a refused create. */
static struct hvp_vcpu *create_vcpu(struct hvp_machine *m)
{
	struct hvp_vcpu *vcpu = NULL;
	struct hvp_status st = m->ctx->be->vcpu_create(m->vm, 0, &vcpu);

	hvp_record(m->ctx, st, "%s vcpu 0", m->label);
	hvp_need_ok(m->ctx, st, "creating the vCPU");
	return vcpu;
}

/* The program made both reports: they decide, read through segment arithmetic with CR0.PE clear or not. */
static void judge_real_mode_reports(struct hvp_ctx *ctx, const struct hvp_guest_result *r)
{
	uint64_t got = r->value[0] & 0xffffffff, cr0 = r->value[1] & 0xffffffff;

	hvp_guest_value(ctx, "u32 at 0x9000:0000", got);
	hvp_guest_value(ctx, "CR0", cr0);
	ctx->f->guest_verified = true;
	if (got == REAL_MODE_MARKER && !(cr0 & 1))
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "the vCPU ran 16-bit real-mode code: it read 0x%x at 0x9000:0000 "
				   "through segment arithmetic, with CR0.PE clear", REAL_MODE_MARKER);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the code ran, but not as real mode: it read 0x%" PRIx64
				   " at 0x9000:0000 with CR0 = 0x%" PRIx64, got, cr0);
}

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
	vcpu = create_vcpu(m);
	st = hvp_vcpu_boot_try(m, vcpu, 0, &hvp_prog_real_mode16, NULL, HVP_REAL_MODE);
	if (st.err != HVP_OK) {
		if (!hvp_refused_as(st, REAL_MODE_REFUSALS))
			hvp_not_evidence(ctx, st, "putting the vCPU into real mode");
		hvp_decisive(ctx, st.evidence);
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the API refused a vCPU in real mode: %s %s", st.call,
				   ctx->be->native_name(st.native));
		return;
	}
	hvp_guest_run(m, vcpu, &r);
	hvp_decisive(ctx, r.st.evidence);
	if (r.st.err == HVP_OK && (r.last.kind == HVP_EXIT_INTERNAL_ERROR || r.last.kind == HVP_EXIT_SHUTDOWN)) {
		/* The API's own failure to run the code answers. */
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "real-mode code did not run: the run ended in a %s exit "
				   "(reason %" PRIu64 ", detail 0x%" PRIx64 ") after %u reports",
				   hvp_exit_kind_name(r.last.kind), r.last.native_reason, r.last.native_detail, r.n);
		return;
	}
	/* A run that failed or stopped elsewhere proves nothing. */
	hvp_need_guest(ctx, &r, 2, "the real-mode program");
	HVP_ASSERT(ctx, r.n == 2, "the real-mode program made %u reports, not 2", r.n);
	judge_real_mode_reports(ctx, &r);
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
	ctx->f->guest_verified = true; /* both guests timed themselves and said where they ran */
	if (k.ran_at != 0 || u.ran_at != 3) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "%s; the guests started at rings 0 and 3 proved they ran at %s and "
				   "%s: the rings are not what the VMM set", scheme, hvp_ring_name(k.ran_at), hvp_ring_name(u.ran_at));
		return;
	}
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
