/* SPDX-License-Identifier: MIT */
/*
 * The guest ABI of state_check, the program that proves a snapshot (.S
 * files include it, so it holds only preprocessor constants).
 *
 * The host stages the values to load at HVP_STATE_VALUES in the system
 * region's data page. The guest loads them into every class of state it can
 * reach, dumps that state to HVP_STATE_BEFORE, reports, loads its general
 * registers and flags, and pauses (the host saves the vCPU and the memory
 * there). After the restore it dumps the state again to HVP_STATE_AFTER,
 * compares the two dumps class by class (and the general registers and
 * flags with the values), and reports a mask of the classes that changed
 * (HVP_LOST_*). Both dumps travel with the guest memory: the comparison is
 * the restored guest's own.
 *
 * x86_64 reports: XCR0 as the guest set it (0: no XSAVE, so no AVX), the
 * TSC; pause; the TSC, the mask; done.
 *
 * x86_64 with a local APIC (xAPIC at HVP_X86_APIC_GPA, paged by the host):
 * where HVP_SV_LAPIC_N is not 0 the guest also writes CR8 (the TPR's
 * priority class), then the listed APIC registers in order (the spurious
 * vector register first, which enables it; a self-IPI through the ICR,
 * which stays pending in the IRR with interrupts off; the timer's initial
 * count last, which starts it); the dumps hold those registers, the IRR
 * and the timer's counts. After the restore the timer must still count
 * (its current count not 0, at most what it was at the save and at most
 * its initial count): its LVT entry is masked, so it never interrupts.
 */
#ifndef HVP_GUEST_STATE_H
#define HVP_GUEST_STATE_H

#define HVP_STATE_VALUES 0x90000 /* HVP_SYS_DATA */
#define HVP_STATE_BEFORE 0x91000
#define HVP_STATE_AFTER 0x92000

/* x86_64: the first argument's flag to leave AVX alone even where CPUID offers it. */
#define HVP_STATE_NO_AVX 1

/* x86_64 values (HVP_STATE_VALUES + offset) */
#define HVP_SV_GPR 0         /* rbx rcx rbp rsi rdi r8 r9 r10 r11 r12 r13 r14 r15: 13 u64 */
#define HVP_SV_FLAGS 104     /* RFLAGS */
#define HVP_SV_CR2 112
#define HVP_SV_CR8 120       /* loaded with the local APIC only (CR8 is its TPR) */
#define HVP_SV_IDT 128       /* the lidt operand: limit (u16), base (u64) */
#define HVP_SV_FCW 144       /* x87 control word (u16) */
#define HVP_SV_MXCSR 152     /* u32 */
#define HVP_SV_X87 160       /* a double pushed on the x87 stack */
#define HVP_SV_DR 168        /* DR0-DR3, DR7 */
#define HVP_SV_NMSR 208      /* how many MSRs follow (at most HVP_SV_MSR_MAX) */
#define HVP_SV_MSR 216       /* {index, value} u64 pairs */
#define HVP_SV_MSR_MAX 16
#define HVP_SV_XMM 512       /* XMM0-15, 16 bytes each */
#define HVP_SV_YMMH 768      /* the upper halves of YMM0-15 */
#define HVP_SV_LAPIC_N 1024  /* how many APIC registers follow (0: the APIC and CR8 are left alone) */
#define HVP_SV_LAPIC 1032    /* {register offset, value} u32 pairs, written in order */
#define HVP_SV_LAPIC_MAX 16

