/* SPDX-License-Identifier: MIT */
/*
 * Dirty tracking as live migration uses it, beyond the plain bitmap that
 * mem.dirty_log asks about: a log the VMM re-arms page by page (KVM:
 * KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, which makes starting a migration cheap
 * on large guests), and a ring of dirtied pages per vCPU (KVM:
 * KVM_CAP_DIRTY_LOG_RING), which stops the vCPU when it fills. In both the
 * guest writes a known set of pages and the log must name exactly those.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../machine.h"
#include "../truth.h"

#define GPA_D UINT64_C(0x10000000)
#define LOG_PAGES 16          /* the manual log's region, in the API's pages: one word of bitmap */
#define RING_EXTRA_PAGES 32   /* written past what fills the ring */
#define RING_RUNS_MAX 64

/* A region of n of the API's pages, in whole pages of hvprobe's. */
static uint64_t region_size(const struct hvp_ctx *ctx, uint64_t n)
{
	uint64_t page = hvp_page_size(ctx), size = n * hvp_api_page_size(ctx);

	return (size + page - 1) / page * page;
}

/* A mode the API lacks: skipped, naming the API's answer; another refusal of it: no. */
static void mode_refused(struct hvp_ctx *ctx, struct hvp_status st, int i, const char *mode)
{
	if (!hvp_refused_as(st, HVP_REFUSALS))
		hvp_not_evidence(ctx, st, "turning on %s", mode);
	hvp_decisive(ctx, i);
	if (st.err == HVP_ERR_UNSUPPORTED) {
		char why[HVP_TEXT_MAX];
		snprintf(why, sizeof(why), "this host does not offer %s: %s %s", mode, st.call, hvp_native(ctx, st));
		hvp_probe_end(ctx, HVP_ANSWER_SKIPPED, why);
	}
	hvp_probe_end(ctx, HVP_ANSWER_NO, "the API refused to turn the mode on");
}

/* The guest stores to n pages of the API's, stride pages apart from page first; crashed unless it finished. */
static void guest_writes(struct hvp_machine *m, unsigned id, unsigned first, unsigned n, unsigned stride)
{
	uint64_t page = hvp_api_page_size(m->ctx);
	uint64_t arg[4] = { GPA_D + first * page, n, stride * page, 0 };
	struct hvp_vcpu *vcpu = hvp_vcpu_start(m, id, &hvp_prog_store_pages, arg);
	struct hvp_guest_result r;

	hvp_guest_run(m, vcpu, &r);
	hvp_need_guest(m->ctx, &r, 0, "the guest's writes");
	hvp_vcpu_destroy(m, vcpu);
}

static uint64_t read_log(struct hvp_ctx *ctx, struct hvp_machine *m, uint64_t size, const char *what)
{
	uint64_t log = 0;
	struct hvp_status st = ctx->be->dirty_log_get(m->vm, GPA_D, size, &log);

	hvp_record(ctx, st, "%s: pages 0x%" PRIx64, what, log);
	hvp_need_ok(ctx, st, what);
	return log;
}

/*
 * The guest writes pages 0, 3, 6, 9; the log must name them, twice (a read
 * re-arms nothing), then nothing once they are cleared; the guest then
 * writes pages 1 and 5, and the log must name just those: clearing re-armed
 * the pages it cleared.
 */
