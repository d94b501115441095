/* SPDX-License-Identifier: MIT */
/*
 * The flags an x86_64 guest program starts with (hvp_guest_arch_regs):
 * interrupts on (RFLAGS.IF) for every program at ring 0 and 3, so that a
 * spinning guest leaves for the host's timer even under an emulated VMX that
 * masks the host's interrupts for a guest entered with IF clear (Bochs); off
 * for the program that asks for it (cpu.hlt's HLT) and in real mode.
 */
#include <string.h>

#include "guest.h"
#include "tap.h"

#define RFLAGS_RESERVED (1ull << 1)
#define RFLAGS_IF (1ull << 9)
#define RFLAGS_IOPL3 (3ull << 12)

#if defined(__x86_64__)
static uint64_t flags_of(unsigned ring, bool real_mode, bool interrupts_off)
{
	struct hvp_boot boot;
	struct hvp_regs regs;

	hvp_guest_arch_boot(&boot, 0x80000, NULL);
	boot.ring = ring;
	boot.real_mode = real_mode;
	boot.interrupts_off = interrupts_off;
	hvp_guest_arch_regs(&boot, &regs);
	return regs.flags;
}

static void flags(struct tap *t)
{
	ok(t, flags_of(0, false, false) == (RFLAGS_RESERVED | RFLAGS_IF), "ring 0: interrupts on");
	ok(t, flags_of(3, false, false) == (RFLAGS_RESERVED | RFLAGS_IF | RFLAGS_IOPL3),
	   "ring 3: interrupts on, IOPL 3 for its reports");
	ok(t, flags_of(0, false, true) == RFLAGS_RESERVED, "ring 0, asked for: interrupts off");
	ok(t, flags_of(3, false, true) == (RFLAGS_RESERVED | RFLAGS_IOPL3), "ring 3, asked for: interrupts off");
	ok(t, flags_of(0, true, false) == RFLAGS_RESERVED, "real mode: interrupts off");
}

static void programs(struct tap *t)
{
	const struct hvp_program *on[] = { &hvp_prog_wait_flag, &hvp_prog_handshake, &hvp_prog_rendezvous,
					   &hvp_prog_timed_alu, &hvp_prog_loop_pio_out };

	ok(t, hvp_prog_loop_hlt.interrupts_off, "loop_hlt (cpu.hlt: HLT with interrupts off) asks for them off");
	for (unsigned i = 0; i < sizeof(on) / sizeof(on[0]); i++)
		ok(t, !on[i]->interrupts_off, "%s runs with interrupts on", on[i]->name);
}
#endif

int main(void)
{
	struct tap t;

	TAP_PLAN_LATER(&t);
#if defined(__x86_64__)
	flags(&t);
	programs(&t);
#else
	ok(&t, 1, "# SKIP the flags are x86_64's, and this build is not");
#endif
	return tap_done(&t);
}
