/* SPDX-License-Identifier: MIT */
/*
 * TAP version 13 (the version Debian 12's prove accepts): one test per
 * probe, "ok" unless the finding fails the run, "# SKIP" for skipped
 * probes, and a YAML block with the evidence under every "not ok".
 */
#include <inttypes.h>
#include <string.h>

#include "contract.h"
#include "report.h"

/* A YAML double-quoted scalar: JSON's escaping is a subset YAML accepts. */
static void yaml_str(FILE *out, const char *s)
{
	hvp_json_string(out, s);
}

static void tap_line_text(FILE *out, const char *s)
{
	/* '#' would start a TAP directive; newlines would end the line. */
	for (; *s; s++)
		fputc(*s == '#' ? '_' : *s == '\n' ? ' ' : *s, out);
}

static void write_yaml(FILE *out, const struct hvp_finding *f)
{
	fputs("  ---\n  question: ", out);
	yaml_str(out, f->question);
	fprintf(out, "\n  answer: %s\n  expected: %s\n  verdict: ", hvp_answer_name(f->answer),
		f->expected[0] ? f->expected : "null");
	yaml_str(out, hvp_verdict_name(f->verdict));
	fputs("\n  reason: ", out);
	yaml_str(out, f->reason);
	fputs("\n  citation: ", out);
	yaml_str(out, f->citation);
	fputs("\n  evidence:\n", out);
	for (unsigned i = 0; i < f->n_evidence; i++) {
		const struct hvp_evidence *e = &f->evidence[i];
		fputs("    - call: ", out);
		yaml_str(out, e->call);
		fprintf(out, "\n      result: %" PRId64 "\n      errno: ", e->result);
		yaml_str(out, e->errname);
		fputs("\n      detail: ", out);
		yaml_str(out, e->detail);
		fputc('\n', out);
	}
	fputs("  ...\n", out);
}

int hvp_report_tap(FILE *out, const struct hvp_report *r)
{
	fprintf(out, "TAP version 13\n1..%u\n", r->n);
	for (unsigned i = 0; i < r->n; i++) {
		const struct hvp_finding *f = &r->findings[i];
		int bad = hvp_finding_fails_run(f);

		fprintf(out, "%s %u - %s: %s (%s)", bad ? "not ok" : "ok", i + 1, f->id, hvp_answer_name(f->answer),
			hvp_verdict_name(f->verdict));
		if (f->answer == HVP_ANSWER_SKIPPED) {
			fputs(" # SKIP ", out);
			tap_line_text(out, f->reason);
		}
		fputc('\n', out);
		if (bad)
			write_yaml(out, f);
	}
	if (r->interrupted > 0)
		fprintf(out, "# interrupted by signal %d: later probes did not run\n", r->interrupted);
	else if (r->interrupted) /* a report read back that does not name the signal */
		fputs("# interrupted: later probes did not run\n", out);
	return ferror(out) ? -1 : 0;
}
