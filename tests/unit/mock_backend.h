/* SPDX-License-Identifier: MIT */
#ifndef HVP_MOCK_BACKEND_H
#define HVP_MOCK_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "backend.h"

/*
 * Ways the mock can misbehave, to check that probes notice. Set before
 * running probes. The values the API or the guest's CPU decide (what a
 * hypercall returns, CR0 in real mode) default to KVM's (MOCK_FAULTS_KVM):
 * a test sets another and restores the default.
 */
struct mock_faults {
	bool allow_overlap;        /* accept maps that overlap */
	bool readonly_writes_land; /* read-only maps take the guest's writes silently */
	bool dirty_log_sticky;     /* reading the dirty log does not clear it */
	unsigned max_slots;        /* maps per VM; 0: the default (512) */
	/*
	 * How much slower than the host timed_alu runs at ring 0 and 3: the
	 * model times the block on the host for real and scales it. 0: native
	 * (1x), whatever the build's speed.
	 */
	double alu_slowdown[4];
	bool ring_ignored;         /* a vCPU started at ring 3 runs at ring 0, as its ring reports say */
	bool cpuid_ring3_host;     /* ring-3 CPUID reaches the host CPU, as on PVM without CPUID faulting */
	unsigned cpuid_set_refused; /* the Nth CPUID table set in a probe's run is refused (EINVAL); 0: none */
	bool msr_set_ignored;      /* MSR writes from the VMM are accepted and dropped */
	bool msr_filter_ignored;   /* filtered MSR reads are handled in the kernel anyway */
	bool msr_filter_unsupported; /* the API cannot filter MSR reads (EOPNOTSUPP, as KVM before 5.10) */
	int msr_filter_errno;      /* filtering fails with this errno (0: it works) */
	bool tsc_runs_fast;        /* the guest's TSC runs 10% faster than the rate the API reports */
	bool tsc_offset_ignored;   /* setting the TSC's value is accepted and dropped */
	bool tsc_khz_unknown;      /* the API states the guest's TSC rate as 0 kHz */
	int tsc_khz_errno;         /* asking for the guest's TSC rate fails with this errno (0: it works) */
	int tsc_khz_set_errno;     /* setting the TSC's rate fails with this errno (EINVAL: KVM without TSC scaling) */
	bool no_real_mode;         /* real-mode vCPU state is refused (EINVAL), as PVM would */
	uint64_t real_mode_cr0;    /* CR0 of a vCPU put into real mode: KVM's is the VMM's, ET only */
	uint64_t hypercall_result; /* RAX after a hypercall with an unknown number: KVM's -KVM_ENOSYS */
	const char *modules;       /* the kvm_modules fact, NULL: not reported */
	uint64_t page_size;        /* the API's page, which maps and the dirty log go by; 0: 4 KiB (16 KiB: Apple silicon's) */
	bool irq_absent;           /* the API offers no interrupt or doorbell feature (every capability 0) */
	bool irq_lost;             /* irqfd writes and MSIs are accepted and never delivered */
	bool bells_ignored;        /* ioeventfds and coalesced zones are accepted, and writes there exit as before */
	uint64_t state_lost;       /* a restored vCPU lacks these classes (HVP_LOST_*), as its guest reports */
	bool avx_faults;           /* the guest's AVX instructions fault (a shutdown), as in QEMU's nested SVM now and then */
	bool tsc_restore_behind;   /* a restored TSC is a second behind the value saved (wrapping below 0) */
	bool lapic_unsaved;        /* the saved state lacks the local APIC (a backend without KVM_GET_LAPIC) */
	uint32_t xsave_bytes;      /* the saved state's "xsave" class; 0: 4096, struct kvm_xsave's */
	bool dirty_clear_ignored;  /* clearing the manual dirty log is accepted and does nothing */
	bool ring_never_full;      /* the dirty ring takes every page without stopping the run */
	/*
	 * This many interrupt waits (a run of each probe's process) do not wake
	 * for a pending interrupt until kicked, then take it on the next entry:
	 * a lost wakeup, as KVM inside QEMU's emulated SVM shows now and then.
	 */
	unsigned irq_wakes_lost;
};

#define MOCK_CR0_ET UINT64_C(0x10)
#define MOCK_KVM_ENOSYS UINT64_C(0xfffffffffffffc18) /* -1000: include/uapi/linux/kvm_para.h */
#define MOCK_FAULTS_KVM { .real_mode_cr0 = MOCK_CR0_ET, .hypercall_result = MOCK_KVM_ENOSYS }

extern struct mock_faults mock_faults;
extern const struct hvp_backend hvp_backend_mock;

#endif
