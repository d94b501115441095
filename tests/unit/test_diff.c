/* SPDX-License-Identifier: MIT */
/*
 * The JSON report reader and `hvprobe diff`: a report hvprobe wrote reads
 * back; malformed, truncated, hostile and wrong-schema inputs are refused
 * with the file and the place named; the diff sees each kind of change and
 * keeps benchmark noise out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "report.h"
#include "report_read.h"
#include "stats.h"
#include "tap.h"

/* A report as hvprobe writes it, from findings built here. */
static char *write_report(const struct hvp_finding *f, unsigned n)
{
	struct hvp_facts facts = { 0 };
	struct hvp_report r = { .tool_version = "9.9", .host = &facts, .findings = f, .n = n };
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	hvp_facts_add(&facts, "backend", "kvm");
	hvp_facts_add(&facts, "arch", "x86_64");
	hvp_facts_add(&facts, "kernel", "Linux 6.1");
	hvp_report_json(out, &r);
	fclose(out);
	return buf;
}

static void bench(struct hvp_finding *f, const char *id, double centre, double jitter)
{
	hvp_finding_init(f, id, "Cost?");
	hvp_finding_answer(f, HVP_ANSWER_YES, "measured");
	f->verdict = HVP_VERDICT_NOT_CHECKED;
	f->bench.present = true;
	f->bench.n = 20;
	for (unsigned i = 0; i < 20; i++)
		f->bench.sample[i] = centre + jitter * ((double)(i % 5) - 2);
	hvp_bench_summarize(&f->bench);
}

static void base_findings(struct hvp_finding f[4])
{
	hvp_finding_init(&f[0], "mem.two_maps", "Two maps?");
	hvp_finding_answer(&f[0], HVP_ANSWER_YES, "both read");
	f[0].verdict = HVP_VERDICT_AS_DOCUMENTED;
	hvp_finding_init(&f[1], "vcpu.kick", "Kick?");
	hvp_finding_answer(&f[1], HVP_ANSWER_YES, "EINTR");
	f[1].verdict = HVP_VERDICT_AS_DOCUMENTED;
	bench(&f[2], "bench.exit.pio_out", 1000, 10);
	bench(&f[3], "bench.exit.hlt", 2000, 10);
}

static int reads(const char *json, struct hvp_read_report *r)
{
	char err[256];
	int rc = hvp_report_read("t.json", json, strlen(json), r, err, sizeof(err));

	if (rc)
		printf("# %s\n", err);
	return rc == 0;
}

/* The reader's message for a bad input, or "" when it was accepted. */
static const char *refusal(const char *json, size_t len)
{
	static char err[512];
	struct hvp_read_report r;

	if (hvp_report_read("bad.json", json, len, &r, err, sizeof(err)) == 0) {
		hvp_report_read_free(&r);
		return "";
	}
	return err;
}

static void test_round_trip(struct tap *t)
{
	struct hvp_finding f[4];
	struct hvp_read_report r;
	char *json;

	base_findings(f);
	json = write_report(f, 4);
	if (ok(t, reads(json, &r), "a report hvprobe wrote reads back")) {
		ok(t, r.n == 4 && strcmp(r.findings[0].id, "mem.two_maps") == 0 && r.findings[0].answer == HVP_ANSWER_YES &&
			      r.findings[0].verdict == HVP_VERDICT_AS_DOCUMENTED && !r.findings[0].bench,
		   "ids, answers and verdicts come back");
		ok(t, strcmp(r.version, "9.9") == 0 && strcmp(r.kernel, "Linux 6.1") == 0 && strcmp(r.arch, "x86_64") == 0,
		   "the tool version and host come back");
		ok(t, r.findings[2].bench && r.findings[2].samples == 20 && r.findings[2].median_ns == 1000 &&
			      r.findings[2].spread_ns > 0,
		   "a benchmark's median and samples come back, with their spread (%.1f ns)", r.findings[2].spread_ns);
		hvp_report_read_free(&r);
	}
	free(json);
}

