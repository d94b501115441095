/* SPDX-License-Identifier: MIT */
/*
 * Is the guest CPU model the API reports (cpu_model.h) the one a guest
 * gets, and can a VMM reduce it? The VMM takes one feature the model
 * offers; a guest given the model as it is must see the feature, and
 * guests given the model with that feature cleared must not: at ring 0 and
 * ring 3 on x86 (CPUID, which a scheme running user code natively may let
 * reach the real CPU), at EL1 on arm64.
 *
 * arm64 proves EL1 only: an MRS of an ID_AA64*_EL1 register at EL0 is
 * UNDEFINED (Arm ARM, D19: the registers are accessible from EL1 and up),
 * so EL0 software sees the model only through its kernel's emulation
 * (Linux: Documentation/arm64/cpu-feature-registers.rst), not through the
 * hypervisor.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cpu_model.h"
#include "../machine.h"
#include "../truth.h"
#include "guest_proof.h"

#define VALUE_REFUSALS (HVP_CLASS(HVP_ERR_INVALID) | HVP_CLASS(HVP_ERR_UNSUPPORTED))

/*
 * x86 features the probe may clear, first offered first: leaf 1 and leaf 7
 * bits the CPU never changes at run time (unlike OSXSAVE or APIC), and
 * none the guest's own boot needs (long mode, NX, SSE).
 */
static const char *const x86_clearable[] = { "avx2", "sse4_2", "popcnt", "aes", "movbe", "pclmulqdq", "bmi1",
					     "bmi2", "adx", "rdseed", "rdrand", "clflushopt", "clwb", "gfni",
					     "umip", "cx16", "x2apic", "sha_ni" };

static const struct hvp_feature *x86_pick(const struct hvp_cpu_model *model)
{
	for (unsigned i = 0; i < sizeof(x86_clearable) / sizeof(x86_clearable[0]); i++) {
		const struct hvp_feature *f = hvp_model_feature("x86_64", x86_clearable[i]);
		if (f && hvp_model_has(model, f))
			return f;
	}
	return NULL;
}

/* One guest's view of the feature's bit: 1 seen, 0 not; ends the probe if it ran at another ring. */
static int x86_sees(struct hvp_ctx *ctx, struct hvp_machine *m, unsigned id, struct hvp_cpuid_ask *ask,
		    const struct hvp_feature *f)
{
	uint32_t seen[4];
	unsigned ran_at;

	if (hvp_cpuid_seen(ctx, m, id, ask, seen, &ran_at) < 0)
		return -1;
	HVP_ASSERT(ctx, ran_at == ask->ring, "the vCPU was started at ring %u, but the guest proved it ran at %s",
		   ask->ring, hvp_ring_name(ran_at));
	return (int)(seen[f->reg] >> f->bit & 1);
}

static void x86_model(struct hvp_ctx *ctx, const struct hvp_cpu_model *model)
{
	static const char *const reg[4] = { "eax", "ebx", "ecx", "edx" };
	const struct hvp_feature *f = x86_pick(model);
	const struct hvp_model_cpuid *e;
	struct hvp_cpuid_ask full, reduced;
	struct hvp_machine *m;
	int full_seen, at0, at3;

	if (!ctx->be->x86_cpuid_set) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "the API (%s on %s) has no CPUID table for the VMM to set",
				   ctx->be->name, ctx->be->arch);
		return;
	}
	if (!f) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "the model offers none of the features hvprobe clears "
				   "(avx2, sse4_2, popcnt, aes, ...): nothing to reduce");
		return;
	}
	e = hvp_model_cpuid_find(model, f->leaf, f->subleaf);
	full = (struct hvp_cpuid_ask){ f->leaf, f->subleaf, { e->reg[0], e->reg[1], e->reg[2], e->reg[3] }, 0,
				       "the model's", "full model, ring 0: " };
	reduced = full;
	reduced.val[f->reg] &= ~(UINT32_C(1) << f->bit);
	reduced.what = "the model's without the feature";
	m = hvp_machine_create(ctx, "VM");
	if ((full_seen = x86_sees(ctx, m, 0, &full, f)) < 0)
		return; /* the API refused the model's own leaf: answered no */
	if (!full_seen) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "a guest given the model as the API reports it did not see %s "
				   "(CPUID 0x%x.%u %s bit %u): the model is not what the guest gets", f->name, f->leaf,
				   f->subleaf, reg[f->reg], f->bit);
		return;
	}
	reduced.label = "reduced model, ring 0: ";
	if ((at0 = x86_sees(ctx, m, 1, &reduced, f)) < 0)
		return;
	if (at0) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "with %s cleared by the VMM (CPUID 0x%x.%u %s bit %u), the guest "
				   "still saw it at ring 0", f->name, f->leaf, f->subleaf, reg[f->reg], f->bit);
		return;
	}
	reduced.ring = 3;
	reduced.label = "reduced model, ring 3: ";
	if ((at3 = x86_sees(ctx, m, 2, &reduced, f)) < 0)
		return;
	if (at3)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "with %s cleared by the VMM (CPUID 0x%x.%u %s bit %u), guests at "
				   "ring 0 did not see it, but at ring 3 the guest still did: CPUID is not intercepted there",
				   f->name, f->leaf, f->subleaf, reg[f->reg], f->bit);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "a guest given the model saw %s (CPUID 0x%x.%u %s bit %u); with "
				   "it cleared by the VMM, guests at ring 0 and ring 3 did not", f->name, f->leaf, f->subleaf,
				   reg[f->reg], f->bit);
}

