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
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "../bench.h"
#include "../machine.h"
#include "../truth.h"
#include "guest_proof.h"

#define PAUSE_NS 200000000ll         /* long beside an exit round trip even when emulated */
#define RATE_TOLERANCE 0.005         /* relative: NTP slew and calibration are far smaller */
#define TSC_VALUE_SET (UINT64_C(1) << 50) /* far from anything the host's TSC holds */

/* The guest's TSC rate over a pause, bracketed by the host's clock. */
struct tsc_rate {
	uint64_t first, second; /* the guest's readings */
	double khz_low, khz_high;
	int64_t first_read_by_ns; /* host time by which the first reading was taken */
};

/*
 * The backend answers 0 where the API states no rate, and leaves errno at
 * the native error when the API's call failed (KVM_GET_TSC_KHZ); 0 with
 * errno 0 is the API's own answer (KVM: it knows no rate). EIO is an
 * answer too: KVM's for a host whose TSC is unstable (api.rst,
 * KVM_GET_TSC_KHZ). Any other failure is no answer about the clock.
 */
uint64_t hvp_guest_tsc_khz(struct hvp_ctx *ctx, struct hvp_vcpu *vcpu)
{
	struct hvp_status st;
	uint64_t khz;
	int err;

	if (!ctx->be->tsc_khz) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "the API (%s on %s) has no call stating the guest's TSC "
				   "rate, so the guest's own timing cannot be read in nanoseconds", ctx->be->name, ctx->be->arch);
		return 0;
	}
	errno = 0;
	khz = ctx->be->tsc_khz(vcpu);
	err = errno;
	if (khz)
		return khz;
	st = (struct hvp_status){ err == 0 ? HVP_OK : err == EIO ? HVP_ERR_IO : HVP_ERR_OTHER, err, "tsc_khz", -1 };
	hvp_decisive(ctx, hvp_record(ctx, st, "the guest's TSC rate: 0 kHz"));
	if (st.err != HVP_OK && st.err != HVP_ERR_IO)
		hvp_not_evidence(ctx, st, "asking the API for the guest's TSC rate");
	hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "the API states no rate for the guest's TSC (0 kHz%s%s), so the "
			   "guest's own timing cannot be read in nanoseconds", err ? ", " : "",
			   err ? ctx->be->native_name(err) : "");
	return 0;
}

/*
 * Runs tsc_pair on vcpu and keeps the guest's readings as its proof (the
 * run that took the second one decisive); returns 0, or ends the probe
 * crashed when the guest did not make both readings: nothing then was
 * measured.
 */
static void measure_tsc_rate(struct hvp_ctx *ctx, struct hvp_machine *m, struct hvp_vcpu *vcpu, struct tsc_rate *out)
{
	const struct timespec pause = { PAUSE_NS / 1000000000, PAUSE_NS % 1000000000 };
	struct hvp_guest_result r;
	int64_t a0, a1, b0, b1;
	double cycles;
	char how[128];

	a0 = hvp_now_ns();
	hvp_guest_run(m, vcpu, &r);
	a1 = hvp_now_ns();
	hvp_need_ok(ctx, r.st, "the guest's run to its first TSC reading");
	if (r.n != 1 || hvp_guest_arch_channel(&r.last) != HVP_CHANNEL_PAUSE)
		hvp_probe_abort(ctx, __FILE__, __LINE__, "the guest did not report its first TSC reading and pause: %s",
				hvp_guest_how(ctx, &r, how, sizeof(how)));
	out->first = r.value[0];
	out->first_read_by_ns = a1;
	nanosleep(&pause, NULL);
	b0 = hvp_now_ns();
	hvp_guest_resume(m, vcpu, &r, 0);
	b1 = hvp_now_ns();
	hvp_need_guest(ctx, &r, 1, "the guest's second TSC reading");
	HVP_ASSERT(ctx, r.n == 1, "the guest made %u reports after the pause, not 1", r.n);
	out->second = r.value[0];
	hvp_decisive(ctx, r.st.evidence);
	hvp_guest_value(ctx, "guest TSC, first reading", out->first);
	hvp_guest_value(ctx, "guest TSC, second reading", out->second);
	ctx->f->guest_verified = true;
	cycles = (double)(out->second - out->first);
	/* The readings are at least b0 - a1 and at most b1 - a0 apart; kHz is cycles per millisecond. */
	out->khz_low = cycles / ((double)(b1 - a0) / 1e6);
	out->khz_high = cycles / ((double)(b0 - a1) / 1e6);
}

