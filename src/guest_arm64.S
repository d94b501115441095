/* SPDX-License-Identifier: MIT */
/*
 * Guest programs for arm64, run at EL1 (or EL0) with the MMU on and
 * identity-mapped tables (guest_arm64.c), so that every address is a
 * guest-physical one, in Normal write-back memory. They are data to the
 * host (copied into guest memory by the probes) and position-independent.
 * They report through stores to a page that is never mapped at stage 2
 * (guest_abi.h; Device memory at stage 1), always with
 * single-register STR/LDR without write-back, the forms whose data aborts
 * carry a valid syndrome (ISV) that KVM and Hypervisor.framework decode.
 * x9 holds the report page; programs keep their own values in x4-x8 (the
 * exception vectors use x9-x11).
 */
#include "asm.h"
#include "guest_abi.h"

.macro CHANNEL
	movz x9, #(HVP_MMIO_BASE >> 16), lsl #16
.endm

/* Reports x0; keeps every other register but x9. */
.macro REPORT
	CHANNEL
	str x0, [x9]
.endm

/*
 * The final report, made again on every later run: WFI would block in the
 * kernel (KVM keeps an idle vCPU there), where x86's HLT exits.
 */
.macro DONE
	CHANNEL
99:	str xzr, [x9, #(HVP_MMIO_DONE - HVP_MMIO_BASE)]
	b 99b
.endm

.macro PAUSE
	CHANNEL
	str xzr, [x9, #(HVP_MMIO_PAUSE - HVP_MMIO_BASE)]
.endm

/*
 * Reports the exception level this code runs at. EL1 reads CurrentEL; EL0
 * cannot (it is UNDEFINED there), so every program first asks the vectors
 * with SVC #HVP_SVC_LEVEL, whose answer carries SPSR_EL1, where the CPU
 * wrote the level the call came from. From EL0 that answer is the report
 * (with ESR_EL1, the syndrome of the SVC taken from a lower level); from
 * EL1 it sends the program to CurrentEL, reported with the low half of
 * SCTLR_EL1 above it: the guest's own word that its MMU and caches were on.
 */
.macro RING
	svc #HVP_SVC_LEVEL
	tst x0, #0xc
	b.eq 98f
	mrs x0, CurrentEL
	mrs x9, sctlr_el1
	orr x0, x0, x9, lsl #32
98:	REPORT
.endm

.macro RING_DONE
	RING
	DONE
.endm

/* x0 = the virtual counter, ordered after earlier instructions. */
.macro COUNTER_NOW
	isb
	mrs x0, cntvct_el0
.endm

	RODATA
	.p2align 4

/* report(x0), report(x1); done */
PROGRAM report_args
	mov x4, x1
	REPORT
	mov x0, x4
	REPORT
	DONE
END_PROGRAM report_args

/* report(*(u64 *)x0), report(*(u64 *)x1); done */
PROGRAM load2
	mov x4, x0
	mov x5, x1
	ldr x0, [x4]
	REPORT
	ldr x0, [x5]
	REPORT
	DONE
END_PROGRAM load2

/* report(*(u64 *)x0); *(u64 *)x0 = x1; report(*(u64 *)x0); done */
PROGRAM load_store
	mov x4, x0
	ldr x0, [x4]
	REPORT
	str x1, [x4]
	ldr x0, [x4]
	REPORT
	DONE
END_PROGRAM load_store

/* spin until *(u64 *)x0 != 0, then report it; done */
PROGRAM wait_flag
	mov x4, x0
1:	ldr x0, [x4]
	cbz x0, 1b
	REPORT
	DONE
END_PROGRAM wait_flag

/* for i < x1: report(*(u64 *)((u64 *)x0)[i]); done */
PROGRAM load_list
	mov x4, x0
	mov x5, x1
1:	cbz x5, 2f
	ldr x6, [x4]
	ldr x0, [x6]
	REPORT
	add x4, x4, #8
	sub x5, x5, #1
	b 1b
2:	DONE
END_PROGRAM load_list

/* for i < x1: *(u64 *)(x0 + i * x2) = i + 1; done */
PROGRAM store_pages
	mov x4, #0
1:	cmp x4, x1
	b.hs 2f
	add x5, x4, #1
	str x5, [x0]
	add x0, x0, x2
	add x4, x4, #1
	b 1b
2:	DONE
END_PROGRAM store_pages

/* *(u64 *)x1 = x2, then spin until *(u64 *)x0 != 0, report it; done */
PROGRAM handshake
	mov x4, x0
	str x2, [x1]
1:	ldr x0, [x4]
	cbz x0, 1b
	REPORT
	DONE
END_PROGRAM handshake

/* atomically ++*(u64 *)x0; spin until *(u64 *)x0 >= x1, report it; done */
PROGRAM rendezvous
	mov x4, x0
1:	ldxr x5, [x4]
	add x5, x5, #1
	stxr w6, x5, [x4]
	cbnz w6, 1b
2:	ldr x0, [x4]
	cmp x0, x1
	b.lo 2b
	REPORT
	DONE
END_PROGRAM rendezvous

/* x0 = function id; HVC #0 (SMCCC); report x0; done */
PROGRAM hypercall_hvc
	hvc #0
	REPORT
	DONE
END_PROGRAM hypercall_hvc

/* Benchmark loops: one exit per iteration, forever. x0 is the address. */
PROGRAM loop_mmio_write
1:	strb w1, [x0]
	b 1b
END_PROGRAM loop_mmio_write

PROGRAM loop_mmio_read
1:	ldrb w1, [x0]
	b 1b
END_PROGRAM loop_mmio_read

/* WFI with interrupts masked: what the hypervisor does with an idle vCPU */
PROGRAM loop_hlt
1:	wfi
	b 1b
END_PROGRAM loop_hlt

/*
 * Work timed by the guest: x0 iterations of the body (x8 holds x1, the
 * hypercall's function id or the addend), then report the virtual
 * counter's ticks; end (DONE, or RING_DONE to report the level too).
 */
.macro TIMED_LOOP name, last, body:vararg
PROGRAM \name
	mov x4, x0
	mov x8, x1
	mov x6, #0
	COUNTER_NOW
	mov x5, x0
1:	\body
	subs x4, x4, #1
	b.ne 1b
	COUNTER_NOW
	sub x0, x0, x5
	REPORT
	\last
END_PROGRAM \name
.endm

.macro HVC_BODY
	mov x0, x8
	hvc #0
.endm

/* Eight dependent adds, ten instructions with the loop: the block exec.c times on the host too. */
.macro ALU_BODY
	add x6, x6, x8
	add x6, x6, x8
	add x6, x6, x8
	add x6, x6, x8
	add x6, x6, x8
	add x6, x6, x8
	add x6, x6, x8
	add x6, x6, x8
.endm

TIMED_LOOP timed_hvc, DONE, HVC_BODY
/* The question is how code runs at a level: the program proves which level it ran at. */
TIMED_LOOP timed_alu, RING_DONE, ALU_BODY

/* report(counter); pause for the host; report(counter); done */
PROGRAM tsc_pair
	COUNTER_NOW
	REPORT
	PAUSE
	COUNTER_NOW
	REPORT
	DONE
END_PROGRAM tsc_pair

/*
 * The ID registers of the guest CPU model (cpu_model.c, hvp_model_id_regs,
 * in that order), each reported as this level reads it, then the level:
 * ID_AA64PFR0/PFR1/ZFR0, DFR0, ISAR0/1/2, MMFR0/1/2. EL1 only: at EL0 an
 * MRS of them is UNDEFINED (the vectors end the program). Generic names,
 * since not every assembler knows ISAR2 or ZFR0.
 */
PROGRAM idregs_report
	mrs x0, S3_0_C0_C4_0
	REPORT
	mrs x0, S3_0_C0_C4_1
	REPORT
	mrs x0, S3_0_C0_C4_4
	REPORT
	mrs x0, S3_0_C0_C5_0
	REPORT
	mrs x0, S3_0_C0_C6_0
	REPORT
	mrs x0, S3_0_C0_C6_1
	REPORT
	mrs x0, S3_0_C0_C6_2
	REPORT
	mrs x0, S3_0_C0_C7_0
	REPORT
	mrs x0, S3_0_C0_C7_1
	REPORT
	mrs x0, S3_0_C0_C7_2
	REPORT
	RING_DONE
END_PROGRAM idregs_report

/*
 * A store the syndrome cannot describe: STR with post-index write-back to
 * x0 (never mapped). KVM then fails the run or, with
 * KVM_CAP_ARM_NISV_TO_USER, exits with KVM_EXIT_ARM_NISV; done if it returns.
 */
PROGRAM store_writeback
	str x1, [x0], #8
	mov x0, x1
	REPORT
	DONE
END_PROGRAM store_writeback

/*
 * The exception vectors (VBAR_EL1, copied to HVP_SYS_VECTORS): sixteen
 * entries of 0x80 bytes, each passing its offset in x10 to one handler.
 * SVC #HVP_SVC_LEVEL is answered and returns: x0 = ESR_EL1 << 32 |
 * SPSR_EL1 (see RING). Every other exception ends the program with a
 * failed check naming the vector and the syndrome (guest_abi.h), made again
 * on every later run: without vectors an exception would jump into
 * whatever the memory at VBAR_EL1 holds, and the vCPU would spin in
 * exceptions with no exit to end the run.
 */
.macro VECTOR offset
	.p2align 7
	mov x10, #\offset
	b vectors_handler
.endm

	.p2align 11
PROGRAM vectors
	VECTOR 0x000
	VECTOR 0x080
	VECTOR 0x100
	VECTOR 0x180
	VECTOR 0x200
	VECTOR 0x280
	VECTOR 0x300
	VECTOR 0x380
	VECTOR 0x400
	VECTOR 0x480
	VECTOR 0x500
	VECTOR 0x580
	VECTOR 0x600
	VECTOR 0x680
	VECTOR 0x700
	VECTOR 0x780
	.p2align 7
vectors_handler:
	mrs x11, esr_el1
	mov w11, w11                    /* ISS2 aside: EC, IL and ISS */
	lsr x9, x11, #26
	cmp x9, #0x15                   /* EC: SVC from AArch64 */
	b.ne 1f
	and x9, x11, #0xffff
	cmp x9, #HVP_SVC_LEVEL
	b.ne 1f
	mrs x0, spsr_el1
	mov w0, w0
	orr x0, x0, x11, lsl #32
	eret
1:	mov x0, #HVP_FAIL_EXCEPTION
	orr x0, x0, x10
	orr x0, x0, x11, lsl #32
	CHANNEL
99:	str x0, [x9, #(HVP_MMIO_FAIL - HVP_MMIO_BASE)]
	b 99b
END_PROGRAM vectors

	NOTE_GNU_STACK
