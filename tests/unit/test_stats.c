/* SPDX-License-Identifier: MIT */
/* Benchmark statistics on samples whose answers are known by hand. */
#include <math.h>
#include <string.h>

#include "stats.h"
#include "tap.h"
#include "wire.h"

static int near(double a, double b)
{
	return fabs(a - b) < 1e-9 * (fabs(b) > 1 ? fabs(b) : 1);
}

int main(void)
{
	static char buf[HVP_WIRE_MAX];
	const double sorted[] = { 1, 2, 3, 4 };
	struct hvp_finding f, g;
	struct hvp_bench *b = &f.bench;
	struct tap t;

	TAP_PLAN_LATER(&t);
	ok(&t, near(hvp_quantile(sorted, 4, 0.5), 2.5), "median of 1..4 is 2.5 (interpolated)");
	ok(&t, near(hvp_quantile(sorted, 4, 0), 1) && near(hvp_quantile(sorted, 4, 1), 4), "q=0 and q=1 are min and max");
	ok(&t, near(hvp_quantile(sorted, 4, 0.9), 3.7), "p90 of 1..4 is 3.7");
	ok(&t, near(hvp_quantile(sorted, 1, 0.99), 1), "one sample is every quantile");
	ok(&t, hvp_quantile(sorted, 0, 0.5) == 0, "no samples: 0, not a crash");

	hvp_finding_init(&f, "bench.x", "q");
	b->present = true;
	/* 1..100 in a scrambled order: sorting is the statistics' job. */
	for (unsigned i = 0; i < 100; i++)
		b->sample[b->n++] = (double)((i * 37) % 100 + 1);
	hvp_bench_summarize(b);
	ok(&t, b->min == 1 && b->max == 100, "min 1, max 100");
	ok(&t, near(b->median, 50.5), "median 50.5 (got %g)", b->median);
	ok(&t, near(b->p90, 90.1), "p90 90.1 (got %g)", b->p90);
	ok(&t, near(b->p99, 99.01), "p99 99.01 (got %g)", b->p99);
	ok(&t, near(b->mean, 50.5), "mean 50.5");
	/* sample stddev of 1..100 is sqrt(841.666...) = 29.0115; cv = 29.0115 / 50.5 */
	ok(&t, fabs(b->cv - 0.574485) < 1e-5, "cv 0.5745 (got %g)", b->cv);

	hvp_finding_init(&f, "bench.c", "q");
	b->present = true;
	b->n = 3;
	b->sample[0] = b->sample[1] = b->sample[2] = 7;
	hvp_bench_summarize(b);
	ok(&t, b->cv == 0 && b->median == 7 && b->p99 == 7, "identical samples: cv 0");

	hvp_finding_init(&f, "bench.w", "q");
	hvp_finding_answer(&f, HVP_ANSWER_YES, "measured");
	b->present = true;
	strcpy(b->unit, "ns");
	strcpy(b->per, "exit\tround trip");
	strcpy(b->ring, "guest ring 3");
	strcpy(b->pinned, "cpu 1");
	b->tsc_khz = 2100000;
	b->ops_per_sample = 1024;
	b->harness_ratio = 1.0125;
	b->n = HVP_SAMPLES_MAX;
	for (unsigned i = 0; i < b->n; i++)
		b->sample[i] = 7512.25 + i * 0.125;
	hvp_bench_summarize(b);
	long len = hvp_wire_encode(&f, buf, sizeof(buf));
	ok(&t, len > 0 && hvp_wire_decode(buf, (size_t)len, &g, NULL) == 0, "a finding with %d samples crosses the wire",
	   HVP_SAMPLES_MAX);
	ok(&t, g.bench.present && g.bench.n == b->n && memcmp(g.bench.sample, b->sample, sizeof(b->sample)) == 0 &&
		       g.bench.ops_per_sample == 1024 && g.bench.tsc_khz == 2100000 && g.bench.harness_ratio == 1.0125 &&
		       strcmp(g.bench.per, "exit\tround trip") == 0 && strcmp(g.bench.pinned, "cpu 1") == 0,
	   "samples and their context survive exactly");
	ok(&t, g.bench.median == b->median && g.bench.cv == b->cv, "and the statistics are recomputed identically");
	return tap_done(&t);
}
