/* SPDX-License-Identifier: MIT */
/*
 * arm64 guest setup: no tables to build. Programs run at EL1 (or EL0) with
 * the MMU off, so guest-virtual addresses are guest-physical ones and every
 * mapped range is reachable as it is; the system region holds code, data,
 * stacks and the exception vectors (VBAR_EL1, set by the backends at boot).
 */
#include <string.h>

#include "guest.h"

/* The largest physical address arm64 implements with 4 KiB granules (FEAT_LPA aside). */
#define IDENTITY_LIMIT (1ull << 48)

#define PSTATE_DAIF (0xfull << 6) /* debug, SError, IRQ and FIQ masked */
#define PSTATE_EL1H 0x5ull
#define PSTATE_EL0T 0x0ull
#define PSTATE_MODE 0xfull
#define CURRENT_EL_MASK 0xcull  /* CurrentEL and SPSR_EL1.M[3:2]: the exception level */
#define ESR_EC_SVC64 0x15u
#define ESR_ISS_IMM16 0xffffu

extern const uint8_t hvp_code_vectors_start[], hvp_code_vectors_end[];


HVP_PROGRAM(report_args);
HVP_PROGRAM(load2);
HVP_PROGRAM(load_store);
HVP_PROGRAM(wait_flag);
HVP_PROGRAM(load_list);
HVP_PROGRAM(store_pages);
HVP_PROGRAM(handshake);
HVP_PROGRAM(rendezvous);
HVP_PROGRAM(hypercall_hvc);
HVP_PROGRAM(loop_mmio_write);
HVP_PROGRAM(loop_mmio_read);
HVP_PROGRAM(loop_hlt);
HVP_PROGRAM(timed_hvc);
HVP_PROGRAM(timed_alu);
HVP_PROGRAM(tsc_pair);
HVP_PROGRAM(store_writeback);
HVP_NO_PROGRAM(hypercall_vmcall);
HVP_NO_PROGRAM(hypercall_vmmcall);
HVP_NO_PROGRAM(loop_pio_out);
HVP_NO_PROGRAM(loop_pio_in);
HVP_NO_PROGRAM(timed_cpuid);
HVP_NO_PROGRAM(timed_vmcall);
HVP_NO_PROGRAM(timed_vmmcall);
HVP_NO_PROGRAM(timed_rdmsr);
HVP_NO_PROGRAM(cpuid_report);
HVP_NO_PROGRAM(rdmsr_report);
HVP_NO_PROGRAM(real_mode16);

void hvp_guest_arch_init(uint8_t *sys, struct hvp_guest_paging *pg)
{
	memcpy(sys + HVP_SYS_VECTORS - HVP_SYS_GPA, hvp_code_vectors_start,
	       (size_t)(hvp_code_vectors_end - hvp_code_vectors_start));
	pg->pages_used = 0;
}

uint64_t hvp_guest_arch_identity_limit(void)
{
	return IDENTITY_LIMIT;
}

/* With the MMU off an address is reachable only as itself: no windows. */
int hvp_guest_arch_map(uint8_t *sys, struct hvp_guest_paging *pg, uint64_t va, uint64_t gpa, uint64_t size)
{
	(void)sys;
	(void)pg;
	return va == gpa && va + (size ? size - 1 : 0) >= va && va + (size ? size - 1 : 0) < IDENTITY_LIMIT ? 0 : -1;
}

const struct hvp_program *hvp_guest_arch_hypercall(const char **insn)
{
	*insn = "HVC #0";
	return &hvp_prog_hypercall_hvc;
}

const struct hvp_program *hvp_guest_arch_timed_hypercall(void)
{
	return &hvp_prog_timed_hvc;
}

void hvp_guest_arch_boot(struct hvp_boot *boot, uint64_t entry, const uint64_t arg[4])
{
	memset(boot, 0, sizeof(*boot));
	boot->entry = entry;
	boot->stack = HVP_SYS_STACK_TOP;
	for (int i = 0; i < 4; i++)
		boot->arg[i] = arg ? arg[i] : 0;
}

void hvp_guest_arch_regs(const struct hvp_boot *boot, struct hvp_regs *regs)
{
	memset(regs, 0, sizeof(*regs));
	regs->pc = boot->entry;
	regs->sp = boot->stack;
	regs->flags = PSTATE_DAIF | (boot->ring == 3 ? PSTATE_EL0T : PSTATE_EL1H);
	for (unsigned i = 0; i < 4; i++)
		regs->gpr[i] = boot->arg[i];
}

static int ring_of_el(uint64_t el)
{
	return el == 1 ? 0 : el == 0 ? 3 : HVP_RING_OTHER;
}

/*
 * The ring report (guest_arm64.S, RING) is CurrentEL read at EL1 (nothing
 * but the level in bits 3:2), or from EL0 the vectors' answer to
 * SVC #HVP_SVC_LEVEL: ESR_EL1 saying so in the upper half and SPSR_EL1
 * with mode EL0t in the lower.
 */
int hvp_guest_arch_ring(uint64_t word)
{
	uint32_t esr = (uint32_t)(word >> 32), spsr = (uint32_t)word;

	if (esr == 0)
		return word && !(word & ~CURRENT_EL_MASK) ? ring_of_el(word >> 2) : -1;
	if (esr >> 26 != ESR_EC_SVC64 || (esr & ESR_ISS_IMM16) != HVP_SVC_LEVEL || (spsr & PSTATE_MODE) != PSTATE_EL0T)
		return -1;
	return 3;
}

/* timed_alu's block in the same words (guest_arm64.S, ALU_BODY and the loop). */
void hvp_guest_arch_alu_on_host(uint64_t iterations)
{
	uint64_t n = iterations, acc = 0;

	if (n == 0)
		return;
	__asm__ volatile("1:\n\t"
			 "add %0, %0, %2\n\tadd %0, %0, %2\n\tadd %0, %0, %2\n\tadd %0, %0, %2\n\t"
			 "add %0, %0, %2\n\tadd %0, %0, %2\n\tadd %0, %0, %2\n\tadd %0, %0, %2\n\t"
			 "subs %1, %1, #1\n\tb.ne 1b"
			 : "+r"(acc), "+r"(n)
			 : "r"((uint64_t)1)
			 : "cc");
}

unsigned hvp_guest_arch_arg_reg(unsigned i)
{
	return i & 3; /* x0-x3 */
}

enum hvp_guest_channel hvp_guest_arch_channel(const struct hvp_exit *x)
{
	if (x->kind != HVP_EXIT_MMIO || !x->write || x->size != 8)
		return HVP_CHANNEL_NONE;
	switch (x->addr) {
	case HVP_MMIO_REPORT: return HVP_CHANNEL_REPORT;
	case HVP_MMIO_DONE: return HVP_CHANNEL_DONE;
	case HVP_MMIO_FAIL: return HVP_CHANNEL_FAIL;
	case HVP_MMIO_PAUSE: return HVP_CHANNEL_PAUSE;
	default: return HVP_CHANNEL_NONE;
	}
}
