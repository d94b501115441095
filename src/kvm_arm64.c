/* SPDX-License-Identifier: MIT */
/*
 * The KVM backend, arm64 part: a vCPU is made usable by KVM_ARM_VCPU_INIT
 * with the VM's preferred target (PSCI 0.2 where offered) and put at EL1 (or
 * EL0) with the guest module's translation tables and MMU on through
 * KVM_SET_ONE_REG; registers go through ONE_REG
 * one at a time; the guest-physical width is the VM type's IPA size; MMIO
 * without a valid syndrome exits as KVM_EXIT_ARM_NISV where asked for.
 * (Documentation/virt/kvm/api.rst: KVM_ARM_VCPU_INIT, KVM_SET_ONE_REG,
 * KVM_CREATE_VM's machine type, KVM_CAP_ARM_NISV_TO_USER.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpu_model.h"
#include "kvm_internal.h"

#define CORE_REG(x) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(x))
#define SYSREG_CNTKCTL_EL1 ARM64_SYS_REG(3, 0, 14, 1, 0)
#define SYSREG_VBAR_EL1 ARM64_SYS_REG(3, 0, 12, 0, 0)
#define SYSREG_SCTLR_EL1 ARM64_SYS_REG(3, 0, 1, 0, 0)
#define SYSREG_TTBR0_EL1 ARM64_SYS_REG(3, 0, 2, 0, 0)
#define SYSREG_TCR_EL1 ARM64_SYS_REG(3, 0, 2, 0, 2)
#define SYSREG_MAIR_EL1 ARM64_SYS_REG(3, 0, 10, 2, 0)
#define SYSREG_ID_AA64MMFR0_EL1 ARM64_SYS_REG(3, 0, 0, 7, 0)
#define TCR_IPS_SHIFT 32
#define TCR_IPS_MASK (7ull << TCR_IPS_SHIFT)
#define MMFR0_PARANGE_MASK 0xfull
#define CNTKCTL_EL0_COUNTERS 0x3ull /* EL0PCTEN | EL0VCTEN: EL0 may read the counters */
#define PSTATE_MODE_MASK 0xfull
#define DEFAULT_IPA_BITS 40 /* VM type 0 (api.rst, KVM_CREATE_VM) */

static int check_ext(int fd, long cap)
{
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);
	return r < 0 ? 0 : r;
}

static struct hvp_status one_reg_set(struct hvp_vcpu *vcpu, uint64_t id, uint64_t value)
{
	struct kvm_one_reg r = { .id = id, .addr = (uint64_t)(uintptr_t)&value };

	if (ioctl(vcpu->fd, KVM_SET_ONE_REG, &r) < 0)
		return kvm_status("KVM_SET_ONE_REG", errno);
	return hvp_ok("KVM_SET_ONE_REG");
}

static struct hvp_status one_reg_get(struct hvp_vcpu *vcpu, uint64_t id, uint64_t *value)
{
	struct kvm_one_reg r = { .id = id, .addr = (uint64_t)(uintptr_t)value };

	if (ioctl(vcpu->fd, KVM_GET_ONE_REG, &r) < 0)
		return kvm_status("KVM_GET_ONE_REG", errno);
	return hvp_ok("KVM_GET_ONE_REG");
}

int kvm_arch_open(struct hvp_hv *hv)
{
	hv->arch = NULL; /* nothing to keep: each vCPU asks its VM for the preferred target */
	return 0;
}

void kvm_arch_close(struct hvp_hv *hv)
{
	(void)hv;
}

unsigned kvm_arch_gpa_bits(struct hvp_hv *hv)
{
	(void)hv;
	return DEFAULT_IPA_BITS;
}

unsigned kvm_arm64_gpa_bits_max(struct hvp_hv *hv)
{
	int bits = check_ext(hv->fd, KVM_CAP_ARM_VM_IPA_SIZE);

	return bits > 0 ? (unsigned)bits : DEFAULT_IPA_BITS; /* without the capability: type 0 only */
}

