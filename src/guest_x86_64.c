/* SPDX-License-Identifier: MIT */
/*
 * x86_64 guest setup: a GDT with a 64-bit code segment, a data segment and
 * a TSS, and 4-level identity paging in 2 MiB pages built on demand from a
 * pool of table pages in the system region.
 */
#include <cpuid.h>
#include <string.h>

#include "guest.h"

#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_PS (1ull << 7)
#define PTE_ADDR 0x000ffffffffff000ull
#define PAGE_2M (2ull << 20)

#define RFLAGS_IF (1ull << 9)

/* Identity paging reaches the lower canonical half of 4-level paging. */
#define IDENTITY_LIMIT (1ull << 47)


HVP_PROGRAM(report_args);
HVP_PROGRAM(load2);
HVP_PROGRAM(load_store);
HVP_PROGRAM(wait_flag);
HVP_PROGRAM(load_list);
HVP_PROGRAM(store_pages);
HVP_PROGRAM(handshake);
HVP_PROGRAM(rendezvous);
HVP_PROGRAM(hypercall_vmcall);
HVP_PROGRAM(hypercall_vmmcall);
HVP_PROGRAM(loop_pio_out);
HVP_PROGRAM(loop_pio_in);
HVP_PROGRAM(loop_mmio_write);
HVP_PROGRAM(loop_mmio_read);
/* cpu.hlt asks whether HLT with interrupts off exits: nothing but the VMM can end that halt. */
HVP_PROGRAM_INTERRUPTS_OFF(loop_hlt);
HVP_PROGRAM(timed_cpuid);
HVP_PROGRAM(timed_vmcall);
HVP_PROGRAM(timed_vmmcall);
HVP_PROGRAM(timed_rdmsr);
HVP_PROGRAM(timed_alu);
HVP_PROGRAM(cpuid_report);
HVP_PROGRAM(rdmsr_report);
HVP_PROGRAM(tsc_pair);
HVP_PROGRAM(real_mode16);
HVP_NO_PROGRAM(store_writeback);
HVP_NO_PROGRAM(idregs_report);
HVP_NO_PROGRAM(hypercall_hvc);
HVP_NO_PROGRAM(timed_hvc);
HVP_PROGRAM(irq_wait);
HVP_PROGRAM(doorbell_pio);
HVP_PROGRAM(doorbell_mmio);
HVP_PROGRAM(state_check);

static uint64_t gdt_entry(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (uint64_t)(limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) |
	       ((uint64_t)access << 40) | ((uint64_t)((limit >> 16) & 0xf) << 48) |
	       ((uint64_t)(flags & 0xf) << 52) | ((uint64_t)(base >> 24) << 56);
}

void hvp_guest_arch_init(uint8_t *sys, struct hvp_guest_paging *pg)
{
	uint64_t *gdt = (uint64_t *)(sys + HVP_SYS_GDT);

	gdt[0] = 0;
	gdt[1] = gdt_entry(0, 0xfffff, 0x9b, 0xa); /* 0x08: code, present, L=1, G=1 */
	gdt[2] = gdt_entry(0, 0xfffff, 0x93, 0xc); /* 0x10: data, present, D/B=1, G=1 */
	gdt[3] = gdt_entry(HVP_SYS_TSS, 0x67, 0x8b, 0x0); /* 0x18: busy 64-bit TSS */
	gdt[4] = 0;                                /* upper half of the TSS descriptor */
	gdt[5] = gdt_entry(0, 0xfffff, 0xf3, 0xc); /* 0x28: user data, DPL 3 */
	gdt[6] = gdt_entry(0, 0xfffff, 0xfb, 0xa); /* 0x30: user code, DPL 3, L=1 */
	memset(sys + HVP_SYS_TSS, 0, 0x68);
	memset(sys + HVP_SYS_PML4, 0, 4096);
	pg->pages_used = 0;
}

/* Returns the next-level table that entry points at, creating it from the pool. */
static uint64_t *next_table(uint8_t *sys, struct hvp_guest_paging *pg, uint64_t *entry)
{
	uint64_t gpa;

	if (!(*entry & PTE_P)) {
		if (pg->pages_used == HVP_SYS_PT_POOL_PAGES)
			return NULL;
		gpa = HVP_SYS_PT_POOL + 4096ull * pg->pages_used++;
		memset(sys + gpa - HVP_SYS_GPA, 0, 4096);
		*entry = gpa | PTE_P | PTE_RW | PTE_US;
	}
	return (uint64_t *)(sys + (*entry & PTE_ADDR) - HVP_SYS_GPA);
}

uint64_t hvp_guest_arch_identity_limit(void)
{
	return IDENTITY_LIMIT;
}

static int map_range(uint8_t *sys, struct hvp_guest_paging *pg, uint64_t va, uint64_t gpa, uint64_t size,
		     uint64_t flags);

int hvp_guest_arch_map(uint8_t *sys, struct hvp_guest_paging *pg, uint64_t va, uint64_t gpa, uint64_t size)
{
	return map_range(sys, pg, va, gpa, size, 0);
}

/* Uncached: page-level cache disable and write-through, whatever the PAT holds. */
int hvp_guest_arch_map_device(uint8_t *sys, struct hvp_guest_paging *pg, uint64_t va, uint64_t gpa, uint64_t size)
{
	return map_range(sys, pg, va, gpa, size, PTE_PWT | PTE_PCD);
}