static void run_manual_protect(struct hvp_ctx *ctx)
{
	if (!ctx->be->dirty_log_manual || !ctx->be->dirty_log_clear || !ctx->be->dirty_log_enable ||
	    !ctx->be->dirty_log_get)
		hvp_probe_end(ctx, HVP_ANSWER_SKIPPED, "the API has no dirty log that the VMM re-arms itself");
	const uint64_t first = 0x249, second = 0x22, size = region_size(ctx, LOG_PAGES);
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	uint8_t *mem = hvp_guest_memory(ctx, size);
	uint64_t log[4];
	struct hvp_status st;
	int i;

	hvp_map(m, mem, GPA_D, size, HVP_PROT_RWX);
	st = ctx->be->dirty_log_manual(m->vm);
	i = hvp_record(ctx, st, "manual re-protection");
	if (st.err != HVP_OK)
		mode_refused(ctx, st, i, "manual re-protection of the dirty log");
	st = ctx->be->dirty_log_enable(m->vm, GPA_D, size, true);
	hvp_record(ctx, st, "start dirty logging on %d pages", LOG_PAGES);
	hvp_need_ok(ctx, st, "turning dirty logging on");
	guest_writes(m, 0, 0, 4, 3);
	log[0] = read_log(ctx, m, size, "first read");
	log[1] = read_log(ctx, m, size, "second read, nothing cleared");
	st = ctx->be->dirty_log_clear(m->vm, GPA_D, size, &first);
	hvp_decisive(ctx, hvp_record(ctx, st, "clear pages 0x%" PRIx64, first));
	hvp_need_ok(ctx, st, "clearing the pages the guest wrote");
	log[2] = read_log(ctx, m, size, "read after the clear");
	guest_writes(m, 1, 1, 2, 4);
	log[3] = read_log(ctx, m, size, "read after the second writes");
	hvp_guest_value(ctx, "log after the first writes", log[0]);
	hvp_guest_value(ctx, "log after the second writes", log[3]);
	/* The guest's stores are in memory: which pages it wrote is known. */
	ctx->f->guest_verified = mem[9 * hvp_api_page_size(ctx)] == 4 && mem[5 * hvp_api_page_size(ctx)] == 2;
	HVP_ASSERT(ctx, ctx->f->guest_verified, "the guest's stores are not in its memory: its runs prove nothing");
	if (log[0] == first && log[1] == first && log[2] == 0 && log[3] == second)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "the log named exactly the pages written (0x%" PRIx64 "), kept "
				   "them over a second read, was empty once they were cleared, and then named just the "
				   "pages written after (0x%" PRIx64 ")", first, second);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the guest wrote pages 0x%" PRIx64 ", then 0x%" PRIx64 "; the "
				   "log said 0x%" PRIx64 ", 0x%" PRIx64 ", after the clear 0x%" PRIx64 ", then 0x%" PRIx64,
				   first, second, log[0], log[1], log[2], log[3]);
}

const struct hvp_probe probe_mem_dirty_log_manual_protect = {
	.id = "mem.dirty_log_manual_protect",
	.question = "With manual re-protection, does the dirty log name exactly the written pages and keep them until the VMM clears them?",
	.timeout_s = 15,
	.run = run_manual_protect,
};

/* What the ring gave, page by page of the region; entries outside it counted apart. */
struct ring_tally {
	uint8_t *seen;          /* per page of the region: times harvested */
	uint64_t *gpa;          /* room for one ring's entries */
	unsigned entries, pages, outside, fulls, harvested;
};

/* Collects what the ring holds and hands the entries back (harvest, then reset). */
static void harvest(struct hvp_machine *m, struct hvp_vcpu *vcpu, struct ring_tally *t)
{
	struct hvp_ctx *ctx = m->ctx;
	uint64_t page = hvp_api_page_size(ctx);
	unsigned n = 0;
	struct hvp_status st = ctx->be->dirty_ring_harvest(vcpu, t->gpa, t->entries, &n);

	hvp_record(ctx, st, "%u entries", n);
	hvp_need_ok(ctx, st, "harvesting the dirty ring");
	for (unsigned i = 0; i < n; i++) {
		uint64_t p = (t->gpa[i] - GPA_D) / page;
		if (t->gpa[i] >= GPA_D && p < t->pages && t->gpa[i] % page == 0)
			t->seen[p]++;
		else
			t->outside++;
	}
	t->harvested += n;
	st = ctx->be->dirty_ring_reset(m->vm);
	hvp_record(ctx, st, "entries handed back");
	hvp_need_ok(ctx, st, "resetting the dirty ring");
}

/* Runs the writing guest to its end, harvesting each time its ring fills. */
static void run_until_done(struct hvp_machine *m, struct hvp_vcpu *vcpu, struct ring_tally *t)
{
	struct hvp_guest_result r;
	unsigned runs = 0;

	hvp_guest_run(m, vcpu, &r);
	while (r.st.err == HVP_OK && r.last.kind == HVP_EXIT_DIRTY_RING_FULL && ++runs < RING_RUNS_MAX) {
		t->fulls++;
		hvp_decisive(m->ctx, r.st.evidence);
		harvest(m, vcpu, t);
		hvp_guest_resume(m, vcpu, &r, 0);
	}
	hvp_need_guest(m->ctx, &r, 0, "the guest's writes past a full ring");
	harvest(m, vcpu, t);
}

/*
 * Pages the ring named wrongly: a written page never, or a page not written
 * at all (*first: the first such). A written page may come twice: the store
 * that filled the ring completes only after the reset has re-armed its page
 * (*again counts those).
 */
static unsigned tally_wrong(const struct ring_tally *t, unsigned written, unsigned *first, unsigned *again)
{
	unsigned wrong = 0;

	*first = *again = 0;
	for (unsigned p = 0; p < t->pages; p++) {
		if (p < written ? t->seen[p] == 0 : t->seen[p] != 0) {
			if (!wrong++)
				*first = p;
		}
		*again += p < written && t->seen[p] > 1;
	}
	return wrong;
}

