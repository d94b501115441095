/* SPDX-License-Identifier: MIT */
#include "truth.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "runner.h"

/* Ends the probe with answer a and the sentence why (as hvp_probe_abort does for setup). */
__attribute__((noreturn)) static void end_probe(struct hvp_ctx *ctx, enum hvp_answer a, const char *why)
{
	pthread_mutex_lock(&ctx->lock);
	hvp_finding_answer(ctx->f, a, "%s", why);
	if (ctx->result_fd >= 0)
		hvp_finding_send(ctx->result_fd, ctx->f);
	_exit(0);
}

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
		end_probe(ctx, HVP_ANSWER_SKIPPED, why);
	}
	if (st.unmade)
		snprintf(why, sizeof(why), "%s: hvprobe's %s backend refused %s itself (%s), with no call to the API",
			 step, ctx->be->name, st.call, ctx->be->native_name(st.native));
	else
		snprintf(why, sizeof(why), "%s: %s %s (%s), which is not what the question asks about", step, st.call,
			 ctx->be->native_name(st.native), hvp_err_name(st.err));
	end_probe(ctx, HVP_ANSWER_CRASHED, why);
}

void hvp_need_ok(struct hvp_ctx *ctx, struct hvp_status st, const char *what)
{
	if (st.err != HVP_OK)
		hvp_not_evidence(ctx, st, "%s", what);
}

void hvp_need_guest(struct hvp_ctx *ctx, const struct hvp_guest_result *r, unsigned n, const char *what)
{
	char why[HVP_TEXT_MAX], how[128];

	/* A run whose last register read failed ended with an unread status: not "ok". */
	if (hvp_guest_ok(r) && r->n >= n && r->st.err == HVP_OK)
		return;
	if (r->st.err != HVP_OK)
		hvp_not_evidence(ctx, r->st, "%s: the guest's run failed", what);
	snprintf(why, sizeof(why), "%s: the guest did not make the %u reports the answer needs: %s", what, n,
		 hvp_guest_how(ctx, r, how, sizeof(how)));
	end_probe(ctx, HVP_ANSWER_CRASHED, why);
}