/*
 * arm64: a field the VMM may lower. Where the kernel gives writable masks,
 * any named feature whose field is writable; otherwise the fields Linux 6.1
 * lets a VMM change (arch/arm64/kvm/sys_regs.c, set_id_aa64pfr0_el1: CSV2
 * and CSV3 of ID_AA64PFR0_EL1, to 0 or 1).
 */
static const struct hvp_feature *arm64_pick(const struct hvp_cpu_model *model, uint64_t pfr0)
{
	unsigned n;
	const struct hvp_feature *t = hvp_model_features("arm64", &n);

	for (unsigned i = 0; i < n; i++) {
		const struct hvp_model_reg *r = hvp_model_reg_find(model, t[i].sysreg);
		uint64_t field = UINT64_C(0xf) << t[i].shift;
		bool writable = model->has_writable ? r && (r->writable & field) == field
						    : t[i].sysreg == hvp_model_id_regs[0] && (t[i].shift == 56 || t[i].shift == 60);
		if (writable && !t[i].is_signed && !t[i].or_shift && t[i].min >= 1 && t[i].sysreg == hvp_model_id_regs[0] &&
		    hvp_model_field(pfr0, t[i].shift, false) >= t[i].min)
			return &t[i];
	}
	return NULL;
}

/* The guest's ID_AA64PFR0_EL1 at EL1 on vcpu (on idregs_report), with value set by the VMM first if set. */
static int arm64_guest_pfr0(struct hvp_ctx *ctx, struct hvp_machine *m, struct hvp_vcpu *vcpu, bool set,
			    uint64_t value, uint64_t *seen)
{
	struct hvp_guest_result r;
	unsigned ran_at;

	if (set) {
		struct hvp_status st = ctx->be->arm64_sysreg_set(vcpu, hvp_model_id_regs[0], value);
		int i = hvp_record(ctx, st, "%s ID_AA64PFR0_EL1 = 0x%" PRIx64, m->label, value);
		if (st.err != HVP_OK) {
			if (!hvp_refused_as(st, VALUE_REFUSALS))
				hvp_not_evidence(ctx, st, "setting ID_AA64PFR0_EL1");
			hvp_decisive(ctx, i);
			hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the API refused the reduced ID_AA64PFR0_EL1 0x%" PRIx64 ": %s %s",
					   value, st.call, hvp_native(ctx, st));
			return -1;
		}
	}
	hvp_guest_run(m, vcpu, &r);
	hvp_need_guest(ctx, &r, hvp_model_n_id_regs + 1, "the guest reading its ID registers");
	HVP_ASSERT(ctx, r.n == hvp_model_n_id_regs + 1, "the guest made %u reports, not %u", r.n, hvp_model_n_id_regs + 1);
	hvp_decisive(ctx, r.st.evidence);
	ran_at = hvp_guest_ring_report(ctx, r.value[hvp_model_n_id_regs]);
	HVP_ASSERT(ctx, ran_at == 0, "the vCPU was started at EL1, but the guest proved it ran at %s", hvp_ring_name(ran_at));
	hvp_guest_value(ctx, set ? "reduced model, EL1: ID_AA64PFR0_EL1" : "full model, EL1: ID_AA64PFR0_EL1", r.value[0]);
	ctx->f->guest_verified = true;
	*seen = r.value[0];
	return 0;
}

