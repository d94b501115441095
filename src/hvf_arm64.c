/* SPDX-License-Identifier: MIT */
/*
 * The Hypervisor.framework backend, arm64 part (macOS 11+ on Apple
 * Silicon). The vCPU starts at EL1h (or EL0t) with the guest module's
 * translation tables and MMU on, as the KVM arm64 backend's does, so the
 * same guest programs run. Every exit comes to the VMM (the framework
 * emulates nothing): a data abort with a valid syndrome (EC 0x24) is
 * decoded into an MMIO exit, HVC (EC 0x16) is a hypercall exit, WFI (EC
 * 0x01) a halt; the VMM steps past the instruction itself, on the next run,
 * as KVM does.
 */
#include <stdio.h>
#include <string.h>

#include "cpu_model.h"
#include "guest_abi.h"
#include "hvf_internal.h"

#define EC_WFX 0x01
#define EC_HVC64 0x16
#define EC_DABT_LOWER 0x24
#define ISS_ISV (1u << 24)
#define ISS_WNR (1u << 6)
#define DEFAULT_IPA_BITS 36 /* without a configuration: 64 GiB (hv_vm_config.h) */
/*
 * EL1 system registers in the framework's numbering (op0 << 14 | op1 << 11
 * | CRn << 7 | CRm << 3 | op2), as HV_SYS_REG_VBAR_EL1 and the others are.
 */
#define SYS_REG_VBAR_EL1 ((hv_sys_reg_t)0xc600)         /* 3, 0, 12, 0, 0 */
#define SYS_REG_SCTLR_EL1 ((hv_sys_reg_t)0xc080)        /* 3, 0, 1, 0, 0 */
#define SYS_REG_TTBR0_EL1 ((hv_sys_reg_t)0xc100)        /* 3, 0, 2, 0, 0 */
#define SYS_REG_TCR_EL1 ((hv_sys_reg_t)0xc102)          /* 3, 0, 2, 0, 2 */
#define SYS_REG_MAIR_EL1 ((hv_sys_reg_t)0xc510)         /* 3, 0, 10, 2, 0 */
#define SYS_REG_ID_AA64MMFR0_EL1 ((hv_sys_reg_t)0xc038) /* 3, 0, 0, 7, 0 */
#define TCR_IPS_SHIFT 32
#define TCR_IPS_MASK (7ull << TCR_IPS_SHIFT)
#define MMFR0_PARANGE_MASK 0xfull

static struct hvp_status reg_set(struct hvp_vcpu *vcpu, hv_reg_t reg, uint64_t value)
{
	return hvf_status("hv_vcpu_set_reg", hv_vcpu_set_reg((hv_vcpu_t)vcpu->native, reg, value));
}

static struct hvp_status reg_get(struct hvp_vcpu *vcpu, hv_reg_t reg, uint64_t *value)
{
	return hvf_status("hv_vcpu_get_reg", hv_vcpu_get_reg((hv_vcpu_t)vcpu->native, reg, value));
}

/*
 * The IPA-size calls came with macOS 13 (HVF_MACOS_13). Before it every VM
 * has the default width, and there is no choice: gpa_bits_max says 0, so
 * arm64.ipa_size is skipped.
 */
unsigned hvf_arch_gpa_bits(void)
{
	uint32_t bits = 0;

	if (HVF_MACOS_13)
		return hv_vm_config_get_default_ipa_size(&bits) == HV_SUCCESS && bits ? bits : DEFAULT_IPA_BITS;
	return DEFAULT_IPA_BITS;
}

unsigned hvf_arch_gpa_bits_max(void)
{
	uint32_t bits = 0;

	if (HVF_MACOS_13)
		return hv_vm_config_get_max_ipa_size(&bits) == HV_SUCCESS ? bits : 0;
	return 0;
}

/* A configuration with the IPA size (macOS 13); before it none is made, and no call reaches the framework. */
static struct hvp_status ipa_config(unsigned gpa_bits, hv_vm_config_t *out)
{
	struct hvp_status st = hvf_status("hv_vm_config_set_ipa_size (macOS 13)", HV_UNSUPPORTED);
	hv_return_t r;

