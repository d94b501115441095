/* SPDX-License-Identifier: MIT */
/*
 * The node_exporter textfile-collector format: HELP and TYPE lines, base
 * units, the hvprobe_ prefix. A gauge per probe for its answer and its
 * verdict, benchmark statistics as summaries in seconds, build info and the
 * time of the run. -o writes it atomically, so a scraper never reads half.
 */
#include <inttypes.h>
#include <string.h>

#include "contract.h"
#include "report.h"

/* A label value: backslash, double quote and newline escaped. */
static void label(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', out);
		if (*s == '\n') {
			fputs("\\n", out);
			continue;
		}
		fputc(*s, out);
	}
	fputc('"', out);
}

static void header(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void probe_gauges(FILE *out, const struct hvp_report *r)
{
	header(out, "hvprobe_probe_answer", "gauge", "1 for the answer a probe gave, as its answer label.");
	for (unsigned i = 0; i < r->n; i++) {
		fputs("hvprobe_probe_answer{probe=", out);
		label(out, r->findings[i].id);
		fprintf(out, ",answer=\"%s\"} 1\n", hvp_answer_name(r->findings[i].answer));
	}
	header(out, "hvprobe_probe_verdict", "gauge", "1 for the verdict of a probe's answer against its contract.");
	for (unsigned i = 0; i < r->n; i++) {
		fputs("hvprobe_probe_verdict{probe=", out);
		label(out, r->findings[i].id);
		fputs(",verdict=", out);
		label(out, hvp_verdict_name(r->findings[i].verdict));
		fputs("} 1\n", out);
	}
	header(out, "hvprobe_probe_failing", "gauge", "1 when the finding fails the run (a deviation, or an unexpected crash or hang).");
	for (unsigned i = 0; i < r->n; i++) {
		fputs("hvprobe_probe_failing{probe=", out);
		label(out, r->findings[i].id);
		fprintf(out, "} %d\n", hvp_finding_fails_run(&r->findings[i]) ? 1 : 0);
	}
	header(out, "hvprobe_probe_duration_seconds", "gauge", "How long the probe took.");
	for (unsigned i = 0; i < r->n; i++) {
		fputs("hvprobe_probe_duration_seconds{probe=", out);
		label(out, r->findings[i].id);
		fprintf(out, "} %.9f\n", (double)r->findings[i].elapsed_ns / 1e9);
	}
}

static void bench_summaries(FILE *out, const struct hvp_report *r)
{
	static const struct { const char *q; size_t off; } quantiles[] = {
		{ "0.5", offsetof(struct hvp_bench, median) },
		{ "0.9", offsetof(struct hvp_bench, p90) },
		{ "0.99", offsetof(struct hvp_bench, p99) },
	};
	int any = 0;

	for (unsigned i = 0; i < r->n; i++) {
		const struct hvp_finding *f = &r->findings[i];
		const struct hvp_bench *b = &f->bench;
		double sum = 0;
		if (!b->present || f->answer != HVP_ANSWER_YES)
			continue;
		if (!any++)
			header(out, "hvprobe_bench_seconds", "summary", "Cost of one operation, over timed batches.");
		for (unsigned k = 0; k < sizeof(quantiles) / sizeof(quantiles[0]); k++) {
			fputs("hvprobe_bench_seconds{benchmark=", out);
			label(out, f->id);
			fputs(",ring=", out);
			label(out, b->ring);
			fprintf(out, ",quantile=\"%s\"} %.12g\n", quantiles[k].q,
				*(const double *)(const void *)((const char *)b + quantiles[k].off) / 1e9);
		}
		for (unsigned k = 0; k < b->n; k++)
			sum += b->sample[k];
		fputs("hvprobe_bench_seconds_sum{benchmark=", out);
		label(out, f->id);
		fputs(",ring=", out);
		label(out, b->ring);
		fprintf(out, "} %.12g\nhvprobe_bench_seconds_count{benchmark=", sum / 1e9);
		label(out, f->id);
		fputs(",ring=", out);
		label(out, b->ring);
		fprintf(out, "} %u\n", b->n);
	}
}

int hvp_report_prometheus(FILE *out, const struct hvp_report *r)
{
	const char *backend = r->host ? hvp_facts_get(r->host, "backend") : NULL;
	const char *arch = r->host ? hvp_facts_get(r->host, "arch") : NULL;
	const char *kernel = r->host ? hvp_facts_get(r->host, "kernel") : NULL;

	header(out, "hvprobe_build_info", "gauge", "hvprobe's version and the host it ran on.");
	fputs("hvprobe_build_info{version=", out);
	label(out, r->tool_version);
	fputs(",backend=", out);
	label(out, backend ? backend : "");
	fputs(",arch=", out);
	label(out, arch ? arch : "");
	fputs(",kernel=", out);
	label(out, kernel ? kernel : "");
	fputs("} 1\n", out);
	/* A report read back that does not say when it ran (hvprobe report) has no time to give. */
	if (r->unix_time > 0) {
		header(out, "hvprobe_last_run_timestamp_seconds", "gauge", "When the run that wrote this file ended.");
		fprintf(out, "hvprobe_last_run_timestamp_seconds %" PRId64 "\n", r->unix_time);
	}
	probe_gauges(out, r);
	bench_summaries(out, r);
	return ferror(out) ? -1 : 0;
}
