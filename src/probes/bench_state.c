/* SPDX-License-Identifier: MIT */
/*
 * What snapshots and dirty tracking cost, timed by the host: saving a
 * paused vCPU's whole state; restoring it into a new vCPU and running it to
 * the guest's first report (Firecracker publishes under 8 ms to resume a
 * snapshot); and harvesting a dirty log per GiB of guest memory with an
 * eighth of its pages written, as the plain bitmap, with manual
 * re-protection, and from the dirty ring.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bench.h"
#include "../machine.h"
#include "../truth.h"

#define STATE_BENCH(name_, id_, what_, fn_)                                                       \
	const struct hvp_probe name_ = { .id = id_, .question = what_, .kind = HVP_PROBE_BENCH,   \
					 .timeout_s = 120, .run = fn_ }

#define VCPUS_PER_VM 32
#define GPA_DIRTY UINT64_C(0x100000000)
#define DIRTY_REGION (UINT64_C(32) << 20) /* scaled to a GiB: software-emulated hosts write slowly */
#define DIRTY_STRIDE 8                    /* every eighth page written */
#define GIB (UINT64_C(1) << 30)

static void answer_measured(struct hvp_ctx *ctx, int failed, const char *what)
{
	if (failed)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "a %s failed during the measurement (see the evidence)", what);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "median %.0f ns per %s", ctx->f->bench.median, what);
}

/* A vCPU paused in tsc_pair (a report, then the pause channel), and its saved state. */
struct paused {
	struct hvp_machine *m;
	struct hvp_vcpu *vcpu;
	uint8_t *blob;
	size_t len;
};

static void pause_vcpu(struct hvp_ctx *ctx, struct paused *p)
{
	struct hvp_guest_result r;
	struct hvp_status st;
	char how[128];

	if (!ctx->be->vcpu_state_save || !ctx->be->vcpu_state_restore)
		hvp_probe_end(ctx, HVP_ANSWER_SKIPPED, "this backend cannot save and restore a vCPU's state yet");
	p->m = hvp_machine_create(ctx, "VM");
	p->vcpu = hvp_vcpu_start(p->m, 0, &hvp_prog_tsc_pair, NULL);
	hvp_guest_run(p->m, p->vcpu, &r);
	HVP_ASSERT(ctx, r.st.err == HVP_OK && r.n == 1 && hvp_guest_arch_channel(&r.last) == HVP_CHANNEL_PAUSE,
		   "the guest did not pause: %s", hvp_guest_how(ctx, &r, how, sizeof(how)));
	st = ctx->be->vcpu_state_save(p->vcpu, &p->blob, &p->len);
	hvp_record(ctx, st, "vcpu state saved: %zu bytes", p->len);
	hvp_need_ok(ctx, st, "saving the paused vCPU's state");
}

static int64_t save_batch(void *arg, uint64_t ops)
{
	struct paused *p = arg;
	struct hvp_ctx *ctx = p->m->ctx;
	int64_t t0 = hvp_now_ns();

	for (uint64_t i = 0; i < ops; i++) {
		uint8_t *blob;
		size_t len;
		struct hvp_status st = ctx->be->vcpu_state_save(p->vcpu, &blob, &len);
		free(blob);
		if (st.err != HVP_OK) {
			hvp_record(ctx, st, "save %" PRIu64 " of %" PRIu64, i + 1, ops);
			return -1;
		}
	}
	return hvp_now_ns() - t0;
}

static void run_state_save(struct hvp_ctx *ctx)
{
	struct paused p = { 0 };

	hvp_bench_pin(ctx);
	pause_vcpu(ctx, &p);
	answer_measured(ctx, hvp_bench_run(ctx, save_batch, &p, "vCPU state save", "host", 0), "vCPU state save");
	free(p.blob);
}

STATE_BENCH(probe_bench_state_save, "bench.state.save", "Save a paused vCPU's whole state (every class the backend carries)",
	    run_state_save);

/*
 * One restore: a new vCPU (not timed), then the restore and the run to the
 * guest's first report after its pause, the reading of its clock.
 */
static int64_t restore_one(struct paused *p, struct hvp_vm *vm, unsigned id, struct hvp_vcpu **vcpu)
{
	struct hvp_ctx *ctx = p->m->ctx;
	struct hvp_exit x = { 0 };
	struct hvp_status st = ctx->be->vcpu_create(vm, id, vcpu);
	int64_t t0;

	if (st.err != HVP_OK) {
		hvp_record(ctx, st, "vcpu %u to restore into", id);
		return -1;
	}
	t0 = hvp_now_ns();
	st = ctx->be->vcpu_state_restore(*vcpu, p->blob, p->len);
	if (st.err == HVP_OK)
		st = ctx->be->vcpu_run(*vcpu, &x);
	if (st.err != HVP_OK || hvp_guest_arch_channel(&x) != HVP_CHANNEL_REPORT) {
		hvp_record(ctx, st, "restore into vcpu %u: %s exit", id, hvp_exit_kind_name(x.kind));
		return -1;
	}
	return hvp_now_ns() - t0;
}

