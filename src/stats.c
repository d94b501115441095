/* SPDX-License-Identifier: MIT */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double hvp_quantile(const double *sorted, size_t n, double q)
{
	double pos, frac;
	size_t lo;

	if (n == 0)
		return 0;
	if (q <= 0)
		return sorted[0];
	if (q >= 1)
		return sorted[n - 1];
	pos = q * (double)(n - 1);
	lo = (size_t)pos;
	frac = pos - (double)lo;
	return lo + 1 < n ? sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]) : sorted[lo];
}

void hvp_bench_summarize(struct hvp_bench *b)
{
	double sorted[HVP_SAMPLES_MAX], sum = 0, var = 0;
	unsigned n = b->n < HVP_SAMPLES_MAX ? b->n : HVP_SAMPLES_MAX;

	b->min = b->median = b->p90 = b->p99 = b->max = b->mean = b->cv = 0;
	if (n == 0)
		return;
	memcpy(sorted, b->sample, n * sizeof(double));
	qsort(sorted, n, sizeof(double), cmp_double);
	for (unsigned i = 0; i < n; i++)
		sum += sorted[i];
	b->mean = sum / n;
	for (unsigned i = 0; i < n; i++)
		var += (sorted[i] - b->mean) * (sorted[i] - b->mean);
	/* The sample standard deviation (n - 1): the samples estimate a population. */
	b->cv = n > 1 && b->mean != 0 ? sqrt(var / (n - 1)) / b->mean : 0;
	b->min = sorted[0];
	b->max = sorted[n - 1];
	b->median = hvp_quantile(sorted, n, 0.5);
	b->p90 = hvp_quantile(sorted, n, 0.9);
	b->p99 = hvp_quantile(sorted, n, 0.99);
}

double hvp_stats_mad(double *x, size_t n)
{
	double median;

	if (n == 0)
		return 0;
	qsort(x, n, sizeof(double), cmp_double);
	median = hvp_quantile(x, n, 0.5);
	for (size_t i = 0; i < n; i++)
		x[i] = fabs(x[i] - median);
	qsort(x, n, sizeof(double), cmp_double);
	return hvp_quantile(x, n, 0.5);
}