	*out = NULL;
	if (HVF_MACOS_13) {
		if (!(*out = hv_vm_config_create()))
			return hvf_status("hv_vm_config_create", HV_NO_RESOURCES);
		if ((r = hv_vm_config_set_ipa_size(*out, gpa_bits)) == HV_SUCCESS)
			return hvp_ok("hv_vm_config_set_ipa_size");
		os_release(*out);
		*out = NULL;
		return hvf_status("hv_vm_config_set_ipa_size", r);
	}
	st.unmade = true;
	return st;
}

/* hv_vm_create(NULL) for the default width; a configuration with the IPA size otherwise. */
struct hvp_status hvf_arch_vm_create(struct hvp_vm *vm, unsigned gpa_bits)
{
	hv_vm_config_t config = NULL;
	struct hvp_status st;
	hv_return_t r;

	if (gpa_bits && (st = ipa_config(gpa_bits, &config)).err != HVP_OK)
		return st;
	r = hv_vm_create(config);
	if (config)
		os_release(config);
	vm->gpa_bits = gpa_bits ? gpa_bits : hvf_arch_gpa_bits();
	return hvf_status("hv_vm_create", r);
}

/*
 * What the vCPU's ID register says of a GIC (ID_AA64PFR0_EL1.GIC, bits
 * [27:24]: 0 none, 1 a GICv3 system register interface), to set beside
 * what irq.chip finds works: the field may say no GIC while one works.
 */
static void gic_id_field(struct hvp_facts *out)
{
	hv_vcpu_config_t config = hv_vcpu_config_create();
	uint64_t pfr0 = 0;

	if (!config)
		return;
	if (hv_vcpu_config_get_feature_reg(config, HV_FEATURE_REG_ID_AA64PFR0_EL1, &pfr0) == HV_SUCCESS)
		hvp_facts_add(out, "ID_AA64PFR0_EL1.GIC", "%u", (unsigned)((pfr0 >> 24) & 0xf));
	os_release(config);
}

void hvf_arch_facts(struct hvp_facts *out)
{
	uint32_t max = 0;

	if (hv_vm_get_max_vcpu_count(&max) == HV_SUCCESS)
		hvp_facts_add(out, "max_vcpus", "%u", max);
	hvp_facts_add(out, "ipa_bits_default", "%u", hvf_arch_gpa_bits());
	hvp_facts_add(out, "ipa_bits_max", "%u", hvf_arch_gpa_bits_max());
	hvp_facts_add(out, "gpa_bits", "%u", hvf_arch_gpa_bits());
	gic_id_field(out);
}

struct hvp_status hvf_arch_vcpu_create(struct hvp_vcpu *vcpu)
{
	hv_vcpu_t v = 0;
	hv_vcpu_exit_t *exit = NULL;
	hv_return_t r = hv_vcpu_create(&v, &exit, NULL);

	vcpu->native = v;
	vcpu->exit_info = exit;
	return hvf_status("hv_vcpu_create", r);
}

struct hvp_status hvf_arch_vcpu_destroy(struct hvp_vcpu *vcpu)
{
	return hvf_status("hv_vcpu_destroy", hv_vcpu_destroy((hv_vcpu_t)vcpu->native));
}

struct hvp_status hvf_arch_regs_set(struct hvp_vcpu *vcpu, const struct hvp_regs *regs)
{
	struct hvp_status st;

	vcpu->pending_read_reg = -1; /* new state: what the last exit left is void */
	vcpu->pending_pc_step = 0;
	for (unsigned i = 0; i < HVP_NGPR; i++)
		if ((st = reg_set(vcpu, HV_REG_X0 + i, regs->gpr[i])).err != HVP_OK)
			return st;
	if ((st = reg_set(vcpu, HV_REG_CPSR, regs->flags)).err != HVP_OK)
		return st;
	st = hvf_status("hv_vcpu_set_sys_reg", hv_vcpu_set_sys_reg((hv_vcpu_t)vcpu->native,
								      (regs->flags & 0xf) ? HV_SYS_REG_SP_EL1 : HV_SYS_REG_SP_EL0,
								      regs->sp));
	if (st.err != HVP_OK)
		return st;
	return reg_set(vcpu, HV_REG_PC, regs->pc);
}

struct hvp_status hvf_arch_regs_get(struct hvp_vcpu *vcpu, struct hvp_regs *regs)
{
	struct hvp_status st;

