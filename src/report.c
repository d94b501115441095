/* SPDX-License-Identifier: MIT */
/* What every report format shares: the format table, tallies, topics, key evidence, escaping. */
#include "report.h"

#include <string.h>

#include "contract.h"

static const struct hvp_report_format formats[] = {
	{ "text", hvp_report_text },
	{ "json", hvp_report_json },
	{ "tap", hvp_report_tap },
	{ "markdown", hvp_report_markdown },
	{ "junit", hvp_report_junit },
	{ "prometheus", hvp_report_prometheus },
	{ "html", hvp_report_html },
	{ "nfd", hvp_report_nfd },
};

const struct hvp_report_format *hvp_report_format(const char *name)
{
	for (unsigned i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (strcmp(formats[i].name, name) == 0)
			return &formats[i];
	return NULL;
}

const char *hvp_report_format_names(void)
{
	return "text, json, tap, markdown, junit, prometheus, html, nfd";
}

void hvp_tally_add(struct hvp_tally *t, const struct hvp_finding *f)
{
	switch (f->verdict) {
	case HVP_VERDICT_AS_DOCUMENTED: t->as_documented++; break;
	case HVP_VERDICT_DEVIATES: t->deviates++; break;
	case HVP_VERDICT_UNDOCUMENTED: t->undocumented++; break;
	case HVP_VERDICT_NOT_CHECKED: t->not_checked++; break;
	}
	switch (f->answer) {
	case HVP_ANSWER_YES: t->yes++; break;
	case HVP_ANSWER_NO: t->no++; break;
	case HVP_ANSWER_CRASHED: t->crashed++; break;
	case HVP_ANSWER_HUNG: t->hung++; break;
	case HVP_ANSWER_SKIPPED: t->skipped++; break;
	case HVP_ANSWER_NONE: break;
	}
	t->failing += hvp_finding_fails_run(f) ? 1 : 0;
}

void hvp_tally(const struct hvp_report *r, struct hvp_tally *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < r->n; i++)
		hvp_tally_add(t, &r->findings[i]);
}

const struct hvp_evidence *hvp_key_evidence(const struct hvp_finding *f)
{
	if (f->decisive >= 0 && (unsigned)f->decisive < f->n_evidence)
		return &f->evidence[f->decisive];
	for (unsigned i = f->n_evidence; i-- > 0;)
		if (f->evidence[i].result != 0)
			return &f->evidence[i];
	return NULL;
}

void hvp_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default:
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

bool hvp_is_bench(const struct hvp_finding *f)
{
	return f->bench.present || strncmp(f->id, "bench.", 6) == 0;
}

bool hvp_is_execution_finding(const char *id)
{
	return strncmp(id, "exec.", 5) == 0 || strncmp(id, "cpu.", 4) == 0 || strncmp(id, "time.", 5) == 0;
}

const char *hvp_ring_speed(const struct hvp_report *r, const char *ring)
{
	const char *id = strcmp(ring, "guest ring 0") == 0 ? "exec.native_cpl0"
			 : strcmp(ring, "guest ring 3") == 0 ? "exec.native_cpl3" : NULL;

	for (unsigned i = 0; id && i < r->n; i++) {
		const struct hvp_finding *f = &r->findings[i];
		if (strcmp(f->id, id) != 0)
			continue;
		if (f->answer == HVP_ANSWER_YES)
			return "native";
		if (f->answer == HVP_ANSWER_NO)
			return strstr(f->reason, "emulated") ? "emulated" : "not native";
	}
	return "";
}

void hvp_format_ns(char *buf, size_t size, double ns)
{
	if (ns < 1e3)
		snprintf(buf, size, "%.1f ns", ns);
	else if (ns < 1e6)
		snprintf(buf, size, "%.2f us", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, size, "%.2f ms", ns / 1e6);
	else
		snprintf(buf, size, "%.2f s", ns / 1e9);
}

/* Topics in report order; prefixes sharing a title are one topic. */
static const struct {
	const char *prefix;
	const char *title;
} topics[] = {
	{ "exec.", "How this host runs guests" }, { "cpu.", "How this host runs guests" },
	{ "time.", "How this host runs guests" }, { "vm.", "VMs and processes" },
	{ "fork.", "VMs and processes" },         { "vcpu.", "Threads and vCPUs" },
	{ "mem.", "Memory" },                     { "limits.", "Limits" },
	{ "lifecycle.", "Teardown" },             { "arm64.", "Where arm64 differs" },
	{ "bench.", "Costs" },
};

const char *hvp_topic_of(const char *id)
{
	for (unsigned i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
		if (strncmp(id, topics[i].prefix, strlen(topics[i].prefix)) == 0)
			return topics[i].title;
	return "Other questions";
}

const char *hvp_topic(unsigned k)
{
	static const char *const other = "Other questions";
	unsigned distinct = 0;

	for (unsigned i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
		if (i == 0 || strcmp(topics[i].title, topics[i - 1].title) != 0)
			if (distinct++ == k)
				return topics[i].title;
	return k == distinct ? other : NULL;
}

void hvp_xml_text(FILE *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&apos;", out); break;
		default:
			if (*p < 0x20 && *p != '\n' && *p != '\t')
				fputc('?', out);
			else
				fputc(*p, out);
		}
	}
}
