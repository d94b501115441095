/* SPDX-License-Identifier: MIT */
/*
 * The human report: a host line, one line per probe (id, answer, verdict,
 * time, the decisive native evidence, the question) and a summary line.
 * With verbose, each probe's answer sentence, citation and every call follow.
 */
#include <inttypes.h>
#include <string.h>

#include "contract.h"
#include "report.h"

#define RED "\033[31m"
#define GREEN "\033[32m"
#define YELLOW "\033[33m"
#define DIM "\033[2m"
#define RESET "\033[0m"

static const char *verdict_color(const struct hvp_finding *f)
{
	if (hvp_finding_fails_run(f))
		return RED;
	if (f->verdict == HVP_VERDICT_AS_DOCUMENTED)
		return GREEN;
	return YELLOW;
}

static void format_time(char *buf, size_t size, int64_t ns)
{
	if (ns < 1000000)
		snprintf(buf, size, "%.0f us", (double)ns / 1e3);
	else if (ns < 10000000000)
		snprintf(buf, size, "%.1f ms", (double)ns / 1e6);
	else
		snprintf(buf, size, "%.1f s", (double)ns / 1e9);
}

static void format_evidence(char *buf, size_t size, const struct hvp_finding *f)
{
	const struct hvp_evidence *e = hvp_key_evidence(f);

	if (!e)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%s: %s", e->call, e->errname);
}

static int id_width(const struct hvp_report *r)
{
	int w = 2;

	for (unsigned i = 0; i < r->n; i++)
		if ((int)strlen(r->findings[i].id) > w)
			w = (int)strlen(r->findings[i].id);
	return w;
}

static void write_host(FILE *out, const struct hvp_report *r)
{
	const char *get[] = { "backend", "arch", "kernel", "kvm_modules", "cpu_vendor" };

	fprintf(out, "hvprobe %s", r->tool_version);
	for (unsigned i = 0; r->host && i < sizeof(get) / sizeof(get[0]); i++) {
		const char *v = hvp_facts_get(r->host, get[i]);
		if (v)
			fprintf(out, "%s%s", i ? ", " : " on ", v);
	}
	fputc('\n', out);
}

static void write_details(FILE *out, const struct hvp_finding *f)
{
	fprintf(out, "    %s\n", f->reason);
	if (f->citation[0] && f->expected[0])
		fprintf(out, "    contract: %s (%s)\n", f->expected, f->citation);
	else if (f->citation[0])
		fprintf(out, "    contract: the document is silent (%s)\n", f->citation);
	for (unsigned i = 0; i < f->n_evidence; i++) {
		const struct hvp_evidence *e = &f->evidence[i];
		fprintf(out, "    %s %-28s %-10s %s\n", (int)i == f->decisive ? "*" : " ", e->call, e->errname, e->detail);
	}
	if (f->evidence_omitted)
		fprintf(out, "      (%u more calls not kept)\n", f->evidence_omitted);
	for (unsigned i = 0; i < f->n_guest; i++)
		fprintf(out, "      guest: %s = 0x%" PRIx64 "\n", f->guest[i].label, f->guest[i].value);
}

/* A duration given in (fractional) nanoseconds, in the unit that reads best. */
/* "guest ring 0, emulated": where a benchmark ran and, when the report says, how code runs there. */
static void format_where(char *buf, size_t size, const struct hvp_report *r, const struct hvp_bench *b)
{
	const char *speed = hvp_ring_speed(r, b->ring);

	snprintf(buf, size, "%s%s%s", b->ring[0] ? b->ring : "-", speed[0] ? ", " : "", speed);
}

static void write_bench_line(FILE *out, int w, const struct hvp_report *r, const struct hvp_finding *f)
{
	const struct hvp_bench *b = &f->bench;
	char median[32], p99[32], n[32], where[48];

	format_where(where, sizeof(where), r, b);
	if (f->answer != HVP_ANSWER_YES) {
		fprintf(out, "%-*s  %-22s  %s: %s\n", w, f->id, where, hvp_answer_name(f->answer), f->reason);
		return;
	}
	hvp_format_ns(median, sizeof(median), b->median);
	hvp_format_ns(p99, sizeof(p99), b->p99);
	snprintf(n, sizeof(n), "%ux%" PRIu64, b->n, b->ops_per_sample);
	fprintf(out, "%-*s  %-22s  %10s  %10s  %5.1f%%  %12s  %s", w, f->id, where, median, p99, 100 * b->cv, n, b->per);
	if (b->tsc_khz > 0)
		fprintf(out, " (%.0f cycles)", b->median * b->tsc_khz / 1e6);
	fputc('\n', out);
}

static const struct hvp_finding *find_id(const struct hvp_report *r, const char *id)
{
	for (unsigned i = 0; i < r->n; i++)
		if (strcmp(r->findings[i].id, id) == 0)
			return &r->findings[i];
	return NULL;
}

/*
 * The harness's own cost: hvprobe's exit loop against the same loop with
 * nothing but the API's run call, measured interleaved by the baseline.
 */
static void write_overhead(FILE *out, const struct hvp_report *r)
{
	const struct hvp_finding *raw = find_id(r, "bench.exit.raw_baseline");

	if (!raw || raw->answer != HVP_ANSWER_YES || raw->bench.harness_ratio <= 0)
		return;
	fprintf(out, "harness overhead: hvprobe's exit loop / the bare run-call loop = %.3f "
		     "(medians of interleaved batches; goal: at most 1.02)\n", raw->bench.harness_ratio);
}

