/* SPDX-License-Identifier: MIT */
/*
 * What notification costs: a doorbell the kernel takes (ioeventfd) beside
 * the exit it saves, and how long an interrupt takes from the VMM's act
 * (an eventfd write on an irqfd; an MSI signalled) to the guest's handler.
 *
 * The latency is what the VMM sees: from just before its write until the
 * guest's handler's store into its block (guest memory the host reads) is
 * seen, one interrupt at a time, with the guest waiting in HLT inside the
 * kernel. It includes the cache line's trip back, a few tens of
 * nanoseconds on hardware.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../bench.h"
#include "../notify.h"
#include "../stats.h"
#include "../truth.h"
#include "irq.h"

#define BELL_PORT 0x0b20
#define EXIT_PORT 0x0b21
#define BELL_VALUE 0xb311
#define LAT_VECTOR 0x50
#define DELIVERY_BOUND_NS 1000000000ll /* one interrupt not seen within this: the batch failed */

/* The doorbell and, interleaved batch by batch, the exit it saves: port writes on two vCPUs. */
struct bell_bench {
	struct hvp_ctx *ctx;
	struct hvp_machine *m;
	struct hvp_vcpu *bell, *exits;
	int fd;
	double exit_ns[HVP_SAMPLES_MAX]; /* per exit, by batch number (see bench_exit.c's raw baseline) */
	uint64_t batches;
};

/* ops port writes that exit, as bench.exit.pio_out times them. */
static int64_t exit_batch(struct bell_bench *b, uint64_t ops)
{
	struct hvp_exit x = { 0 };
	int64_t t0 = hvp_now_ns();

	for (uint64_t i = 0; i < ops; i++) {
		struct hvp_status st = b->ctx->be->vcpu_run(b->exits, &x);
		if (st.err != HVP_OK || x.kind != HVP_EXIT_IO) {
			hvp_record(b->ctx, st, "expected a port write exit, got %s", hvp_exit_kind_name(x.kind));
			return -1;
		}
	}
	return hvp_now_ns() - t0;
}

/*
 * One batch: the guest rings the doorbell ops times in one run (its report
 * and final report are the run's only exits), the eventfd must count ops;
 * then ops exits on the other vCPU, kept for the ratio.
 */
static int64_t bell_batch(void *arg, uint64_t ops)
{
	struct bell_bench *b = arg;
	uint64_t prog_arg[4] = { BELL_PORT, ops, BELL_VALUE, 0 }, count = 0;
	struct hvp_guest_result r;
	struct hvp_status st = hvp_vcpu_rerun_try(b->m, b->bell, 0, &hvp_prog_doorbell_pio, prog_arg, 0);
	int64_t t0, t, te;

	if (st.err != HVP_OK) {
		hvp_record(b->ctx, st, "pointing the vCPU at doorbell_pio again");
		return -1;
	}
	t0 = hvp_now_ns();
	hvp_guest_run(b->m, b->bell, &r);
	t = hvp_now_ns() - t0;
	if (!hvp_guest_ok(&r) || r.n != 1 || r.value[0] != ops || r.exits != 2 || hvp_notifier_take(b->fd, &count) != 0 ||
	    count != ops)
		return -1;
	te = exit_batch(b, ops);
	if (te < 0)
		return -1;
	b->exit_ns[b->batches++ % HVP_SAMPLES_MAX] = (double)te / (double)ops;
	return t;
}

/* The median of the exits timed with the last n batches: those taken with the samples. */
static double exit_median(const struct bell_bench *b, unsigned n)
{
	struct hvp_bench s = { 0 };

	for (unsigned i = 0; i < n; i++)
		s.sample[i] = b->exit_ns[(b->batches - n + i) % HVP_SAMPLES_MAX];
	s.n = n;
	hvp_bench_summarize(&s);
	return s.median;
}

