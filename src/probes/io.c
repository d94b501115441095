/* SPDX-License-Identifier: MIT */
/*
 * I/O notification: doorbells the kernel turns into an eventfd count
 * instead of an exit (ioeventfd: port I/O, MMIO, datamatch, any length),
 * and MMIO writes it queues in a ring instead of exiting (coalesced MMIO).
 *
 * The guest rings N times and reports how many times it rang; the host
 * counts the run's exits at the doorbell (each one resumed) and reads the
 * eventfd: the kernel took a write only if it neither exited nor was lost.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../notify.h"
#include "../truth.h"
#include "irq.h"

#define BELL_PORT 0x0b10
#define BELL_GPA UINT64_C(0xd0001000)      /* paged for the guest, never mapped */
#define COALESCED_GPA UINT64_C(0xd0002000)
#define RINGS 8                             /* doorbell writes per run */
#define BELL_VALUE 0x1d00b311u
#define OTHER_VALUE 0x0dd0b311u

/* A run of a doorbell guest: its exits at the doorbell counted and resumed. */
struct bell_run {
	struct hvp_guest_result r;
	unsigned exits;       /* exits to userspace at the doorbell */
	unsigned other_exits; /* of those, writes of a value other than BELL_VALUE */
};

static bool at_bell(const struct hvp_exit *x, const struct hvp_doorbell *d)
{
	if (!x->write || hvp_guest_arch_channel(x) != HVP_CHANNEL_NONE)
		return false;
	if (d->pio)
		return x->kind == HVP_EXIT_IO && x->addr == d->addr;
	return x->kind == HVP_EXIT_MMIO && x->addr >= d->addr && x->addr - d->addr < (d->len > 8 ? d->len : 8);
}

static void run_bells(struct hvp_machine *m, struct hvp_vcpu *vcpu, const struct hvp_doorbell *d, unsigned cap,
		      struct bell_run *b)
{
	memset(b, 0, sizeof(*b));
	hvp_guest_run(m, vcpu, &b->r);
	while (b->r.st.err == HVP_OK && !b->r.done && !b->r.failed && at_bell(&b->r.last, d) && b->exits < cap) {
		b->exits++;
		b->other_exits += (uint32_t)b->r.last.value != BELL_VALUE;
		hvp_guest_resume(m, vcpu, &b->r, 0);
	}
}

/* Binds a new eventfd to d; a refusal answers no. Returns the fd, or -1 when answered. */
static int bind_bell(struct hvp_ctx *ctx, struct hvp_machine *m, const struct hvp_doorbell *d, const char *what)
{
	int fd = irq_notifier(ctx);
	struct hvp_status st = ctx->be->ioeventfd(m->vm, fd, d, true);

	st.evidence = hvp_record(ctx, st, "eventfd <- %s", what);
	if (st.err == HVP_OK)
		return fd;
	hvp_need_refusal(ctx, st, HVP_REFUSALS, "binding the eventfd to the doorbell");
	hvp_decisive(ctx, st.evidence);
	hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "binding an eventfd to %s was refused: %s %s", what, st.call,
			   hvp_native(ctx, st));
	return -1;
}

/*
 * The guest rings the doorbell d (arg: the program's), which it reports
 * having written `rang` times with BELL_VALUE (and `others` times with
 * another value); yes when the eventfd counted exactly the matching writes
 * and only the others exited.
 */