	memset(regs, 0, sizeof(*regs));
	for (unsigned i = 0; i < HVP_NGPR; i++)
		if ((st = reg_get(vcpu, HV_REG_X0 + i, &regs->gpr[i])).err != HVP_OK)
			return st;
	if ((st = reg_get(vcpu, HV_REG_PC, &regs->pc)).err != HVP_OK ||
	    (st = reg_get(vcpu, HV_REG_CPSR, &regs->flags)).err != HVP_OK)
		return st;
	return hvf_status("hv_vcpu_get_sys_reg", hv_vcpu_get_sys_reg((hv_vcpu_t)vcpu->native,
								     (regs->flags & 0xf) ? HV_SYS_REG_SP_EL1 : HV_SYS_REG_SP_EL0,
								     &regs->sp));
}

static struct hvp_status sys_reg_set(struct hvp_vcpu *vcpu, hv_sys_reg_t reg, uint64_t value, const char *call)
{
	return hvf_status(call, hv_vcpu_set_sys_reg((hv_vcpu_t)vcpu->native, reg, value));
}

/* TCR_EL1.IPS no wider than the physical addresses the vCPU implements (PARange, as the guest reads it). */
static struct hvp_status tcr_for_vcpu(struct hvp_vcpu *vcpu, uint64_t tcr, uint64_t *out)
{
	uint64_t mmfr0 = 0, pa;
	hv_return_t r = hv_vcpu_get_sys_reg((hv_vcpu_t)vcpu->native, SYS_REG_ID_AA64MMFR0_EL1, &mmfr0);

	pa = mmfr0 & MMFR0_PARANGE_MASK;
	*out = pa < (tcr & TCR_IPS_MASK) >> TCR_IPS_SHIFT ? (tcr & ~TCR_IPS_MASK) | pa << TCR_IPS_SHIFT : tcr;
	return hvf_status("hv_vcpu_get_sys_reg(ID_AA64MMFR0_EL1)", r);
}

/*
 * The guest's translation (its tables, memory types, MMU and caches on)
 * and its exception vectors, which end a program at an exception instead
 * of looping and answer SVC's question for the level; the MMU's switch,
 * SCTLR_EL1, last.
 */
static struct hvp_status el1_setup(struct hvp_vcpu *vcpu, const struct hvp_boot *boot)
{
	struct hvp_status st;
	uint64_t tcr;

	if ((st = tcr_for_vcpu(vcpu, boot->tcr_el1, &tcr)).err != HVP_OK ||
	    (st = sys_reg_set(vcpu, SYS_REG_MAIR_EL1, boot->mair_el1, "hv_vcpu_set_sys_reg(MAIR_EL1)")).err != HVP_OK ||
	    (st = sys_reg_set(vcpu, SYS_REG_TCR_EL1, tcr, "hv_vcpu_set_sys_reg(TCR_EL1)")).err != HVP_OK ||
	    (st = sys_reg_set(vcpu, SYS_REG_TTBR0_EL1, boot->page_table, "hv_vcpu_set_sys_reg(TTBR0_EL1)")).err != HVP_OK ||
	    (st = sys_reg_set(vcpu, SYS_REG_VBAR_EL1, boot->vbar_el1, "hv_vcpu_set_sys_reg(VBAR_EL1)")).err != HVP_OK)
		return st;
	return sys_reg_set(vcpu, SYS_REG_SCTLR_EL1, boot->sctlr_el1, "hv_vcpu_set_sys_reg(SCTLR_EL1)");
}

struct hvp_status hvf_arch_vcpu_boot(struct hvp_vcpu *vcpu, const struct hvp_boot *boot)
{
	struct hvp_status st;

	if (boot->real_mode)
		return hvf_status("hv_vcpu_set_reg (real mode)", HV_UNSUPPORTED);
	if ((st = el1_setup(vcpu, boot)).err != HVP_OK)
		return st;
	/* EL0 programs read the virtual counter: let EL0 reach it (CNTKCTL_EL1.EL0VCTEN, EL0PCTEN). */
	if (boot->ring == 3 &&
	    (st = sys_reg_set(vcpu, HV_SYS_REG_CNTKCTL_EL1, 0x3, "hv_vcpu_set_sys_reg(CNTKCTL_EL1)")).err != HVP_OK)
		return st;
	return hvf_arch_regs_set(vcpu, &boot->regs);
}

