/* SPDX-License-Identifier: MIT */
/*
 * What the API's operations cost, timed by the host: creating and
 * destroying a VM, creating a vCPU, mapping and unmapping memory of three
 * sizes, and a guest's first touch of a page (the host faulting it in),
 * for 4 KiB pages and for 2 MiB transparent huge pages.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "../bench.h"
#include "../machine.h"

#define GPA_BENCH UINT64_C(0x100000000)
#define SIZE_2M UINT64_C(0x200000)

#define OPS_BENCH(name_, id_, what_, fn_)                                                         \
	const struct hvp_probe name_ = { .id = id_, .question = what_, .kind = HVP_PROBE_BENCH,   \
					 .timeout_s = 60, .run = fn_ }

static void answer_measured(struct hvp_ctx *ctx, int failed, const char *what)
{
	if (failed)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "a %s failed during the measurement (see the evidence)", what);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "median %.0f ns per %s", ctx->f->bench.median, what);
}

static int64_t vm_create_destroy_batch(void *arg, uint64_t ops)
{
	struct hvp_ctx *ctx = arg;
	int64_t t0 = hvp_now_ns();

	for (uint64_t i = 0; i < ops; i++) {
		struct hvp_vm *vm;
		struct hvp_status st = ctx->be->vm_create(ctx->hv, &vm);
		if (st.err == HVP_OK)
			st = ctx->be->vm_destroy(vm);
		if (st.err != HVP_OK) {
			hvp_record(ctx, st, "create/destroy %" PRIu64 " of %" PRIu64, i + 1, ops);
			return -1;
		}
	}
	return hvp_now_ns() - t0;
}

static void run_vm_create_destroy(struct hvp_ctx *ctx)
{
	hvp_bench_pin(ctx);
	answer_measured(ctx, hvp_bench_run(ctx, vm_create_destroy_batch, ctx, "VM create + destroy", "host", 0),
			"VM create + destroy");
}

OPS_BENCH(probe_bench_vm_create_destroy, "bench.vm.create_destroy", "Create and destroy an empty VM",
	  run_vm_create_destroy);

/* vCPUs are created in batches in a fresh VM, which a VM's vCPU limit bounds. */
#define VCPUS_PER_VM 32

static int64_t vcpu_create_batch(void *arg, uint64_t ops)
{
	struct hvp_ctx *ctx = arg;
	int64_t spent = 0;

	while (ops > 0) {
		uint64_t n = ops < VCPUS_PER_VM ? ops : VCPUS_PER_VM;
		struct hvp_vcpu *vcpu[VCPUS_PER_VM];
		struct hvp_status st;
		struct hvp_vm *vm;
		int64_t t0;

		st = ctx->be->vm_create(ctx->hv, &vm);
		if (st.err != HVP_OK) {
			hvp_record(ctx, st, "VM for the vCPUs");
			return -1;
		}
		t0 = hvp_now_ns();
		for (uint64_t i = 0; i < n; i++) {
			st = ctx->be->vcpu_create(vm, (unsigned)i, &vcpu[i]);
			if (st.err != HVP_OK) {
				hvp_record(ctx, st, "vcpu %" PRIu64, i);
				return -1;
			}
		}
		spent += hvp_now_ns() - t0;
		for (uint64_t i = 0; i < n; i++)
			ctx->be->vcpu_destroy(vcpu[i]);
		ctx->be->vm_destroy(vm);
		ops -= n;
	}
	return spent;
}

static void run_vcpu_create(struct hvp_ctx *ctx)
{
	hvp_bench_pin(ctx);
	answer_measured(ctx, hvp_bench_run(ctx, vcpu_create_batch, ctx, "vCPU create", "host", 0), "vCPU create");
}

OPS_BENCH(probe_bench_vcpu_create, "bench.vcpu.create", "Create a vCPU (up to 32 per VM)", run_vcpu_create);

struct map_loop {
	struct hvp_ctx *ctx;
	struct hvp_vm *vm;
	void *host;
	uint64_t size;
};

static int64_t map_unmap_batch(void *arg, uint64_t ops)
{
	struct map_loop *l = arg;
	const struct hvp_backend *be = l->ctx->be;
	int64_t t0 = hvp_now_ns();

	for (uint64_t i = 0; i < ops; i++) {
		struct hvp_status st = be->mem_map(l->vm, l->host, GPA_BENCH, l->size, HVP_PROT_RWX);
		if (st.err == HVP_OK)
			st = be->mem_unmap(l->vm, GPA_BENCH, l->size);
		if (st.err != HVP_OK) {
			hvp_record(l->ctx, st, "map/unmap of 0x%" PRIx64 " bytes", l->size);
			return -1;
		}
	}
	return hvp_now_ns() - t0;
}