/* Which vGIC versions a VM can have: a test-only device creation on a scratch VM. */
static void vgic_versions(struct hvp_hv *hv, char *out, size_t size)
{
	int vm = ioctl(hv->fd, KVM_CREATE_VM, 0);
	struct kvm_create_device v3 = { .type = KVM_DEV_TYPE_ARM_VGIC_V3, .flags = KVM_CREATE_DEVICE_TEST };
	struct kvm_create_device v2 = { .type = KVM_DEV_TYPE_ARM_VGIC_V2, .flags = KVM_CREATE_DEVICE_TEST };

	if (vm < 0) {
		snprintf(out, size, "unknown (KVM_CREATE_VM failed: %s)", strerror(errno));
		return;
	}
	snprintf(out, size, "%s%s%s", ioctl(vm, KVM_CREATE_DEVICE, &v3) == 0 ? "v3" : "",
		 ioctl(vm, KVM_CREATE_DEVICE, &v2) == 0 ? " v2" : "", "");
	if (!out[0])
		snprintf(out, size, "none");
	close(vm);
}

/* "implementer 0x41 part 0xd0c": the host CPU, from /proc/cpuinfo. */
static void cpu_id(char *out, size_t size)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256], impl[32] = "?", part[32] = "?";

	while (f && fgets(line, sizeof(line), f)) {
		sscanf(line, "CPU implementer : %31s", impl);
		sscanf(line, "CPU part : %31s", part);
	}
	if (f)
		fclose(f);
	snprintf(out, size, "implementer %s part %s", impl, part);
}

void kvm_arch_facts(struct hvp_hv *hv, struct hvp_facts *out)
{
	static const struct { const char *name; long cap; } caps[] = {
		{ "KVM_CAP_ARM_VM_IPA_SIZE", KVM_CAP_ARM_VM_IPA_SIZE },
		{ "KVM_CAP_ARM_PSCI_0_2", KVM_CAP_ARM_PSCI_0_2 },
		{ "KVM_CAP_ARM_NISV_TO_USER", KVM_CAP_ARM_NISV_TO_USER },
		{ "KVM_CAP_ARM_SVE", KVM_CAP_ARM_SVE },
		{ "KVM_CAP_ARM_PMU_V3", KVM_CAP_ARM_PMU_V3 },
		{ "KVM_CAP_ARM_PTRAUTH_ADDRESS", KVM_CAP_ARM_PTRAUTH_ADDRESS },
		{ "KVM_CAP_ARM_PTRAUTH_GENERIC", KVM_CAP_ARM_PTRAUTH_GENERIC },
		{ "KVM_CAP_ARM_EL1_32BIT", KVM_CAP_ARM_EL1_32BIT },
		{ "KVM_CAP_ARM_MTE", KVM_CAP_ARM_MTE },
	};
	struct stat st;
	char buf[96];

	hvp_facts_add(out, "gpa_bits", "%u", kvm_arch_gpa_bits(hv));
	for (unsigned i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		hvp_facts_add(out, caps[i].name, "%d", check_ext(hv->fd, caps[i].cap));
	vgic_versions(hv, buf, sizeof(buf));
	hvp_facts_add(out, "vgic", "%s", buf);
	hvp_facts_add(out, "kvm_modules", "%s", stat("/sys/module/kvm", &st) == 0 ? "kvm (arm64: built in)" : "unknown");
	cpu_id(buf, sizeof(buf));
	hvp_facts_add(out, "cpu", "%s", buf);
}

/* KVM_ARM_VCPU_INIT with the VM's preferred target; it may be repeated, and resets the vCPU. */
static struct hvp_status vcpu_init(struct hvp_vcpu *vcpu)
{
	struct kvm_vcpu_init init;

	memset(&init, 0, sizeof(init));
	if (ioctl(vcpu->vm->fd, KVM_ARM_PREFERRED_TARGET, &init) < 0)
		return kvm_status("KVM_ARM_PREFERRED_TARGET", errno);
	if (check_ext(vcpu->vm->hv->fd, KVM_CAP_ARM_PSCI_0_2))
		init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	if (vcpu->vm->arm64_sve)
		init.features[0] |= 1u << KVM_ARM_VCPU_SVE;
	if (ioctl(vcpu->fd, KVM_ARM_VCPU_INIT, &init) < 0)
		return kvm_status("KVM_ARM_VCPU_INIT", errno);
	if (vcpu->vm->arm64_sve)
		return kvm_arm64_sve_finalize(vcpu);
	return hvp_ok("KVM_ARM_VCPU_INIT");
}

/* TCR_EL1.IPS no wider than the physical addresses the vCPU implements (PARange, as the guest reads it). */
static struct hvp_status tcr_for_vcpu(struct hvp_vcpu *vcpu, uint64_t tcr, uint64_t *out)
{
	uint64_t mmfr0 = 0, pa;
	struct hvp_status st = one_reg_get(vcpu, SYSREG_ID_AA64MMFR0_EL1, &mmfr0);

	pa = mmfr0 & MMFR0_PARANGE_MASK;
	*out = pa < (tcr & TCR_IPS_MASK) >> TCR_IPS_SHIFT ? (tcr & ~TCR_IPS_MASK) | pa << TCR_IPS_SHIFT : tcr;
	return st;
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
	    (st = one_reg_set(vcpu, SYSREG_MAIR_EL1, boot->mair_el1)).err != HVP_OK ||
	    (st = one_reg_set(vcpu, SYSREG_TCR_EL1, tcr)).err != HVP_OK ||
	    (st = one_reg_set(vcpu, SYSREG_TTBR0_EL1, boot->page_table)).err != HVP_OK ||
	    (st = one_reg_set(vcpu, SYSREG_VBAR_EL1, boot->vbar_el1)).err != HVP_OK)
		return st;
	return one_reg_set(vcpu, SYSREG_SCTLR_EL1, boot->sctlr_el1);
}