/* What the last exit left: the value an MMIO read returns, and the step past the instruction. */
static struct hvp_status finish_last_exit(struct hvp_vcpu *vcpu, const struct hvp_exit *x)
{
	struct hvp_status st = hvp_ok("hv_vcpu_run");
	uint64_t pc;

	if (vcpu->pending_read_reg >= 0 && vcpu->pending_read_reg < 31)
		st = reg_set(vcpu, HV_REG_X0 + (hv_reg_t)vcpu->pending_read_reg, x->value);
	vcpu->pending_read_reg = -1;
	if (st.err == HVP_OK && vcpu->pending_pc_step &&
	    (st = reg_get(vcpu, HV_REG_PC, &pc)).err == HVP_OK)
		st = reg_set(vcpu, HV_REG_PC, pc + vcpu->pending_pc_step);
	vcpu->pending_pc_step = 0;
	return st;
}

/* A data abort: MMIO when the syndrome describes the access (ISV), else size 0, like KVM's NISV. */
static struct hvp_status decode_abort(struct hvp_vcpu *vcpu, const hv_vcpu_exit_t *e, struct hvp_exit *x)
{
	uint64_t iss = e->exception.syndrome & 0x1ffffff;
	unsigned srt = (unsigned)(iss >> 16) & 31;

	x->kind = HVP_EXIT_MMIO;
	x->addr = e->exception.physical_address;
	x->native_detail = iss;
	if (!(iss & ISS_ISV)) {
		x->size = 0;
		return hvp_ok("hv_vcpu_run");
	}
	x->size = 1u << ((iss >> 22) & 3);
	x->write = (iss & ISS_WNR) != 0;
	vcpu->pending_pc_step = 4;
	if (!x->write) {
		vcpu->pending_read_reg = srt == 31 ? -1 : (int)srt; /* a read into XZR is discarded */
		return hvp_ok("hv_vcpu_run");
	}
	x->value = 0;
	if (srt != 31) {
		struct hvp_status st = reg_get(vcpu, HV_REG_X0 + srt, &x->value);
		if (st.err != HVP_OK)
			return st;
	}
	if (x->size < 8)
		x->value &= (1ull << (8 * x->size)) - 1;
	return hvp_ok("hv_vcpu_run");
}

struct hvp_status hvf_arch_vcpu_run(struct hvp_vcpu *vcpu, struct hvp_exit *x)
{
	const hv_vcpu_exit_t *e = vcpu->exit_info;
	struct hvp_status st = finish_last_exit(vcpu, x);
	hv_return_t r;
	unsigned ec;

	memset(x, 0, sizeof(*x));
	if (st.err != HVP_OK)
		return st;
	r = hv_vcpu_run((hv_vcpu_t)vcpu->native);
	if (r != HV_SUCCESS) {
		x->kind = HVP_EXIT_INTERNAL_ERROR;
		return hvf_status("hv_vcpu_run", r);
	}
	x->native_reason = e->reason;
	switch (e->reason) {
	case HV_EXIT_REASON_CANCELED:
		x->kind = HVP_EXIT_INTERRUPTED;
		return hvf_status("hv_vcpu_run", HV_SUCCESS);
	case HV_EXIT_REASON_EXCEPTION:
		break;
	default: /* the virtual timer, or what the framework does not say */
		x->kind = HVP_EXIT_UNKNOWN;
		return hvp_ok("hv_vcpu_run");
	}
	ec = (unsigned)(e->exception.syndrome >> 26) & 0x3f;
	x->native_detail = e->exception.syndrome;
	switch (ec) {
	case EC_DABT_LOWER:
		return decode_abort(vcpu, e, x);
	case EC_HVC64: /* the preferred return address is already the next instruction */
		x->kind = HVP_EXIT_HYPERCALL;
		return reg_get(vcpu, HV_REG_X0, &x->value);
	case EC_WFX:
		x->kind = HVP_EXIT_HLT;
		vcpu->pending_pc_step = 4;
		return hvp_ok("hv_vcpu_run");
	default:
		x->kind = HVP_EXIT_UNKNOWN;
		return hvp_ok("hv_vcpu_run");
	}
}

/* hv_vcpus_exit: from any thread; a vCPU not in run returns at once from its next one. */
struct hvp_status hvf_arch_vcpu_kick(struct hvp_vcpu *vcpu)
{
	hv_vcpu_t v = (hv_vcpu_t)vcpu->native;

