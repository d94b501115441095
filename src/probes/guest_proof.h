/* SPDX-License-Identifier: MIT */
/*
 * What the probes about how guest code runs share: the ring a guest
 * program proves it ran at (exec.c), and the rate of the guest's clock as
 * the API states it (time.c).
 */
#ifndef HVP_PROBES_GUEST_PROOF_H
#define HVP_PROBES_GUEST_PROOF_H

#include <stdint.h>

#include "../machine.h"

/*
 * The ring a program's ring report proves (hvp_guest_arch_ring), kept as a
 * guest value. A word that is no ring report proves nothing: the probe
 * ends crashed, saying so.
 */
unsigned hvp_guest_ring_report(struct hvp_ctx *ctx, uint64_t word);

/* "ring 0", "ring 3", or "another level" (HVP_RING_OTHER), for reasons. */
const char *hvp_ring_name(unsigned ring);

/*
 * The guest's TSC rate (arm64: virtual counter) as the API states it, in
 * kHz. Where it states none, the guest's own timing cannot be read: the
 * query goes into the evidence and 0 comes back with the finding skipped,
 * naming the API's answer (0 kHz; EIO, KVM's word for an unstable host
 * TSC). When the API's call failed otherwise the probe ends crashed.
 */
uint64_t hvp_guest_tsc_khz(struct hvp_ctx *ctx, struct hvp_vcpu *vcpu);

/*
 * x86: what a guest's CPUID reads of a leaf the VMM set. The VMM starts
 * vCPU id of m at ring on cpuid_report, sets leaf.subleaf to val (what
 * describes it in the evidence) and runs it to its five reports: seen gets
 * the four registers (kept as guest values, label before each name),
 * ran_at the ring the guest proved. Returns 0, or -1 after answering no
 * when the API refused the leaf; anything else that is not evidence ends
 * the probe (cpu_config.c).
 */
struct hvp_cpuid_ask {
	uint32_t leaf, subleaf;
	uint32_t val[4];
	unsigned ring;
	const char *what;
	const char *label;
};
int hvp_cpuid_seen(struct hvp_ctx *ctx, struct hvp_machine *m, unsigned id, const struct hvp_cpuid_ask *ask,
		   uint32_t seen[4], unsigned *ran_at);

#endif