static void bench_map_unmap(struct hvp_ctx *ctx, uint64_t size, const char *what)
{
	struct map_loop l = { ctx, NULL, NULL, size };
	struct hvp_status st = ctx->be->vm_create(ctx->hv, &l.vm);

	hvp_bench_pin(ctx);
	HVP_ASSERT(ctx, st.err == HVP_OK, "creating the VM failed: %s %s", st.call, ctx->be->native_name(st.native));
	/* Reserved, never touched: the cost measured is the API's, not the host's page faults. */
	l.host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	HVP_ASSERT(ctx, l.host != MAP_FAILED, "mmap: %s", strerror(errno));
	answer_measured(ctx, hvp_bench_run(ctx, map_unmap_batch, &l, what, "host", 0), what);
}

static void run_map_unmap_4k(struct hvp_ctx *ctx)
{
	bench_map_unmap(ctx, 0x1000, "map + unmap of 4 KiB");
}

static void run_map_unmap_2m(struct hvp_ctx *ctx)
{
	bench_map_unmap(ctx, SIZE_2M, "map + unmap of 2 MiB");
}

static void run_map_unmap_1g(struct hvp_ctx *ctx)
{
	bench_map_unmap(ctx, 1ull << 30, "map + unmap of 1 GiB");
}

OPS_BENCH(probe_bench_mem_map_unmap_4k, "bench.mem.map_unmap.4k", "Map and unmap 4 KiB of guest memory",
	  run_map_unmap_4k);
OPS_BENCH(probe_bench_mem_map_unmap_2m, "bench.mem.map_unmap.2m", "Map and unmap 2 MiB of guest memory",
	  run_map_unmap_2m);
OPS_BENCH(probe_bench_mem_map_unmap_1g, "bench.mem.map_unmap.1g", "Map and unmap 1 GiB of guest memory",
	  run_map_unmap_1g);

/*
 * First touch: each batch maps fresh host memory (never touched) and lets
 * the guest write one word per 4 KiB page; the run's time over the pages is
 * the cost of a first touch (the host's fault, the hypervisor's mapping).
 */
#define TOUCH_GPA UINT64_C(0x200000000)

struct touch_loop {
	struct hvp_machine *m;
	struct hvp_vcpu *vcpu;
	int huge;
};

