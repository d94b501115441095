/* SPDX-License-Identifier: MIT */
/* The probe-side recording helpers declared in probe.h. */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "probe.h"
#include "runner.h"

int hvp_record(struct hvp_ctx *ctx, struct hvp_status st, const char *fmt, ...)
{
	char detail[HVP_DETAIL_MAX];
	va_list ap;
	int i;

	if (st.unmade)
		return -1; /* evidence lists only calls that reached the API */
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&ctx->lock);
	i = hvp_finding_add_evidence(ctx->f, st.call, st.native, ctx->be->native_name(st.native), detail);
	pthread_mutex_unlock(&ctx->lock);
	return i;
}

void hvp_decisive(struct hvp_ctx *ctx, int i)
{
	pthread_mutex_lock(&ctx->lock);
	ctx->f->decisive = i;
	pthread_mutex_unlock(&ctx->lock);
}

void hvp_guest_value(struct hvp_ctx *ctx, const char *label, uint64_t value)
{
	pthread_mutex_lock(&ctx->lock);
	hvp_finding_add_guest(ctx->f, label, value);
	pthread_mutex_unlock(&ctx->lock);
}

void hvp_probe_end(struct hvp_ctx *ctx, enum hvp_answer a, const char *why)
{
	pthread_mutex_lock(&ctx->lock);
	hvp_finding_answer(ctx->f, a, "%s", why);
	if (ctx->result_fd >= 0)
		hvp_finding_send(ctx->result_fd, ctx->f);
	_exit(0);
}

void hvp_probe_abort(struct hvp_ctx *ctx, const char *file, int line, const char *fmt, ...)
{
	char what[HVP_TEXT_MAX], why[HVP_TEXT_MAX + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(why, sizeof(why), "probe setup failed at %s:%d: %s", file, line, what);
	hvp_probe_end(ctx, HVP_ANSWER_CRASHED, why);
}