/* The figure a VMM author chooses a notification path by: a doorbell the kernel takes against an exit. */
static void write_doorbell_ratio(FILE *out, const struct hvp_report *r)
{
	const struct hvp_finding *bell = find_id(r, "bench.io.ioeventfd");

	if (bell && bell->answer == HVP_ANSWER_YES)
		fprintf(out, "doorbells: %s\n", bell->reason);
}

static void write_benches(FILE *out, const struct hvp_report *r, int w)
{
	const char *pinned = NULL;

	fprintf(out, "%-*s  %-22s  %10s  %10s  %6s  %12s  %s\n", w, "BENCHMARK", "WHERE", "MEDIAN", "P99", "CV",
		"SAMPLES", "PER");
	for (unsigned i = 0; i < r->n; i++)
		if (hvp_is_bench(&r->findings[i])) {
			write_bench_line(out, w, r, &r->findings[i]);
			if (r->findings[i].bench.pinned[0])
				pinned = r->findings[i].bench.pinned;
		}
	write_overhead(out, r);
	write_doorbell_ratio(out, r);
	if (pinned)
		fprintf(out, "pinned: %s; samples are batches of N operations (SAMPLES = batches x N)\n", pinned);
}

/* Benchmarks that measured: answered yes with statistics (verdict "not checked"). */
static unsigned benches_measured(const struct hvp_report *r)
{
	unsigned n = 0;

	for (unsigned i = 0; i < r->n; i++)
		n += hvp_is_bench(&r->findings[i]) && r->findings[i].answer == HVP_ANSWER_YES &&
		     r->findings[i].verdict == HVP_VERDICT_NOT_CHECKED;
	return n;
}

/*
 * The findings that change how every other figure reads, each with its
 * answer in a sentence, ahead of everything else.
 */
static void write_execution(FILE *out, const struct hvp_report *r, int w)
{
	int any = 0;

	for (unsigned i = 0; i < r->n; i++) {
		const struct hvp_finding *f = &r->findings[i];
		if (!hvp_is_execution_finding(f->id))
			continue;
		if (!any++)
			fputs("How this host runs guests:\n", out);
		fprintf(out, "  %-*s  %-7s  %s\n", w, f->id, hvp_answer_name(f->answer), f->reason);
	}
	if (any)
		fputc('\n', out);
}

/* The summary line's counts: the questions only, benchmarks have a line of their own. */
static void tally_questions(const struct hvp_report *r, struct hvp_tally *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < r->n; i++)
		if (!hvp_is_bench(&r->findings[i]))
			hvp_tally_add(t, &r->findings[i]);
}

int hvp_report_text(FILE *out, const struct hvp_report *r)
{
	int w = id_width(r), questions = 0, benches = 0;
	struct hvp_tally t;
	char time[32], ev[96];

	write_host(out, r);
	write_execution(out, r, w);
	for (unsigned i = 0; i < r->n; i++)
		hvp_is_bench(&r->findings[i]) ? benches++ : questions++;
	if (benches)
		write_benches(out, r, w);
	if (questions)
		fprintf(out, "%-*s  %-7s  %-13s  %9s  %-34s  %s\n", w, "PROBE", "ANSWER", "VERDICT", "TIME", "EVIDENCE",
			"QUESTION");
	for (unsigned i = 0; i < r->n; i++) {
		const struct hvp_finding *f = &r->findings[i];
		if (hvp_is_bench(f))
			continue;
		format_time(time, sizeof(time), f->elapsed_ns);
		format_evidence(ev, sizeof(ev), f);
		fprintf(out, "%-*s  %s%-7s  %-13s%s  %9s  %-34s  %s\n", w, f->id, r->color ? verdict_color(f) : "",
			hvp_answer_name(f->answer), hvp_verdict_name(f->verdict), r->color ? RESET : "", time, ev,
			f->question);
		if (r->verbose || hvp_finding_fails_run(f))
			write_details(out, f);
	}
	tally_questions(r, &t);
	format_time(time, sizeof(time), r->elapsed_ns);
	if (questions)
		fprintf(out, "%u probes in %s: %u as documented, %u deviate, %u undocumented, %u not checked; "
			     "%u yes, %u no, %u crashed, %u hung, %u skipped%s\n",
			r->n - benches, time, t.as_documented, t.deviates, t.undocumented, t.not_checked, t.yes, t.no,
			t.crashed, t.hung, t.skipped, r->interrupted ? " (interrupted: later probes did not run)" : "");
	if (benches)
		fprintf(out, "%d benchmarks%s%s: %u measured, %d not%s\n", benches, questions ? "" : " in ",
			questions ? "" : time, benches_measured(r), benches - (int)benches_measured(r),
			r->interrupted ? " (interrupted: later benchmarks did not run)" : "");
	return ferror(out) ? -1 : 0;
}

int hvp_report_facts(FILE *out, const struct hvp_report *r)
{
	for (unsigned i = 0; r->host && i < r->host->n; i++)
		fprintf(out, "%-24s %s\n", r->host->fact[i].key, r->host->fact[i].value);
	return ferror(out) ? -1 : 0;
}
