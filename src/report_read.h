/* SPDX-License-Identifier: MIT */
/*
 * Reading a JSON report back (what `hvprobe --format json` wrote), for
 * `hvprobe diff`. Only what a comparison needs is kept. Input is untrusted:
 * anything malformed, truncated or of another schema is refused with a
 * message naming the file and the place (a byte offset with line and
 * column, or a JSON path such as .findings[3].answer).
 */
#ifndef HVP_REPORT_READ_H
#define HVP_REPORT_READ_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "finding.h"
#include "report.h"

struct hvp_cpu_model;

#define HVP_READ_SAMPLES_MAX 4096

struct hvp_read_finding {
	char id[HVP_ID_MAX];
	enum hvp_answer answer;
	enum hvp_verdict verdict;
	char reason[HVP_TEXT_MAX];
	bool bench;              /* it carries a bench object */
	double median_ns;
	double spread_ns;        /* the samples' robust spread (1.4826 x MAD), or stddev from cv */
	unsigned samples;
	char ring[16];
};

struct hvp_read_report {
	char version[32];          /* tool.version */
	char backend[32], arch[16];
	char kernel[128];          /* "" when the host block has none */
	bool interrupted;
	unsigned n;
	struct hvp_read_finding *findings; /* n of them, ids unique */
	struct hvp_cpu_model *cpu_model;   /* host.cpu_model; NULL when the report has none */
};

/*
 * Parses len bytes of JSON named name (for messages). Returns 0, or -1 with
 * "name: where: what" in err. Frees nothing on failure: out is left empty.
 */
int hvp_report_read(const char *name, const char *data, size_t len, struct hvp_read_report *out, char *err,
		    size_t err_size);
/* Reads a whole file (at most 64 MiB) and parses it. */
int hvp_report_read_file(const char *path, struct hvp_read_report *out, char *err, size_t err_size);
void hvp_report_read_free(struct hvp_read_report *r);

/*
 * A whole run read back, for `hvprobe report` and `hvprobe matrix`: every
 * field the JSON writer writes, as the report writers take them. head is
 * what hvp_report_read gives (the tool version, the host's backend, arch
 * and kernel, the findings' answers and benchmark medians).
 */
struct hvp_run {
	struct hvp_read_report head;
	struct hvp_facts host;        /* the host block, in the order written */
	struct hvp_finding *findings; /* head.n of them, in the same order */
	unsigned n;
	int interrupted;              /* the signal that stopped the run; -1: one the report does not name */
	int64_t elapsed_ns;
	int64_t unix_time;            /* when the run ended; 0 when the report does not say */
};

int hvp_run_read(const char *name, const char *data, size_t len, struct hvp_run *out, char *err, size_t err_size);
int hvp_run_read_file(const char *path, struct hvp_run *out, char *err, size_t err_size);
void hvp_run_free(struct hvp_run *run);
/* The report the writers take, pointing into run. */
void hvp_run_report(const struct hvp_run *run, struct hvp_report *r);

/* Whether this build can read JSON (json-c was found at build time). */
bool hvp_report_read_available(void);

#endif
