/* SPDX-License-Identifier: MIT */
/*
 * A probe: one question about a hypervisor API, with a stable dotted id,
 * the question in one sentence, and the code that answers it. A probe is
 * one const descriptor, registered by one line in probes/list.h.
 *
 * A probe runs in its own child process (runner.c). It speaks only to the
 * backend through the context's helpers (machine.h), which record every
 * call into the finding, and answers with hvp_finding_answer(). It never
 * prints.
 */
#ifndef HVP_PROBE_H
#define HVP_PROBE_H

#include <pthread.h>

#include "backend.h"
#include "finding.h"

struct hvp_ctx;

/* Caps for probes that search for a maximum: they stop there, never taking the machine down. */
struct hvp_caps {
	unsigned maps;  /* mem.max_maps */
	unsigned vms;   /* limits.vms_per_process */
	unsigned vcpus; /* limits.vcpus_per_vm */
};

#define HVP_CAP_MAPS_DEFAULT 32768
#define HVP_CAP_VMS_DEFAULT 256
#define HVP_CAP_VCPUS_DEFAULT 4097 /* one past the largest KVM_MAX_VCPUS of common kernels */

enum hvp_probe_kind {
	HVP_PROBE_QUESTION = 0, /* answers yes/no; in the default run */
	HVP_PROBE_BENCH,        /* measures a cost; run by `hvprobe bench` */
};

/* How benchmarks measure: --samples, --duration, --pin. */
struct hvp_bench_opts {
	unsigned samples;   /* 0: as many as the duration allows, up to 50 */
	double duration_s;  /* time budget per benchmark */
	int pin_cpu;        /* -1: not pinned */
};

struct hvp_probe {
	const char *id;
	const char *question;
	enum hvp_probe_kind kind;
	unsigned timeout_s;  /* default deadline; --timeout overrides */
	const char *arch;    /* NULL: every architecture; else the only one it asks about ("x86_64") */
	void (*run)(struct hvp_ctx *ctx);
};

struct hvp_ctx {
	const struct hvp_probe *probe;
	const struct hvp_backend *be;
	struct hvp_hv *hv;
	const struct hvp_open_opts *open; /* how hv was opened, for probes that open again */
	const struct hvp_caps *caps;
	const struct hvp_bench_opts *bench;
	struct hvp_finding *f;
	pthread_mutex_t lock; /* serializes evidence from a probe's threads */
	int result_fd;        /* where the finding goes; used by hvp_probe_abort */
};

/* Records one backend call in the finding; returns its evidence index (-1 if full). */
int hvp_record(struct hvp_ctx *ctx, struct hvp_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The native name of a status's code ("EEXIST", "HV_BUSY"), for reasons. */
static inline const char *hvp_native(const struct hvp_ctx *ctx, struct hvp_status st)
{
	return ctx->be->native_name(st.native);
}

/* Marks evidence index i as the call that decides the answer. */
void hvp_decisive(struct hvp_ctx *ctx, int i);

/* Thread-safe guest value. */
void hvp_guest_value(struct hvp_ctx *ctx, const char *label, uint64_t value);

/*
 * Ends the probe when its own setup broke (not the question's answer): the
 * finding becomes `crashed` with where and why, and the child exits.
 */
__attribute__((noreturn, format(printf, 4, 5)))
void hvp_probe_abort(struct hvp_ctx *ctx, const char *file, int line, const char *fmt, ...);

/* Ends the probe with answer a and the sentence why, sending the finding (truth.h's endings use it). */
__attribute__((noreturn))
void hvp_probe_end(struct hvp_ctx *ctx, enum hvp_answer a, const char *why);

#define HVP_ASSERT(ctx, cond, ...)                                            \
	do {                                                                  \
		if (!(cond))                                                  \
			hvp_probe_abort((ctx), __FILE__, __LINE__, __VA_ARGS__); \
	} while (0)

/* The registry: every probe, in list order (probes/list.h). */
extern const struct hvp_probe *const hvp_probes[];
extern const unsigned hvp_n_probes;

/* The registered probe with this id, or NULL. */
const struct hvp_probe *hvp_probe_find(const char *id);

#endif