static void ring_and_judge(struct hvp_ctx *ctx, const struct hvp_doorbell *d, const struct hvp_program *prog,
			   const uint64_t arg[4], uint64_t rang, unsigned others, const char *what)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	struct hvp_vcpu *vcpu;
	struct bell_run b;
	uint64_t count = 0;
	int fd;

	if (!d->pio)
		hvp_page(m, d->addr, 0x1000);
	fd = bind_bell(ctx, m, d, what);
	if (fd < 0)
		return;
	vcpu = hvp_vcpu_start(m, 0, prog, arg);
	run_bells(m, vcpu, d, (unsigned)rang + others, &b);
	hvp_decisive(ctx, b.r.st.evidence);
	hvp_need_guest(ctx, &b.r, 1, "the guest's report of its doorbell writes");
	hvp_guest_value(ctx, "doorbell writes the guest made", b.r.value[0]);
	HVP_ASSERT(ctx, hvp_notifier_take(fd, &count) == 0, "reading the eventfd failed: %s", strerror(errno));
	hvp_guest_value(ctx, "eventfd count", count);
	hvp_guest_value(ctx, "exits to userspace at the doorbell", b.exits);
	ctx->f->guest_verified = true;
	if (b.r.value[0] != rang) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the guest reported %" PRIu64 " doorbell writes, not the %" PRIu64
				   " it was to make", b.r.value[0], rang);
		return;
	}
	hvp_finding_answer(ctx->f, count == rang && b.exits == others && b.other_exits == others ? HVP_ANSWER_YES : HVP_ANSWER_NO,
			   "the guest wrote %s %" PRIu64 " times%s; the eventfd counted %" PRIu64 " and run returned at the "
			   "doorbell %u times (%u expected)", what, rang, others ? " with the matching value and as often "
			   "with another" : "", count, b.exits, others);
}

static void run_pio(struct hvp_ctx *ctx)
{
	struct hvp_doorbell d = { .addr = BELL_PORT, .len = 4, .pio = true };
	uint64_t arg[4] = { BELL_PORT, RINGS, BELL_VALUE, 0 };

	irq_need_feature(ctx, HVP_FEAT_IOEVENTFD, "ioeventfd");
	ring_and_judge(ctx, &d, &hvp_prog_doorbell_pio, arg, RINGS, 0, "port 0xb10 (4 bytes, any value)");
}

static void run_mmio(struct hvp_ctx *ctx)
{
	struct hvp_doorbell d = { .addr = BELL_GPA, .len = 4 };
	uint64_t arg[4] = { BELL_GPA, RINGS, BELL_VALUE, 0 };

	irq_need_feature(ctx, HVP_FEAT_IOEVENTFD, "ioeventfd");
	ring_and_judge(ctx, &d, &hvp_prog_doorbell_mmio, arg, RINGS, 0, "MMIO 0xd0001000 (4 bytes, any value)");
}

static void run_datamatch(struct hvp_ctx *ctx)
{
	struct hvp_doorbell d = { .addr = BELL_GPA, .len = 4, .datamatch = true, .data = BELL_VALUE };
	uint64_t arg[4] = { BELL_GPA, RINGS, BELL_VALUE, OTHER_VALUE }; /* each round, the value then another */

	irq_need_feature(ctx, HVP_FEAT_IOEVENTFD, "ioeventfd");
	ring_and_judge(ctx, &d, &hvp_prog_doorbell_mmio, arg, RINGS, RINGS, "MMIO 0xd0001000 (4 bytes, datamatch)");
}

/* Length 0: every write there signals, whatever its width (1, 2, 8 and 4 bytes each round). */
static void run_mmio_any_length(struct hvp_ctx *ctx)
{
	struct hvp_doorbell d = { .addr = BELL_GPA, .len = 0 };
	uint64_t arg[4] = { BELL_GPA, RINGS, BELL_VALUE, 1 }; /* 1: the widths mode */

	irq_need_feature(ctx, HVP_FEAT_IOEVENTFD, "ioeventfd");
	irq_need_feature(ctx, HVP_FEAT_IOEVENTFD_ANY_LENGTH, "zero-length ioeventfd");
	ring_and_judge(ctx, &d, &hvp_prog_doorbell_mmio, arg, 4 * RINGS, 0, "MMIO 0xd0001000 (length 0, widths 1, 2, 8, 4)");
}

const struct hvp_probe probe_io_ioeventfd_pio = {
	.id = "io.ioeventfd_pio",
	.question = "Do port writes to a doorbell bound with ioeventfd signal its eventfd once each, with no exit to userspace?",
	.timeout_s = 30,
	.arch = "x86_64",
	.run = run_pio,
};