/* x86_64 dumps (HVP_STATE_BEFORE / HVP_STATE_AFTER + offset) */
#define HVP_SD_SYS 0         /* CR0 CR2 CR3 CR4 CR8 EFER, GDTR, IDTR, CS DS ES FS GS SS TR LDTR */
#define HVP_SD_SYS_LEN 144
#define HVP_SD_DR 144        /* DR0-DR3, DR7 */
#define HVP_SD_DR_LEN 40
#define HVP_SD_MSR 184       /* each MSR of the values read back */
#define HVP_SD_MSR_LEN 128
#define HVP_SD_FPU 312       /* FCW, MXCSR, ST0, XMM0-15 */
#define HVP_SD_FPU_LEN 280
#define HVP_SD_YMMH 592      /* the upper halves of YMM0-15 (zero without AVX) */
#define HVP_SD_YMMH_LEN 256
#define HVP_SD_XCR0 848
#define HVP_SD_XCR0_LEN 8
#define HVP_SD_LAPIC 856     /* each APIC register of the values read back, u32 */
#define HVP_SD_LAPIC_LEN 64
#define HVP_SD_IRR 920       /* the IRR's eight words: the pending interrupts */
#define HVP_SD_IRR_LEN 32
#define HVP_SD_TMCCT 952     /* the timer's current count (u32), read last */
#define HVP_SD_TMICT 956     /* and its initial count */
#define HVP_SD_LEN 960

/* arm64 values (HVP_STATE_VALUES + offset) */
#define HVP_SVA_GPR 0        /* xN at 8 * N, for x1-x8 and x10-x30 (x0 and x9 carry the reports) */
#define HVP_SVA_NZCV 256
#define HVP_SVA_LOST 264     /* the restored guest marks here that a general register changed */
#define HVP_SVA_SYS 272      /* TPIDR_EL0 TPIDRRO_EL0 TPIDR_EL1 CONTEXTIDR_EL1 FAR_EL1 PAR_EL1 AMAIR_EL1 SP_EL0 ELR_EL1 SPSR_EL1 */
#define HVP_SVA_CNTV_CTL 352
#define HVP_SVA_CNTV_CVAL 360
#define HVP_SVA_FPCR 368
#define HVP_SVA_FPSR 376
#define HVP_SVA_V 384        /* V0-V31, 16 bytes each */
#define HVP_SVA_SVE 248      /* 1: the vCPU has SVE; load and check Z0-Z31, P0-P15 and FFR too */
/*
 * SVE's values and dumps, at the vector length the guest sets (the
 * longest KVM allows: ZCR_EL1.LEN 15, up to 256 bytes): Z0-Z31, then
 * P0-P15 (and FFR in the dumps), each VL or VL / 8 bytes, packed.
 */
#define HVP_SVE_VALUES 0x94000
#define HVP_SVE_BEFORE 0x97000
#define HVP_SVE_AFTER 0x9a000
#define HVP_SVE_MAX_BYTES 0x2220 /* 32 * 256 + 17 * 32 */

/* arm64 dumps */
#define HVP_SDA_SYS 0        /* the ten system registers above */
#define HVP_SDA_SYS_LEN 80
#define HVP_SDA_TIMER 80     /* CNTV_CTL_EL0, CNTV_CVAL_EL0 */
#define HVP_SDA_TIMER_LEN 16
#define HVP_SDA_FP 96        /* FPCR, FPSR, V0-V31 */
#define HVP_SDA_FP_LEN 528

/*
 * The mask of classes that did not survive. arm64 uses the same bits for
 * its own classes: GPR, FLAGS (NZCV), SYS (system registers), DR (the
 * virtual timer), FPU (FP/SIMD: V0-V31, FPCR, FPSR), AVX (SVE: Z0-Z31,
 * P0-P15, FFR).
 */
#define HVP_LOST_GPR 0x01
#define HVP_LOST_FLAGS 0x02
#define HVP_LOST_SYS 0x04
#define HVP_LOST_DR 0x08
#define HVP_LOST_MSR 0x10
#define HVP_LOST_FPU 0x20
#define HVP_LOST_AVX 0x40
#define HVP_LOST_XCR0 0x80
#define HVP_LOST_LAPIC 0x100   /* x86_64: the APIC registers written (TPR, LVTs, SVR, LDR, DFR, ICR, timer setup) */
#define HVP_LOST_TIMER 0x200   /* x86_64: the APIC timer stopped, expired or went back */
#define HVP_LOST_PENDING 0x400 /* x86_64: the IRR: the interrupt left pending */
#define HVP_LOST_ALL 0x7ff

#endif