	return hvf_status("hv_vcpus_exit", hv_vcpus_exit(&v, 1));
}

/* The guest's virtual counter is the host's minus the offset the VMM sets. */
struct hvp_status hvf_arch_tsc_set(struct hvp_vcpu *vcpu, uint64_t value)
{
	uint64_t now;

	__asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(now));
	return hvf_status("hv_vcpu_set_vtimer_offset",
			  hv_vcpu_set_vtimer_offset((hv_vcpu_t)vcpu->native, now - value));
}

uint64_t hvf_arch_tsc_khz(void)
{
	uint64_t hz;

	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(hz));
	return hz / 1000;
}

/*
 * The ID registers as the framework gives them to a vCPU
 * (hv_vcpu_get_sys_reg; hv_sys_reg_t packs op0:op1:CRn:CRm:op2 as
 * cpu_model.h does). A register this macOS does not name is left out.
 */
struct hvp_status hvf_arch_cpu_model(struct hvp_vcpu *vcpu, struct hvp_cpu_model *out)
{
	snprintf(out->arch, sizeof(out->arch), "arm64");
	snprintf(out->source, sizeof(out->source), "hv_vcpu_get_sys_reg on a new vCPU");
	snprintf(out->note, sizeof(out->note), "no writable masks: the framework does not say which ID register fields "
		 "a VMM may change");
	for (unsigned i = 0; i < hvp_model_n_id_regs; i++) {
		uint64_t v;
		if (hv_vcpu_get_sys_reg((hv_vcpu_t)vcpu->native, (hv_sys_reg_t)hvp_model_id_regs[i], &v) == HV_SUCCESS)
			out->reg[out->n_regs++] = (struct hvp_model_reg){ .enc = hvp_model_id_regs[i], .value = v };
	}
	out->present = out->n_regs > 0;
	return out->present ? hvp_ok("hv_vcpu_get_sys_reg") : hvf_status("hv_vcpu_get_sys_reg", HV_ERROR);
}

/*
 * Interrupts: macOS 15's in-kernel GICv3 (hv_gic_create) where the SDK
 * and the running macOS have it, and the VMM's own IRQ line
 * (hv_vcpu_set_pending_interrupt); no irqfd, routing or doorbell call
 * (-1: none at all).
 */
int64_t hvf_arch_irq_feature(enum hvp_irq_feature feature, const char **name)
{
	switch (feature) {
	case HVP_FEAT_IRQCHIP:
		*name = "hv_gic_create (macOS 15)";
#ifdef HVF_HAVE_GIC
		if (HVF_MACOS_15)
			return 1;
#endif
		return 0;
	case HVP_FEAT_USER_INJECT:
		*name = "hv_vcpu_set_pending_interrupt";
		return 1;
	default:
		*name = "Hypervisor.framework on arm64";
		return -1;
	}
}

/* The IRQ line pending for the next run (Apple: the pending state is cleared after every run); arm64 has no vector. */
struct hvp_status hvf_arch_irq_inject(struct hvp_vcpu *vcpu, uint32_t vector)
{
	(void)vector;
	return hvf_status("hv_vcpu_set_pending_interrupt",
			  hv_vcpu_set_pending_interrupt((hv_vcpu_t)vcpu->native, HV_INTERRUPT_TYPE_IRQ, true));
}

#ifdef HVF_HAVE_GIC
/* The GIC's configuration, its two bases, the GIC (macOS 15; the caller checked). */
#ifdef __APPLE__
__attribute__((availability(macos, introduced = 15.0)))
#endif
static struct hvp_status gic_create(void)
{
	hv_gic_config_t config = hv_gic_config_create();
	hv_return_t r = config ? HV_SUCCESS : HV_NO_RESOURCES;
	const char *call = config ? "hv_gic_config_set_distributor_base" : "hv_gic_config_create";

	if (r == HV_SUCCESS)
		r = hv_gic_config_set_distributor_base(config, HVP_ARM64_GICD_GPA);
	if (r == HV_SUCCESS) {
		call = "hv_gic_config_set_redistributor_base";
		r = hv_gic_config_set_redistributor_base(config, HVP_ARM64_GICR_GPA);
	}
	if (r == HV_SUCCESS) {
		call = "hv_gic_create";
		r = hv_gic_create(config);
	}
	if (config)
		os_release(config);
	return hvf_status(call, r);
}
#endif

