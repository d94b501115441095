/* SPDX-License-Identifier: MIT */
/*
 * The guest's clock. A guest converts TSC cycles to time with the rate the
 * VMM tells it (which the VMM reads from the API), so a TSC that runs at
 * another rate makes every guest clock wrong; a VMM that restores a
 * snapshot or migrates sets the TSC's value and maybe its rate, and needs
 * the guest to read what it set.
 *
 * The guest reads its TSC twice with a pause between: each reading happens
 * inside a run call whose start and end the host timed, so the host time
 * between the two readings is bracketed, and the rate with it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "../bench.h"
#include "../machine.h"

#define PAUSE_NS 200000000ll         /* long beside an exit round trip even when emulated */
#define RATE_TOLERANCE 0.005         /* relative: NTP slew and calibration are far smaller */
#define TSC_VALUE_SET (UINT64_C(1) << 50) /* far from anything the host's TSC holds */

/* The guest's TSC rate over a pause, bracketed by the host's clock. */
struct tsc_rate {
	uint64_t first, second; /* the guest's readings */
	double khz_low, khz_high;
	int64_t first_read_by_ns; /* host time by which the first reading was taken */
};

/* The guest's two readings did not come: the answer says how the run ended. */
static int tsc_not_read(struct hvp_ctx *ctx, const struct hvp_guest_result *r)
{
	hvp_decisive(ctx, r->st.evidence);
	hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the guest could not read its TSC twice: %s exit",
			   hvp_exit_kind_name(r->last.kind));
	return -1;
}

/*
 * Runs tsc_pair on vcpu and keeps the guest's readings as its proof (the
 * run that took the second one decisive); returns 0, or -1 with the answer
 * given when the guest did not complete.
 */
static int measure_tsc_rate(struct hvp_ctx *ctx, struct hvp_machine *m, struct hvp_vcpu *vcpu, struct tsc_rate *out)
{
	const struct timespec pause = { PAUSE_NS / 1000000000, PAUSE_NS % 1000000000 };
	struct hvp_guest_result r;
	int64_t a0, a1, b0, b1;
	double cycles;

	a0 = hvp_now_ns();
	hvp_guest_run(m, vcpu, &r);
	a1 = hvp_now_ns();
	if (r.n != 1 || hvp_guest_arch_channel(&r.last) != HVP_CHANNEL_PAUSE)
		return tsc_not_read(ctx, &r);
	out->first = r.value[0];
	out->first_read_by_ns = a1;
	nanosleep(&pause, NULL);
	b0 = hvp_now_ns();
	hvp_guest_resume(m, vcpu, &r, 0);
	b1 = hvp_now_ns();
	if (!hvp_guest_ok(&r) || r.n != 1)
		return tsc_not_read(ctx, &r);
	out->second = r.value[0];
	hvp_decisive(ctx, r.st.evidence);
	hvp_guest_value(ctx, "guest TSC, first reading", out->first);
	hvp_guest_value(ctx, "guest TSC, second reading", out->second);
	ctx->f->guest_verified = true;
	cycles = (double)(out->second - out->first);
	/* The readings are at least b0 - a1 and at most b1 - a0 apart; kHz is cycles per millisecond. */
	out->khz_low = cycles / ((double)(b1 - a0) / 1e6);
	out->khz_high = cycles / ((double)(b0 - a1) / 1e6);
	return 0;
}

static int rate_matches(const struct tsc_rate *t, double khz)
{
	return khz >= t->khz_low * (1 - RATE_TOLERANCE) && khz <= t->khz_high * (1 + RATE_TOLERANCE);
}

static void run_tsc_rate(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	struct hvp_vcpu *vcpu = hvp_vcpu_start(m, 0, &hvp_prog_tsc_pair, NULL);
	uint64_t khz = ctx->be->tsc_khz ? ctx->be->tsc_khz(vcpu) : 0;
	struct tsc_rate t;

	if (khz == 0) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "the API does not tell the guest's TSC frequency");
		return;
	}
	if (measure_tsc_rate(ctx, m, vcpu, &t) < 0)
		return;
	hvp_finding_answer(ctx->f, rate_matches(&t, (double)khz) ? HVP_ANSWER_YES : HVP_ANSWER_NO,
			   "the API says %" PRIu64 " kHz; over %lld ms of host time the guest's TSC ran at %.0f-%.0f kHz "
			   "(%+.2f%% from the API's figure)", khz, PAUSE_NS / 1000000,
			   t.khz_low, t.khz_high, ((t.khz_low + t.khz_high) / 2 / (double)khz - 1) * 100);
}

