/* SPDX-License-Identifier: MIT */
/*
 * Memory the host and a running guest share: is a write on one side seen by
 * the other with no API call between, and does dirty logging name exactly
 * the pages the guest wrote?
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../machine.h"
#include "../truth.h"

#define GPA_A UINT64_C(0x10000000)
#define MARKER UINT64_C(0x9e57900000000001)
#define FLAG UINT64_C(0x4057000000000002)
#define WAIT_NS 3000000000ll

struct coherence_vcpu {
	struct hvp_machine *m;
	struct hvp_guest_result r;
	int done; /* accessed atomically: the guest's run is over */
};

/* The vCPU is created and run on this thread: the HVF rule, harmless elsewhere. */
static void *coherence_vcpu_main(void *arg)
{
	struct coherence_vcpu *c = arg;
	uint64_t prog_arg[4] = { GPA_A, GPA_A + 8, MARKER, 0 };
	struct hvp_vcpu *vcpu = hvp_vcpu_start(c->m, 0, &hvp_prog_handshake, prog_arg);

	hvp_guest_run(c->m, vcpu, &c->r);
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
	hvp_vcpu_destroy(c->m, vcpu);
	return NULL;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Waits for the guest's marker in host memory, with no API call; returns 1
 * if it came. A run that ended first will never write it: no more waiting.
 */
static int host_sees(volatile uint64_t *word, uint64_t want, const int *run_over)
{
	const struct timespec ms = { 0, 1000000 };
	int64_t deadline = now_ns() + WAIT_NS;

	while (now_ns() < deadline) {
		if (__atomic_load_n(word, __ATOMIC_ACQUIRE) == want)
			return 1;
		if (__atomic_load_n(run_over, __ATOMIC_ACQUIRE))
			return __atomic_load_n(word, __ATOMIC_ACQUIRE) == want;
		nanosleep(&ms, NULL);
	}
	return 0;
}

static void run_coherence(struct hvp_ctx *ctx)
{
	struct coherence_vcpu c = { .m = hvp_machine_create(ctx, "VM") };
	uint64_t *mem = hvp_guest_memory(ctx, hvp_page_size(ctx));
	int host_saw;
	pthread_t tid;

	hvp_map(c.m, mem, GPA_A, hvp_page_size(ctx), HVP_PROT_RWX);
	HVP_ASSERT(ctx, pthread_create(&tid, NULL, coherence_vcpu_main, &c) == 0, "pthread_create failed");
	host_saw = host_sees(&mem[1], MARKER, &c.done);
	/* Released whatever happened, so that the guest always finishes. */
	__atomic_store_n(&mem[0], FLAG, __ATOMIC_RELEASE);
	pthread_join(tid, NULL);
	hvp_need_guest(ctx, &c.r, 1, "the guest's write and read of the shared page");
	hvp_guest_value(ctx, "host read of the guest's marker", mem[1]);
	hvp_guest_value(ctx, "guest read of the host's flag", c.r.value[0]);
	ctx->f->guest_verified = true;
	if (host_saw && c.r.value[0] == FLAG)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "while the guest ran, the host read the guest's write and the guest read the host's, "
				   "through the same map with no call in between");
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "host saw the guest's write: %s; guest saw the host's: %s (last exit %s)",
				   host_saw ? "yes" : "no", c.r.n && c.r.value[0] == FLAG ? "yes" : "no",
				   hvp_exit_kind_name(c.r.last.kind));
}

const struct hvp_probe probe_mem_coherence = {
	.id = "mem.coherence",
	.question = "While the guest runs, does each side see the other's writes through one map with no call in between?",
	.timeout_s = 15,
	.run = run_coherence,
};

/*
 * Counted in the log's pages, the API's own (hvp_api_page_size), which the
 * page hvprobe maps in may exceed: the region is 16 of them, in whole pages
 * of hvprobe's (--page-size allows at most 16 of the API's), so that a
 * one-word bitmap holds its log.
 */