/* Restores into fresh VMs of up to 32 vCPUs each, mapping the paused VM's memory, which the guest only reads. */
static int64_t restore_batch(void *arg, uint64_t ops)
{
	struct paused *p = arg;
	struct hvp_ctx *ctx = p->m->ctx;
	int64_t spent = 0;

	while (ops > 0) {
		unsigned n = ops < VCPUS_PER_VM ? (unsigned)ops : VCPUS_PER_VM, made = 0;
		struct hvp_vcpu *vcpu[VCPUS_PER_VM] = { 0 };
		struct hvp_vm *vm;
		struct hvp_status st = ctx->be->vm_create(ctx->hv, &vm);

		if (st.err == HVP_OK && (st = ctx->be->mem_map(vm, p->m->sys, HVP_SYS_GPA, HVP_SYS_SIZE, HVP_PROT_RWX)).err != HVP_OK)
			ctx->be->vm_destroy(vm);
		if (st.err != HVP_OK) {
			hvp_record(ctx, st, "a VM to restore into");
			return -1;
		}
		for (; made < n && spent >= 0; made++) {
			int64_t t = restore_one(p, vm, made, &vcpu[made]);
			spent = t < 0 ? -1 : spent + t;
		}
		for (unsigned i = 0; i < made; i++)
			if (vcpu[i])
				ctx->be->vcpu_destroy(vcpu[i]);
		ctx->be->vm_destroy(vm);
		if (spent < 0)
			return -1;
		ops -= n;
	}
	return spent;
}

static void run_state_restore(struct hvp_ctx *ctx)
{
	struct paused p = { 0 };
	const char *per = "restore + run to the first report";

	hvp_bench_pin(ctx);
	pause_vcpu(ctx, &p);
	answer_measured(ctx, hvp_bench_run(ctx, restore_batch, &p, per, "host", 0), per);
	free(p.blob);
}

STATE_BENCH(probe_bench_state_restore, "bench.state.restore",
	    "Restore a saved vCPU into a new vCPU and run it to the guest's first report", run_state_restore);

enum harvest_mode { HARVEST_BITMAP, HARVEST_MANUAL, HARVEST_RING };

struct harvest_loop {
	struct hvp_machine *m;
	struct hvp_vcpu *vcpu;
	enum harvest_mode mode;
	uint64_t *bitmap, *gpa;
	uint32_t entries;
};

/* The guest writes every eighth page of the region (not timed). */
static int dirty_pages(struct harvest_loop *l)
{
	uint64_t page = hvp_api_page_size(l->m->ctx);
	uint64_t arg[4] = { GPA_DIRTY, DIRTY_REGION / page / DIRTY_STRIDE, DIRTY_STRIDE * page, 0 };
	struct hvp_guest_result r;
	struct hvp_status st = hvp_vcpu_rerun_try(l->m, l->vcpu, 0, &hvp_prog_store_pages, arg, 0);

	if (st.err != HVP_OK) {
		hvp_record(l->m->ctx, st, "the guest's writes");
		return -1;
	}
	hvp_guest_run(l->m, l->vcpu, &r);
	return hvp_guest_ok(&r) ? 0 : -1;
}

/* One harvest of the whole region in the loop's mode: what a migration's every round does. */
static struct hvp_status harvest_once(struct harvest_loop *l)
{
	const struct hvp_backend *be = l->m->ctx->be;
	struct hvp_status st;
	unsigned n;

	switch (l->mode) {
	case HARVEST_BITMAP:
		return be->dirty_log_get(l->m->vm, GPA_DIRTY, DIRTY_REGION, l->bitmap);
	case HARVEST_MANUAL:
		st = be->dirty_log_get(l->m->vm, GPA_DIRTY, DIRTY_REGION, l->bitmap);
		return st.err == HVP_OK ? be->dirty_log_clear(l->m->vm, GPA_DIRTY, DIRTY_REGION, l->bitmap) : st;
	default:
		st = be->dirty_ring_harvest(l->vcpu, l->gpa, l->entries, &n);
		return st.err == HVP_OK ? be->dirty_ring_reset(l->m->vm) : st;
	}
}

/* Each operation: the guest dirties an eighth of the region, then one timed harvest, scaled to a GiB. */
static int64_t harvest_batch(void *arg, uint64_t ops)
{
	struct harvest_loop *l = arg;
	int64_t spent = 0;

	for (uint64_t i = 0; i < ops; i++) {
		struct hvp_status st;
		int64_t t0;

		if (dirty_pages(l))
			return -1;
		t0 = hvp_now_ns();
		st = harvest_once(l);
		spent += hvp_now_ns() - t0;
		if (st.err != HVP_OK) {
			hvp_record(l->m->ctx, st, "harvest %" PRIu64 " of %" PRIu64, i + 1, ops);
			return -1;
		}
	}
	return (int64_t)((double)spent * (double)(GIB / DIRTY_REGION));
}