/*
 * The smallest ring the API takes; the guest writes more pages than it
 * holds before it is full, each once. Each full ring must stop the run
 * (HVP_EXIT_DIRTY_RING_FULL), and after harvest and reset the guest goes
 * on; all harvested, the ring must have named every written page, and
 * nothing else.
 */
static void run_dirty_ring(struct hvp_ctx *ctx)
{
	if (!ctx->be->dirty_ring_enable || !ctx->be->dirty_ring_harvest || !ctx->be->dirty_ring_reset ||
	    !ctx->be->dirty_log_enable)
		hvp_probe_end(ctx, HVP_ANSWER_SKIPPED, "the API has no dirty ring");
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	struct ring_tally t = { 0 };
	uint64_t page = hvp_api_page_size(ctx), size, bitmap[1];
	unsigned soft = 0, written, wrong, first_wrong, again;
	struct hvp_status st;
	struct hvp_vcpu *vcpu;
	uint8_t *mem;
	int i;

	st = ctx->be->dirty_ring_enable(m->vm, &t.entries, &soft);
	i = hvp_record(ctx, st, "a ring of %u entries, full at %u at most", t.entries, soft);
	if (st.err != HVP_OK)
		mode_refused(ctx, st, i, "a dirty ring");
	HVP_ASSERT(ctx, soft > 0 && soft <= t.entries, "the ring of %u entries is full at %u", t.entries, soft);
	written = soft + RING_EXTRA_PAGES; /* more than the ring takes: it must fill at least once */
	t.pages = written + 1; /* the page after the last written stays clean */
	size = region_size(ctx, t.pages);
	t.pages = (unsigned)(size / page);
	mem = hvp_guest_memory(ctx, size);
	t.seen = calloc(t.pages, 1);
	t.gpa = calloc(t.entries, sizeof(*t.gpa));
	HVP_ASSERT(ctx, t.seen && t.gpa, "no memory for %u pages", t.pages);
	hvp_map(m, mem, GPA_D, size, HVP_PROT_RWX);
	st = ctx->be->dirty_log_enable(m->vm, GPA_D, size, true);
	hvp_record(ctx, st, "log dirty pages of %u pages", t.pages);
	hvp_need_ok(ctx, st, "turning dirty logging on for the region");
	/* With a ring the bitmap is not kept (x86: ENXIO): what the API says is worth knowing, not the answer. */
	if (ctx->be->dirty_log_get) {
		st = ctx->be->dirty_log_get(m->vm, GPA_D, size, bitmap);
		hvp_record(ctx, st, "the bitmap with the ring on");
		if (st.err != HVP_OK && !hvp_refused_as(st, HVP_REFUSALS | HVP_CLASS(HVP_ERR_NODEV)))
			hvp_not_evidence(ctx, st, "asking for the bitmap with the ring on");
	}
	{
		uint64_t arg[4] = { GPA_D, written, page, 0 };
		vcpu = hvp_vcpu_start(m, 0, &hvp_prog_store_pages, arg);
	}
	run_until_done(m, vcpu, &t);
	hvp_vcpu_destroy(m, vcpu);
	ctx->f->guest_verified = mem[(written - 1) * page] == (uint8_t)written;
	HVP_ASSERT(ctx, ctx->f->guest_verified, "the guest's last store is not in its memory: its run proves nothing");
	wrong = tally_wrong(&t, written, &first_wrong, &again);
	hvp_guest_value(ctx, "pages the guest wrote", written);
	hvp_guest_value(ctx, "entries harvested", t.harvested);
	hvp_guest_value(ctx, "runs stopped by a full ring", t.fulls);
	if (t.fulls > 0 && wrong == 0 && t.outside == 0)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "a ring of %u entries stopped the run %u times when full; after "
				   "harvest and reset the guest went on, and the ring named the %u pages written and nothing "
				   "else (%u named again after a reset)", t.entries, t.fulls, written, again);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the guest wrote pages 0-%u past a ring full at %u at most: runs "
				   "stopped full %u times; %u pages were named wrongly (first: page %u, %u times), %u entries "
				   "were outside the region", written - 1, soft, t.fulls, wrong, first_wrong,
				   t.seen[first_wrong], t.outside);
	free(t.seen);
	free(t.gpa);
}

const struct hvp_probe probe_mem_dirty_ring = {
	.id = "mem.dirty_ring",
	.question = "Does the dirty ring name exactly the pages written, stop the vCPU when full, and let it go on after harvest and reset?",
	.timeout_s = 30,
	.run = run_dirty_ring,
};
