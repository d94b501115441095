/* SPDX-License-Identifier: MIT */
/*
 * `hvprobe diff`: what changed between two reports (two hosts, two kernels,
 * before and after an upgrade). A pure function of the two reports, and
 * its text and JSON forms.
 *
 * A benchmark's median has moved when the difference exceeds three times the two
 * runs' combined spread, sqrt(s_old^2 + s_new^2), each s being the robust
 * spread of that run's samples: noise is measured, never a fixed percentage.
 */
#ifndef HVP_DIFF_H
#define HVP_DIFF_H

#include <stdbool.h>
#include <stdio.h>

#include "migration.h"
#include "report_read.h"

#define HVP_DIFF_NOISE_FACTOR 3.0

enum hvp_change_kind { HVP_CHANGE_CHANGED, HVP_CHANGE_ADDED, HVP_CHANGE_MISSING };

struct hvp_change {
	enum hvp_change_kind kind;
	const struct hvp_read_finding *old, *new; /* NULL for the side a probe is missing from */
	bool answer, verdict, bench;               /* what changed (CHANGED only) */
	double noise_ns;                           /* bench: the combined spread */
};

struct hvp_diff {
	const struct hvp_read_report *old, *new;
	const char *old_name, *new_name;
	unsigned n;
	struct hvp_change *changes;
	unsigned same;               /* findings in both, nothing changed */
	unsigned bench_within_noise; /* of those, benchmarks whose medians differ within the noise */
	struct hvp_migration migration; /* can a guest given old's CPU model run on new's host */
};

/* Both measured: whether the medians differ by more than the noise factor times the runs' combined spread. */
bool hvp_diff_bench_moved(const struct hvp_read_finding *a, const struct hvp_read_finding *b, double *noise);

/* Returns 0, or -1 when out of memory. */
int hvp_diff_compute(const struct hvp_read_report *old, const char *old_name, const struct hvp_read_report *new,
		     const char *new_name, struct hvp_diff *out);
void hvp_diff_free(struct hvp_diff *d);

int hvp_diff_text(FILE *out, const struct hvp_diff *d);
int hvp_diff_json(FILE *out, const struct hvp_diff *d);

#endif
