/* SPDX-License-Identifier: MIT */
/*
 * The guest ABI, shared by the host and the guest programs (.S files
 * include it, so it holds only preprocessor constants).
 *
 * x86_64: a program reports RAX with `out %eax, %dx` to HVP_PORT_REPORT
 * (the host reads the full 64-bit RAX), ends with a final report to
 * HVP_PORT_DONE (RAX = status, 0 = success) and reports a failed guest-side
 * check to HVP_PORT_FAIL (RAX = the check's number). Inputs arrive in
 * RDI, RSI, RDX, RCX.
 *
 * Guest-physical layout of the system region every machine has:
 */
#ifndef HVP_GUEST_ABI_H
#define HVP_GUEST_ABI_H

/*
 * arm64: the same channels are 64-bit stores to a page that is never
 * mapped (the guest's own tables make it Device memory; the VM never maps
 * it), so that each becomes an MMIO exit with the value in it: a report
 * stores x0 at HVP_MMIO_REPORT, the final report stores the status at
 * HVP_MMIO_DONE, and so on. Inputs arrive in x0-x3.
 */
#define HVP_MMIO_BASE 0x0a000000
#define HVP_MMIO_REPORT (HVP_MMIO_BASE + 0x00)
#define HVP_MMIO_DONE (HVP_MMIO_BASE + 0x08)
#define HVP_MMIO_FAIL (HVP_MMIO_BASE + 0x10)
#define HVP_MMIO_PAUSE (HVP_MMIO_BASE + 0x18)

/*
 * Ring reports: a program asked to prove the privilege level it ran at
 * reports one word the host decodes (hvp_guest_arch_ring). x86_64: the CS
 * selector (its RPL is the ring). arm64: CurrentEL at EL1, with the low
 * half of SCTLR_EL1 (the MMU and caches on) in the upper half; at EL0,
 * where both are UNDEFINED, the answer to SVC #HVP_SVC_LEVEL from the
 * exception vectors (ESR_EL1 in the upper half, SPSR_EL1 in the lower).
 */
#define HVP_SVC_LEVEL 0xe1 /* any number CMP takes as an immediate (12 bits) */

/*
 * arm64: every exception the programs do not ask for ends the program with
 * a failed check (HVP_MMIO_FAIL) whose value is ESR_EL1 << 32 |
 * HVP_FAIL_EXCEPTION | the vector's offset (0x000-0x780), instead of
 * spinning in an exception loop no exit would end.
 */
#define HVP_FAIL_EXCEPTION 0xe000

#define HVP_PORT_REPORT 0x0a00
#define HVP_PORT_DONE 0x0a01
#define HVP_PORT_FAIL 0x0a02
#define HVP_PORT_PAUSE 0x0a03

#define HVP_SYS_GPA 0x0
#define HVP_SYS_SIZE 0x200000        /* one 2 MiB page of guest paging */
#define HVP_SYS_GDT 0x1000
#define HVP_SYS_TSS 0x2000
#define HVP_SYS_PML4 0x3000          /* the top-level page table (arm64: TTBR0_EL1's) */
#define HVP_SYS_VECTORS 0x8000       /* arm64: the exception vectors (VBAR_EL1), 2 KiB aligned */
#define HVP_SYS_CODE 0x80000
#define HVP_SYS_CODE_SIZE 0x10000
#define HVP_SYS_DATA 0x90000         /* 64 KiB of scratch for programs' inputs */
#define HVP_SYS_STACK_TOP 0x100000   /* 16 vCPU stacks of 4 KiB below this */
#define HVP_SYS_PT_POOL 0x100000     /* page-table pages, enough to page 250 GiB in 2 MiB pages */
#define HVP_SYS_PT_POOL_PAGES 256

/*
 * Interrupt programs (x86_64 irq_wait): the IDT the program builds, and
 * the block of words its argument points at, which the host fills in and
 * the program's interrupt handler writes.
 */