/* Turns the mode on (an absent one ends the benchmark skipped, naming the API's answer) and maps the region. */
static void harvest_setup(struct hvp_ctx *ctx, struct harvest_loop *l)
{
	const struct hvp_backend *be = ctx->be;
	uint64_t page = hvp_api_page_size(ctx);
	uint32_t soft = 0;
	struct hvp_status st = hvp_ok("bitmap");

	if (!be->dirty_log_enable || (l->mode == HARVEST_BITMAP && !be->dirty_log_get) ||
	    (l->mode == HARVEST_MANUAL && (!be->dirty_log_manual || !be->dirty_log_clear || !be->dirty_log_get)) ||
	    (l->mode == HARVEST_RING && (!be->dirty_ring_enable || !be->dirty_ring_harvest || !be->dirty_ring_reset)))
		hvp_probe_end(ctx, HVP_ANSWER_SKIPPED, "the API has no such dirty tracking");
	l->m = hvp_machine_create(ctx, "VM");
	l->entries = (uint32_t)(DIRTY_REGION / page / DIRTY_STRIDE) + 64; /* an eighth of the pages, before the ring is full */
	if (l->mode == HARVEST_MANUAL)
		st = be->dirty_log_manual(l->m->vm);
	else if (l->mode == HARVEST_RING)
		st = be->dirty_ring_enable(l->m->vm, &l->entries, &soft);
	hvp_record(ctx, st, "the mode turned on");
	if (st.err != HVP_OK && hvp_refused_as(st, HVP_CLASS(HVP_ERR_UNSUPPORTED))) {
		char why[HVP_TEXT_MAX];
		snprintf(why, sizeof(why), "this host does not offer the mode: %s %s", st.call, hvp_native(ctx, st));
		hvp_probe_end(ctx, HVP_ANSWER_SKIPPED, why);
	}
	hvp_need_ok(ctx, st, "turning the dirty tracking mode on");
	HVP_ASSERT(ctx, l->mode != HARVEST_RING || soft > DIRTY_REGION / page / DIRTY_STRIDE,
		   "a ring of %u entries, full at %u, cannot take an eighth of %" PRIu64 " pages", l->entries, soft,
		   DIRTY_REGION / page);
	l->bitmap = calloc(DIRTY_REGION / page / 64 + 1, sizeof(uint64_t));
	l->gpa = calloc(l->entries, sizeof(uint64_t));
	HVP_ASSERT(ctx, l->bitmap && l->gpa, "no memory for the dirty log");
	hvp_map(l->m, hvp_guest_memory(ctx, DIRTY_REGION), GPA_DIRTY, DIRTY_REGION, HVP_PROT_RWX);
	st = be->dirty_log_enable(l->m->vm, GPA_DIRTY, DIRTY_REGION, true);
	hvp_record(ctx, st, "log dirty pages of %" PRIu64 " MiB", DIRTY_REGION >> 20);
	hvp_need_ok(ctx, st, "turning dirty logging on");
	l->vcpu = hvp_vcpu_start(l->m, 0, &hvp_prog_store_pages, (uint64_t[4]){ GPA_DIRTY, 0, page, 0 });
}

static void bench_harvest(struct hvp_ctx *ctx, enum harvest_mode mode)
{
	static const char *const per[] = {
		[HARVEST_BITMAP] = "GiB of bitmap harvest, 1/8 dirty",
		[HARVEST_MANUAL] = "GiB of log get + clear, 1/8 dirty",
		[HARVEST_RING] = "GiB of ring harvest + reset, 1/8 dirty",
	};
	struct harvest_loop l = { .mode = mode };

	hvp_bench_pin(ctx);
	harvest_setup(ctx, &l);
	answer_measured(ctx, hvp_bench_run(ctx, harvest_batch, &l, per[mode], "host", 0), per[mode]);
	free(l.bitmap);
	free(l.gpa);
}

static void run_harvest_bitmap(struct hvp_ctx *ctx)
{
	bench_harvest(ctx, HARVEST_BITMAP);
}

static void run_harvest_manual(struct hvp_ctx *ctx)
{
	bench_harvest(ctx, HARVEST_MANUAL);
}

static void run_harvest_ring(struct hvp_ctx *ctx)
{
	bench_harvest(ctx, HARVEST_RING);
}

STATE_BENCH(probe_bench_mem_dirty_harvest_bitmap, "bench.mem.dirty_harvest.bitmap",
	    "Harvest the dirty bitmap of a GiB with an eighth of its pages written (KVM_GET_DIRTY_LOG)", run_harvest_bitmap);
STATE_BENCH(probe_bench_mem_dirty_harvest_manual, "bench.mem.dirty_harvest.manual",
	    "Harvest and clear the manual-protect dirty log of a GiB with an eighth of its pages written",
	    run_harvest_manual);
STATE_BENCH(probe_bench_mem_dirty_harvest_ring, "bench.mem.dirty_harvest.ring",
	    "Harvest and reset the dirty ring after a GiB with an eighth of its pages written", run_harvest_ring);
