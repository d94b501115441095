/* SPDX-License-Identifier: MIT */
/*
 * Probes that fork a process of their own (a second VMM process, a child
 * after fork) collect that process's calls and guest values in shared
 * memory and merge them into their finding afterwards.
 */
#ifndef HVP_PROBE_CHILD_H
#define HVP_PROBE_CHILD_H

#include "probe.h"

struct hvp_child_report {
	struct hvp_finding f;           /* the child's evidence and guest values */
	int ran;                        /* the child's guest ran as asked */
	struct hvp_status create;       /* the child's VM create, where it makes one */
	struct hvp_status first_failure;
};

/* A report in memory shared with children forked after this call. */
struct hvp_child_report *hvp_child_report_new(struct hvp_ctx *ctx);
void hvp_child_report_free(struct hvp_child_report *c);

/*
 * The child's context: like ctx, but recording into c, and ending the
 * child quietly (not through the runner's pipe) if its setup breaks.
 */
struct hvp_ctx hvp_child_ctx(struct hvp_ctx *ctx, struct hvp_child_report *c);

/* Appends the child's evidence ("who: detail") and guest values; returns the index of its first call. */
int hvp_child_merge(struct hvp_ctx *ctx, const struct hvp_child_report *c, const char *who);

/* waitpid that survives signals; returns the exit status, or 128 + the signal. */
int hvp_child_wait(pid_t pid);

#endif