/* A GICv3 with its distributor and redistributors where guest_abi.h says, before any vCPU. */
struct hvp_status hvf_arch_irq_chip_create(struct hvp_vm *vm, enum hvp_irq_chip kind)
{
	(void)vm;
#ifdef HVF_HAVE_GIC
	if (kind == HVP_IRQCHIP_GICV3)
		if (HVF_MACOS_15) /* alone in its condition: what clang takes as an availability guard */
			return gic_create();
#endif
	(void)kind;
	return hvf_status("hv_gic_create", HV_UNSUPPORTED);
}

/*
 * Snapshots (state_blob.h): every register the framework gives a VMM,
 * each class in a section: X0-X30, PC, FPCR, FPSR, CPSR
 * (hv_vcpu_get_reg); Q0-Q31 (hv_vcpu_get_simd_fp_reg); the EL0/EL1 system
 * registers hv_sys_reg_t names that a guest writes (hv_vcpu_get_sys_reg);
 * and the guest's virtual counter, kept as its value at the save so that
 * a restore, by setting the offset (hv_vcpu_set_vtimer_offset), goes on
 * from there.
 */
enum { TAG_CORE = 1, TAG_SIMD, TAG_SYSREG, TAG_COUNTER };

const enum hvp_blob_kind hvf_arch_blob_kind = HVP_BLOB_HVF_ARM64;

/* hv_sys_reg_t is the register's encoding: op0 << 14 | op1 << 11 | CRn << 7 | CRm << 3 | op2. */
static const hv_sys_reg_t state_sys_regs[] = {
	0x8012, /* MDSCR_EL1 */      0xc080, /* SCTLR_EL1 */   0xc082, /* CPACR_EL1 */  0xc100, /* TTBR0_EL1 */
	0xc101, /* TTBR1_EL1 */      0xc102, /* TCR_EL1 */     0xc200, /* SPSR_EL1 */   0xc201, /* ELR_EL1 */
	0xc208, /* SP_EL0 */         0xc288, /* AFSR0_EL1 */   0xc289, /* AFSR1_EL1 */  0xc290, /* ESR_EL1 */
	0xc300, /* FAR_EL1 */        0xc3a0, /* PAR_EL1 */     0xc510, /* MAIR_EL1 */   0xc518, /* AMAIR_EL1 */
	0xc600, /* VBAR_EL1 */       0xc681, /* CONTEXTIDR_EL1 */ 0xc684, /* TPIDR_EL1 */ 0xc708, /* CNTKCTL_EL1 */
	0xd000, /* CSSELR_EL1 */     0xde82, /* TPIDR_EL0 */   0xde83, /* TPIDRRO_EL0 */ 0xdf19, /* CNTV_CTL_EL0 */
	0xdf1a, /* CNTV_CVAL_EL0 */  0xe208, /* SP_EL1 */
};
#define N_STATE_SYS_REGS (sizeof(state_sys_regs) / sizeof(state_sys_regs[0]))
#define N_CORE_REGS 35 /* X0-X30, PC, FPCR, FPSR, CPSR: hv_reg_t 0-34 */

const char *hvf_arch_state_tag_name(uint32_t tag)
{
	static const char *const names[] = { [TAG_CORE] = "core", [TAG_SIMD] = "simd", [TAG_SYSREG] = "sysregs",
					     [TAG_COUNTER] = "counter" };

	return tag < sizeof(names) / sizeof(names[0]) ? names[tag] : NULL;
}

static uint64_t host_counter(void)
{
	uint64_t now;

	__asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(now));
	return now;
}

static struct hvp_status save_simd(struct hvp_vcpu *vcpu, struct hvp_blob *b)
{
	uint8_t q[32][16];

	for (unsigned i = 0; i < 32; i++) {
		hv_simd_fp_uchar16_t v;
		hv_return_t r = hv_vcpu_get_simd_fp_reg((hv_vcpu_t)vcpu->native, HV_SIMD_FP_REG_Q0 + i, &v);
		if (r != HV_SUCCESS)
			return hvf_status("hv_vcpu_get_simd_fp_reg", r);
		memcpy(q[i], &v, sizeof(q[i]));
	}
	hvp_blob_put(b, TAG_SIMD, q, sizeof(q));
	return hvp_ok("hv_vcpu_get_simd_fp_reg");
}

