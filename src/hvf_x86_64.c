/* SPDX-License-Identifier: MIT */
/*
 * The Hypervisor.framework backend, x86_64 part (Intel Macs). The VMM owns
 * the VMCS: controls are computed from hv_vmx_read_capability (the bits the
 * CPU requires set, those it allows), the vCPU enters 64-bit long mode (or
 * real mode) through VMCS writes, as Apple's own hvtest_x86 does, and every
 * exit is decoded here from the exit reason and qualification: port I/O,
 * an EPT violation (MMIO: the framework does not decode the instruction, so
 * the few MOV forms hvprobe's guests use are, by hvf_x86_64_mov.c), HLT, VMCALL,
 * MSR accesses, a failed entry (bit 31). CPUID is not emulated: the guest
 * sees a CPUID exit, and the CPUID probes say the API has no table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef __APPLE__
#include <sys/sysctl.h>
#endif

#include "guest_abi.h"
#include "cpu_model.h"
#include "hvf_internal.h"
#include "hvf_x86_64_mov.h"

#define CR0_PE (1ull << 0)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define CR4_VMXE (1ull << 13)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define AR_UNUSABLE 0x10000ull
#define MSR_KERNEL_GS_BASE 0xc0000102u
#define MAX_INSN_BYTES 15 /* the longest x86 instruction */
#define KICK_PAUSE_NS 100000 /* between a kick's interrupts: 0.1 ms, ... */
#define KICK_RETRIES 10000   /* ... for at most 1 s */

static struct hvp_status vmcs_write(struct hvp_vcpu *vcpu, uint32_t field, uint64_t value)
{
	return hvf_status("hv_vmx_vcpu_write_vmcs", hv_vmx_vcpu_write_vmcs((hv_vcpuid_t)vcpu->native, field, value));
}

static uint64_t vmcs_read(struct hvp_vcpu *vcpu, uint32_t field)
{
	uint64_t v = 0;

	hv_vmx_vcpu_read_vmcs((hv_vcpuid_t)vcpu->native, field, &v);
	return v;
}

static struct hvp_status reg_write(struct hvp_vcpu *vcpu, hv_x86_reg_t reg, uint64_t value)
{
	return hvf_status("hv_vcpu_write_register", hv_vcpu_write_register((hv_vcpuid_t)vcpu->native, reg, value));
}

static uint64_t reg_read(struct hvp_vcpu *vcpu, hv_x86_reg_t reg)
{
	uint64_t v = 0;

	hv_vcpu_read_register((hv_vcpuid_t)vcpu->native, reg, &v);
	return v;
}

/* A control value the CPU accepts: the bits it requires (low half) or allows (high half). */
static uint64_t cap2ctrl(hv_vmx_capability_t cap, uint64_t want)
{
	uint64_t c = 0;

	hv_vmx_read_capability(cap, &c);
	return (want | (c & 0xffffffff)) & (c >> 32);
}

static unsigned host_maxphyaddr(void)
{
	unsigned a, b, c, d;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000008u), "c"(0));
	return a & 0xff;
}

unsigned hvf_arch_gpa_bits(void)
{
	return host_maxphyaddr();
}

unsigned hvf_arch_gpa_bits_max(void)
{
	return 0; /* fixed: the host's */
}

struct hvp_status hvf_arch_vm_create(struct hvp_vm *vm, unsigned gpa_bits)
{
	if (gpa_bits)
		return hvf_status("hv_vm_create (width)", HV_UNSUPPORTED);
	vm->gpa_bits = host_maxphyaddr();
	return hvf_status("hv_vm_create", hv_vm_create(HV_VM_DEFAULT));
}

void hvf_arch_facts(struct hvp_facts *out)
{
	uint64_t v = 0;

	if (hv_capability(HV_CAP_VCPUMAX, &v) == HV_SUCCESS)
		hvp_facts_add(out, "HV_CAP_VCPUMAX", "%llu", (unsigned long long)v);
	if (hv_capability(HV_CAP_ADDRSPACEMAX, &v) == HV_SUCCESS)
		hvp_facts_add(out, "HV_CAP_ADDRSPACEMAX", "%llu", (unsigned long long)v);
	hvp_facts_add(out, "gpa_bits", "%u", host_maxphyaddr());
}

/* Controls as Apple's hvtest_x86 and QEMU set them: HLT and CR8 exiting, unrestricted guest, every exception. */
struct hvp_status hvf_arch_vcpu_create(struct hvp_vcpu *vcpu)
{
	hv_vcpuid_t id = 0;
	hv_return_t r = hv_vcpu_create(&id, HV_VCPU_DEFAULT);
	struct hvp_status st;