static void arm64_model(struct hvp_ctx *ctx, const struct hvp_cpu_model *model)
{
	static const uint64_t no_args[4];
	struct hvp_machine *a, *b;
	struct hvp_vcpu *va, *vb;
	const struct hvp_feature *f;
	uint64_t pfr0, seen_full, seen_reduced, mask;
	struct hvp_status st;

	if (!ctx->be->arm64_sysreg_get || !ctx->be->arm64_sysreg_set) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "the API (%s on %s) has no call to set a vCPU's ID registers",
				   ctx->be->name, ctx->be->arch);
		return;
	}
	/* Each VM its own: KVM keeps CSV2 and CSV3 per VM, not per vCPU. */
	a = hvp_machine_create(ctx, "VM A");
	b = hvp_machine_create(ctx, "VM B");
	va = hvp_vcpu_start(a, 0, &hvp_prog_idregs_report, no_args);
	vb = hvp_vcpu_start(b, 0, &hvp_prog_idregs_report, no_args);
	st = ctx->be->arm64_sysreg_get(vb, hvp_model_id_regs[0], &pfr0);
	hvp_record(ctx, st, "VM B ID_AA64PFR0_EL1 as the VMM reads it: 0x%" PRIx64, st.err == HVP_OK ? pfr0 : 0);
	hvp_need_ok(ctx, st, "reading ID_AA64PFR0_EL1");
	if (!(f = arm64_pick(model, pfr0))) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "the model offers no feature the API lets a VMM clear: %s "
				   "(ID_AA64PFR0_EL1 = 0x%" PRIx64 ")", model->has_writable ? "no named feature field is "
				   "writable and set" : "Linux 6.1 lets it change only ID_AA64PFR0_EL1.CSV2 and CSV3, both 0 here",
				   pfr0);
		return;
	}
	mask = UINT64_C(0xf) << f->shift;
	if (arm64_guest_pfr0(ctx, a, va, false, 0, &seen_full) < 0)
		return;
	if (hvp_model_field(seen_full, f->shift, false) < f->min) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "a guest given the model as the API reports it did not see %s "
				   "(ID_AA64PFR0_EL1[%u:%u] = %d): the model is not what the guest gets", f->name,
				   f->shift + 3, f->shift, hvp_model_field(seen_full, f->shift, false));
		return;
	}
	if (arm64_guest_pfr0(ctx, b, vb, true, pfr0 & ~mask, &seen_reduced) < 0)
		return;
	if (seen_reduced & mask)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "with %s cleared by the VMM (ID_AA64PFR0_EL1[%u:%u] = 0), the guest "
				   "at EL1 still read %d", f->name, f->shift + 3, f->shift,
				   hvp_model_field(seen_reduced, f->shift, false));
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "a guest given the model saw %s (ID_AA64PFR0_EL1[%u:%u] = %d); "
				   "with it cleared by the VMM, the guest at EL1 read 0 (EL0 cannot read ID registers: "
				   "UNDEFINED there)", f->name, f->shift + 3, f->shift,
				   hvp_model_field(seen_full, f->shift, false));
}

static void run_cpu_model(struct hvp_ctx *ctx)
{
	struct hvp_cpu_model *model;
	struct hvp_status st;

	if (!ctx->be->cpu_model) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "the %s backend on %s cannot read a guest CPU model",
				   ctx->be->name, ctx->be->arch);
		return;
	}
	model = calloc(1, sizeof(*model));
	HVP_ASSERT(ctx, model, "out of memory for the CPU model");
	st = ctx->be->cpu_model(ctx->hv, model);
	hvp_record(ctx, st, "the guest CPU model the API offers");
	hvp_need_ok(ctx, st, "reading the guest CPU model");
	if (strcmp(model->arch, "arm64") == 0)
		arm64_model(ctx, model);
	else
		x86_model(ctx, model);
	free(model);
}

const struct hvp_probe probe_cpu_model = {
	.id = "cpu.model",
	.question = "Does a guest get the CPU model the API reports, and does it see the model reduced when the VMM "
		    "clears a feature (x86: at ring 0 and 3; arm64: at EL1)?",
	.timeout_s = 20,
	.run = run_cpu_model,
};