static int rate_matches(const struct tsc_rate *t, double khz)
{
	return khz >= t->khz_low * (1 - RATE_TOLERANCE) && khz <= t->khz_high * (1 + RATE_TOLERANCE);
}

static void run_tsc_rate(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	struct hvp_vcpu *vcpu = hvp_vcpu_start(m, 0, &hvp_prog_tsc_pair, NULL);
	uint64_t khz = hvp_guest_tsc_khz(ctx, vcpu);
	struct tsc_rate t;

	if (khz == 0)
		return;
	measure_tsc_rate(ctx, m, vcpu, &t);
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
 * Returns the rate asked for, or 0 when the API has no such call or
 * refuses the rate as one it cannot give (why in why). Any other failure
 * is no answer about rates: the probe ends crashed.
 */
static uint64_t set_lower_rate(struct hvp_ctx *ctx, struct hvp_vcpu *vcpu, uint64_t khz, char *why, size_t size)
{
	uint64_t want = khz * 3 / 4;
	struct hvp_status st;

	if (!ctx->be->tsc_khz_set) {
		snprintf(why, size, "the API has no call to set the TSC's rate");
		return 0;
	}
	st = ctx->be->tsc_khz_set(vcpu, want);
	hvp_record(ctx, st, "%" PRIu64 " kHz (3/4 of %" PRIu64 ")", want, khz);
	if (st.err == HVP_OK)
		return want;
	if (!hvp_refused_as(st, HVP_CLASS(HVP_ERR_INVALID) | HVP_CLASS(HVP_ERR_UNSUPPORTED)))
		hvp_not_evidence(ctx, st, "setting the TSC's rate to %" PRIu64 " kHz", want);
	snprintf(why, size, "the rate cannot be set lower here: %" PRIu64 " kHz was refused (%s %s)", want, st.call,
		 ctx->be->native_name(st.native));
	return 0;
}

/* Whether the first reading is the value set plus no more than the time since, at the fastest rate. */
static int offset_applied(const struct tsc_rate *t, int64_t set_ns, uint64_t khz)
{
	double most = (double)(t->first_read_by_ns - set_ns) / 1e6 * (double)khz * 2 + 1e6;

	return t->first >= TSC_VALUE_SET && (double)(t->first - TSC_VALUE_SET) <= most;
}

/*
 * Sets the guest's TSC; returns the evidence index of the call. A refusal
 * of the value (the error class a VMM would get for it) answers no;
 * another failure ends the probe crashed.
 */
static int set_tsc_value(struct hvp_ctx *ctx, struct hvp_vcpu *vcpu)
{
	struct hvp_status st = ctx->be->tsc_set(vcpu, TSC_VALUE_SET);
	int i = hvp_record(ctx, st, "TSC = 0x%" PRIx64, TSC_VALUE_SET);

	if (st.err == HVP_OK)
		return i;
	if (!hvp_refused_as(st, HVP_CLASS(HVP_ERR_INVALID) | HVP_CLASS(HVP_ERR_UNSUPPORTED) | HVP_CLASS(HVP_ERR_DENIED)))
		hvp_not_evidence(ctx, st, "setting the guest's TSC");
	hvp_decisive(ctx, i);
	hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "setting the guest's TSC was refused: %s %s", st.call,
			   ctx->be->native_name(st.native));
	return -1;
}

static void run_tsc_offset(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	struct hvp_vcpu *vcpu = hvp_vcpu_start(m, 0, &hvp_prog_tsc_pair, NULL);
	uint64_t khz, want;
	struct tsc_rate t;
	char rate_why[160] = "";
	int64_t set_ns;
	int i;

	if (!ctx->be->tsc_set) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "the API has no call to set the guest's TSC");
		return;
	}
	khz = hvp_guest_tsc_khz(ctx, vcpu); /* bounds what the guest may read after the value set */
	if (khz == 0)
		return;
	want = set_lower_rate(ctx, vcpu, khz, rate_why, sizeof(rate_why));
	set_ns = hvp_now_ns();
	i = set_tsc_value(ctx, vcpu);
	if (i < 0)
		return;
	measure_tsc_rate(ctx, m, vcpu, &t);
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