struct hvp_status kvm_arch_vcpu_boot(struct hvp_vcpu *vcpu, const struct hvp_boot *boot)
{
	struct hvp_status st = vcpu_init(vcpu);

	if (st.err != HVP_OK)
		return st;
	if (boot->real_mode)
		return kvm_status("KVM_ARM_VCPU_INIT (real mode)", EINVAL);
	if ((st = el1_setup(vcpu, boot)).err != HVP_OK)
		return st;
	/* EL0 programs read the virtual counter: let EL0 reach it (CNTKCTL_EL1). */
	if (boot->ring == 3 && (st = one_reg_set(vcpu, SYSREG_CNTKCTL_EL1, CNTKCTL_EL0_COUNTERS)).err != HVP_OK)
		return st;
	return kvm_arch_regs_set(vcpu, &boot->regs);
}

/* The stack pointer of the exception level pstate names: SP_EL0 for EL0t, SP_EL1 for EL1h. */
static uint64_t sp_reg(uint64_t pstate)
{
	return (pstate & PSTATE_MODE_MASK) == 0 ? CORE_REG(regs.sp) : CORE_REG(sp_el1);
}

struct hvp_status kvm_arch_regs_get(struct hvp_vcpu *vcpu, struct hvp_regs *regs)
{
	struct hvp_status st;

	memset(regs, 0, sizeof(*regs));
	for (unsigned i = 0; i < HVP_NGPR; i++)
		if ((st = one_reg_get(vcpu, CORE_REG(regs.regs[i]), &regs->gpr[i])).err != HVP_OK)
			return st;
	if ((st = one_reg_get(vcpu, CORE_REG(regs.pc), &regs->pc)).err != HVP_OK ||
	    (st = one_reg_get(vcpu, CORE_REG(regs.pstate), &regs->flags)).err != HVP_OK)
		return st;
	return one_reg_get(vcpu, sp_reg(regs->flags), &regs->sp);
}

struct hvp_status kvm_arch_regs_set(struct hvp_vcpu *vcpu, const struct hvp_regs *regs)
{
	struct hvp_status st;

	for (unsigned i = 0; i < HVP_NGPR; i++)
		if ((st = one_reg_set(vcpu, CORE_REG(regs.regs[i]), regs->gpr[i])).err != HVP_OK)
			return st;
	if ((st = one_reg_set(vcpu, CORE_REG(regs.pstate), regs->flags)).err != HVP_OK ||
	    (st = one_reg_set(vcpu, sp_reg(regs->flags), regs->sp)).err != HVP_OK)
		return st;
	return one_reg_set(vcpu, CORE_REG(regs.pc), regs->pc);
}

/* Exits only arm64 has: a data abort without a valid syndrome, and PSCI system events. */
int kvm_arch_decode_exit(struct hvp_vcpu *vcpu, struct hvp_exit *x)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_ARM_NISV:
		x->kind = HVP_EXIT_MMIO;
		x->addr = run->arm_nisv.fault_ipa;
		x->size = 0; /* the syndrome does not say: nothing to emulate */
		x->native_detail = run->arm_nisv.esr_iss;
		return 1;
	case KVM_EXIT_SYSTEM_EVENT:
		x->kind = HVP_EXIT_SHUTDOWN;
		x->native_detail = run->system_event.type;
		return 1;
	default:
		return 0;
	}
}