static int64_t touch_batch(void *arg, uint64_t pages)
{
	struct touch_loop *l = arg;
	struct hvp_ctx *ctx = l->m->ctx;
	uint64_t stride = l->huge ? SIZE_2M : 0x1000;
	uint64_t size = (pages * stride + SIZE_2M - 1) & ~(SIZE_2M - 1);
	uint8_t *raw = mmap(NULL, size + SIZE_2M, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *host = raw == MAP_FAILED ? NULL : (uint8_t *)(((uintptr_t)raw + SIZE_2M - 1) & ~(uintptr_t)(SIZE_2M - 1));
	uint64_t prog_arg[4] = { TOUCH_GPA, pages, stride, 0 };
	struct hvp_guest_result r;
	struct hvp_status st;
	int64_t t0, t;

	if (!host)
		return -1;
#ifdef MADV_HUGEPAGE
	madvise(host, size, l->huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
#endif
	st = ctx->be->mem_map(l->m->vm, host, TOUCH_GPA, size, HVP_PROT_RWX);
	if (st.err == HVP_OK && hvp_guest_arch_map(l->m->sys, &l->m->paging, TOUCH_GPA, TOUCH_GPA, size) == 0)
		st = hvp_vcpu_rerun_try(l->m, l->vcpu, 0, &hvp_prog_store_pages, prog_arg, 0);
	if (st.err != HVP_OK) {
		hvp_record(ctx, st, "preparing %" PRIu64 " fresh pages", pages);
		munmap(raw, size + SIZE_2M);
		return -1;
	}
	t0 = hvp_now_ns();
	hvp_guest_run(l->m, l->vcpu, &r);
	t = hvp_now_ns() - t0;
	ctx->be->mem_unmap(l->m->vm, TOUCH_GPA, size);
	munmap(raw, size + SIZE_2M);
	return hvp_guest_ok(&r) ? t : -1;
}

static void bench_first_touch(struct hvp_ctx *ctx, int huge)
{
	struct touch_loop l = { hvp_machine_create(ctx, "VM"), NULL, huge };
	uint64_t arg[4] = { TOUCH_GPA, 0, 0x1000, 0 };

	hvp_bench_pin(ctx);
	l.vcpu = hvp_vcpu_start(l.m, 0, &hvp_prog_store_pages, arg);
	const char *per = huge ? "first touch of a 2 MiB page (THP requested)" : "first touch of a 4 KiB page";

	answer_measured(ctx, hvp_bench_run(ctx, touch_batch, &l, per, "guest ring 0", 0), per);
}

static void run_first_touch_4k(struct hvp_ctx *ctx)
{
	bench_first_touch(ctx, 0);
}

static void run_first_touch_2m(struct hvp_ctx *ctx)
{
	bench_first_touch(ctx, 1);
}

OPS_BENCH(probe_bench_mem_first_touch_4k, "bench.mem.first_touch.4k",
	  "A guest's first write to each 4 KiB page of fresh host memory", run_first_touch_4k);
OPS_BENCH(probe_bench_mem_first_touch_2m, "bench.mem.first_touch.2m",
	  "A guest's first write to each 2 MiB page of fresh host memory backed by transparent huge pages",
	  run_first_touch_2m);

/*
 * Kick latency: a vCPU spins in the guest with no exits; another thread
 * kicks it and times how long its run call takes to come back.
 */
#define KICK_FLAG_GPA UINT64_C(0x300000000)
#define KICK_SETTLE_NS 500000 /* let the vCPU get into the guest before the kick */
#define KICK_TIMEOUT_NS 2000000000ll

struct kick_loop {
	struct hvp_ctx *ctx;
	struct hvp_vcpu *vcpu;
	uint64_t round, started, finished; /* round numbers, accessed atomically */
	int64_t returned_at;
	int stop, wrong_exit;
};

static uint64_t load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void *kick_vcpu_main(void *arg)
{
	struct kick_loop *k = arg;
	struct hvp_exit x = { 0 };

	for (uint64_t r = 1;; r++) {
		while (load(&k->round) < r && !__atomic_load_n(&k->stop, __ATOMIC_ACQUIRE))
			sched_yield();
		if (__atomic_load_n(&k->stop, __ATOMIC_ACQUIRE))
			return NULL;
		__atomic_store_n(&k->started, r, __ATOMIC_RELEASE);
		k->ctx->be->vcpu_run(k->vcpu, &x);
		__atomic_store_n(&k->returned_at, hvp_now_ns(), __ATOMIC_RELEASE);
		if (x.kind != HVP_EXIT_INTERRUPTED)
			__atomic_store_n(&k->wrong_exit, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&k->finished, r, __ATOMIC_RELEASE);
	}
}

/* Waits for *p to reach r; returns 0, or -1 after the timeout. */
static int wait_round(const uint64_t *p, uint64_t r)
{
	int64_t deadline = hvp_now_ns() + KICK_TIMEOUT_NS;

	while (load(p) < r)
		if (hvp_now_ns() > deadline)
			return -1;
		else
			sched_yield();
	return 0;
}

static int64_t kick_batch(void *arg, uint64_t ops)
{
	struct kick_loop *k = arg;
	const struct timespec settle = { 0, KICK_SETTLE_NS };
	int64_t sum = 0;

	for (uint64_t i = 0; i < ops; i++) {
		uint64_t r = __atomic_add_fetch(&k->round, 1, __ATOMIC_ACQ_REL);
		int64_t t0;
		if (wait_round(&k->started, r))
			return -1;
		nanosleep(&settle, NULL);
		t0 = hvp_now_ns();
		struct hvp_status kicked = k->ctx->be->vcpu_kick(k->vcpu);
		if (kicked.err != HVP_OK || wait_round(&k->finished, r) ||
		    __atomic_load_n(&k->wrong_exit, __ATOMIC_ACQUIRE)) {
			/* The kick itself is the call; what the run did after it is said by the detail. */
			hvp_record(k->ctx, kicked, "round %" PRIu64 ": the run call did not come back interrupted", r);
			return -1;
		}
		sum += __atomic_load_n(&k->returned_at, __ATOMIC_ACQUIRE) - t0;
	}
	return sum;
}

static void run_kick_latency(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	uint64_t *flag = hvp_guest_memory(ctx, hvp_page_size(ctx));
	uint64_t arg[4] = { KICK_FLAG_GPA, 0, 0, 0 };
	struct kick_loop k = { .ctx = ctx };
	pthread_t tid;
	int failed;

	hvp_bench_pin(ctx);
	hvp_map(m, flag, KICK_FLAG_GPA, hvp_page_size(ctx), HVP_PROT_RWX);
	k.vcpu = hvp_vcpu_start(m, 0, &hvp_prog_wait_flag, arg); /* the flag stays 0: it spins */
	HVP_ASSERT(ctx, pthread_create(&tid, NULL, kick_vcpu_main, &k) == 0, "pthread_create failed");
	failed = hvp_bench_run(ctx, kick_batch, &k, "kick until the run call returns", "host", 0);
	__atomic_store_n(&k.stop, 1, __ATOMIC_RELEASE);
	__atomic_store_n(flag, 1, __ATOMIC_RELEASE); /* lets the guest finish if it is still running */
	ctx->be->vcpu_kick(k.vcpu);
	pthread_join(tid, NULL);
	answer_measured(ctx, failed, "kick");
}

OPS_BENCH(probe_bench_vcpu_kick_latency, "bench.vcpu.kick_latency",
	  "Kick a vCPU spinning in the guest out of its run call, from another thread", run_kick_latency);
