/* SPDX-License-Identifier: MIT */
/*
 * The findings document: what the seed's README was, written by hvprobe
 * itself. A host section, deviations first, then one section per topic,
 * each question with its answer in a sentence, the contract and its
 * citation, and the evidence; benchmarks as a table of costs.
 */
#include <inttypes.h>
#include <string.h>

#include "contract.h"
#include "report.h"

/* Text for a table cell or a line: pipes escaped, newlines folded. */
static void md_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", out);
		else if (*s == '\n')
			fputc(' ', out);
		else
			fputc(*s, out);
	}
}

static void write_host(FILE *out, const struct hvp_report *r)
{
	const char *backend = r->host ? hvp_facts_get(r->host, "backend") : NULL;
	const char *kernel = r->host ? hvp_facts_get(r->host, "kernel") : NULL;
	struct hvp_tally t;

	hvp_tally(r, &t);
	fprintf(out, "# What %s allows on this host\n\n", backend ? backend : "the hypervisor API");
	fprintf(out, "Written by hvprobe %s%s%s. Every answer below was given by a guest that ran, or by the API's own "
		     "refusal, and is held against what the API's documentation promises.\n\n",
		r->tool_version, kernel ? " on " : "", kernel ? kernel : "");
	fputs("## Host\n\n| fact | value |\n| --- | --- |\n", out);
	for (unsigned i = 0; r->host && i < r->host->n; i++) {
		fprintf(out, "| %s | ", r->host->fact[i].key);
		md_text(out, r->host->fact[i].value);
		fputs(" |\n", out);
	}
	fprintf(out, "\n%u findings: %u as documented, %u deviate, %u undocumented, %u not checked%s.\n\n", r->n,
		t.as_documented, t.deviates, t.undocumented, t.not_checked,
		r->interrupted ? "; the run was interrupted, later probes are missing" : "");
}

static void write_evidence(FILE *out, const struct hvp_finding *f)
{
	if (f->n_evidence == 0 && f->n_guest == 0)
		return;
	fputs("\n<details><summary>Evidence</summary>\n\n| # | call | result | detail |\n| --- | --- | --- | --- |\n", out);
	for (unsigned i = 0; i < f->n_evidence; i++) {
		const struct hvp_evidence *e = &f->evidence[i];
		fprintf(out, "| %u%s | `%s` | %s | ", i + 1, (int)i == f->decisive ? " (decisive)" : "", e->call, e->errname);
		md_text(out, e->detail);
		fputs(" |\n", out);
	}
	if (f->evidence_omitted)
		fprintf(out, "\n%u more calls were made and counted, not kept.\n", f->evidence_omitted);
	if (f->n_guest) {
		fputs("\nThe guest reported:\n\n", out);
		for (unsigned i = 0; i < f->n_guest; i++) {
			fputs("- ", out);
			md_text(out, f->guest[i].label);
			fprintf(out, ": `0x%" PRIx64 "`\n", f->guest[i].value);
		}
	}
	fputs("\n</details>\n", out);
}

static void write_finding(FILE *out, const struct hvp_finding *f)
{
	fprintf(out, "### `%s`: %s (%s)\n\n**", f->id, hvp_answer_name(f->answer), hvp_verdict_name(f->verdict));
	md_text(out, f->question);
	fputs("** ", out);
	/* The answer is a sentence of its own here: capitalized. */
	if (f->reason[0])
		fputc(f->reason[0] >= 'a' && f->reason[0] <= 'z' ? f->reason[0] - 'a' + 'A' : f->reason[0], out);
	md_text(out, f->reason[0] ? f->reason + 1 : "");
	fputs(f->guest_verified ? " (proven by the guest)\n" : "\n", out);
	if (f->citation[0]) {
		fputs("\nContract: ", out);
		if (f->expected[0])
			fprintf(out, "expected **%s**", f->expected);
		else
			fputs("the document is silent", out);
		fputs(", ", out);
		md_text(out, f->citation);
		fputs(".\n", out);
	}
	write_evidence(out, f);
	fputc('\n', out);
}

static void write_costs(FILE *out, const struct hvp_report *r)
{
	int any = 0;

	for (unsigned i = 0; i < r->n; i++) {
		const struct hvp_finding *f = &r->findings[i];
		const struct hvp_bench *b = &f->bench;
		const char *speed;
		if (!hvp_is_bench(f))
			continue;
		if (!any++)
			fputs("## Costs\n\n| benchmark | where | median | p99 | CV | samples | one operation |\n"
			      "| --- | --- | ---: | ---: | ---: | ---: | --- |\n", out);
		if (f->answer != HVP_ANSWER_YES) {
			fprintf(out, "| `%s` | %s | %s | | | | ", f->id, b->ring, hvp_answer_name(f->answer));
			md_text(out, f->reason);
			fputs(" |\n", out);
			continue;
		}
		speed = hvp_ring_speed(r, b->ring);
		fprintf(out, "| `%s` | %s%s%s | %.0f ns | %.0f ns | %.1f%% | %u x %" PRIu64 " | %s |\n", f->id, b->ring,
			speed[0] ? ", " : "", speed, b->median, b->p99, 100 * b->cv, b->n, b->ops_per_sample, b->per);
	}
	if (any)
		fputc('\n', out);
}

/* One topic's section; deviations are written apart unless with_deviations. */
static void write_topic(FILE *out, const struct hvp_report *r, const char *title, bool with_deviations)
{
	int shown = 0;

	for (unsigned i = 0; i < r->n; i++) {
		const struct hvp_finding *f = &r->findings[i];
		if (hvp_is_bench(f) || strcmp(hvp_topic_of(f->id), title) != 0 || (!with_deviations && hvp_finding_fails_run(f)))
			continue;
		if (!shown++)
			fprintf(out, "## %s\n\n", title);
		write_finding(out, f);
	}
}

int hvp_report_markdown(FILE *out, const struct hvp_report *r)
{
	int deviations = 0;

	write_host(out, r);
	write_topic(out, r, hvp_topic(0), true); /* how this host runs guests: first, deviating or not */
	for (unsigned i = 0; i < r->n; i++)
		if (!hvp_is_bench(&r->findings[i]) && hvp_finding_fails_run(&r->findings[i]) &&
		    !hvp_is_execution_finding(r->findings[i].id)) {
			if (!deviations++)
				fputs("## Deviations\n\nWhere this host does something its documentation does not promise, or a "
				      "probe crashed or hung.\n\n", out);
			write_finding(out, &r->findings[i]);
		}
	/* Topics in report order; each finding once, under its topic. */
	for (unsigned k = 1; hvp_topic(k); k++)
		write_topic(out, r, hvp_topic(k), false);
	write_costs(out, r);
	return ferror(out) ? -1 : 0;
}
