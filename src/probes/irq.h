/* SPDX-License-Identifier: MIT */
/*
 * What the interrupt probes and benchmarks share: a machine whose guest
 * runs irq_wait (guest.h) with its block in the system region's data page,
 * the API's features checked before they are used, and notifiers.
 */
#ifndef HVP_PROBES_IRQ_H
#define HVP_PROBES_IRQ_H

#include <stdint.h>

#include "../machine.h"

#define IRQ_GSI 20               /* an IOAPIC pin no PIC input shares (KVM's IOAPIC has 24) */
#define IRQ_MSI_ADDR 0xfee00000u /* x86 MSI address: destination APIC 0, physical */

/*
 * What each question expects the guest's handler to take, per
 * architecture: x86_64 vectors (the IOAPIC pin IRQ_GSI routed to the irqfd
 * ones); arm64 INTIDs (an SGI, SPI 32 + IRQ_GSI, the virtual timer's PPI).
 * The block's HVP_IRQ_VECTOR names it to the guest either way.
 */
struct irq_arch {
	enum hvp_irq_chip chip;
	uint64_t self, irqfd, resample, timer;
	const char *word; /* "vector", "INTID" */
};

const struct irq_arch *irq_arch_of(const struct hvp_ctx *ctx);

struct irq_guest {
	struct hvp_machine *m;
	struct hvp_vcpu *vcpu;
	volatile uint64_t *block; /* the host's view of the guest's block (guest_abi.h, HVP_IRQ_*) */
};

/*
 * The API's value for feature, or ends the probe skipped naming what was
 * asked and its value (KVM_CAP_IRQFD = 0) when it is 0 or the API has no
 * such calls at all.
 */
int64_t irq_need_feature(struct hvp_ctx *ctx, enum hvp_irq_feature feature, const char *what);

/*
 * A machine with the architecture's in-kernel controller (chip: false for
 * none), its registers paged as device registers. A refused controller
 * ends the probe as not evidence: the probes that ask about it create it
 * themselves.
 */
struct hvp_machine *irq_machine(struct hvp_ctx *ctx, bool chip);

/* Pages the architecture's interrupt controller registers for the guest. */
void irq_page_controller(struct hvp_ctx *ctx, struct hvp_machine *m);

/* Fills the block and starts vCPU 0 on irq_wait; with chip, then finishes the controller (irq_chip_ready). */
void irq_guest_start(struct irq_guest *g, struct hvp_machine *m, bool chip, uint64_t flags, uint64_t vector,
		     uint64_t want);

/* A new notifier; a process limit ends the probe skipped, anything else crashed. */
int irq_notifier(struct hvp_ctx *ctx);

/* Signals a notifier as a device would (not an API call): a failure ends the probe crashed. */
void irq_signal(struct hvp_ctx *ctx, int fd);

/* Runs the guest to its pause once armed; ends the probe crashed if it does not get there. */
void irq_guest_armed(struct hvp_ctx *ctx, struct irq_guest *g);

/*
 * Routes gsi to the MSI the guest takes as vector (x86: vector at APIC 0;
 * arm64: LPI vector, an event of device HVP_ARM64_ITS_DEVID at the ITS the
 * guest programmed) and binds fd to it; the statuses for the caller to judge.
 */
struct hvp_status irq_msi_route(struct hvp_ctx *ctx, struct irq_guest *g, uint32_t gsi, uint32_t vector, int fd);

#endif
