/* SPDX-License-Identifier: MIT */
/*
 * arm64 guest setup: nothing to build. Programs run at EL1 (or EL0) with
 * the MMU off, so guest-virtual addresses are guest-physical ones and every
 * mapped range is reachable as it is; the system region holds only code,
 * data and stacks.
 */
#include <string.h>

#include "guest.h"

/* The largest physical address arm64 implements with 4 KiB granules (FEAT_LPA aside). */
#define IDENTITY_LIMIT (1ull << 48)

#define PSTATE_DAIF (0xfull << 6) /* debug, SError, IRQ and FIQ masked */
#define PSTATE_EL1H 0x5ull
#define PSTATE_EL0T 0x0ull


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
	(void)sys;
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
