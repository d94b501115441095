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
};

extern struct mock_faults mock_faults;
extern const struct hvp_backend hvp_backend_mock;

#endif