static int map_range(uint8_t *sys, struct hvp_guest_paging *pg, uint64_t va, uint64_t gpa, uint64_t size,
		     uint64_t flags)
{
	uint64_t first = va & ~(PAGE_2M - 1);
	uint64_t last = va + (size ? size - 1 : 0);
	uint64_t *pml4 = (uint64_t *)(sys + HVP_SYS_PML4 - HVP_SYS_GPA);

	if (last < va || last >= IDENTITY_LIMIT || ((va ^ gpa) & (PAGE_2M - 1)))
		return -1;
	for (uint64_t a = first; a <= last; a += PAGE_2M) {
		uint64_t *pdpt = next_table(sys, pg, &pml4[(a >> 39) & 511]);
		uint64_t *pd = pdpt ? next_table(sys, pg, &pdpt[(a >> 30) & 511]) : NULL;
		if (!pd)
			return -1;
		pd[(a >> 21) & 511] = ((a - first) + (gpa & ~(PAGE_2M - 1))) | PTE_P | PTE_RW | PTE_US | PTE_PS | flags;
	}
	return 0;
}

/* KVM expects the host vendor's instruction: VMCALL on Intel, VMMCALL on AMD (and Hygon). */
static int uses_vmcall(void)
{
	unsigned a, b, c, d;

	__cpuid(0, a, b, c, d);
	return b == 0x756e6547 && d == 0x49656e69 && c == 0x6c65746e; /* "GenuineIntel" */
}

const struct hvp_program *hvp_guest_arch_hypercall(const char **insn)
{
	*insn = uses_vmcall() ? "VMCALL" : "VMMCALL";
	return uses_vmcall() ? &hvp_prog_hypercall_vmcall : &hvp_prog_hypercall_vmmcall;
}

const struct hvp_program *hvp_guest_arch_timed_hypercall(void)
{
	return uses_vmcall() ? &hvp_prog_timed_vmcall : &hvp_prog_timed_vmmcall;
}

/*
 * Programs run with external interrupts enabled (RFLAGS.IF set), as real
 * guests wait and spin, unless they ask otherwise (interrupts_off, such as
 * cpu.hlt's HLT) or run in real mode (a few instructions that never wait).
 * It is harmless: they have no IDT, and KVM without an in-kernel irqchip
 * (and HVF) injects nothing into them; the host's own interrupts leave the
 * guest by external-interrupt exiting, whatever IF is. But an emulated VMX
 * may get that wrong with IF clear (Bochs masks the host's interrupts for
 * such a guest), and a spinning guest then never leaves for the host's
 * timer or a kick.
 */
static bool interrupts_on(const struct hvp_boot *boot)
{
	return !boot->real_mode && !boot->interrupts_off;
}

void hvp_guest_arch_regs(const struct hvp_boot *boot, struct hvp_regs *regs)
{
	memset(regs, 0, sizeof(*regs));
	regs->pc = boot->real_mode ? boot->entry & 0xf : boot->entry; /* real mode: CS = entry >> 4 */
	regs->sp = boot->real_mode ? 0 : boot->stack;
	/* bit 1 reserved; IOPL 3 for ring-3 reports */
	regs->flags = 0x2 | (boot->ring == 3 ? 0x3000 : 0) | (interrupts_on(boot) ? RFLAGS_IF : 0);
	for (unsigned i = 0; i < 4; i++)
		regs->gpr[hvp_guest_arch_arg_reg(i)] = boot->arg[i];
}

unsigned hvp_guest_arch_arg_reg(unsigned i)
{
	static const unsigned regs[4] = { HVP_X86_RDI, HVP_X86_RSI, HVP_X86_RDX, HVP_X86_RCX };

	return regs[i & 3];
}

enum hvp_guest_channel hvp_guest_arch_channel(const struct hvp_exit *x)
{
	if (x->kind != HVP_EXIT_IO || !x->write)
		return HVP_CHANNEL_NONE;
	switch (x->addr) {
	case HVP_PORT_REPORT: return HVP_CHANNEL_REPORT;
	case HVP_PORT_DONE: return HVP_CHANNEL_DONE;
	case HVP_PORT_FAIL: return HVP_CHANNEL_FAIL;
	case HVP_PORT_PAUSE: return HVP_CHANNEL_PAUSE;
	default: return HVP_CHANNEL_NONE;
	}
}

/* The ring report is the CS selector: a GDT selector (TI clear, not the null one) whose RPL is the ring. */
int hvp_guest_arch_ring(uint64_t word)
{
	if (word > 0xffff || word < 8 || (word & 4))
		return -1;
	return (word & 3) == 0 || (word & 3) == 3 ? (int)(word & 3) : HVP_RING_OTHER;
}

/* timed_alu's block in the same words (guest_x86_64.S, ALU_BODY and the loop). */
void hvp_guest_arch_alu_on_host(uint64_t iterations)
{
	uint64_t n = iterations, acc = 0;

	if (n == 0)
		return;
	__asm__ volatile("1:\n\t"
			 "add %2, %0\n\tadd %2, %0\n\tadd %2, %0\n\tadd %2, %0\n\t"
			 "add %2, %0\n\tadd %2, %0\n\tadd %2, %0\n\tadd %2, %0\n\t"
			 "dec %1\n\tjnz 1b"
			 : "+r"(acc), "+r"(n)
			 : "r"((uint64_t)1)
			 : "cc");
}

void hvp_guest_arch_boot(struct hvp_boot *boot, uint64_t entry, const uint64_t arg[4])
{
	memset(boot, 0, sizeof(*boot));
	boot->entry = entry;
	boot->stack = HVP_SYS_STACK_TOP;
	boot->page_table = HVP_SYS_PML4;
	boot->gdt = HVP_SYS_GDT;
	boot->gdt_limit = 7 * 8 - 1;
	for (int i = 0; i < 4; i++)
		boot->arg[i] = arg ? arg[i] : 0;
}
