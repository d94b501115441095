/* SPDX-License-Identifier: MIT */
/*
 * Guest programs and the per-architecture guest setup: the system region
 * (descriptor tables, page tables, code, stack) and identity paging over
 * every range a probe maps.
 */
#ifndef HVP_GUEST_H
#define HVP_GUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "guest_abi.h"

/* A guest program; one an architecture lacks is empty (start == end), and probes that need it say .arch. */
struct hvp_program {
	const char *name;
	const uint8_t *start, *end;
	bool interrupts_off; /* x86: starts with RFLAGS.IF clear (hvp_guest_arch_regs says when) */
};

/*
 * For guest_<arch>.c: a program between the labels PROGRAM/END_PROGRAM put
 * in guest_<arch>.S (asm.h), and one this architecture lacks.
 */
#define HVP_PROGRAM(n)                                                                 \
	extern const uint8_t hvp_code_##n##_start[], hvp_code_##n##_end[];             \
	const struct hvp_program hvp_prog_##n = { #n, hvp_code_##n##_start, hvp_code_##n##_end }
#define HVP_NO_PROGRAM(n) const struct hvp_program hvp_prog_##n = { #n, NULL, NULL }
/* A program whose question needs external interrupts masked while it runs (x86: IF clear). */
#define HVP_PROGRAM_INTERRUPTS_OFF(n)                                                  \
	extern const uint8_t hvp_code_##n##_start[], hvp_code_##n##_end[];             \
	const struct hvp_program hvp_prog_##n = { #n, hvp_code_##n##_start, hvp_code_##n##_end, true }

/* The programs every architecture provides (see guest_<arch>.S). */
extern const struct hvp_program hvp_prog_report_args; /* reports arg0, arg1 */
extern const struct hvp_program hvp_prog_load2;       /* reports *arg0, *arg1 (u64) */
extern const struct hvp_program hvp_prog_load_store;  /* reports *arg0, stores arg1, reports *arg0 */
extern const struct hvp_program hvp_prog_wait_flag;   /* spins until *arg0 != 0, reports it */
extern const struct hvp_program hvp_prog_load_list;   /* reports *a for each address a in arg0[0..arg1) */
extern const struct hvp_program hvp_prog_store_pages; /* stores i + 1 at arg0 + i * arg2, i < arg1 */
extern const struct hvp_program hvp_prog_handshake;   /* *arg1 = arg2; spins until *arg0 != 0, reports it */
extern const struct hvp_program hvp_prog_rendezvous;  /* atomically ++*arg0; spins until *arg0 >= arg1, reports it */
/* rax = arg0; one hypercall (VMCALL or VMMCALL); reports rax */
extern const struct hvp_program hvp_prog_hypercall_vmcall, hvp_prog_hypercall_vmmcall;

/* Benchmark loops: one exit per iteration, forever (arg0: port or address). */
extern const struct hvp_program hvp_prog_loop_pio_out, hvp_prog_loop_pio_in;
extern const struct hvp_program hvp_prog_loop_mmio_write, hvp_prog_loop_mmio_read, hvp_prog_loop_hlt;
/* arg0 iterations of an exit the kernel handles; reports the TSC cycles taken (arg1: nr or MSR). */
extern const struct hvp_program hvp_prog_timed_cpuid, hvp_prog_timed_vmcall, hvp_prog_timed_vmmcall;
extern const struct hvp_program hvp_prog_timed_rdmsr;
/*
 * arg0 iterations of eight adds (10 instructions with the loop); reports
 * the TSC cycles taken, then the ring it ran at (a ring report, below).
 */
extern const struct hvp_program hvp_prog_timed_alu;
/* CPUID leaf arg0, subleaf arg1; reports eax, ebx, ecx, edx, then the ring it ran at. */
extern const struct hvp_program hvp_prog_cpuid_report;
/* Reports RDMSR(arg0). Ring 0. */
extern const struct hvp_program hvp_prog_rdmsr_report;
/* Reports the TSC, pauses (HVP_PORT_PAUSE) for the host, reports the TSC again. */
extern const struct hvp_program hvp_prog_tsc_pair;
/* 16-bit real mode: reports the u32 at 0x9000:0 (HVP_SYS_DATA), then CR0. x86 only. */
extern const struct hvp_program hvp_prog_real_mode16;
/* arm64 only: a store with write-back (no valid syndrome) of arg1 to arg0; reports arg1 if it returns. */
extern const struct hvp_program hvp_prog_store_writeback;
/* arm64 only, EL1: reports the ten ID registers of the CPU model (cpu_model.h, hvp_model_id_regs), then the level. */
extern const struct hvp_program hvp_prog_idregs_report;
/* arm64 only: HVC #0 with function id arg0; reports x0. timed: arg0 iterations of id arg1. */
extern const struct hvp_program hvp_prog_hypercall_hvc, hvp_prog_timed_hvc;

