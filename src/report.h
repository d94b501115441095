/* SPDX-License-Identifier: MIT */
/*
 * Reports: each a pure function of the findings and the host facts,
 * writing to a stream. Nothing here runs a probe.
 */
#ifndef HVP_REPORT_H
#define HVP_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "backend.h"
#include "finding.h"

struct hvp_cpu_model;

struct hvp_report {
	const char *tool_version;
	const struct hvp_facts *host;
	const struct hvp_cpu_model *cpu_model; /* the guest CPU model, kept in the host block; NULL: none */
	const struct hvp_finding *findings;
	unsigned n;
	int interrupted;  /* signal that stopped the run, 0 if none */
	bool color;       /* text only: ANSI colours */
	bool verbose;     /* text only: reason and every call under each probe */
	int64_t elapsed_ns;
	int64_t unix_time;  /* when the run ended (prometheus) */
};

struct hvp_report_format {
	const char *name;
	int (*write)(FILE *out, const struct hvp_report *r);
};

int hvp_report_text(FILE *out, const struct hvp_report *r);
int hvp_report_json(FILE *out, const struct hvp_report *r);
int hvp_report_tap(FILE *out, const struct hvp_report *r);
/* A findings document a person can publish as is. */
int hvp_report_markdown(FILE *out, const struct hvp_report *r);
/* JUnit XML for CI systems. */
int hvp_report_junit(FILE *out, const struct hvp_report *r);
/* node_exporter's textfile-collector format. */
int hvp_report_prometheus(FILE *out, const struct hvp_report *r);
/* One self-contained page: the findings table, filterable, and a plot per benchmark. */
int hvp_report_html(FILE *out, const struct hvp_report *r);
/* A Node Feature Discovery feature file (features.d): a label for each thing the run proved. */
int hvp_report_nfd(FILE *out, const struct hvp_report *r);
/* `hvprobe info`: one host fact per line. */
int hvp_report_facts(FILE *out, const struct hvp_report *r);

/* The format called name, or NULL. */
const struct hvp_report_format *hvp_report_format(const char *name);
/* "text, json, tap": for --help and error messages. */
const char *hvp_report_format_names(void);

/* Counts for the summary line. */
struct hvp_tally {
	unsigned as_documented, deviates, undocumented, not_checked;
	unsigned yes, no, crashed, hung, skipped;
	unsigned failing; /* findings that make the exit status 1 */
};
void hvp_tally(const struct hvp_report *r, struct hvp_tally *t);
/* Counts one more finding into t. */
void hvp_tally_add(struct hvp_tally *t, const struct hvp_finding *f);

/* The evidence line a one-line report shows: the decisive call, or the last failing one. */
const struct hvp_evidence *hvp_key_evidence(const struct hvp_finding *f);

/*
 * How this host runs guests: the findings (exec.*, cpu.*, time.*) that
 * change how every other figure must be read, so reports put them first.
 */
bool hvp_is_execution_finding(const char *id);
/* A benchmark's finding (it measured, or it is one of bench.*): reports show these as costs. */
bool hvp_is_bench(const struct hvp_finding *f);
/*
 * How guest code at a benchmark's privilege level ("guest ring 0") runs
 * here, from the report's exec.native_cpl0/cpl3 findings: "native",
 * "emulated", "not native", or "" when the report does not say.
 */
const char *hvp_ring_speed(const struct hvp_report *r, const char *ring);

/*
 * The topic a finding belongs to ("Memory", "How this host runs guests"),
 * and the topics in the order reports show them: hvp_topic(k) for k = 0, 1,
 * ... until NULL ("Other questions" last).
 */
const char *hvp_topic_of(const char *id);
const char *hvp_topic(unsigned k);

/* XML/HTML text or attribute value: the five entities escaped, control characters dropped. */
void hvp_xml_text(FILE *out, const char *s);

/* "39.61 us": a duration with the unit that keeps it readable. */
void hvp_format_ns(char *buf, size_t size, double ns);

/* Writes s as a JSON string literal (quotes included). */
void hvp_json_string(FILE *out, const char *s);

#endif
