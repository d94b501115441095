/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "bench.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "stats.h"

#define DEFAULT_SAMPLES 50
#define MIN_SAMPLES 5
#define WARMUP_RUNS 3
#define MIN_BATCH_NS 200000 /* 0.2 ms: thousands of clock ticks, far above timer jitter */

int64_t hvp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void hvp_bench_pin(struct hvp_ctx *ctx)
{
	struct hvp_bench *b = &ctx->f->bench;
	int cpu = ctx->bench ? ctx->bench->pin_cpu : -1;

	snprintf(b->pinned, sizeof(b->pinned), "no");
#ifdef __linux__
	if (cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) == 0)
			snprintf(b->pinned, sizeof(b->pinned), "cpu %d", cpu);
		else
			snprintf(b->pinned, sizeof(b->pinned), "failed");
	}
#else
	(void)cpu;
#endif
}

int hvp_bench_run(struct hvp_ctx *ctx, hvp_batch_fn fn, void *arg, const char *per, const char *ring,
		  double tsc_khz)
{
	const struct hvp_bench_opts *o = ctx->bench;
	struct hvp_bench *b = &ctx->f->bench;
	double budget_ns = (o && o->duration_s > 0 ? o->duration_s : 1.0) * 1e9;
	unsigned want = o && o->samples ? o->samples : DEFAULT_SAMPLES;
	int64_t batch_ns = (int64_t)(budget_ns / (2.0 * want)), t, start;
	uint64_t ops = 1;

	if (want > HVP_SAMPLES_MAX)
		want = HVP_SAMPLES_MAX;
	if (batch_ns < MIN_BATCH_NS)
		batch_ns = MIN_BATCH_NS;
	b->present = true;
	snprintf(b->unit, sizeof(b->unit), "ns");
	snprintf(b->per, sizeof(b->per), "%s", per);
	snprintf(b->ring, sizeof(b->ring), "%s", ring);
	b->tsc_khz = tsc_khz;
	if (!b->pinned[0])
		snprintf(b->pinned, sizeof(b->pinned), "no");
	/* Warm-up: first runs pay for cold caches, page faults and lazy setup; they are not samples. */
	for (int i = 0; i < WARMUP_RUNS; i++)
		if (fn(arg, 1) < 0)
			return -1;
	/* Scaling: double the batch until it lasts long enough to time precisely. */
	for (;;) {
		if ((t = fn(arg, ops)) < 0)
			return -1;
		if (t >= batch_ns || ops >= (1ull << 40))
			break;
		ops *= 2;
	}
	b->ops_per_sample = ops;
	start = hvp_now_ns();
	while (b->n < want) {
		if ((t = fn(arg, ops)) < 0)
			return -1;
		b->sample[b->n++] = (double)t / (double)ops;
		/* With --samples the count rules; otherwise the time budget does, past a minimum. */
		if (!(o && o->samples) && b->n >= MIN_SAMPLES && hvp_now_ns() - start > budget_ns)
			break;
	}
	hvp_bench_summarize(b);
	return 0;
}