/*
 * Every class of vCPU state the guest reaches, loaded from the values the
 * host staged, dumped, then checked after a pause in which the vCPU is
 * saved and restored elsewhere (guest_state.h). x86_64 only for now.
 */
extern const struct hvp_program hvp_prog_state_check;

/* Identity paging state, kept inside the system region. */
struct hvp_guest_paging {
	unsigned pages_used; /* of HVP_SYS_PT_POOL_PAGES */
};

/*
 * Writes descriptor tables and the top-level page table into sys: empty on
 * x86_64; on arm64 already mapping the system region itself and the report
 * page (Device memory), with the exception vectors in place.
 */
void hvp_guest_arch_init(uint8_t *sys, struct hvp_guest_paging *pg);

/*
 * Maps guest-virtual [va, va + size) to guest-physical gpa for guest code,
 * in 2 MiB pages (x86_64) or blocks of Normal memory (arm64) covering the
 * range's 2 MiB-aligned hull (va and gpa must agree modulo 2 MiB). Returns
 * 0, or -1 when va is beyond what the paging mode addresses or the table
 * pool is full (arm64: or when a live block would change).
 */
int hvp_guest_arch_map(uint8_t *sys, struct hvp_guest_paging *pg, uint64_t va, uint64_t gpa, uint64_t size);

/* The highest guest-virtual address + 1 that identity paging can cover. */
uint64_t hvp_guest_arch_identity_limit(void);

/* A guest-virtual window for guest-physical ranges identity paging cannot reach. */
#define HVP_GUEST_WINDOW_VA 0x7f0000000000ull

/*
 * The hypercall this host's guests make: x86 VMCALL (Intel) or VMMCALL
 * (AMD), as KVM expects the host vendor's; arm64 HVC #0. Sets *insn to the
 * instruction's name. timed: the benchmark loop around it.
 */
const struct hvp_program *hvp_guest_arch_hypercall(const char **insn);
const struct hvp_program *hvp_guest_arch_timed_hypercall(void);

/*
 * What a program's ring report (guest_abi.h) proves: the ring as
 * hvp_boot.ring counts them (0, or 3: arm64 EL1 and EL0), HVP_RING_OTHER
 * for a level hvprobe never starts a program at, or -1 when the word is no
 * ring report at all (a program that could not tell, or a report that is
 * not what the guest made).
 */
#define HVP_RING_OTHER 8
int hvp_guest_arch_ring(uint64_t word);

/*
 * The host's side of timed_alu: the same eight adds and loop, iterations
 * times, on the host CPU, for the caller to time.
 */
void hvp_guest_arch_alu_on_host(uint64_t iterations);

/* The vCPU state for running code at entry with the given arguments. */
void hvp_guest_arch_boot(struct hvp_boot *boot, uint64_t entry, const uint64_t arg[4]);

/* The register file that starts a program from boot (pc, stack, arguments, flags for boot->ring or real mode). */
void hvp_guest_arch_regs(const struct hvp_boot *boot, struct hvp_regs *regs);

/* Where argument i (0-3) of a program arrives: an index into hvp_regs.gpr. Results come in gpr[0]. */
unsigned hvp_guest_arch_arg_reg(unsigned i);

/* Which guest ABI channel an exit is: a report, the final report, a failed check, a pause, or none. */
enum hvp_guest_channel { HVP_CHANNEL_NONE, HVP_CHANNEL_REPORT, HVP_CHANNEL_DONE, HVP_CHANNEL_FAIL, HVP_CHANNEL_PAUSE };
enum hvp_guest_channel hvp_guest_arch_channel(const struct hvp_exit *x);

/*
 * Interrupts: irq_wait takes the block at arg0 (guest_abi.h, HVP_IRQ_*),
 * sets up what the flags ask (x86_64: its own IDT, local APIC, IOAPIC;
 * arm64: the GICv3, the vectors' IRQ entry), waits (HLT; WFI) for
 * HVP_IRQ_WANT interrupts and reports their vectors or INTIDs. The
 * controller's registers must be paged as device memory
 * (hvp_guest_arch_map_device) and never mapped.
 */
extern const struct hvp_program hvp_prog_irq_wait;
/* arg1 times a write of arg2 (and of arg3 if not 0) to port arg0; reports the writes of arg2. */
extern const struct hvp_program hvp_prog_doorbell_pio;
/*
 * arg1 times a 4-byte store of arg2 at arg0; arg3 1: 1-, 2- and 8-byte ones of
 * it too, before; arg3 above 1: a 4-byte store of arg3 after each (not counted).
 * Reports the stores of arg2. Both architectures.
 */
extern const struct hvp_program hvp_prog_doorbell_mmio;

/* As hvp_guest_arch_map, for device registers: uncached (x86_64 PCD and PWT; arm64 Device-nGnRnE). */
int hvp_guest_arch_map_device(uint8_t *sys, struct hvp_guest_paging *pg, uint64_t va, uint64_t gpa, uint64_t size);

#endif