#define DIRTY_PAGES 16
#define WRITTEN_PAGES 4 /* the guest writes pages 0, 2, 4, 6 */
#define HOST_PAGE 11    /* the host writes this one */

/* The size of the logged region: 16 pages of the log, in whole pages of hvprobe's. */
static uint64_t dirty_region_size(const struct hvp_ctx *ctx)
{
	uint64_t page = hvp_page_size(ctx), size = DIRTY_PAGES * hvp_api_page_size(ctx);

	return (size + page - 1) / page * page;
}

static void run_dirty_log(struct hvp_ctx *ctx)
{
	if (!ctx->be->dirty_log_enable || !ctx->be->dirty_log_get) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "the API (%s) keeps no dirty-page log", ctx->be->name);
		return;
	}
	const uint64_t want = 0x55; /* bits 0, 2, 4, 6 */
	const uint64_t log_page = hvp_api_page_size(ctx), size = dirty_region_size(ctx);
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	uint8_t *mem = hvp_guest_memory(ctx, size);
	uint64_t arg[4] = { GPA_A, WRITTEN_PAGES, 2 * log_page, 0 }, log1 = 0, log2 = ~0ull;
	struct hvp_guest_result r;
	struct hvp_status st;
	struct hvp_vcpu *vcpu;

	HVP_ASSERT(ctx, size / log_page <= 64, "a %" PRIu64 " KiB region has more pages of %" PRIu64
		   " KiB than a one-word log holds", size >> 10, log_page >> 10);
	hvp_map(m, mem, GPA_A, size, HVP_PROT_RWX);
	st = ctx->be->dirty_log_enable(m->vm, GPA_A, size, true);
	hvp_record(ctx, st, "start dirty logging on %" PRIu64 " pages of %" PRIu64 " KiB", size / log_page,
		   log_page >> 10);
	if (st.err != HVP_OK) {
		if (!hvp_refused_as(st, HVP_REFUSALS))
			hvp_not_evidence(ctx, st, "turning dirty logging on");
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "dirty logging could not be turned on: %s %s", st.call,
				   ctx->be->native_name(st.native));
		return;
	}
	mem[HOST_PAGE * log_page] = 1;
	vcpu = hvp_vcpu_start(m, 0, &hvp_prog_store_pages, arg);
	hvp_guest_run(m, vcpu, &r);
	hvp_need_guest(ctx, &r, 0, "the guest's writes to four pages");
	hvp_vcpu_destroy(m, vcpu);
	st = ctx->be->dirty_log_get(m->vm, GPA_A, size, &log1);
	hvp_decisive(ctx, hvp_record(ctx, st, "first read: pages 0x%" PRIx64, log1));
	hvp_need_ok(ctx, st, "the first read of the dirty log");
	st = ctx->be->dirty_log_get(m->vm, GPA_A, size, &log2);
	hvp_record(ctx, st, "second read: pages 0x%" PRIx64, log2);
	hvp_need_ok(ctx, st, "the second read of the dirty log");
	/* The guest's writes are in memory: the pages it wrote are known. */
	ctx->f->guest_verified = mem[6 * log_page] == WRITTEN_PAGES;
	if (ctx->f->guest_verified && log1 == want && log2 == 0)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "the log named exactly the 4 pages of %" PRIu64 " KiB the guest wrote (0x%" PRIx64
				   "), not the page the host wrote; a second read was empty", log_page >> 10, log1);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "guest wrote pages 0x%" PRIx64 " and the host page %d (pages of %" PRIu64
				   " KiB); the log said 0x%" PRIx64 ", then 0x%" PRIx64 " (guest ran: %s)", want, HOST_PAGE,
				   log_page >> 10, log1, log2, ctx->f->guest_verified ? "yes" : "no");
}

const struct hvp_probe probe_mem_dirty_log = {
	.id = "mem.dirty_log",
	.question = "Does dirty logging name exactly the pages the guest wrote (not the host's), and clear on read?",
	.timeout_s = 10,
	.run = run_dirty_log,
};
