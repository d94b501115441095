/* SPDX-License-Identifier: MIT */
/*
 * Migration compatibility, from two reports: can a guest given the full
 * CPU model of host A (the source) run on host B (the destination)? It can
 * when B offers every feature A offers (every CPUID feature bit, ID
 * register field at least as high), every XSAVE state component and at
 * least as large an XSAVE area, the feature MSRs A offers, and when each
 * probe answer a VMM relies on that is yes on A is yes on B too. Each
 * shortfall is named. A pure function of the two reports.
 */
#ifndef HVP_MIGRATION_H
#define HVP_MIGRATION_H

#include <stdio.h>

#include "report_read.h"

#define HVP_MIGRATION_ITEMS_MAX 160

enum hvp_migration_verdict { HVP_MIGRATION_UNKNOWN, HVP_MIGRATION_COMPATIBLE, HVP_MIGRATION_INCOMPATIBLE };

struct hvp_migration_item {
	const char *kind; /* "feature", "xsave", "msr", "probe", "arch" */
	char what[120];   /* "avx2", "xsave area: 2696 bytes on the source, 832 on the destination" */
};

struct hvp_migration {
	enum hvp_migration_verdict verdict;
	char reason[320];  /* why the verdict is unknown */
	unsigned n, omitted;
	struct hvp_migration_item item[HVP_MIGRATION_ITEMS_MAX];
	/* What the destination's report cannot tell (a probe that did not answer, MSRs not read), ", "-separated. */
	char undecided[160];
};

void hvp_migration_compute(const struct hvp_read_report *from, const struct hvp_read_report *to,
			   struct hvp_migration *out);
const char *hvp_migration_verdict_name(enum hvp_migration_verdict v);
/* The verdict line and one line per shortfall. */
void hvp_migration_text(FILE *out, const struct hvp_migration *m, const char *from, const char *to);
/* The "migration" member of diff's JSON (no leading comma). */
void hvp_migration_json(FILE *out, const struct hvp_migration *m);

#endif
