/* SPDX-License-Identifier: MIT */
/*
 * `hvprobe matrix`: many runs side by side, probes as rows and hosts as
 * columns, each cell a run's answer (a benchmark's median where it
 * measured), rows whose answers differ between the runs marked. A pure
 * function of the runs read back, and its text, Markdown, HTML and JSON
 * forms (the JSON one is described in README.md, "hvprobe matrix").
 *
 * A row differs when its cells are not all the same answer (a probe missing
 * from a run counts as an answer of its own), or, for a benchmark measured
 * everywhere, when a median moved from the first run's beyond three times the
 * two runs' combined spread (as in `hvprobe diff`).
 */
#ifndef HVP_MATRIX_H
#define HVP_MATRIX_H

#include <stdbool.h>
#include <stdio.h>

#include "report_read.h"

#define HVP_MATRIX_VERSION 1

struct hvp_matrix_host {
	const char *file;
	const struct hvp_run *run;
	char name[64]; /* the host block's hostname, else the file's name without its directory and .json */
};

/* One run's finding for a row; both NULL where the run has no such probe. */
struct hvp_matrix_cell {
	const struct hvp_finding *f;
	const struct hvp_read_finding *head;
};

struct hvp_matrix_row {
	const char *id, *question, *topic;
	struct hvp_matrix_cell *cells; /* one per host */
	bool differs;
};

struct hvp_matrix {
	unsigned n_hosts, n_rows, n_differ;
	struct hvp_matrix_host *hosts;
	struct hvp_matrix_row *rows; /* by topic, then in the order the runs list them */
	struct hvp_matrix_cell *cells;
};

/* Returns 0, or -1 when out of memory. runs[i] was read from files[i]. */
int hvp_matrix_compute(const struct hvp_run *runs, const char *const *files, unsigned n, struct hvp_matrix *out);
void hvp_matrix_free(struct hvp_matrix *m);

int hvp_matrix_text(FILE *out, const struct hvp_matrix *m);
int hvp_matrix_markdown(FILE *out, const struct hvp_matrix *m);
int hvp_matrix_html(FILE *out, const struct hvp_matrix *m);
int hvp_matrix_json(FILE *out, const struct hvp_matrix *m);

/* The writer for a format name (text, markdown, html, json), or NULL. */
int (*hvp_matrix_format(const char *name))(FILE *out, const struct hvp_matrix *m);

#endif
