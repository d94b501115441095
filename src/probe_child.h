/* SPDX-License-Identifier: MIT */
/*
 * Probes that fork a process of their own (a second VMM process, a child
 * after fork) collect that process's calls and guest values in shared
 * memory and merge them into their finding afterwards.
 *
 * A child's result is its report and its exit status together: a child
 * that crashed, was killed, or whose own setup failed has answered
 * nothing, whatever its report holds so far (hvp_child_failure).
 */
#ifndef HVP_PROBE_CHILD_H
#define HVP_PROBE_CHILD_H

#include <stddef.h>
#include <sys/types.h>

#include "probe.h"

struct hvp_child_report {
	struct hvp_finding f;           /* the child's evidence and guest values; answered crashed if its setup failed */
	int ran;                        /* the child's guest ran as asked */
	int finished;                   /* the child did all it was asked and ended through hvp_child_exit */
	int64_t exit_ns;                /* when it did (hvp_now_ns) */
	struct hvp_status create;       /* the child's VM create, where it makes one */
	unsigned refused;               /* calls the API refused the child (hvp_child_note) */
	struct hvp_status first_failure; /* the first of them */
	struct hvp_status first_unasked; /* the first refused in a class the question is not about */
};

/* A report in memory shared with children forked after this call. */
struct hvp_child_report *hvp_child_report_new(struct hvp_ctx *ctx);
void hvp_child_report_free(struct hvp_child_report *c);

/*
 * The child's context: like ctx, but recording into c, and ending the
 * child quietly (not through the runner's pipe) if its setup breaks.
 */
struct hvp_ctx hvp_child_ctx(struct hvp_ctx *ctx, struct hvp_child_report *c);

/*
 * Notes one of the child's calls (st.evidence: its index in c->f): a
 * refusal is counted, and one outside classes (HVP_CLASS) is kept apart as
 * no answer to the question.
 */
void hvp_child_note(struct hvp_child_report *c, struct hvp_status st, unsigned classes);

/* Ends the child once it has done all it was asked: its report is complete. */
__attribute__((noreturn)) void hvp_child_exit(struct hvp_child_report *c);

/* Appends the child's evidence ("who: detail") and guest values; returns the index of its first call. */
int hvp_child_merge(struct hvp_ctx *ctx, const struct hvp_child_report *c, const char *who);

/* waitpid that survives signals; returns the wait status (-1 if there is no such child). */
int hvp_child_wait(pid_t pid);

/*
 * NULL when the child finished (hvp_child_exit) and exited with status 0;
 * else how it ended instead, in buf: "killed by SIGKILL", "exited with
 * status 3", or the reason its own setup gave.
 */
const char *hvp_child_failure(const struct hvp_child_report *c, int wait_status, char *buf, size_t size);

#endif