/* The virtual counter runs at CNTFRQ_EL0, which the host reads as the guest does. */
uint64_t kvm_arch_tsc_khz(struct hvp_vcpu *vcpu)
{
	uint64_t hz;

	(void)vcpu;
	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(hz));
	return hz / 1000;
}

/* Setting the virtual counter's value moves the VM's counter offset (api.rst, KVM_REG_ARM_TIMER_CNT). */
struct hvp_status kvm_arm64_counter_set(struct hvp_vcpu *vcpu, uint64_t value)
{
	return one_reg_set(vcpu, KVM_REG_ARM_TIMER_CNT, value);
}

struct hvp_status kvm_arm64_vm_create_sized(struct hvp_hv *hv, unsigned bits, struct hvp_vm **out)
{
	return kvm_vm_create_type(hv, KVM_VM_TYPE_ARM_IPA_SIZE(bits), out);
}

struct hvp_status kvm_arm64_nisv_to_user(struct hvp_vm *vm)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_NISV_TO_USER };

	if (ioctl(vm->fd, KVM_ENABLE_CAP, &cap) < 0)
		return kvm_status("KVM_ENABLE_CAP(KVM_CAP_ARM_NISV_TO_USER)", errno);
	return hvp_ok("KVM_ENABLE_CAP(KVM_CAP_ARM_NISV_TO_USER)");
}

struct hvp_status kvm_arm64_sysreg_get(struct hvp_vcpu *vcpu, uint16_t enc, uint64_t *value)
{
	return one_reg_get(vcpu, hvp_model_kvm_reg_id(enc), value);
}

struct hvp_status kvm_arm64_sysreg_set(struct hvp_vcpu *vcpu, uint16_t enc, uint64_t value)
{
	return one_reg_set(vcpu, hvp_model_kvm_reg_id(enc), value);
}

/* Newer than Linux 6.1's headers; the numbers are ABI (api.rst, KVM_ARM_GET_REG_WRITABLE_MASKS). */
#define HVP_CAP_ARM_SUPPORTED_REG_MASK_RANGES 230
struct hvp_reg_mask_range {
	uint64_t addr;
	uint32_t range;
	uint32_t reserved[13];
};
#define HVP_ARM_GET_REG_WRITABLE_MASKS _IOR(KVMIO, 0xb6, struct hvp_reg_mask_range)
#define HVP_FEATURE_ID_RANGE_SIZE (3 * 8 * 8)

/* Index of an ID register (op0 3, CRn 0) in the feature-ID range: op1 {0, 1, 3} -> {0, 1, 2}, CRm, op2. */
static unsigned id_range_index(uint16_t enc)
{
	unsigned op1 = enc >> 11 & 7, crm = enc >> 3 & 15, op2 = enc & 7;

	op1 &= 3;
	op1 -= op1 == 3;
	return op1 << 6 | (crm & 7) << 3 | op2;
}

/* The fields of each ID register a VMM may change, where the kernel says (not Linux 6.1). */
static void writable_masks(struct hvp_hv *hv, int vm, struct hvp_cpu_model *out)
{
	uint64_t masks[HVP_FEATURE_ID_RANGE_SIZE] = { 0 };
	struct hvp_reg_mask_range range = { .addr = (uint64_t)(uintptr_t)masks, .range = 0 };

	if (!(check_ext(hv->fd, HVP_CAP_ARM_SUPPORTED_REG_MASK_RANGES) & 1)) {
		snprintf(out->note, sizeof(out->note), "no writable masks: KVM_CAP_ARM_SUPPORTED_REG_MASK_RANGES is absent "
			 "(Linux 6.1 has no KVM_ARM_GET_REG_WRITABLE_MASKS; there only ID_AA64PFR0_EL1.CSV2 and CSV3 "
			 "may be changed)");
		return;
	}
	if (ioctl(vm, HVP_ARM_GET_REG_WRITABLE_MASKS, &range) < 0) {
		snprintf(out->note, sizeof(out->note), "no writable masks: KVM_ARM_GET_REG_WRITABLE_MASKS failed with %s",
			 strerror(errno));
		return;
	}
	out->has_writable = true;
	for (unsigned i = 0; i < out->n_regs; i++)
		out->reg[i].writable = masks[id_range_index(out->reg[i].enc)];
}