static void run_ioeventfd(struct hvp_ctx *ctx)
{
	struct hvp_doorbell d = { .addr = BELL_PORT, .len = 4, .pio = true };
	uint64_t arg[4] = { EXIT_PORT, 0, 0, 0 };
	struct bell_bench b = { .ctx = ctx };
	struct hvp_status st;
	double exit_ns;

	irq_need_feature(ctx, HVP_FEAT_IOEVENTFD, "ioeventfd");
	hvp_bench_pin(ctx);
	b.m = hvp_machine_create(ctx, "VM");
	b.fd = irq_notifier(ctx);
	st = ctx->be->ioeventfd(b.m->vm, b.fd, &d, true);
	hvp_record(ctx, st, "eventfd <- port 0x%x", BELL_PORT);
	hvp_need_ok(ctx, st, "binding the eventfd to the doorbell");
	b.bell = hvp_vcpu_start(b.m, 0, &hvp_prog_doorbell_pio, arg);
	b.exits = hvp_vcpu_start(b.m, 1, &hvp_prog_loop_pio_out, arg);
	if (hvp_bench_run(ctx, bell_batch, &b, "doorbell write", "guest ring 0", 0))
		hvp_probe_end(ctx, HVP_ANSWER_CRASHED, "a batch of doorbell writes was not taken as it must be: every "
			      "write counted by the eventfd, no exit but the guest's reports");
	ctx->f->guest_verified = true; /* the guest reported every batch's writes, the eventfd counted them */
	exit_ns = exit_median(&b, ctx->f->bench.n);
	hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "median %.0f ns per doorbell write taken by ioeventfd, %.0f ns per port "
			   "write that exits to userspace in interleaved batches (bench.exit.pio_out's path): ratio %.3f",
			   ctx->f->bench.median, exit_ns, exit_ns > 0 ? ctx->f->bench.median / exit_ns : 0);
}

const struct hvp_probe probe_bench_io_ioeventfd = {
	.id = "bench.io.ioeventfd",
	.question = "A port write doorbell taken by ioeventfd, beside the exit to userspace it saves",
	.kind = HVP_PROBE_BENCH,
	.timeout_s = 60,
	.arch = "x86_64",
	.run = run_ioeventfd,
};

/* The guest waiting for interrupts on its own thread, and how the VMM raises one. */
struct lat_bench {
	struct hvp_ctx *ctx;
	struct irq_guest g;
	struct hvp_guest_thread t;
	int fd;      /* irqfd: the eventfd to write; -1: signal an MSI */
	uint64_t vector; /* what the guest's handler takes: x86 vector, arm64 INTID */
	bool failed; /* the API refused a signal: recorded once */
};

/* Raises one interrupt: an eventfd write, or an MSI the API delivers. */
static int raise_one(struct lat_bench *l)
{
	struct hvp_status st;

	if (l->fd >= 0)
		return hvp_notifier_signal(l->fd, 1);
	st = l->ctx->be->msi_signal(l->g.m->vm, IRQ_MSI_ADDR, (uint32_t)l->vector);
	if (st.err != HVP_OK && !l->failed) {
		l->failed = true;
		hvp_record(l->ctx, st, "MSI vector 0x%" PRIx64, l->vector);
	}
	return st.err == HVP_OK ? 0 : -1;
}

/* ops interrupts, one at a time: each from just before the VMM's act until the handler's store is seen. */
static int64_t lat_batch(void *arg, uint64_t ops)
{
	struct lat_bench *l = arg;
	volatile uint64_t *count = &l->g.block[HVP_IRQ_COUNT / 8];
	int64_t total = 0;

	for (uint64_t i = 0; i < ops; i++) {
		uint64_t before = __atomic_load_n(count, __ATOMIC_ACQUIRE);
		int64_t t0 = hvp_now_ns(), t;
		if (raise_one(l) != 0)
			return -1;
		while (__atomic_load_n(count, __ATOMIC_ACQUIRE) == before) {
			t = hvp_now_ns() - t0;
			if (t > DELIVERY_BOUND_NS || __atomic_load_n(&l->t.done, __ATOMIC_ACQUIRE))
				return -1;
		}
		total += hvp_now_ns() - t0;
	}
	return total;
}