static void test_refusals(struct tap *t)
{
	static const struct {
		const char *json, *says, *what;
	} bad[] = {
		{ "", "byte 0 (line 1, column 1): the JSON text ends early", "an empty file" },
		{ "{\"schema_version\":1,\"tool\":{\"name\":\"hvp", "ends early (truncated?)", "a truncated report" },
		{ "[1,2]", "top level: expected an object, got array", "an array" },
		{ "{\"schema_version\":2,\"tool\":{}}", ".schema_version: 2: a newer hvprobe wrote this", "a newer schema" },
		{ "{\"schema_version\":0,\"tool\":{}}", ".schema_version: 0 is not a schema", "another schema version" },
		{ "{\"schema_version\":\"1\"}", ".schema_version: expected int, got string", "a version of the wrong type" },
		{ "{\"schema_version\":1,\"tool\":{\"name\":\"other\",\"version\":\"1\"},\"findings\":[]}",
		  ".tool.name: \"other\" did not write this", "another tool's JSON" },
		{ "{\"schema_version\":1,\"tool\":{\"name\":\"hvprobe\",\"version\":\"1\"}}", ".findings: missing",
		  "no findings" },
		{ "{\"schema_version\":1,\"tool\":{\"name\":\"hvprobe\",\"version\":\"1\"},\"findings\":[{\"id\":\"a.b\","
		  "\"answer\":\"maybe\",\"verdict\":\"deviates\",\"reason\":\"\"}]}",
		  ".findings[0].answer: \"maybe\" is not an answer", "an unknown answer" },
		{ "{\"schema_version\":1,\"tool\":{\"name\":\"hvprobe\",\"version\":\"1\"},\"findings\":[{\"id\":\"a.b\","
		  "\"answer\":\"yes\",\"verdict\":\"deviates\",\"reason\":\"\"},{\"id\":\"a.b\",\"answer\":\"yes\","
		  "\"verdict\":\"deviates\",\"reason\":\"\"}]}",
		  ".findings[1]: probe \"a.b\" appears twice", "a probe twice" },
		{ "{\"schema_version\":1,\"tool\":{\"name\":\"hvprobe\",\"version\":\"1\"},\"findings\":[{\"id\":\"../etc\","
		  "\"answer\":\"yes\",\"verdict\":\"deviates\",\"reason\":\"\"}]}",
		  ".findings[0].id: \"../etc\" is not a probe id", "a hostile id" },
		{ "{\"schema_version\":1,\"tool\":{\"name\":\"hvprobe\",\"version\":\"1\"},\"findings\":[{\"id\":\"a\\u0000b\","
		  "\"answer\":\"yes\",\"verdict\":\"deviates\",\"reason\":\"\"}]}",
		  ".findings[0].id: the string contains a NUL", "a NUL inside a string" },
		{ "{\"schema_version\":1,\"tool\":{\"name\":\"hvprobe\",\"version\":\"1\"},\"findings\":[{\"id\":\"a\","
		  "\"answer\":\"yes\",\"verdict\":\"deviates\",\"reason\":\"\",\"bench\":{\"median_ns\":-5}}]}",
		  ".findings[0].bench.median_ns: expected a finite number >= 0", "a negative median" },
		{ "{\"schema_version\":1,\"tool\":{\"name\":\"hvprobe\",\"version\":\"1\"},\"findings\":[{\"id\":\"a\","
		  "\"answer\":\"yes\",\"verdict\":\"deviates\",\"reason\":\"\",\"bench\":{\"median_ns\":1,"
		  "\"samples_ns\":[1,\"x\"]}}]}",
		  ".findings[0].bench.samples_ns[1]: expected a number, got string", "a sample that is not a number" },
		{ "{\"schema_version\":1} trailing", "byte 21 (line 1, column 22)", "text after the report" },
		{ "{\"schema_version\":1,\n \"tool\": {,}}", "line 2, column", "a syntax error, with its line and column" },
		{ "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
		  "nesting too deep", "nesting far deeper than a report's" },
	};
	char with_nul[] = "{\"schema_version\":1}\0{}";

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *err = refusal(bad[i].json, strlen(bad[i].json));
		ok(t, strncmp(err, "bad.json: ", 10) == 0 && strstr(err, bad[i].says) != NULL, "%s is refused: %s",
		   bad[i].what, err);
	}
	ok(t, strstr(refusal(with_nul, sizeof(with_nul) - 1), "a NUL byte") != NULL, "a NUL byte in the file is refused");
}