/*
 * The vCPU features a VMM can ask for that change the ID registers (SVE,
 * pointer authentication, PMUv3), each where its capability is offered:
 * the model is the most the API gives. SVE needs finalizing before its
 * registers read.
 */
static int init_with_features(struct hvp_hv *hv, int vm, int vcpu, char *named, size_t size)
{
	static const struct { long cap; unsigned feature; const char *name; } opt[] = {
		{ KVM_CAP_ARM_PSCI_0_2, KVM_ARM_VCPU_PSCI_0_2, "psci_0_2" },
		{ KVM_CAP_ARM_PMU_V3, KVM_ARM_VCPU_PMU_V3, "pmu_v3" },
		{ KVM_CAP_ARM_SVE, KVM_ARM_VCPU_SVE, "sve" },
		{ KVM_CAP_ARM_PTRAUTH_ADDRESS, KVM_ARM_VCPU_PTRAUTH_ADDRESS, "ptrauth_address" },
		{ KVM_CAP_ARM_PTRAUTH_GENERIC, KVM_ARM_VCPU_PTRAUTH_GENERIC, "ptrauth_generic" },
	};
	struct kvm_vcpu_init init;
	size_t len = 0;
	int sve = 0;

	memset(&init, 0, sizeof(init));
	if (ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init) < 0)
		return -1;
	named[0] = '\0';
	for (unsigned i = 0; i < sizeof(opt) / sizeof(opt[0]); i++)
		if (check_ext(hv->fd, opt[i].cap) > 0) {
			init.features[0] |= 1u << opt[i].feature;
			sve |= opt[i].feature == KVM_ARM_VCPU_SVE;
			if (len < size)
				len += (size_t)snprintf(named + len, size - len, "%s%s", len ? " " : "", opt[i].name);
		}
	if (ioctl(vcpu, KVM_ARM_VCPU_INIT, &init) < 0)
		return -1;
	if (sve) {
		int what = KVM_ARM_VCPU_SVE;
		if (ioctl(vcpu, KVM_ARM_VCPU_FINALIZE, &what) < 0)
			return -1;
	}
	return 0;
}

/* The model: the ID registers of a fresh vCPU of a scratch VM, with every optional feature asked for. */
struct hvp_status kvm_arm64_cpu_model(struct hvp_hv *hv, struct hvp_cpu_model *out)
{
	struct hvp_status st = hvp_ok("KVM_GET_ONE_REG");
	int vm, vcpu = -1;
	char features[96];

	memset(out, 0, sizeof(*out));
	snprintf(out->arch, sizeof(out->arch), "arm64");
	if ((vm = ioctl(hv->fd, KVM_CREATE_VM, 0)) < 0)
		return kvm_status("KVM_CREATE_VM", errno);
	if ((vcpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0)
		st = kvm_status("KVM_CREATE_VCPU", errno);
	else if (init_with_features(hv, vm, vcpu, features, sizeof(features)))
		st = kvm_status("KVM_ARM_VCPU_INIT", errno);
	for (unsigned i = 0; st.err == HVP_OK && i < hvp_model_n_id_regs; i++) {
		uint64_t v;
		struct kvm_one_reg r = { .id = hvp_model_kvm_reg_id(hvp_model_id_regs[i]), .addr = (uint64_t)(uintptr_t)&v };
		if (ioctl(vcpu, KVM_GET_ONE_REG, &r) < 0)
			st = kvm_status("KVM_GET_ONE_REG", errno);
		else
			out->reg[out->n_regs++] = (struct hvp_model_reg){ .enc = hvp_model_id_regs[i], .value = v };
	}
	if (st.err == HVP_OK) {
		out->present = true;
		snprintf(out->source, sizeof(out->source), "KVM_GET_ONE_REG on a vCPU initialized with %s",
			 features[0] ? features : "no optional features");
		writable_masks(hv, vm, out);
	}
	if (vcpu >= 0)
		close(vcpu);
	close(vm);
	return st;
}

/* For snapshots (kvm_arm64_state.c): a vCPU initialized as vcpu_boot does, before its registers are restored. */
struct hvp_status kvm_arm64_vcpu_init(struct hvp_vcpu *vcpu)
{
	return vcpu_init(vcpu);
}
