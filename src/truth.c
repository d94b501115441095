/* SPDX-License-Identifier: MIT */
#include "truth.h"

#include <stdarg.h>
#include <stdio.h>

void hvp_not_evidence(struct hvp_ctx *ctx, struct hvp_status st, const char *what, ...)
{
	char step[128], why[HVP_TEXT_MAX];
	va_list ap;

	va_start(ap, what);
	vsnprintf(step, sizeof(step), what, ap);
	va_end(ap);
	if (st.err == HVP_ERR_RLIMIT && !st.unmade) {
		snprintf(why, sizeof(why), "%s: %s %s, a limit of this process, not of the API (raise it: ulimit -n)",
			 step, st.call, ctx->be->native_name(st.native));
		hvp_probe_end(ctx, HVP_ANSWER_SKIPPED, why);
	}
	if (st.unmade)
		snprintf(why, sizeof(why), "%s: hvprobe's %s backend refused %s itself (%s), with no call to the API",
			 step, ctx->be->name, st.call, ctx->be->native_name(st.native));
	else
		snprintf(why, sizeof(why), "%s: %s %s (%s), which is not what the question asks about", step, st.call,
			 ctx->be->native_name(st.native), hvp_err_name(st.err));
	hvp_probe_end(ctx, HVP_ANSWER_CRASHED, why);
}

void hvp_need_refusal(struct hvp_ctx *ctx, struct hvp_status st, unsigned classes, const char *what)
{
	if (!hvp_refused_as(st, classes))
		hvp_not_evidence(ctx, st, "%s", what);
}

void hvp_need_ok(struct hvp_ctx *ctx, struct hvp_status st, const char *what)
{
	if (st.err != HVP_OK)
		hvp_not_evidence(ctx, st, "%s", what);
}

void hvp_need_guest(struct hvp_ctx *ctx, const struct hvp_guest_result *r, unsigned n, const char *what)
{
	char why[HVP_TEXT_MAX], how[128];

	if (hvp_guest_ok(r) && r->n >= n)
		return;
	if (r->st.err != HVP_OK)
		hvp_not_evidence(ctx, r->st, "%s: the guest's run failed", what);
	snprintf(why, sizeof(why), "%s: the guest did not make the %u reports the answer needs: %s", what, n,
		 hvp_guest_how(ctx, r, how, sizeof(how)));
	hvp_probe_end(ctx, HVP_ANSWER_CRASHED, why);
}
