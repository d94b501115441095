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
	cmp x10, #0x280                 /* an IRQ at EL1 (SP_EL1, or SP_EL0 below) */
	b.eq 5f
	cmp x10, #0x080
	b.eq 5f
4:	mrs x11, esr_el1
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
/*
 * An IRQ, where irq_wait asked for them (x28: its block, guest_abi.h): the
 * INTID acknowledged at the GICv3 CPU interface is logged, the virtual
 * timer (a level line until it is off) turned off, the interrupt ended.
 * With no GIC (HVP_IRQF_LAPIC clear) there is nothing to acknowledge: the
 * handler logs ISR_EL1 (0x80: the IRQ line pending at the CPU) and returns
 * with IRQs masked, as the line stays raised until the VMM lowers it.
 * Anywhere else an IRQ is a failed check like any other exception.
 */
5:	cbz x28, 4b
	ldr x11, [x28, #HVP_IRQ_FLAGS]
	tbnz x11, #0, 3f
	mrs x11, isr_el1
	mrs x9, spsr_el1
	orr x9, x9, #0x80               /* SPSR_EL1.I: IRQs masked on return */
	msr spsr_el1, x9
	b 2f
3:	mrs x11, s3_0_c12_c12_0         /* ICC_IAR1_EL1 */
	sub x9, x11, #1020
	cmp x9, #4
	b.lo 6f                         /* spurious (1020-1023): nothing to end; LPIs are above */
2:	ldr x9, [x28, #HVP_IRQ_COUNT]
	cmp x9, #HVP_IRQ_LOG_MAX
	b.hs 7f
	add x10, x28, #HVP_IRQ_LOG
	str x11, [x10, x9, lsl #3]
7:	add x9, x9, #1
	str x9, [x28, #HVP_IRQ_COUNT]
	mrs x9, cntvct_el0
	str x9, [x28, #HVP_IRQ_TSC]
	ldr x9, [x28, #HVP_IRQ_FLAGS]
	tbz x9, #0, 6f                  /* no GIC: nothing to end */
	cmp x11, #HVP_ARM64_VTIMER_INTID
	b.ne 8f
	msr cntv_ctl_el0, xzr
8:	msr s3_0_c12_c12_1, x11         /* ICC_EOIR1_EL1 */
	isb
6:	eret
END_PROGRAM vectors

/*
 * Interrupts through a GICv3 (guest_abi.h, the arm64 irq_wait). x0: the
 * block, kept in x28 for the vectors' IRQ entry; x7 the distributor, x8
 * the redistributor. The program sets up what the flags ask with IRQs
 * masked, pauses if asked, then waits: with IRQs masked it checks the
 * count, WFI (which a pending interrupt ends even while masked), then
 * unmasks so that the interrupt is taken; it reports the INTIDs taken; done.
 */
	.set gicd_hi, HVP_ARM64_GICD_GPA >> 16
	.set gicr_hi, HVP_ARM64_GICR_GPA >> 16

PROGRAM irq_wait
	msr daifset, #2
	mov x28, x0
	str xzr, [x28, #HVP_IRQ_COUNT]
	ldr x4, [x28, #HVP_IRQ_FLAGS]
	ldr x5, [x28, #HVP_IRQ_VECTOR]
	movz x7, #gicd_hi, lsl #16
	movz x8, #gicr_hi, lsl #16
	add x15, x8, #0x10, lsl #12     /* the redistributor's SGI and PPI frame */
	tbz x4, #0, 2f                  /* HVP_IRQF_LAPIC: the CPU interface, distributor, redistributor */
	mrs x6, s3_0_c12_c12_5          /* ICC_SRE_EL1: the system register interface */
	orr x6, x6, #1
	msr s3_0_c12_c12_5, x6
	isb
	mov x6, #0xff
	msr s3_0_c4_c6_0, x6            /* ICC_PMR_EL1: every priority */
	mov x6, #1
	msr s3_0_c12_c12_7, x6          /* ICC_IGRPEN1_EL1: group 1 on */
	isb
	mov w6, #0x12
	str w6, [x7]                    /* GICD_CTLR: affinity routing, group 1 */
	ldr w6, [x8, #0x14]
	bic w6, w6, #2
	str w6, [x8, #0x14]             /* GICR_WAKER: the redistributor awake */
1:	ldr w6, [x8, #0x14]
	tbnz w6, #2, 1b
2:	tbz x4, #3, 3f                  /* HVP_IRQF_IOAPIC: SPI x5, group 1, to this CPU, edge unless level asked */
	lsr x6, x5, #5
	lsl x6, x6, #2
	and x14, x5, #31
	mov w13, #1
	lsl w13, w13, w14
	add x12, x7, #0x80              /* GICD_IGROUPR */
	ldr w14, [x12, x6]
	orr w14, w14, w13
	str w14, [x12, x6]
	ldr x11, [x28, #HVP_IRQ_RTE]
	lsr x6, x5, #4
	lsl x6, x6, #2
	and x14, x5, #15
	lsl x14, x14, #1
	add x14, x14, #1
	mov w13, #1
	lsl w13, w13, w14
	add x12, x7, #0xc00             /* GICD_ICFGR: the bit set for edge, clear for level */
	ldr w14, [x12, x6]
	orr w14, w14, w13
	tbz x11, #15, 9f
	bic w14, w14, w13               /* level: said, not left to the reset value (KVM's SPIs reset to edge) */
9:	str w14, [x12, x6]
	add x12, x7, #0x6000            /* GICD_IROUTER: affinity 0 */
	str xzr, [x12, x5, lsl #3]
	lsr x6, x5, #5
	lsl x6, x6, #2
	and x14, x5, #31
	mov w13, #1
	lsl w13, w13, w14
	add x12, x7, #0x100             /* GICD_ISENABLER */
	str w13, [x12, x6]
3:	tbz x4, #2, 4f                  /* HVP_IRQF_TIMER: PPI 27 on, the virtual timer armed */
	mov w13, #(1 << HVP_ARM64_VTIMER_INTID)
	ldr w14, [x15, #0x80]           /* GICR_IGROUPR0 */
	orr w14, w14, w13
	str w14, [x15, #0x80]
	str w13, [x15, #0x100]          /* GICR_ISENABLER0 */
	ldr x12, [x28, #HVP_IRQ_TIMER]
	msr cntv_tval_el0, x12
	mov x12, #1
	msr cntv_ctl_el0, x12
	isb
4:	tbz x4, #4, 5f                  /* HVP_IRQF_SELF_IPI: SGI x5 on, then sent to this CPU */
	mov w13, #1
	lsl w13, w13, w5
	ldr w14, [x15, #0x80]
	orr w14, w14, w13
	str w14, [x15, #0x80]
	str w13, [x15, #0x100]
	dsb sy
	lsl x12, x5, #24
	orr x12, x12, #1                /* target list: affinity 0.0.0.0 */
	msr s3_0_c12_c11_5, x12         /* ICC_SGI1R_EL1 */
	isb
5:	tbz x4, #6, 10f                 /* HVP_IRQF_ITS: LPIs on, the device's events mapped */
	bl its_setup
10:	tbz x4, #5, 6f                  /* HVP_IRQF_PAUSE */
	PAUSE
6:	msr daifset, #2
	ldr x12, [x28, #HVP_IRQ_COUNT]
	ldr x13, [x28, #HVP_IRQ_WANT]
	cmp x12, x13
	b.hs 7f
	wfi
	msr daifclr, #2
	isb
	b 6b
7:	mov x6, #0
8:	ldr x12, [x28, #HVP_IRQ_COUNT]
	cmp x6, x12
	b.hs 9f
	cmp x6, #HVP_IRQ_LOG_MAX
	b.hs 9f
	add x12, x28, #HVP_IRQ_LOG
	ldr x0, [x12, x6, lsl #3]
	REPORT
	add x6, x6, #1
	b 8b
9:	DONE

/*
 * LPIs and the ITS (guest_abi.h, HVP_IRQF_ITS), x8 the redistributor:
 * the property entries of the two LPIs (priority 0xa0, enabled), the
 * redistributor's property and pending tables, LPIs on; the ITS's device
 * and collection tables (GITS_BASER0 and 1: the device and collection
 * tables where KVM puts them), its command queue, the ITS on; then MAPD,
 * MAPC, two MAPTI and INVALL, waited for until GITS_CREADR reaches them.
 */
	.set its_hi, HVP_ARM64_ITS_GPA >> 16
its_setup:
	movz x16, #its_hi, lsl #16
	mov x12, #HVP_ARM64_LPI_PROP
	mov w13, #0xa1
	strb w13, [x12]
	strb w13, [x12, #1]
	dsb sy
	add x13, x12, #13               /* IDbits: 14 bits of INTID */
	str x13, [x8, #0x70]            /* GICR_PROPBASER */
	mov x12, #HVP_ARM64_LPI_PEND
	str x12, [x8, #0x78]            /* GICR_PENDBASER */
	ldr w13, [x8]
	orr w13, w13, #1
	str w13, [x8]                   /* GICR_CTLR.EnableLPIs */
	mov x12, #HVP_ARM64_ITS_CMDQ    /* x12: the command queue */
	orr x13, x12, #(1 << 63)
	str x13, [x16, #0x80]           /* GITS_CBASER: valid, one 4 KiB page */
	orr x13, x13, #(2 << 8)         /* valid, one page of 64 KiB */
	add x13, x13, #0x10000
	str x13, [x16, #0x100]          /* GITS_BASER0: the device table */
	add x13, x13, #0x10000
	str x13, [x16, #0x108]          /* GITS_BASER1: the collection table */
	str xzr, [x16, #0x88]           /* GITS_CWRITER */
	mov w13, #1
	str w13, [x16]                  /* GITS_CTLR: enabled */
	mov x13, #HVP_ARM64_ITS_DEVID
	lsl x13, x13, #32
	add x14, x13, #0x08             /* MAPD: the device, 1 bit of EventID, its ITT, valid */
	mov x15, #HVP_ARM64_LPI_PROP
	add x15, x15, #(HVP_ARM64_ITS_ITT - HVP_ARM64_LPI_PROP)
	orr x15, x15, #(1 << 63)
	stp x14, xzr, [x12]
	stp x15, xzr, [x12, #16]
	mov x14, #0x09                  /* MAPC: collection 0 to processor 0, valid */
	mov x15, #(1 << 63)
	stp x14, xzr, [x12, #32]
	stp x15, xzr, [x12, #48]
	add x14, x13, #0x0a             /* MAPTI: event 0 to LPI HVP_ARM64_LPI, collection 0 */
	mov x15, #HVP_ARM64_LPI
	lsl x15, x15, #32
	stp x14, x15, [x12, #64]
	stp xzr, xzr, [x12, #80]
	movz x17, #1, lsl #32           /* MAPTI: event 1 to the next LPI */
	add x17, x17, #1
	add x15, x15, x17
	stp x14, x15, [x12, #96]
	stp xzr, xzr, [x12, #112]
	mov x14, #0x0d                  /* INVALL: collection 0 */
	stp x14, xzr, [x12, #128]
	stp xzr, xzr, [x12, #144]
	dsb sy
	mov x13, #160
	str x13, [x16, #0x88]           /* GITS_CWRITER: five commands */
1:	ldr x14, [x16, #0x90]           /* GITS_CREADR */
	cmp x14, x13
	b.ne 1b
	ret
END_PROGRAM irq_wait

/*
 * x1 times a 4-byte store of w2 at x0, and with x3 1 also 1-, 2- and
 * 8-byte stores of it before, with x3 above 1 a 4-byte store of w3 after
 * (uncounted); report the stores of w2 made; done. Single-register stores
 * without write-back: their aborts carry a valid syndrome.
 */
PROGRAM doorbell_mmio
	mov x4, #0
	mov x5, #0
1:	cmp x5, x1
	b.hs 3f
	cmp x3, #1
	b.ne 2f
	strb w2, [x0]
	strh w2, [x0]
	str x2, [x0]
	add x4, x4, #3
2:	str w2, [x0]
	add x4, x4, #1
	add x5, x5, #1
	cmp x3, #1
	b.ls 1b
	str w3, [x0]
	b 1b
3:	mov x0, x4
	REPORT
	DONE
END_PROGRAM doorbell_mmio

/*
 * state_check (guest_state.h): every class of state the guest reaches at
 * EL1, loaded from the host's values, dumped before and after a pause in
 * which the host saves the vCPU and a new process restores it; reports 0
 * (no AVX here) and the virtual counter, pauses, then reports the counter
 * and the mask of classes that changed.
 */
#include "guest_state.h"

.macro ADDR reg, value
	movz \reg, #((\value) >> 16), lsl #16
	movk \reg, #((\value) & 0xffff)
.endm
.macro SYS_LOAD reg, n
	ldr x3, [x1, #(HVP_SVA_SYS + 8 * \n)]
	msr \reg, x3
.endm
.macro SYS_DUMP reg, off
	mrs x2, \reg
	str x2, [x1, #\off]
.endm
.macro GPR_CHECK n
	ldr x9, [x0, #(8 * \n)]
	cmp x9, x\n
	b.eq 1f
	str x0, [x0, #HVP_SVA_LOST]
1:
.endm
/* x22 |= bit unless the dumps agree over [off, off + len), in 8-byte words */
.macro AREA_CHECK off, len, bit
	ADDR x1, (HVP_STATE_BEFORE + \off)
	ADDR x2, (HVP_STATE_AFTER + \off)
	mov x3, #(\len / 8)
2:	ldr x4, [x1], #8
	ldr x5, [x2], #8
	cmp x4, x5
	b.eq 3f
	orr x22, x22, #\bit
3:	subs x3, x3, #1
	b.ne 2b
.endm

	.arch_extension sve
PROGRAM state_check
	mrs x1, cpacr_el1
	orr x1, x1, #(3 << 20)
	msr cpacr_el1, x1
	isb
	ADDR x1, HVP_STATE_VALUES
	add x2, x1, #HVP_SVA_V
	ld1 {v0.2d, v1.2d, v2.2d, v3.2d}, [x2], #64
	ld1 {v4.2d, v5.2d, v6.2d, v7.2d}, [x2], #64
	ld1 {v8.2d, v9.2d, v10.2d, v11.2d}, [x2], #64
	ld1 {v12.2d, v13.2d, v14.2d, v15.2d}, [x2], #64
	ld1 {v16.2d, v17.2d, v18.2d, v19.2d}, [x2], #64
	ld1 {v20.2d, v21.2d, v22.2d, v23.2d}, [x2], #64
	ld1 {v24.2d, v25.2d, v26.2d, v27.2d}, [x2], #64
	ld1 {v28.2d, v29.2d, v30.2d, v31.2d}, [x2], #64
	ldr x3, [x1, #HVP_SVA_FPCR]
	msr fpcr, x3
	ldr x3, [x1, #HVP_SVA_FPSR]
	msr fpsr, x3
	SYS_LOAD tpidr_el0, 0
	SYS_LOAD tpidrro_el0, 1
	SYS_LOAD tpidr_el1, 2
	SYS_LOAD contextidr_el1, 3
	SYS_LOAD far_el1, 4
	SYS_LOAD par_el1, 5
	SYS_LOAD amair_el1, 6
	SYS_LOAD sp_el0, 7
	SYS_LOAD elr_el1, 8
	SYS_LOAD spsr_el1, 9
	ldr x3, [x1, #HVP_SVA_CNTV_CVAL]
	msr cntv_cval_el0, x3
	ldr x3, [x1, #HVP_SVA_CNTV_CTL]
	msr cntv_ctl_el0, x3
	isb
	bl 7f
	ADDR x1, HVP_STATE_BEFORE
	ADDR x4, HVP_SVE_BEFORE
	bl 9f
	bl 6f
	REPORT
	COUNTER_NOW
	REPORT
	/* the flags and the general registers last; x0 and x9 carry the pause */
	ADDR x1, HVP_STATE_VALUES
	ldr x2, [x1, #HVP_SVA_NZCV]
	msr nzcv, x2
	ldp x2, x3, [x1, #16]
	ldp x4, x5, [x1, #32]
	ldp x6, x7, [x1, #48]
	ldr x8, [x1, #64]
	ldp x10, x11, [x1, #80]
	ldp x12, x13, [x1, #96]
	ldp x14, x15, [x1, #112]
	ldp x16, x17, [x1, #128]
	ldp x18, x19, [x1, #144]
	ldp x20, x21, [x1, #160]
	ldp x22, x23, [x1, #176]
	ldp x24, x25, [x1, #192]
	ldp x26, x27, [x1, #208]
	ldp x28, x29, [x1, #224]
	ldr x30, [x1, #240]
	ldr x1, [x1, #8]
	PAUSE
	/* restored: the flags and the counter first, then every register against its value */
	mrs x9, nzcv
	COUNTER_NOW
	stp x0, x9, [sp, #-16]!
	ADDR x0, HVP_STATE_VALUES
	GPR_CHECK 1
	GPR_CHECK 2
	GPR_CHECK 3
	GPR_CHECK 4
	GPR_CHECK 5
	GPR_CHECK 6
	GPR_CHECK 7
	GPR_CHECK 8
	GPR_CHECK 10
	GPR_CHECK 11
	GPR_CHECK 12
	GPR_CHECK 13
	GPR_CHECK 14
	GPR_CHECK 15
	GPR_CHECK 16
	GPR_CHECK 17
	GPR_CHECK 18
	GPR_CHECK 19
	GPR_CHECK 20
	GPR_CHECK 21
	GPR_CHECK 22
	GPR_CHECK 23
	GPR_CHECK 24
	GPR_CHECK 25
	GPR_CHECK 26
	GPR_CHECK 27
	GPR_CHECK 28
	GPR_CHECK 29
	GPR_CHECK 30
	ldp x20, x21, [sp], #16
	mov x22, #0
	ldr x2, [x0, #HVP_SVA_LOST]
	cbz x2, 4f
	orr x22, x22, #HVP_LOST_GPR
4:	ldr x2, [x0, #HVP_SVA_NZCV]
	cmp x2, x21
	b.eq 5f
	orr x22, x22, #HVP_LOST_FLAGS
5:	ADDR x1, HVP_STATE_AFTER
	ADDR x4, HVP_SVE_AFTER
	bl 9f
	AREA_CHECK HVP_SDA_SYS, HVP_SDA_SYS_LEN, HVP_LOST_SYS
	AREA_CHECK HVP_SDA_TIMER, HVP_SDA_TIMER_LEN, HVP_LOST_DR
	AREA_CHECK HVP_SDA_FP, HVP_SDA_FP_LEN, HVP_LOST_FPU
	/* SVE: the dumps' length at this vector length, compared byte by byte */
	bl 6f
	lsr x3, x0, #3
	mov x6, #17
	mul x3, x3, x6
	add x3, x3, x0, lsl #5
	ADDR x1, HVP_SVE_BEFORE
	ADDR x2, HVP_SVE_AFTER
	cbz x3, 4f
2:	ldrb w4, [x1], #1
	ldrb w5, [x2], #1
	cmp w4, w5
	b.eq 3f
	orr x22, x22, #HVP_LOST_AVX
3:	subs x3, x3, #1
	b.ne 2b
4:	mov x0, x20
	REPORT
	mov x0, x22
	REPORT
	DONE

	/* x0 = the SVE vector length in bytes, 0 without SVE (HVP_SVA_SVE) */
6:	ADDR x0, HVP_STATE_VALUES
	ldr x0, [x0, #HVP_SVA_SVE]
	cbz x0, 1f
	rdvl x0, #1
1:	ret

	/* SVE on (HVP_SVA_SVE): ZEN, the longest vector, Z0-Z31, P0-P15 from the values, FFR all true */
7:	ADDR x1, HVP_STATE_VALUES
	ldr x2, [x1, #HVP_SVA_SVE]
	cbz x2, 1f
	mrs x3, cpacr_el1
	orr x3, x3, #(3 << 16)
	msr cpacr_el1, x3
	isb
	mov x3, #0xf
	msr S3_0_C1_C2_0, x3 /* ZCR_EL1 */
	isb
	ADDR x1, HVP_SVE_VALUES
	ptrue p0.b
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	ld1b {z\n\().b}, p0/z, [x1]
	addvl x1, x1, #1
	.endr
	.irp n, 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,0
	ldr p\n, [x1]
	addpl x1, x1, #1
	.endr
	setffr
1:	ret

	/* the dump: x1 = where; uses x2 */
9:	SYS_DUMP tpidr_el0, 0
	SYS_DUMP tpidrro_el0, 8
	SYS_DUMP tpidr_el1, 16
	SYS_DUMP contextidr_el1, 24
	SYS_DUMP far_el1, 32
	SYS_DUMP par_el1, 40
	SYS_DUMP amair_el1, 48
	SYS_DUMP sp_el0, 56
	SYS_DUMP elr_el1, 64
	SYS_DUMP spsr_el1, 72
	SYS_DUMP cntv_ctl_el0, HVP_SDA_TIMER
	SYS_DUMP cntv_cval_el0, HVP_SDA_TIMER + 8
	SYS_DUMP fpcr, HVP_SDA_FP
	SYS_DUMP fpsr, HVP_SDA_FP + 8
	add x2, x1, #(HVP_SDA_FP + 16)
	st1 {v0.2d, v1.2d, v2.2d, v3.2d}, [x2], #64
	st1 {v4.2d, v5.2d, v6.2d, v7.2d}, [x2], #64
	st1 {v8.2d, v9.2d, v10.2d, v11.2d}, [x2], #64
	st1 {v12.2d, v13.2d, v14.2d, v15.2d}, [x2], #64
	st1 {v16.2d, v17.2d, v18.2d, v19.2d}, [x2], #64
	st1 {v20.2d, v21.2d, v22.2d, v23.2d}, [x2], #64
	st1 {v24.2d, v25.2d, v26.2d, v27.2d}, [x2], #64
	st1 {v28.2d, v29.2d, v30.2d, v31.2d}, [x2], #64
	/* SVE (HVP_SVA_SVE) at x4: Z0-Z31, P0-P15, FFR; P0 is read back after FFR passes through it */
	ADDR x2, HVP_STATE_VALUES
	ldr x2, [x2, #HVP_SVA_SVE]
	cbz x2, 1f
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	str z\n, [x4]
	addvl x4, x4, #1
	.endr
	mov x5, x4
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	str p\n, [x4]
	addpl x4, x4, #1
	.endr
	rdffr p0.b
	str p0, [x4]
	ldr p0, [x5]
1:	ret
END_PROGRAM state_check

	NOTE_GNU_STACK