/* The state as the guest left it: the exit it stopped at finished first (the PC past the access). */
struct hvp_status hvf_arch_state_save(struct hvp_vcpu *vcpu, struct hvp_blob *b)
{
	const struct hvp_exit none = { 0 };
	uint64_t core[N_CORE_REGS], sys[N_STATE_SYS_REGS], offset;
	struct hvp_status st = finish_last_exit(vcpu, &none);
	hv_return_t r;

	for (unsigned i = 0; i < N_CORE_REGS && st.err == HVP_OK; i++)
		st = reg_get(vcpu, (hv_reg_t)i, &core[i]);
	for (unsigned i = 0; i < N_STATE_SYS_REGS && st.err == HVP_OK; i++)
		st = hvf_status("hv_vcpu_get_sys_reg", hv_vcpu_get_sys_reg((hv_vcpu_t)vcpu->native, state_sys_regs[i], &sys[i]));
	if (st.err != HVP_OK)
		return st;
	hvp_blob_put(b, TAG_CORE, core, sizeof(core));
	hvp_blob_put(b, TAG_SYSREG, sys, sizeof(sys));
	if ((st = save_simd(vcpu, b)).err != HVP_OK)
		return st;
	if ((r = hv_vcpu_get_vtimer_offset((hv_vcpu_t)vcpu->native, &offset)) != HV_SUCCESS)
		return hvf_status("hv_vcpu_get_vtimer_offset", r);
	offset = host_counter() - offset; /* the guest's counter now */
	hvp_blob_put(b, TAG_COUNTER, &offset, sizeof(offset));
	return hvp_ok("hv_vcpu_get_* (vcpu state)");
}

/* A section of exactly size bytes, or NULL. */
static const void *section(const uint8_t *blob, size_t len, uint32_t tag, size_t size)
{
	uint32_t have;
	const void *data = hvp_blob_find(blob, len, tag, &have);

	return data && have == size ? data : NULL;
}

struct hvp_status hvf_arch_state_restore(struct hvp_vcpu *vcpu, const uint8_t *blob, size_t len)
{
	const void *core_p = section(blob, len, TAG_CORE, N_CORE_REGS * 8), *sys_p = section(blob, len, TAG_SYSREG, N_STATE_SYS_REGS * 8);
	const void *simd_p = section(blob, len, TAG_SIMD, 32 * 16), *counter_p = section(blob, len, TAG_COUNTER, 8);
	uint64_t core[N_CORE_REGS], sys[N_STATE_SYS_REGS], counter;
	uint8_t q[32][16];
	struct hvp_status st = hvp_ok("hv_vcpu_set_reg");

	if (!core_p || !sys_p || !simd_p || !counter_p)
		return hvf_status("snapshot", HV_BAD_ARGUMENT);
	memcpy(core, core_p, sizeof(core));
	memcpy(sys, sys_p, sizeof(sys));
	memcpy(q, simd_p, sizeof(q));
	memcpy(&counter, counter_p, sizeof(counter));
	vcpu->pending_read_reg = -1;
	vcpu->pending_pc_step = 0;
	for (unsigned i = 0; i < N_STATE_SYS_REGS && st.err == HVP_OK; i++)
		st = hvf_status("hv_vcpu_set_sys_reg", hv_vcpu_set_sys_reg((hv_vcpu_t)vcpu->native, state_sys_regs[i], sys[i]));
	for (unsigned i = 0; i < 32 && st.err == HVP_OK; i++) {
		hv_simd_fp_uchar16_t v;
		memcpy(&v, q[i], sizeof(v));
		st = hvf_status("hv_vcpu_set_simd_fp_reg", hv_vcpu_set_simd_fp_reg((hv_vcpu_t)vcpu->native, HV_SIMD_FP_REG_Q0 + i, v));
	}
	for (unsigned i = 0; i < N_CORE_REGS && st.err == HVP_OK; i++)
		st = reg_set(vcpu, (hv_reg_t)i, core[i]);
	if (st.err != HVP_OK)
		return st;
	st = hvf_status("hv_vcpu_set_vtimer_offset", hv_vcpu_set_vtimer_offset((hv_vcpu_t)vcpu->native, host_counter() - counter));
	return st.err == HVP_OK ? hvp_ok("hv_vcpu_set_* (vcpu state)") : st;
}