	vcpu->native = id;
	if (r != HV_SUCCESS)
		return hvf_status("hv_vcpu_create", r);
	if ((st = vmcs_write(vcpu, VMCS_CTRL_PIN_BASED, cap2ctrl(HV_VMX_CAP_PINBASED, 0))).err != HVP_OK ||
	    (st = vmcs_write(vcpu, VMCS_CTRL_CPU_BASED,
			     cap2ctrl(HV_VMX_CAP_PROCBASED, CPU_BASED_HLT | CPU_BASED_CR8_LOAD | CPU_BASED_CR8_STORE |
								    CPU_BASED_SECONDARY_CTLS))).err != HVP_OK ||
	    (st = vmcs_write(vcpu, VMCS_CTRL_CPU_BASED2,
			     cap2ctrl(HV_VMX_CAP_PROCBASED2, CPU_BASED2_EPT | CPU_BASED2_UNRESTRICTED))).err != HVP_OK ||
	    (st = vmcs_write(vcpu, VMCS_CTRL_VMEXIT_CONTROLS, cap2ctrl(HV_VMX_CAP_EXIT, 0))).err != HVP_OK ||
	    (st = vmcs_write(vcpu, VMCS_CTRL_EXC_BITMAP, 0xffffffff)).err != HVP_OK)
		return st;
	/* hvtest_x86: the framework wants this MSR native for 64-bit guests. */
	return hvf_status("hv_vcpu_enable_native_msr", hv_vcpu_enable_native_msr(id, MSR_KERNEL_GS_BASE, true));
}

struct hvp_status hvf_arch_vcpu_destroy(struct hvp_vcpu *vcpu)
{
	return hvf_status("hv_vcpu_destroy", hv_vcpu_destroy((hv_vcpuid_t)vcpu->native));
}

struct seg {
	uint32_t sel, base, limit, ar;
};

static struct hvp_status segments(struct hvp_vcpu *vcpu, struct seg cs, struct seg ds, struct seg tr)
{
	static const uint32_t data[][4] = {
		{ VMCS_GUEST_DS, VMCS_GUEST_DS_BASE, VMCS_GUEST_DS_LIMIT, VMCS_GUEST_DS_AR },
		{ VMCS_GUEST_ES, VMCS_GUEST_ES_BASE, VMCS_GUEST_ES_LIMIT, VMCS_GUEST_ES_AR },
		{ VMCS_GUEST_FS, VMCS_GUEST_FS_BASE, VMCS_GUEST_FS_LIMIT, VMCS_GUEST_FS_AR },
		{ VMCS_GUEST_GS, VMCS_GUEST_GS_BASE, VMCS_GUEST_GS_LIMIT, VMCS_GUEST_GS_AR },
		{ VMCS_GUEST_SS, VMCS_GUEST_SS_BASE, VMCS_GUEST_SS_LIMIT, VMCS_GUEST_SS_AR },
	};
	const uint32_t fields[][4] = {
		{ VMCS_GUEST_CS, cs.sel, 0, 0 },  { VMCS_GUEST_CS_BASE, cs.base, 0, 0 },
		{ VMCS_GUEST_CS_LIMIT, cs.limit, 0, 0 }, { VMCS_GUEST_CS_AR, cs.ar, 0, 0 },
		{ VMCS_GUEST_TR, tr.sel, 0, 0 },  { VMCS_GUEST_TR_BASE, tr.base, 0, 0 },
		{ VMCS_GUEST_TR_LIMIT, tr.limit, 0, 0 }, { VMCS_GUEST_TR_AR, tr.ar, 0, 0 },
		{ VMCS_GUEST_LDTR, 0, 0, 0 },     { VMCS_GUEST_LDTR_BASE, 0, 0, 0 },
		{ VMCS_GUEST_LDTR_LIMIT, 0, 0, 0 }, { VMCS_GUEST_LDTR_AR, AR_UNUSABLE, 0, 0 },
	};
	struct hvp_status st = hvp_ok("hv_vmx_vcpu_write_vmcs");

	for (unsigned i = 0; i < sizeof(fields) / sizeof(fields[0]) && st.err == HVP_OK; i++)
		st = vmcs_write(vcpu, fields[i][0], fields[i][1]);
	for (unsigned i = 0; i < sizeof(data) / sizeof(data[0]) && st.err == HVP_OK; i++)
		if ((st = vmcs_write(vcpu, data[i][0], ds.sel)).err == HVP_OK &&
		    (st = vmcs_write(vcpu, data[i][1], ds.base)).err == HVP_OK &&
		    (st = vmcs_write(vcpu, data[i][2], ds.limit)).err == HVP_OK)
			st = vmcs_write(vcpu, data[i][3], ds.ar);
	return st;
}