const struct hvp_probe probe_time_tsc_rate = {
	.id = "time.tsc_rate",
	.question = "Does the guest's TSC advance at the rate the API reports (within 0.5% of host time)?",
	.timeout_s = 15,
	.run = run_tsc_rate,
};

/*
 * Asks for three quarters of the current rate: without TSC scaling in
 * hardware KVM refuses a lower rate (and fakes a higher one by catching up
 * at each entry), so a lower rate tells cleanly whether scaling exists.
 * Returns the rate asked for, or 0 when the API cannot or would not.
 */
static uint64_t set_lower_rate(struct hvp_ctx *ctx, struct hvp_vcpu *vcpu, uint64_t khz, char *why, size_t size)
{
	uint64_t want = khz * 3 / 4;
	struct hvp_status st;

	if (!ctx->be->tsc_khz_set || khz == 0) {
		snprintf(why, size, "the API has no call to set the TSC's rate");
		return 0;
	}
	st = ctx->be->tsc_khz_set(vcpu, want);
	hvp_record(ctx, st, "%" PRIu64 " kHz (3/4 of %" PRIu64 ")", want, khz);
	if (st.err != HVP_OK) {
		snprintf(why, size, "setting the rate to %" PRIu64 " kHz was refused: %s %s", want, st.call,
			 ctx->be->native_name(st.native));
		return 0;
	}
	return want;
}

/* Whether the first reading is the value set plus no more than the time since, at the fastest rate. */
static int offset_applied(const struct tsc_rate *t, int64_t set_ns, uint64_t khz)
{
	double most = (double)(t->first_read_by_ns - set_ns) / 1e6 * (double)khz * 2 + 1e6;

	return t->first >= TSC_VALUE_SET && (double)(t->first - TSC_VALUE_SET) <= most;
}

static void run_tsc_offset(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	struct hvp_vcpu *vcpu = hvp_vcpu_start(m, 0, &hvp_prog_tsc_pair, NULL);
	uint64_t khz = ctx->be->tsc_khz ? ctx->be->tsc_khz(vcpu) : 0, want;
	struct hvp_status st;
	struct tsc_rate t;
	char rate_why[160] = "";
	int64_t set_ns;
	int i;

	if (!ctx->be->tsc_set) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "the API has no call to set the guest's TSC");
		return;
	}
	want = set_lower_rate(ctx, vcpu, khz, rate_why, sizeof(rate_why));
	set_ns = hvp_now_ns();
	st = ctx->be->tsc_set(vcpu, TSC_VALUE_SET);
	i = hvp_record(ctx, st, "TSC = 0x%" PRIx64, TSC_VALUE_SET);
	if (st.err != HVP_OK) {
		hvp_decisive(ctx, i);
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "setting the guest's TSC was refused: %s %s", st.call,
				   ctx->be->native_name(st.native));
		return;
	}
	if (measure_tsc_rate(ctx, m, vcpu, &t) < 0)
		return;
	hvp_decisive(ctx, i); /* the value set is the question here */
	if (!offset_applied(&t, set_ns, khz > want ? khz : want))
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the VMM set the TSC to 0x%" PRIx64 " but the guest read 0x%" PRIx64,
				   TSC_VALUE_SET, t.first);
	else if (!want)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "the guest read the TSC value the VMM set (0x%" PRIx64 " + %" PRIu64
				   " cycles); %s", TSC_VALUE_SET, t.first - TSC_VALUE_SET, rate_why);
	else
		hvp_finding_answer(ctx->f, rate_matches(&t, (double)want) ? HVP_ANSWER_YES : HVP_ANSWER_NO,
				   "the guest read the TSC value the VMM set (0x%" PRIx64 " + %" PRIu64 " cycles); the VMM set "
				   "the rate to %" PRIu64 " kHz and the guest's TSC ran at %.0f-%.0f kHz", TSC_VALUE_SET,
				   t.first - TSC_VALUE_SET, want, t.khz_low, t.khz_high);
}

const struct hvp_probe probe_time_tsc_offset = {
	.id = "time.tsc_offset",
	.question = "Does the guest read the TSC value (and, where it can be set, the rate) the VMM set?",
	.timeout_s = 15,
	.run = run_tsc_offset,
};
