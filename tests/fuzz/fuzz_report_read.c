/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the JSON report reader must refuse anything that is not
 * a report with a message, never crash, leak or read out of bounds; what it
 * accepts must diff against itself as unchanged, through both writers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "baseline.h"
#include "diff.h"
#include "report_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hvp_read_report r;
	struct hvp_diff d;
	char err[512];
	FILE *sink;

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