#define HVP_SYS_IDT 0x4000           /* 256 gates of 16 bytes */
#define HVP_IRQ_FLAGS 0              /* HVP_IRQF_* */
#define HVP_IRQ_VECTOR 8             /* the vector of the timer, the self-IPI and the IOAPIC pin */
#define HVP_IRQ_PIN 16               /* the IOAPIC pin the program routes */
#define HVP_IRQ_RTE 24               /* more bits of the pin's redirection entry (1 << 15: level) */
#define HVP_IRQ_TIMER 32             /* the local APIC timer's initial count (divide by 1) */
#define HVP_IRQ_WANT 40              /* interrupts to wait for before the reports */
#define HVP_IRQ_TSC 48               /* written: the TSC at the last interrupt */
#define HVP_IRQ_COUNT 56             /* written: interrupts taken */
#define HVP_IRQ_LOG 64               /* written: the first 16 vectors taken */
#define HVP_IRQ_LOG_MAX 16
#define HVP_IRQ_BLOCK_SIZE (HVP_IRQ_LOG + 8 * HVP_IRQ_LOG_MAX)
#define HVP_IRQF_LAPIC 1             /* enable the local APIC (xAPIC at 0xfee00000) */
#define HVP_IRQF_EOI 2               /* the handler ends each interrupt at the local APIC */
#define HVP_IRQF_TIMER 4             /* arm the local APIC timer, one-shot */
#define HVP_IRQF_IOAPIC 8            /* route the IOAPIC pin (0xfec00000) to the vector, APIC 0 */
#define HVP_IRQF_SELF_IPI 16         /* send the vector to itself through the ICR */
#define HVP_IRQF_PAUSE 32            /* pause (HVP_PORT_PAUSE) once armed, for the host to act */
#define HVP_X86_APIC_GPA 0xfee00000
#define HVP_X86_IOAPIC_GPA 0xfec00000
/*
 * arm64 irq_wait: the same block and flags, for a GICv3 (HVP_IRQF_LAPIC:
 * the CPU interface, distributor and redistributor; HVP_IRQF_IOAPIC: SPI
 * HVP_IRQ_VECTOR, edge unless the RTE word has 1 << 15; HVP_IRQF_TIMER: the
 * virtual timer, PPI HVP_ARM64_VTIMER_INTID; HVP_IRQF_SELF_IPI: SGI
 * HVP_IRQ_VECTOR). The reports are INTIDs. Without HVP_IRQF_LAPIC there is
 * no GIC: the handler logs ISR_EL1 (0x80, HVP_ARM64_ISR_IRQ: the IRQ line
 * pending) and returns with IRQs masked. The GIC's registers, where the
 * API places them for the guest (KVM: KVM_VGIC_V3_ADDR_TYPE_DIST, _REDIST):
 */
#define HVP_ARM64_GICD_GPA 0x08000000   /* 64 KiB */
#define HVP_ARM64_GICR_GPA 0x080a0000   /* 128 KiB per vCPU */
#define HVP_ARM64_ITS_GPA 0x08080000    /* 128 KiB */
#define HVP_ARM64_VTIMER_INTID 27
#define HVP_ARM64_ISR_IRQ 0x80          /* ISR_EL1.I */
/*
 * HVP_IRQF_ITS (arm64): LPIs through the ITS at HVP_ARM64_ITS_GPA. The
 * guest's tables sit in the system region's free space below the stacks:
 * the redistributor's LPI pending table (64 KiB aligned) and property table
 * (LPIs up to 16383) with the device's ITT after it, the ITS's command
 * queue, device table and collection table, each 64 KiB aligned (KVM's ITS
 * aligns GITS_CBASER down to 64 KiB and reads GITS_BASER<n> in the 64 KiB
 * page form; the tables are a 64 KiB page each). It maps
 * device HVP_ARM64_ITS_DEVID's events 0 and 1 to LPIs HVP_ARM64_LPI and
 * HVP_ARM64_LPI + 1 in collection 0 on this vCPU's redistributor.
 */
#define HVP_IRQF_ITS 64
#define HVP_ARM64_LPI_PEND 0xa0000
#define HVP_ARM64_LPI_PROP 0xb0000
#define HVP_ARM64_ITS_ITT 0xb2000
#define HVP_ARM64_ITS_CMDQ 0xc0000      /* then the device table, then the collection table, 64 KiB apart */
#define HVP_ARM64_ITS_DEVID 1
#define HVP_ARM64_LPI 8192
#define HVP_ARM64_ITS_TRANSLATER (HVP_ARM64_ITS_GPA + 0x10040) /* GITS_TRANSLATER: the MSI doorbell */

#endif
