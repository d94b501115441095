/* SPDX-License-Identifier: MIT */
/*
 * JUnit XML, the shape GitLab, Jenkins and the common GitHub reporters read:
 * one testcase per probe (classname = topic, the id's first word), failure
 * for a deviation, error for an unexpected crash or hang, skipped with its
 * reason; the evidence in system-out, the host as properties.
 */
#include <inttypes.h>
#include <string.h>

#include "contract.h"
#include "report.h"

static void write_testcase(FILE *out, const struct hvp_finding *f)
{
	size_t dot = strcspn(f->id, ".");
	int fails = hvp_finding_fails_run(f);

	fprintf(out, "    <testcase classname=\"%.*s\" name=\"", (int)dot, f->id);
	hvp_xml_text(out, f->id);
	fprintf(out, "\" time=\"%.6f\">\n", (double)f->elapsed_ns / 1e9);
	if (fails && (f->answer == HVP_ANSWER_CRASHED || f->answer == HVP_ANSWER_HUNG)) {
		fprintf(out, "      <error type=\"%s\" message=\"", hvp_answer_name(f->answer));
		hvp_xml_text(out, f->reason);
		fputs("\"/>\n", out);
	} else if (fails) {
		fprintf(out, "      <failure type=\"deviates\" message=\"expected %s, answered %s: ", f->expected,
			hvp_answer_name(f->answer));
		hvp_xml_text(out, f->reason);
		fputs("\">", out);
		hvp_xml_text(out, f->citation);
		fputs("</failure>\n", out);
	} else if (f->answer == HVP_ANSWER_SKIPPED) {
		fputs("      <skipped message=\"", out);
		hvp_xml_text(out, f->reason);
		fputs("\"/>\n", out);
	}
	fputs("      <system-out>", out);
	hvp_xml_text(out, f->question);
	fputs("\n", out);
	hvp_xml_text(out, f->reason);
	fprintf(out, "\nverdict: %s\n", hvp_verdict_name(f->verdict));
	for (unsigned i = 0; i < f->n_evidence; i++) {
		const struct hvp_evidence *e = &f->evidence[i];
		fprintf(out, "%s ", (int)i == f->decisive ? "*" : "-");
		hvp_xml_text(out, e->call);
		fputs(": ", out);
		hvp_xml_text(out, e->errname);
		fputs(" ", out);
		hvp_xml_text(out, e->detail);
		fputs("\n", out);
	}
	for (unsigned i = 0; i < f->n_guest; i++) {
		fputs("guest: ", out);
		hvp_xml_text(out, f->guest[i].label);
		fprintf(out, " = 0x%" PRIx64 "\n", f->guest[i].value);
	}
	fputs("</system-out>\n    </testcase>\n", out);
}

int hvp_report_junit(FILE *out, const struct hvp_report *r)
{
	unsigned failures = 0, errors = 0, skipped = 0;

	for (unsigned i = 0; i < r->n; i++) {
		const struct hvp_finding *f = &r->findings[i];
		int fails = hvp_finding_fails_run(f);
		errors += fails && (f->answer == HVP_ANSWER_CRASHED || f->answer == HVP_ANSWER_HUNG);
		failures += fails && !(f->answer == HVP_ANSWER_CRASHED || f->answer == HVP_ANSWER_HUNG);
		skipped += !fails && f->answer == HVP_ANSWER_SKIPPED;
	}
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
	fprintf(out, "<testsuites name=\"hvprobe\" tests=\"%u\" failures=\"%u\" errors=\"%u\" skipped=\"%u\" time=\"%.6f\">\n",
		r->n, failures, errors, skipped, (double)r->elapsed_ns / 1e9);
	fprintf(out, "  <testsuite name=\"hvprobe\" tests=\"%u\" failures=\"%u\" errors=\"%u\" skipped=\"%u\" time=\"%.6f\">\n",
		r->n, failures, errors, skipped, (double)r->elapsed_ns / 1e9);
	fputs("    <properties>\n", out);
	fprintf(out, "      <property name=\"hvprobe.version\" value=\"");
	hvp_xml_text(out, r->tool_version);
	fputs("\"/>\n", out);
	for (unsigned i = 0; r->host && i < r->host->n; i++) {
		fputs("      <property name=\"", out);
		hvp_xml_text(out, r->host->fact[i].key);
		fputs("\" value=\"", out);
		hvp_xml_text(out, r->host->fact[i].value);
		fputs("\"/>\n", out);
	}
	fputs("    </properties>\n", out);
	for (unsigned i = 0; i < r->n; i++)
		write_testcase(out, &r->findings[i]);
	fputs("  </testsuite>\n</testsuites>\n", out);
	return ferror(out) ? -1 : 0;
}
