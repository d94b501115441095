/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the JSON report reader must refuse anything that is not
 * a report with a message, never crash, leak or read out of bounds; what it
 * accepts must diff against itself as unchanged, through both writers.
 * The whole-run reader (hvprobe report, matrix) likewise; what it accepts
 * goes through every report writer and the matrix, and its JSON, read
 * again, must be written back byte for byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "diff.h"
#include "matrix.h"
#include "report.h"
#include "report_read.h"

static char *json_of(const struct hvp_run *run)
{
	struct hvp_report r;
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	if (!out)
		abort();
	hvp_run_report(run, &r);
	hvp_report_json(out, &r);
	fclose(out);
	return buf;
}

/* Every writer on a whole run, the matrix of it beside itself, and JSON written, read and written again the same. */
static void whole_run(const uint8_t *data, size_t size)
{
	static const char *const formats[] = { "text", "json", "tap", "markdown", "junit", "prometheus", "html", "nfd" };
	const char *const files[] = { "a.json", "b.json" };
	struct hvp_run run[2], again;
	struct hvp_report r;
	struct hvp_matrix m;
	char err[512], *first, *second;
	FILE *sink;

	if (hvp_run_read("fuzz.json", (const char *)data, size, &run[0], err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort();
		return;
	}
	hvp_run_report(&run[0], &r);
	sink = fopen("/dev/null", "w");
	for (unsigned i = 0; sink && i < sizeof(formats) / sizeof(formats[0]); i++)
		hvp_report_format(formats[i])->write(sink, &r);
	run[1] = run[0];
	if (hvp_matrix_compute(run, files, 2, &m) == 0) {
		if (m.n_differ != 0)
			abort(); /* a run differs from itself */
		if (sink) {
			hvp_matrix_text(sink, &m);
			hvp_matrix_markdown(sink, &m);
			hvp_matrix_html(sink, &m);
			hvp_matrix_json(sink, &m);
		}
		hvp_matrix_free(&m);
	}
	if (sink)
		fclose(sink);
	first = json_of(&run[0]);
	if (hvp_run_read("again.json", first, strlen(first), &again, err, sizeof(err)) != 0)
		abort(); /* hvprobe's own JSON must read back */
	second = json_of(&again);
	if (strcmp(first, second) != 0)
		abort(); /* and be written back the same */
	free(first);
	free(second);
	hvp_run_free(&again);
	hvp_run_free(&run[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hvp_read_report r;
	struct hvp_diff d;
	char err[512];
	FILE *sink;

	whole_run(data, size);
	if (hvp_report_read("fuzz.json", (const char *)data, size, &r, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort(); /* a refusal must say why */
		return 0;
	}
	if (hvp_diff_compute(&r, "a", &r, "b", &d) == 0) {
		if (d.n != 0 || d.migration.verdict == HVP_MIGRATION_INCOMPATIBLE)
			abort(); /* a report differs from itself, or its host cannot take its own guests */
		sink = fopen("/dev/null", "w");
		if (sink) {
			const char *name = "a";
			char note[256];
			hvp_diff_text(sink, &d);
			hvp_diff_json(sink, &d);
			if (hvp_baseline_write(sink, &r, &name, 1, err, sizeof(err), note, sizeof(note)) != 0 && !err[0])
				abort(); /* a refusal must say why */
			fclose(sink);
		}
		hvp_diff_free(&d);
	}
	hvp_report_read_free(&r);
	return 0;
}
