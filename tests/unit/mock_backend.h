/* SPDX-License-Identifier: MIT */
#ifndef HVP_MOCK_BACKEND_H
#define HVP_MOCK_BACKEND_H

#include <stdbool.h>

#include "backend.h"

/* Ways the mock can misbehave, to check that probes notice. Set before running probes. */
struct mock_faults {
	bool allow_overlap;        /* accept maps that overlap */
	bool readonly_writes_land; /* read-only maps take the guest's writes silently */
	bool dirty_log_sticky;     /* reading the dirty log does not clear it */
	unsigned max_slots;        /* maps per VM; 0: the default (512) */
	/* Guest nanoseconds per instruction of timed_alu at ring 0 and 3; 0: native (MOCK_NATIVE_NS). */
	double ns_per_instruction[4];
	bool cpuid_ring3_host;     /* ring-3 CPUID reaches the host CPU, as on PVM without CPUID faulting */
	bool msr_set_ignored;      /* MSR writes from the VMM are accepted and dropped */
	bool msr_filter_ignored;   /* filtered MSR reads are handled in the kernel anyway */
	bool tsc_runs_fast;        /* the guest's TSC runs 10% faster than the rate the API reports */
	bool tsc_offset_ignored;   /* setting the TSC's value is accepted and dropped */
	bool no_real_mode;         /* real-mode vCPU state is refused (EINVAL), as PVM would */
	const char *modules;       /* the kvm_modules fact, NULL: not reported */
};

#define MOCK_NATIVE_NS 0.3

extern struct mock_faults mock_faults;
extern const struct hvp_backend hvp_backend_mock;

#endif