static void bench_latency(struct hvp_ctx *ctx, bool msi)
{
	struct lat_bench l = { .ctx = ctx, .fd = -1 };
	struct hvp_machine *m;
	struct hvp_status st;
	uint64_t flags = HVP_IRQF_LAPIC | HVP_IRQF_EOI | HVP_IRQF_PAUSE;
	int failed;

	irq_need_feature(ctx, HVP_FEAT_IRQCHIP, "in-kernel interrupt controller");
	irq_need_feature(ctx, msi ? HVP_FEAT_SIGNAL_MSI : HVP_FEAT_IRQFD, msi ? "MSI signalling" : "irqfd");
	hvp_bench_pin(ctx);
	m = irq_machine(ctx, true);
	l.vector = msi ? LAT_VECTOR : irq_arch_of(ctx)->irqfd;
	irq_guest_start(&l.g, m, true, flags | (msi ? 0 : HVP_IRQF_IOAPIC), l.vector, UINT64_MAX);
	if (!msi) { /* once the controller is complete, as irq.irqfd binds it */
		l.fd = irq_notifier(ctx);
		st = ctx->be->irqfd(m->vm, l.fd, IRQ_GSI, -1, true);
		hvp_record(ctx, st, "eventfd -> GSI %u", IRQ_GSI);
		hvp_need_ok(ctx, st, "binding the eventfd to the GSI");
	}
	irq_guest_armed(ctx, &l.g);
	l.t = (struct hvp_guest_thread){ .m = m, .vcpu = l.g.vcpu };
	hvp_guest_thread_start(&l.t);
	failed = hvp_bench_run(ctx, lat_batch, &l, msi ? "MSI to the guest's handler" : "irqfd write to the guest's handler",
			       "guest ring 0", 0);
	hvp_kick(ctx, l.g.vcpu);
	if (!hvp_guest_thread_end(&l.t, DELIVERY_BOUND_NS * 10))
		hvp_probe_end(ctx, HVP_ANSWER_CRASHED, "the waiting guest's run did not return after a kick");
	if (failed)
		hvp_probe_end(ctx, HVP_ANSWER_CRASHED, "an interrupt did not reach the guest's handler within 1 s, or the "
			      "VMM's act failed");
	hvp_guest_value(ctx, "interrupts the guest's handler took", l.g.block[HVP_IRQ_COUNT / 8]);
	hvp_guest_value(ctx, "vector the handler took first", l.g.block[HVP_IRQ_LOG / 8]);
	HVP_ASSERT(ctx, l.g.block[HVP_IRQ_LOG / 8] == l.vector, "the guest's handler took 0x%" PRIx64 ", not 0x%" PRIx64,
		   l.g.block[HVP_IRQ_LOG / 8], l.vector);
	ctx->f->guest_verified = true; /* every sample ended in the guest's handler's own store */
	hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "median %.0f ns from %s to the guest's handler (its store seen by the "
			   "host), the guest waiting in %s in the kernel", ctx->f->bench.median,
			   msi ? "KVM_SIGNAL_MSI" : "the eventfd write", strcmp(ctx->be->arch, "x86_64") == 0 ? "HLT" : "WFI");
}

static void run_irqfd_latency(struct hvp_ctx *ctx)
{
	bench_latency(ctx, false);
}

static void run_msi_latency(struct hvp_ctx *ctx)
{
	bench_latency(ctx, true);
}

const struct hvp_probe probe_bench_irq_irqfd_latency = {
	.id = "bench.irq.irqfd_latency",
	.question = "An eventfd write on an irqfd until the guest's interrupt handler runs (x86: IOAPIC pin, edge; arm64: SPI)",
	.kind = HVP_PROBE_BENCH,
	.timeout_s = 60,
	.run = run_irqfd_latency,
};

const struct hvp_probe probe_bench_irq_msi_latency = {
	.id = "bench.irq.msi_latency",
	.question = "An MSI the VMM signals until the guest's interrupt handler runs",
	.kind = HVP_PROBE_BENCH,
	.timeout_s = 60,
	.arch = "x86_64",
	.run = run_msi_latency,
};
