/* SPDX-License-Identifier: MIT */
/*
 * What may decide an answer (DESIGN.md, "Truth rules"), as helpers every
 * probe uses the same way:
 *
 *  - A refusal is an answer only when it is the refusal the question asks
 *    about: its error class is one the question names (hvp_refused_as in
 *    machine.h, with HVP_REFUSALS below for "any refusal of the API").
 *  - Any other failure is not evidence: the probe ends as `skipped` when a
 *    limit of the host process stopped it (EMFILE), and as `crashed`
 *    otherwise, naming the call (hvp_not_evidence).
 *  - A guest that did not run its program to the end, with the reports the
 *    answer needs, proves nothing either way (hvp_need_guest).
 */
#ifndef HVP_TRUTH_H
#define HVP_TRUTH_H

#include <stdbool.h>

#include "machine.h"


/* The classes by which an API says no to an operation (not: "something went wrong"). */
#define HVP_REFUSALS                                                                         \
	(HVP_CLASS(HVP_ERR_EXISTS) | HVP_CLASS(HVP_ERR_INVALID) | HVP_CLASS(HVP_ERR_NOMEM) |  \
	 HVP_CLASS(HVP_ERR_BUSY) | HVP_CLASS(HVP_ERR_DENIED) | HVP_CLASS(HVP_ERR_UNSUPPORTED) | \
	 HVP_CLASS(HVP_ERR_GENERIC))

/*
 * Ends the probe after a failure that is not the question's evidence:
 * skipped for a limit of the host process (with the fix), crashed for
 * anything else. what says which step failed.
 */
__attribute__((noreturn, format(printf, 3, 4)))
void hvp_not_evidence(struct hvp_ctx *ctx, struct hvp_status st, const char *what, ...);

/*
 * Ends the probe (crashed) unless the guest ran its program to the final
 * report with at least n reports: a guest that stopped early or reported
 * nothing decides nothing. what names the guest's task.
 */
void hvp_need_guest(struct hvp_ctx *ctx, const struct hvp_guest_result *r, unsigned n, const char *what);

/* Ends the probe (as hvp_not_evidence) unless st is a refusal of one of classes: the refusal asked about. */
void hvp_need_refusal(struct hvp_ctx *ctx, struct hvp_status st, unsigned classes, const char *what);

/* Ends the probe unless the call succeeded: a step the question needs, not its answer. */
void hvp_need_ok(struct hvp_ctx *ctx, struct hvp_status st, const char *what);

#endif
