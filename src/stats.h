/* SPDX-License-Identifier: MIT */
/* Summary statistics of a benchmark's samples. */
#ifndef HVP_STATS_H
#define HVP_STATS_H

#include <stddef.h>

#include "finding.h"

/*
 * The q-quantile (0 <= q <= 1) of n sorted values, interpolating linearly
 * between the two nearest ranks.
 */
double hvp_quantile(const double *sorted, size_t n, double q);

/*
 * The median absolute deviation of n values: the median of |x - median|,
 * a spread that a few outliers do not move. Reorders x.
 */
double hvp_stats_mad(double *x, size_t n);

/* Fills min, median, p90, p99, max, mean and cv from b->sample[0..n). */
void hvp_bench_summarize(struct hvp_bench *b);

#endif