/* Control registers with VMXE hidden from the guest by the CR4 mask and shadow, as QEMU does. */
static struct hvp_status control_regs(struct hvp_vcpu *vcpu, uint64_t cr0, uint64_t cr4, uint64_t efer, uint64_t cr3,
				      int ia32e)
{
	struct hvp_status st;
	const uint64_t fields[][2] = {
		{ VMCS_GUEST_CR0, cr0 },       { VMCS_CTRL_CR0_MASK, ~0ull },    { VMCS_CTRL_CR0_SHADOW, cr0 },
		{ VMCS_GUEST_CR4, cr4 | CR4_VMXE }, { VMCS_CTRL_CR4_MASK, ~0ull }, { VMCS_CTRL_CR4_SHADOW, cr4 },
		{ VMCS_GUEST_IA32_EFER, efer }, { VMCS_GUEST_CR3, cr3 },
		{ VMCS_CTRL_VMENTRY_CONTROLS, cap2ctrl(HV_VMX_CAP_ENTRY, ia32e ? VMENTRY_GUEST_IA32E : 0) },
	};

	for (unsigned i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if ((st = vmcs_write(vcpu, (uint32_t)fields[i][0], fields[i][1])).err != HVP_OK)
			return st;
	return hvp_ok("hv_vmx_vcpu_write_vmcs");
}

struct hvp_status hvf_arch_vcpu_boot(struct hvp_vcpu *vcpu, const struct hvp_boot *boot)
{
	struct hvp_status st;
	int user = boot->ring == 3;

	if (boot->real_mode) {
		struct seg cs = { (uint32_t)(boot->entry >> 4), (uint32_t)(boot->entry & ~0xfull), 0xffff, 0x9b };
		struct seg ds = { 0, 0, 0xffff, 0x93 }, tr = { 0, 0, 0xffff, 0x83 };
		if ((st = control_regs(vcpu, CR0_NE | CR0_ET, 0, 0, 0, 0)).err != HVP_OK ||
		    (st = segments(vcpu, cs, ds, tr)).err != HVP_OK)
			return st;
	} else {
		struct seg cs = { user ? 0x33u : 0x08u, 0, 0xffffffff, user ? 0xa0fbu : 0xa09bu };
		struct seg ds = { user ? 0x2bu : 0x10u, 0, 0xffffffff, user ? 0xc0f3u : 0xc093u };
		struct seg tr = { 0x18, HVP_SYS_TSS, 0x67, 0x8b };
		if ((st = control_regs(vcpu, CR0_PG | CR0_NE | CR0_ET | CR0_PE, CR4_PAE, EFER_LME | EFER_LMA,
				       boot->page_table, 1)).err != HVP_OK ||
		    (st = segments(vcpu, cs, ds, tr)).err != HVP_OK)
			return st;
	}
	if ((st = vmcs_write(vcpu, VMCS_GUEST_GDTR_BASE, boot->gdt)).err != HVP_OK ||
	    (st = vmcs_write(vcpu, VMCS_GUEST_GDTR_LIMIT, boot->gdt_limit)).err != HVP_OK ||
	    (st = vmcs_write(vcpu, VMCS_GUEST_IDTR_BASE, 0)).err != HVP_OK ||
	    (st = vmcs_write(vcpu, VMCS_GUEST_IDTR_LIMIT, boot->real_mode ? 0x3ff : 0)).err != HVP_OK)
		return st;
	return hvf_arch_regs_set(vcpu, &boot->regs);
}

static const hv_x86_reg_t gpr_map[16] = {
	HV_X86_RAX, HV_X86_RCX, HV_X86_RDX, HV_X86_RBX, HV_X86_RSP, HV_X86_RBP, HV_X86_RSI, HV_X86_RDI,
	HV_X86_R8,  HV_X86_R9,  HV_X86_R10, HV_X86_R11, HV_X86_R12, HV_X86_R13, HV_X86_R14, HV_X86_R15,
};

struct hvp_status hvf_arch_regs_set(struct hvp_vcpu *vcpu, const struct hvp_regs *regs)
{
	struct hvp_status st;

	vcpu->pending_read_reg = -1;
	vcpu->pending_read_shift = 0;
	vcpu->pending_pc_step = 0;
	for (unsigned i = 0; i < 16; i++)
		if (i != HVP_X86_RSP && (st = reg_write(vcpu, gpr_map[i], regs->gpr[i])).err != HVP_OK)
			return st;
	if ((st = reg_write(vcpu, HV_X86_RSP, regs->sp)).err != HVP_OK ||
	    (st = reg_write(vcpu, HV_X86_RFLAGS, regs->flags)).err != HVP_OK)
		return st;
	return reg_write(vcpu, HV_X86_RIP, regs->pc);
}

struct hvp_status hvf_arch_regs_get(struct hvp_vcpu *vcpu, struct hvp_regs *regs)
{
	uint64_t v = 0;
	hv_return_t r;

	memset(regs, 0, sizeof(*regs));
	for (unsigned i = 0; i < 16; i++) {
		if ((r = hv_vcpu_read_register((hv_vcpuid_t)vcpu->native, gpr_map[i], &v)) != HV_SUCCESS)
			return hvf_status("hv_vcpu_read_register", r);
		regs->gpr[i] = v;
	}
	regs->sp = regs->gpr[HVP_X86_RSP];
	regs->pc = reg_read(vcpu, HV_X86_RIP);
	regs->flags = reg_read(vcpu, HV_X86_RFLAGS);
	return hvp_ok("hv_vcpu_read_register");
}

/*
 * Host bytes behind guest-physical gpa (identity paging: RIP is one), at
 * most *n of them, as many as its map holds (*n is cut to that), or NULL.
 */
static const uint8_t *guest_bytes(const struct hvp_vcpu *vcpu, uint64_t gpa, size_t *n)
{
	const struct hvf_map *m = hvf_map_at(vcpu->vm, gpa, 1);

	if (!m)
		return NULL;
	if (*n > m->gpa + m->size - gpa)
		*n = (size_t)(m->gpa + m->size - gpa);
	return m->host + (gpa - m->gpa);
}

/*
 * An EPT violation is an MMIO exit. The framework does not decode the
 * instruction, so the MOV forms hvprobe's guests use are decoded here
 * (hvf_x86_64_mov.c); any other access is an exit of size 0.
 */
static struct hvp_status decode_ept(struct hvp_vcpu *vcpu, struct hvp_exit *x)
{
	size_t n = MAX_INSN_BYTES;
	const uint8_t *p = guest_bytes(vcpu, reg_read(vcpu, HV_X86_RIP), &n);
	struct hvf_mov m = p ? hvf_x86_decode_mov(p, n) : (struct hvf_mov){ 0 };

	x->kind = HVP_EXIT_MMIO;
	x->addr = vmcs_read(vcpu, VMCS_GUEST_PHYSICAL_ADDRESS);
	x->native_detail = vmcs_read(vcpu, VMCS_RO_EXIT_QUALIFIC);
	x->size = m.len ? m.size : 0;
	if (!m.len)
		return hvp_ok("hv_vcpu_run_until");
	x->write = m.store;
	vcpu->pending_pc_step = m.len;
	if (m.store)
		x->value = hvf_x86_mov_stored(&m, reg_read(vcpu, gpr_map[m.reg]));
	else {
		vcpu->pending_read_reg = (int)m.reg;
		vcpu->pending_read_shift = m.shift;
	}
	return hvp_ok("hv_vcpu_run_until");
}

static void decode_io(struct hvp_vcpu *vcpu, struct hvp_exit *x)
{
	uint64_t q = vmcs_read(vcpu, VMCS_RO_EXIT_QUALIFIC);

	x->kind = HVP_EXIT_IO;
	x->size = (uint32_t)(q & 7) + 1;
	x->write = !(q & 8);
	x->addr = (q >> 16) & 0xffff;
	x->native_detail = q;
	vcpu->pending_pc_step = vmcs_read(vcpu, VMCS_RO_VMEXIT_INSTR_LEN);
	if (x->write)
		x->value = reg_read(vcpu, HV_X86_RAX) & (x->size == 4 ? 0xffffffffull : (1ull << (8 * x->size)) - 1);
	else {
		vcpu->pending_read_reg = HVP_X86_RAX;
		vcpu->pending_read_shift = 0;
	}
}

/* What the last exit left: the value a read returns (merged into the register's low bytes), and the step. */
static struct hvp_status finish_last_exit(struct hvp_vcpu *vcpu, const struct hvp_exit *x, uint32_t read_size)
{
	struct hvp_status st = hvp_ok("hv_vcpu_run_until");

	if (vcpu->pending_read_reg >= 0) {
		hv_x86_reg_t r = gpr_map[vcpu->pending_read_reg & 15];
		st = reg_write(vcpu, r, hvf_x86_loaded(reg_read(vcpu, r), x->value, read_size, vcpu->pending_read_shift));
	}
	vcpu->pending_read_reg = -1;
	vcpu->pending_read_shift = 0;
	if (st.err == HVP_OK && vcpu->pending_pc_step)
		st = reg_write(vcpu, HV_X86_RIP, reg_read(vcpu, HV_X86_RIP) + vcpu->pending_pc_step);
	vcpu->pending_pc_step = 0;
	return st;
}

/*
 * An EPT violation on memory mapped with the access it made: one that
 * hv_vcpu_run (before hv_vcpu_run_until) reports although the framework
 * handled it. The qualification's bits 0-2 say read, write, fetch.
 */
static int ept_spurious(struct hvp_vcpu *vcpu)
{
	uint64_t gpa = vmcs_read(vcpu, VMCS_GUEST_PHYSICAL_ADDRESS), q = vmcs_read(vcpu, VMCS_RO_EXIT_QUALIFIC);
	unsigned want = (q & 1 ? HVP_PROT_READ : 0) | (q & 2 ? HVP_PROT_WRITE : 0) | (q & 4 ? HVP_PROT_EXEC : 0);
	const struct hvf_map *m = hvf_map_at(vcpu->vm, gpa, 1);

	return m && (m->prot & want) == want;
}

/*
 * hv_vcpu_run_until (macOS 10.15) returns only on exits the VMM must see;
 * before it, hv_vcpu_run also returns on exits handled transparently (which
 * then show up as IRQ or spurious EPT exits, and the loop goes on).
 */
static hv_return_t run_once(struct hvp_vcpu *vcpu)
{
#ifdef __APPLE__
	if (__builtin_available(macOS 10.15, *))
		return hv_vcpu_run_until((hv_vcpuid_t)vcpu->native, HV_DEADLINE_FOREVER);
	return hv_vcpu_run((hv_vcpuid_t)vcpu->native);
#else
	return hv_vcpu_run_until((hv_vcpuid_t)vcpu->native, HV_DEADLINE_FOREVER);
#endif
}

/* The exit record of a VM exit the VMM must see. */
static struct hvp_status decode_exit(struct hvp_vcpu *vcpu, struct hvp_exit *x, uint64_t reason)
{
	if (reason & (1ull << 31)) { /* the entry failed: invalid guest state */
		x->kind = HVP_EXIT_INTERNAL_ERROR;
		x->native_detail = vmcs_read(vcpu, VMCS_RO_INSTR_ERROR);
		return hvp_ok("hv_vcpu_run_until");
	}
	switch (reason & 0xffff) {
	case VMX_REASON_IO:
		decode_io(vcpu, x);
		return hvp_ok("hv_vcpu_run_until");
	case VMX_REASON_EPT_VIOLATION:
		return decode_ept(vcpu, x);
	case VMX_REASON_HLT:
		x->kind = HVP_EXIT_HLT;
		vcpu->pending_pc_step = vmcs_read(vcpu, VMCS_RO_VMEXIT_INSTR_LEN);
		return hvp_ok("hv_vcpu_run_until");
	case VMX_REASON_VMCALL:
		x->kind = HVP_EXIT_HYPERCALL;
		x->value = reg_read(vcpu, HV_X86_RAX);
		vcpu->pending_pc_step = vmcs_read(vcpu, VMCS_RO_VMEXIT_INSTR_LEN);
		return hvp_ok("hv_vcpu_run_until");
	case VMX_REASON_RDMSR:
	case VMX_REASON_WRMSR:
		x->kind = HVP_EXIT_MSR;
		x->addr = reg_read(vcpu, HV_X86_RCX) & 0xffffffff;
		x->write = (reason & 0xffff) == VMX_REASON_WRMSR;
		x->size = 8;
		vcpu->pending_pc_step = vmcs_read(vcpu, VMCS_RO_VMEXIT_INSTR_LEN);
		return hvp_ok("hv_vcpu_run_until");
	case VMX_REASON_TRIPLE_FAULT:
		x->kind = HVP_EXIT_SHUTDOWN;
		return hvp_ok("hv_vcpu_run_until");
	default: /* CPUID, an exception, ...: the native reason says which */
		x->kind = HVP_EXIT_UNKNOWN;
		return hvp_ok("hv_vcpu_run_until");
	}
}

/*
 * Runs until an exit the VMM must see, or a kick. An IRQ exit is a host
 * interrupt's (the run goes on) unless a kick is pending; a kick made before
 * the run entered the guest ends it before it enters, since the interrupt
 * that came with it may have been lost. *runs counts the run calls made.
 */
static hv_return_t run_to_exit(struct hvp_vcpu *vcpu, uint64_t *reason, int *kicked, unsigned *runs)
{
	for (;;) {
		hv_return_t r;
		if ((*kicked = __atomic_exchange_n(&vcpu->kick_pending, 0, __ATOMIC_SEQ_CST)))
			return HV_SUCCESS;
		++*runs;
		if ((r = run_once(vcpu)) != HV_SUCCESS)
			return r;
		*reason = vmcs_read(vcpu, VMCS_RO_EXIT_REASON);
		if ((*reason & 0xffff) == VMX_REASON_EPT_VIOLATION && ept_spurious(vcpu))
			continue;
		if ((*reason & 0xffff) != VMX_REASON_IRQ)
			return HV_SUCCESS;
	}
}

struct hvp_status hvf_arch_vcpu_run(struct hvp_vcpu *vcpu, struct hvp_exit *x)
{
	struct hvp_status st = finish_last_exit(vcpu, x, x->size);
	uint64_t reason = 0;
	unsigned runs = 0;
	int kicked = 0;
	hv_return_t r;

	memset(x, 0, sizeof(*x));
	if (st.err != HVP_OK)
		return st;
	__atomic_store_n(&vcpu->in_run, 1, __ATOMIC_SEQ_CST); /* before the kick is looked for: see the kick */
	r = run_to_exit(vcpu, &reason, &kicked, &runs);
	__atomic_store_n(&vcpu->in_run, 0, __ATOMIC_SEQ_CST);
	x->native_reason = reason;
	if (r != HV_SUCCESS) {
		x->kind = HVP_EXIT_INTERNAL_ERROR;
		return hvf_status("hv_vcpu_run_until", r);
	}
	if (!kicked)
		return decode_exit(vcpu, x, reason);
	x->kind = HVP_EXIT_INTERRUPTED;
	st = hvp_ok("hv_vcpu_run_until");
	st.unmade = runs == 0; /* no run call was made */
	return st;
}

/* A run is under way that has not taken the pending kick. */
static int kick_untaken(struct hvp_vcpu *vcpu)
{
	return __atomic_load_n(&vcpu->in_run, __ATOMIC_SEQ_CST) && __atomic_load_n(&vcpu->kick_pending, __ATOMIC_SEQ_CST);
}

/*
 * hv_vcpu_interrupt may be called from any thread, but Apple does not say
 * that it reaches a vCPU that is not in the guest yet: it forces an exit of
 * one that is. So the kick is a flag first, which tells the kick's exit
 * from a host interrupt's too: a run that has not looked for it yet sees it
 * and returns at once (in_run is set before it looks); one that may have
 * looked already is interrupted again until it has taken the flag or
 * returned, for at most KICK_RETRIES pauses.
 */
struct hvp_status hvf_arch_vcpu_kick(struct hvp_vcpu *vcpu)
{
	const struct timespec pause = { 0, KICK_PAUSE_NS };
	hv_vcpuid_t id = (hv_vcpuid_t)vcpu->native;
	hv_return_t r;

	__atomic_store_n(&vcpu->kick_pending, 1, __ATOMIC_SEQ_CST);
	r = hv_vcpu_interrupt(&id, 1);
	for (unsigned i = 0; r == HV_SUCCESS && i < KICK_RETRIES && kick_untaken(vcpu); i++) {
		nanosleep(&pause, NULL);
		r = hv_vcpu_interrupt(&id, 1);
	}
	return hvf_status("hv_vcpu_interrupt", r);
}

/* hv_vm_sync_tsc sets every vCPU's TSC in the VM to the value. */
struct hvp_status hvf_arch_tsc_set(struct hvp_vcpu *vcpu, uint64_t value)
{
	(void)vcpu;
	return hvf_status("hv_vm_sync_tsc", hv_vm_sync_tsc(value));
}

uint64_t hvf_arch_tsc_khz(void)
{
#ifdef __APPLE__
	uint64_t hz = 0;
	size_t n = sizeof(hz);
	return sysctlbyname("machdep.tsc.frequency", &hz, &n, NULL, 0) == 0 ? hz / 1000 : 0;
#else
	return 0;
#endif
}

static void host_cpuid_count(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

/* Leaves whose subleaf matters (Intel SDM vol. 2A, CPUID): caches, features, topology, XSAVE. */
static unsigned subleaves(uint32_t leaf)
{
	return leaf == 4 || leaf == 0xb ? 4 : leaf == 7 ? 2 : leaf == 0xd ? 19 : 1;
}

static void add_leaves(struct hvp_cpu_model *out, uint32_t first)
{
	uint32_t r[4];

	host_cpuid_count(first, 0, r);
	for (uint32_t leaf = first; leaf <= r[0] && leaf - first < 0x40; leaf++)
		for (uint32_t sub = 0; sub < subleaves(leaf) && out->n_cpuid < HVP_MODEL_CPUID_MAX; sub++) {
			struct hvp_model_cpuid *e = &out->cpuid[out->n_cpuid++];
			*e = (struct hvp_model_cpuid){ .leaf = leaf, .subleaf = sub, .flags = subleaves(leaf) > 1 };
			host_cpuid_count(leaf, sub, e->reg);
		}
}

/*
 * CPUID always exits to the VMM here (the framework has no table): the
 * model is the host CPU's CPUID, which a VMM passes on or reduces itself,
 * and the VMX controls the framework allows (hv_vmx_read_capability), kept
 * as the VMX capability MSRs they correspond to (Intel SDM vol. 3, A.3-A.5).
 */
struct hvp_status hvf_arch_cpu_model(struct hvp_vcpu *vcpu, struct hvp_cpu_model *out)
{
	static const struct { hv_vmx_capability_t cap; uint32_t msr; } caps[] = {
		{ HV_VMX_CAP_PINBASED, 0x481 }, { HV_VMX_CAP_PROCBASED, 0x482 }, { HV_VMX_CAP_EXIT, 0x483 },
		{ HV_VMX_CAP_ENTRY, 0x484 },    { HV_VMX_CAP_PROCBASED2, 0x48b },
	};

	(void)vcpu;
	snprintf(out->arch, sizeof(out->arch), "x86_64");
	snprintf(out->source, sizeof(out->source), "the host CPU's CPUID (HVF has no CPUID table), hv_vmx_read_capability");
	add_leaves(out, 0);
	add_leaves(out, 0x80000000u);
	for (unsigned i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		uint64_t v;
		if (hv_vmx_read_capability(caps[i].cap, &v) == HV_SUCCESS)
			out->msr[out->n_msrs++] = (struct hvp_model_msr){ caps[i].msr, v };
	}
	out->present = true;
	return hvp_ok("hv_vmx_read_capability");
}

/*
 * Interrupts: Hypervisor.framework on x86 has no interrupt controller,
 * irqfd, routing or doorbell of its own (-1: no such call at all); the VMM
 * injects an event itself through the VMCS.
 */
int64_t hvf_arch_irq_feature(enum hvp_irq_feature feature, const char **name)
{
	if (feature == HVP_FEAT_USER_INJECT) {
		*name = "VMCS_CTRL_VMENTRY_IRQ_INFO";
		return 1;
	}
	*name = "Hypervisor.framework on x86";
	return -1;
}

/*
 * An external interrupt delivered by the next VM entry (Intel SDM Vol. 3C,
 * 24.8.3, VM-entry interruption-information: vector, type 0, valid). The
 * VMM injects after the guest's HLT exit, whose instruction the next run
 * steps over first, so the STI shadow that covered the HLT is over: it is
 * cleared, since an entry injecting an interrupt under it fails.
 */
struct hvp_status hvf_arch_irq_inject(struct hvp_vcpu *vcpu, uint32_t vector)
{
	uint64_t blocking = vmcs_read(vcpu, VMCS_GUEST_INTERRUPTIBILITY);
	struct hvp_status st = vmcs_write(vcpu, VMCS_GUEST_INTERRUPTIBILITY, blocking & ~UINT64_C(3));

	if (st.err != HVP_OK)
		return st;
	return vmcs_write(vcpu, VMCS_CTRL_VMENTRY_IRQ_INFO, (vector & 0xff) | (UINT64_C(1) << 31));
}

struct hvp_status hvf_arch_irq_chip_create(struct hvp_vm *vm, enum hvp_irq_chip kind)
{
	(void)vm;
	(void)kind;
	return hvf_status("hv_vm_create (no interrupt controller on x86)", HV_UNSUPPORTED);
}

/*
 * Snapshots (state_blob.h): what the framework gives a VMM of a vCPU. The
 * registers hv_x86_reg_t names (general, RIP, RFLAGS, selectors, the
 * descriptor tables, TR and LDTR, CR0-CR4, DR0-DR3, DR6, DR7, XCR0:
 * hv_vcpu_read_register); the guest-state VMCS fields those leave out
 * (segment bases, limits and access rights, interruptibility, activity
 * state, EFER, the CR0 and CR4 read shadows: hv_vmx_vcpu_read_vmcs); the
 * MSRs a guest sets (hv_vcpu_read_msr; one the framework does not give is
 * left out); the FPU, SSE and AVX state in the XSAVE layout
 * (hv_vcpu_read_fpstate); and the TSC, set back with hv_vm_sync_tsc. The
 * LAPIC (and TPR) is not carried.
 */
enum { TAG_REGS = 1, TAG_VMCS, TAG_MSRS, TAG_XSAVE, TAG_TSC };

const enum hvp_blob_kind hvf_arch_blob_kind = HVP_BLOB_HVF_X86_64;

#define FPSTATE_SIZE 4096 /* the XSAVE area of every feature the framework offers */
#define MSR_TSC 0x10

static const hv_x86_reg_t state_regs[] = {
	HV_X86_RIP, HV_X86_RFLAGS, HV_X86_RAX, HV_X86_RCX, HV_X86_RDX, HV_X86_RBX, HV_X86_RSI, HV_X86_RDI,
	HV_X86_RSP, HV_X86_RBP, HV_X86_R8, HV_X86_R9, HV_X86_R10, HV_X86_R11, HV_X86_R12, HV_X86_R13,
	HV_X86_R14, HV_X86_R15, HV_X86_CS, HV_X86_SS, HV_X86_DS, HV_X86_ES, HV_X86_FS, HV_X86_GS,
	HV_X86_IDT_BASE, HV_X86_IDT_LIMIT, HV_X86_GDT_BASE, HV_X86_GDT_LIMIT, HV_X86_LDTR, HV_X86_LDT_BASE,
	HV_X86_LDT_LIMIT, HV_X86_LDT_AR, HV_X86_TR, HV_X86_TSS_BASE, HV_X86_TSS_LIMIT, HV_X86_TSS_AR,
	HV_X86_CR0, HV_X86_CR2, HV_X86_CR3, HV_X86_CR4, HV_X86_DR0, HV_X86_DR1, HV_X86_DR2, HV_X86_DR3,
	HV_X86_DR6, HV_X86_DR7, HV_X86_XCR0,
};
static const uint32_t state_vmcs[] = {
	VMCS_GUEST_ES_BASE, VMCS_GUEST_CS_BASE, VMCS_GUEST_SS_BASE, VMCS_GUEST_DS_BASE, VMCS_GUEST_FS_BASE,
	VMCS_GUEST_GS_BASE, VMCS_GUEST_ES_LIMIT, VMCS_GUEST_CS_LIMIT, VMCS_GUEST_SS_LIMIT, VMCS_GUEST_DS_LIMIT,
	VMCS_GUEST_FS_LIMIT, VMCS_GUEST_GS_LIMIT, VMCS_GUEST_ES_AR, VMCS_GUEST_CS_AR, VMCS_GUEST_SS_AR,
	VMCS_GUEST_DS_AR, VMCS_GUEST_FS_AR, VMCS_GUEST_GS_AR, VMCS_GUEST_INTERRUPTIBILITY,
	VMCS_GUEST_ACTIVITY_STATE, VMCS_GUEST_IA32_EFER, VMCS_CTRL_CR0_SHADOW, VMCS_CTRL_CR4_SHADOW,
};
static const uint32_t state_msrs[] = {
	0xc0000102, /* KERNEL_GS_BASE */ 0xc0000081, /* STAR */ 0xc0000082, /* LSTAR */ 0xc0000083, /* CSTAR */
	0xc0000084, /* SFMASK */ 0x174, /* SYSENTER_CS */ 0x175, /* SYSENTER_ESP */ 0x176, /* SYSENTER_EIP */
	0xc0000103, /* TSC_AUX */
};
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

struct msr_entry {
	uint64_t index, value;
};

const char *hvf_arch_state_tag_name(uint32_t tag)
{
	static const char *const names[] = { [TAG_REGS] = "regs", [TAG_VMCS] = "vmcs", [TAG_MSRS] = "msrs",
					     [TAG_XSAVE] = "xsave", [TAG_TSC] = "tsc" };

	return tag < N_OF(names) ? names[tag] : NULL;
}

static struct hvp_status save_fpstate(struct hvp_vcpu *vcpu, struct hvp_blob *b)
{
	void *area = aligned_alloc(64, FPSTATE_SIZE); /* XSAVE's alignment */
	hv_return_t r;

	if (!area)
		return hvf_status("aligned_alloc", HV_NO_RESOURCES);
	r = hv_vcpu_read_fpstate((hv_vcpuid_t)vcpu->native, area, FPSTATE_SIZE);
	if (r == HV_SUCCESS)
		hvp_blob_put(b, TAG_XSAVE, area, FPSTATE_SIZE);
	free(area);
	return hvf_status("hv_vcpu_read_fpstate", r);
}

/* The state as the guest left it: the exit it stopped at finished first (RIP past the instruction). */
struct hvp_status hvf_arch_state_save(struct hvp_vcpu *vcpu, struct hvp_blob *b)
{
	const struct hvp_exit none = { 0 };
	uint64_t regs[N_OF(state_regs)], vmcs[N_OF(state_vmcs)], tsc;
	struct msr_entry msrs[N_OF(state_msrs)];
	unsigned n_msrs = 0;
	struct hvp_status st = finish_last_exit(vcpu, &none, 0);
	hv_return_t r = HV_SUCCESS;

	for (unsigned i = 0; i < N_OF(state_regs) && r == HV_SUCCESS; i++)
		r = hv_vcpu_read_register((hv_vcpuid_t)vcpu->native, state_regs[i], &regs[i]);
	if (st.err != HVP_OK || (st = hvf_status("hv_vcpu_read_register", r)).err != HVP_OK)
		return st;
	for (unsigned i = 0; i < N_OF(state_vmcs) && r == HV_SUCCESS; i++)
		r = hv_vmx_vcpu_read_vmcs((hv_vcpuid_t)vcpu->native, state_vmcs[i], &vmcs[i]);
	if ((st = hvf_status("hv_vmx_vcpu_read_vmcs", r)).err != HVP_OK)
		return st;
	for (unsigned i = 0; i < N_OF(state_msrs); i++)
		if (hv_vcpu_read_msr((hv_vcpuid_t)vcpu->native, state_msrs[i], &msrs[n_msrs].value) == HV_SUCCESS)
			msrs[n_msrs++].index = state_msrs[i];
	if ((r = hv_vcpu_read_msr((hv_vcpuid_t)vcpu->native, MSR_TSC, &tsc)) != HV_SUCCESS)
		return hvf_status("hv_vcpu_read_msr(TSC)", r);
	hvp_blob_put(b, TAG_REGS, regs, sizeof(regs));
	hvp_blob_put(b, TAG_VMCS, vmcs, sizeof(vmcs));
	hvp_blob_put(b, TAG_MSRS, msrs, (uint32_t)(n_msrs * sizeof(msrs[0])));
	hvp_blob_put(b, TAG_TSC, &tsc, sizeof(tsc));
	st = save_fpstate(vcpu, b);
	return st.err == HVP_OK ? hvp_ok("hv_vcpu_read_* (vcpu state)") : st;
}

/* Copies a section of exactly size bytes to out; -1 if the blob has none such. */
static int section_copy(const uint8_t *blob, size_t len, uint32_t tag, void *out, size_t size)
{
	uint32_t have;
	const void *data = hvp_blob_find(blob, len, tag, &have);

	if (!data || have != size)
		return -1;
	memcpy(out, data, size);
	return 0;
}

static struct hvp_status restore_msrs(struct hvp_vcpu *vcpu, const uint8_t *blob, size_t len)
{
	struct msr_entry msrs[N_OF(state_msrs)];
	uint32_t have;
	const void *data = hvp_blob_find(blob, len, TAG_MSRS, &have);
	hv_return_t r = HV_SUCCESS;

	if (!data || have % sizeof(msrs[0]) || have > sizeof(msrs))
		return hvf_status("snapshot", HV_BAD_ARGUMENT);
	memcpy(msrs, data, have);
	for (unsigned i = 0; i < have / sizeof(msrs[0]) && r == HV_SUCCESS; i++)
		r = hv_vcpu_write_msr((hv_vcpuid_t)vcpu->native, (uint32_t)msrs[i].index, msrs[i].value);
	return hvf_status("hv_vcpu_write_msr", r);
}

static struct hvp_status restore_fpstate(struct hvp_vcpu *vcpu, const uint8_t *blob, size_t len)
{
	void *area = aligned_alloc(64, FPSTATE_SIZE);
	hv_return_t r = HV_BAD_ARGUMENT;

	if (!area)
		return hvf_status("aligned_alloc", HV_NO_RESOURCES);
	if (section_copy(blob, len, TAG_XSAVE, area, FPSTATE_SIZE) == 0)
		r = hv_vcpu_write_fpstate((hv_vcpuid_t)vcpu->native, area, FPSTATE_SIZE);
	free(area);
	return hvf_status("hv_vcpu_write_fpstate", r);
}

/* Into a vCPU made but never booted: the VMCS's guest fields, the registers, MSRs, FPU state, the TSC. */
struct hvp_status hvf_arch_state_restore(struct hvp_vcpu *vcpu, const uint8_t *blob, size_t len)
{
	uint64_t regs[N_OF(state_regs)], vmcs[N_OF(state_vmcs)], tsc;
	struct hvp_status st = hvp_ok("hv_vmx_vcpu_write_vmcs");

	if (section_copy(blob, len, TAG_REGS, regs, sizeof(regs)) || section_copy(blob, len, TAG_VMCS, vmcs, sizeof(vmcs)) ||
	    section_copy(blob, len, TAG_TSC, &tsc, sizeof(tsc)))
		return hvf_status("snapshot", HV_BAD_ARGUMENT);
	vcpu->pending_read_reg = -1;
	vcpu->pending_pc_step = 0;
	for (unsigned i = 0; i < N_OF(state_vmcs) && st.err == HVP_OK; i++)
		st = vmcs_write(vcpu, state_vmcs[i], vmcs[i]);
	for (unsigned i = 0; i < N_OF(state_regs) && st.err == HVP_OK; i++)
		st = reg_write(vcpu, state_regs[i], regs[i]);
	if (st.err == HVP_OK)
		st = restore_msrs(vcpu, blob, len);
	if (st.err == HVP_OK)
		st = restore_fpstate(vcpu, blob, len);
	if (st.err == HVP_OK)
		st = hvf_status("hv_vm_sync_tsc", hv_vm_sync_tsc(tsc));
	return st.err == HVP_OK ? hvp_ok("hv_vcpu_write_* (vcpu state)") : st;
}
