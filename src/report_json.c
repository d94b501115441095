/* SPDX-License-Identifier: MIT */
/*
 * The JSON report. Its schema is docs/report-schema.json; schema_version
 * changes whenever a field changes meaning or disappears. 64-bit guest
 * values are hex strings, since JSON numbers lose precision past 2^53.
 */
#include <inttypes.h>

#include "cpu_model.h"
#include "report.h"

#define SCHEMA_VERSION 1

static void key(FILE *out, const char *k)
{
	hvp_json_string(out, k);
	fputc(':', out);
}

static void str_member(FILE *out, const char *k, const char *v, int comma)
{
	key(out, k);
	hvp_json_string(out, v);
	if (comma)
		fputc(',', out);
}

static void write_evidence(FILE *out, const struct hvp_finding *f)
{
	key(out, "evidence");
	fputc('[', out);
	for (unsigned i = 0; i < f->n_evidence; i++) {
		const struct hvp_evidence *e = &f->evidence[i];
		fprintf(out, "%s{", i ? "," : "");
		str_member(out, "call", e->call, 1);
		key(out, "result");
		fprintf(out, "%" PRId64 ",", e->result);
		str_member(out, "errno", e->errname, 1);
		str_member(out, "detail", e->detail, 0);
		fputc('}', out);
	}
	fputs("],", out);
	key(out, "evidence_omitted");
	fprintf(out, "%u,", f->evidence_omitted);
	key(out, "decisive");
	fprintf(out, "%d,", f->decisive);
}

static void write_guest(FILE *out, const struct hvp_finding *f)
{
	key(out, "guest");
	fputc('[', out);
	for (unsigned i = 0; i < f->n_guest; i++) {
		char hex[24];
		fprintf(out, "%s{", i ? "," : "");
		str_member(out, "label", f->guest[i].label, 1);
		snprintf(hex, sizeof(hex), "0x%" PRIx64, f->guest[i].value);
		str_member(out, "value", hex, 0);
		fputc('}', out);
	}
	fputs("],", out);
}

/* Statistics with their unit in the key: median_ns, and median_cycles where the guest's TSC timed it. */
static void write_bench(FILE *out, const struct hvp_bench *b)
{
	const struct { const char *name; double v; } stat[] = {
		{ "min", b->min }, { "median", b->median }, { "p90", b->p90 }, { "p99", b->p99 },
		{ "max", b->max }, { "mean", b->mean },
	};

	key(out, "bench");
	fputc('{', out);
	str_member(out, "per", b->per, 1);
	str_member(out, "ring", b->ring, 1);
	str_member(out, "pinned", b->pinned, 1);
	fprintf(out, "\"ops_per_sample\":%" PRIu64 ",\"samples\":%u,", b->ops_per_sample, b->n);
	for (unsigned i = 0; i < sizeof(stat) / sizeof(stat[0]); i++) {
		fprintf(out, "\"%s_ns\":%.3f,", stat[i].name, stat[i].v);
		if (b->tsc_khz > 0)
			fprintf(out, "\"%s_cycles\":%.1f,", stat[i].name, stat[i].v * b->tsc_khz / 1e6);
	}
	if (b->tsc_khz > 0)
		fprintf(out, "\"tsc_khz\":%.0f,", b->tsc_khz);
	if (b->harness_ratio > 0)
		fprintf(out, "\"harness_ratio\":%.4f,", b->harness_ratio);
	fprintf(out, "\"cv\":%.6f,\"samples_ns\":[", b->cv);
	for (unsigned i = 0; i < b->n; i++)
		fprintf(out, "%s%.3f", i ? "," : "", b->sample[i]);
	fputs("]},", out);
}

static void write_finding(FILE *out, const struct hvp_finding *f)
{
	fputc('{', out);
	str_member(out, "id", f->id, 1);
	str_member(out, "question", f->question, 1);
	str_member(out, "answer", hvp_answer_name(f->answer), 1);
	str_member(out, "reason", f->reason, 1);
	str_member(out, "verdict", hvp_verdict_name(f->verdict), 1);
	key(out, "expected");
	if (f->expected[0])
		hvp_json_string(out, f->expected);
	else
		fputs("null", out);
	fputc(',', out);
	str_member(out, "citation", f->citation, 1);
	write_evidence(out, f);
	write_guest(out, f);
	key(out, "guest_verified");
	fputs(f->guest_verified ? "true," : "false,", out);
	if (f->bench.present)
		write_bench(out, &f->bench);
	key(out, "elapsed_ns");
	fprintf(out, "%" PRId64 "}", f->elapsed_ns);
}

int hvp_report_json(FILE *out, const struct hvp_report *r)
{
	struct hvp_tally t;

	hvp_tally(r, &t);
	fputc('{', out);
	key(out, "schema_version");
	fprintf(out, "%d,", SCHEMA_VERSION);
	key(out, "tool");
	fputc('{', out);
	str_member(out, "name", "hvprobe", 1);
	str_member(out, "version", r->tool_version, 0);
	fputs("},", out);
	key(out, "host");
	fputc('{', out);
	for (unsigned i = 0; r->host && i < r->host->n; i++)
		str_member(out, r->host->fact[i].key, r->host->fact[i].value, i + 1 < r->host->n);
	if (r->cpu_model && r->cpu_model->present) {
		fputs(r->host && r->host->n ? "," : "", out);
		key(out, "cpu_model");
		hvp_model_json(out, r->cpu_model);
	}
	fputs("},", out);
	key(out, "interrupted");
	fputs(r->interrupted ? "true," : "false,", out);
	if (r->interrupted > 0)
		fprintf(out, "\"interrupted_by_signal\":%d,", r->interrupted);
	key(out, "summary");
	fprintf(out, "{\"probes\":%u,\"as_documented\":%u,\"deviates\":%u,\"undocumented\":%u,"
		     "\"not_checked\":%u,\"failing\":%u,\"elapsed_ns\":%" PRId64,
		r->n, t.as_documented, t.deviates, t.undocumented, t.not_checked, t.failing, r->elapsed_ns);
	if (r->unix_time > 0)
		fprintf(out, ",\"ended_unix\":%" PRId64, r->unix_time);
	fputs("},", out);
	key(out, "findings");
	fputc('[', out);
	for (unsigned i = 0; i < r->n; i++) {
		if (i)
			fputc(',', out);
		fputs("\n", out);
		write_finding(out, &r->findings[i]);
	}
	fputs("\n]}\n", out);
	return ferror(out) ? -1 : 0;
}
