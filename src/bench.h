/* SPDX-License-Identifier: MIT */
/*
 * Measuring a cost so that the figure can be trusted: warm-up, batches
 * auto-scaled until one lasts long enough to time precisely (as
 * kvm-unit-tests' vmexit doubles its count), then as many batches as the
 * time budget or --samples asks for. The batch function runs the
 * operation itself, so no harness code sits inside the timed loop.
 */
#ifndef HVP_BENCH_H
#define HVP_BENCH_H

#include <stdint.h>

#include "probe.h"

/*
 * Runs ops operations and returns how long they took in nanoseconds, or a
 * negative value when an operation failed (the function records why).
 */
typedef int64_t (*hvp_batch_fn)(void *arg, uint64_t ops);

/*
 * Measures fn into ctx->f->bench; per says what one operation is, ring
 * where it ran; tsc_khz > 0 when the batch function's figures come from the
 * guest's TSC. Returns 0, or -1 when a batch failed.
 */
int hvp_bench_run(struct hvp_ctx *ctx, hvp_batch_fn fn, void *arg, const char *per, const char *ring,
		  double tsc_khz);

/* Pins the calling thread (and the threads it creates later) where --pin asks. */
void hvp_bench_pin(struct hvp_ctx *ctx);

int64_t hvp_now_ns(void);

#endif