const struct hvp_probe probe_io_ioeventfd_mmio = {
	.id = "io.ioeventfd_mmio",
	.question = "Do MMIO writes to a doorbell bound with ioeventfd signal its eventfd once each, with no exit to userspace?",
	.timeout_s = 30,
	.run = run_mmio,
};

const struct hvp_probe probe_io_ioeventfd_datamatch = {
	.id = "io.ioeventfd_datamatch",
	.question = "Does a datamatch ioeventfd take only writes of its value, the others exiting to userspace as before?",
	.timeout_s = 30,
	.run = run_datamatch,
};

const struct hvp_probe probe_io_ioeventfd_mmio_any_length = {
	.id = "io.ioeventfd_mmio_any_length",
	.question = "Does a zero-length MMIO ioeventfd take writes of every width, with no exit to userspace?",
	.timeout_s = 30,
	.run = run_mmio_any_length,
};

/* The guest's 8-byte stores of 1..RINGS at consecutive addresses of the zone, as the ring must hold them. */
static bool ring_in_order(const struct hvp_coalesced *e, unsigned n)
{
	if (n != RINGS)
		return false;
	for (unsigned i = 0; i < n; i++)
		if (e[i].addr != COALESCED_GPA + 8 * i || e[i].len != 8 || e[i].value != i + 1)
			return false;
	return true;
}

static void run_coalesced(struct hvp_ctx *ctx)
{
	struct hvp_doorbell zone = { .addr = COALESCED_GPA, .len = 0x1000 }; /* the zone, for at_bell */
	uint64_t arg[4] = { COALESCED_GPA, RINGS, 8, 0 };
	struct hvp_coalesced e[2 * RINGS];
	struct hvp_machine *m;
	struct hvp_vcpu *vcpu;
	struct hvp_status st;
	struct bell_run b;
	unsigned n = 0;

	irq_need_feature(ctx, HVP_FEAT_COALESCED_MMIO, "coalesced MMIO");
	m = hvp_machine_create(ctx, "VM");
	hvp_page(m, COALESCED_GPA, 0x1000);
	st = ctx->be->coalesced_zone(m->vm, COALESCED_GPA, 0x1000, true);
	st.evidence = hvp_record(ctx, st, "zone 0x%" PRIx64 ", 4 KiB", COALESCED_GPA);
	if (st.err != HVP_OK) {
		hvp_need_refusal(ctx, st, HVP_REFUSALS, "registering the coalesced zone");
		hvp_decisive(ctx, st.evidence);
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "registering a coalesced MMIO zone was refused: %s %s", st.call,
				   hvp_native(ctx, st));
		return;
	}
	vcpu = hvp_vcpu_start(m, 0, &hvp_prog_store_pages, arg);
	run_bells(m, vcpu, &zone, RINGS, &b);
	hvp_decisive(ctx, b.r.st.evidence);
	hvp_need_guest(ctx, &b.r, 0, "the guest's stores to the zone");
	st = ctx->be->coalesced_read(vcpu, e, 2 * RINGS, &n);
	st.evidence = hvp_record(ctx, st, "%u writes in the ring", n);
	hvp_need_ok(ctx, st, "reading the coalesced ring");
	for (unsigned i = 0; i < n && i < 4; i++)
		hvp_guest_value(ctx, "ring entry's value", e[i].value);
	hvp_guest_value(ctx, "exits to userspace at the zone", b.exits);
	ctx->f->guest_verified = true;
	hvp_finding_answer(ctx->f, ring_in_order(e, n) && b.exits == 0 && b.r.exits == 1 ? HVP_ANSWER_YES : HVP_ANSWER_NO,
			   "the guest made %d 8-byte stores to the zone; the ring held %u%s and the run's exits were %u at the "
			   "zone and %u in all (its final report: 1 expected)", RINGS, n,
			   ring_in_order(e, n) ? ", each address and value in order" : " (not the stores, in order)", b.exits,
			   b.r.exits);
}

const struct hvp_probe probe_io_coalesced_mmio = {
	.id = "io.coalesced_mmio",
	.question = "Do writes to a coalesced MMIO zone land in the ring, in order, with no exit until the guest's own?",
	.timeout_s = 30,
	.run = run_coalesced,
};