static struct hvp_diff diff_of(struct hvp_finding *a, unsigned na, struct hvp_finding *b, unsigned nb,
			       struct hvp_read_report *ra, struct hvp_read_report *rb)
{
	char *ja = write_report(a, na), *jb = write_report(b, nb);
	struct hvp_diff d = { 0 };

	if (reads(ja, ra) && reads(jb, rb))
		hvp_diff_compute(ra, "old.json", rb, "new.json", &d);
	free(ja);
	free(jb);
	return d;
}

static char *text_of(const struct hvp_diff *d, int (*fn)(FILE *, const struct hvp_diff *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	fn(out, d);
	fclose(out);
	return buf;
}

static void test_diff(struct tap *t)
{
	struct hvp_finding a[4], b[5];
	struct hvp_read_report ra, rb;
	struct hvp_diff d;
	char *text, *json;

	base_findings(a);
	base_findings(b);
	bench(&b[2], "bench.exit.pio_out", 1012, 10); /* within the noise */
	d = diff_of(a, 4, b, 4, &ra, &rb);
	text = text_of(&d, hvp_diff_text);
	ok(t, d.n == 0 && d.same == 4 && d.bench_within_noise == 1, "two runs of the same host: no change");
	ok(t, strstr(text, "no changes: 4 findings the same (1 benchmark medians differ within their noise)") != NULL,
	   "the text says so");
	free(text);
	hvp_diff_free(&d);
	hvp_report_read_free(&ra);
	hvp_report_read_free(&rb);

	hvp_finding_answer(&b[0], HVP_ANSWER_NO, "refused");
	b[0].verdict = HVP_VERDICT_DEVIATES;
	b[1].verdict = HVP_VERDICT_UNDOCUMENTED;
	bench(&b[2], "bench.exit.pio_out", 1300, 10); /* 30% slower, far beyond a 10 ns jitter */
	hvp_finding_init(&b[3], "cpu.new_probe", "New?");
	hvp_finding_answer(&b[3], HVP_ANSWER_YES, "new");
	d = diff_of(a, 4, b, 4, &ra, &rb);
	ok(t, d.n == 5 && d.same == 0, "four kinds of change and one missing probe: %u changes", d.n);
	ok(t, d.changes[0].answer && d.changes[0].verdict && !d.changes[1].answer && d.changes[1].verdict &&
		      d.changes[2].bench && d.changes[3].kind == HVP_CHANGE_ADDED && d.changes[4].kind == HVP_CHANGE_MISSING &&
		      strcmp(d.changes[4].old->id, "bench.exit.hlt") == 0,
	   "answer, verdict, benchmark, added, missing: each seen");
	text = text_of(&d, hvp_diff_text);
	ok(t, strstr(text, "answer    mem.two_maps") && strstr(text, "yes (as documented)") && strstr(text, "no (deviates)") &&
		      strstr(text, "bench     bench.exit.pio_out") && strstr(text, "+30.0%") &&
		      strstr(text, "added     cpu.new_probe") && strstr(text, "missing   bench.exit.hlt"),
	   "the text names each change");
	json = text_of(&d, hvp_diff_json);
	ok(t, strstr(json, "\"changed\":true") && strstr(json, "\"id\":\"mem.two_maps\",\"change\":\"changed\"") &&
		      strstr(json, "\"moved\":true") && strstr(json, "\"change\":\"missing\""),
	   "the JSON names each change");
	free(text);
	free(json);
	hvp_diff_free(&d);
	hvp_report_read_free(&ra);
	hvp_report_read_free(&rb);
}

int main(void)
{
	struct tap t;

	TAP_PLAN_LATER(&t);
	if (!hvp_report_read_available()) {
		ok(&t, 1, "# SKIP this build has no json-c");
		return tap_done(&t);
	}
	test_round_trip(&t);
	test_refusals(&t);
	test_diff(&t);
	return tap_done(&t);
}
