/* SPDX-License-Identifier: MIT */
/*
 * Interrupts: the in-kernel interrupt controller, irqfd (and its resample
 * form for level-triggered lines), MSI routes and KVM_SIGNAL_MSI, the
 * routing table's limit, injection by the VMM, and the guest's own timer.
 *
 * Every answer comes from the guest: irq_wait's handler logs the vectors
 * it takes and the program reports them. The guest pauses once armed (its
 * own report that it waits), the host then acts, and the wait is bounded
 * by a kick: a guest still waiting then took no interrupt.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bench.h"
#include "../notify.h"
#include "../truth.h"
#include "irq.h"

/*
 * The bound on a guest's wait: long beside delivery even emulated on a
 * busy host. 10 s was not, for a sanitized hvprobe on KVM inside QEMU
 * (each exit handled by slower code, the host's memory shadowed).
 */
#define WAIT_NS 30000000000ll
/*
 * After a kick finds the guest halted short of its interrupts, one more
 * entry: KVM looks at pending interrupts again on entry, so a halted vCPU
 * whose wakeup was lost takes them at once (a guest kicked short of its
 * interrupts was seen once with KVM inside QEMU's emulated SVM, under a
 * sanitized hvprobe; its cause was not captured).
 */
#define REENTRY_WAIT_NS 10000000000ll
#define HALTS_MAX 8          /* HLT exits to userspace a wait resumes before giving up */
#define ROUTES_CAP 65536     /* the routing table search stops here (4 MiB of entries) */
#define TIMER_COUNT 10000000 /* timer ticks: 10 ms at KVM x86's 1 GHz APIC bus, so that it fires into the wait */

#define VEC_SELF 0x40
#define VEC_IRQFD 0x41
#define VEC_SIGNAL_MSI 0x42
#define VEC_MSI_ROUTE 0x43
#define VEC_ROUTE_LIMIT 0x44
#define VEC_INJECT 0x45
#define VEC_TIMER 0x46
#define VEC_RESAMPLE 0x47
#define RTE_LEVEL (1u << 15)
#define ARM64_SGI 1 /* the SGI an arm64 guest sends itself */

int64_t irq_need_feature(struct hvp_ctx *ctx, enum hvp_irq_feature feature, const char *what)
{
	const char *name = "?";
	int64_t v;

	if (!ctx->be->irq_feature)
		hvp_probe_end(ctx, HVP_ANSWER_SKIPPED, "the API has no interrupt or doorbell calls that hvprobe knows");
	v = ctx->be->irq_feature(ctx->hv, feature, &name);
	if (v <= 0) {
		char why[HVP_TEXT_MAX];
		if (v < 0)
			snprintf(why, sizeof(why), "%s has no call for %s", name, what);
		else
			snprintf(why, sizeof(why), "%s is %" PRId64 ": the API offers no %s here", name, v, what);
		hvp_probe_end(ctx, HVP_ANSWER_SKIPPED, why);
	}
	return v;
}

const struct irq_arch *irq_arch_of(const struct hvp_ctx *ctx)
{
	static const struct irq_arch x86 = { HVP_IRQCHIP_X86_FULL, VEC_SELF, VEC_IRQFD, VEC_RESAMPLE, VEC_TIMER, "vector" };
	static const struct irq_arch arm64 = { HVP_IRQCHIP_GICV3, ARM64_SGI, 32 + IRQ_GSI, 32 + IRQ_GSI,
					       HVP_ARM64_VTIMER_INTID, "INTID" };

	return strcmp(ctx->be->arch, "x86_64") == 0 ? &x86 : &arm64;
}

void irq_page_controller(struct hvp_ctx *ctx, struct hvp_machine *m)
{
	if (strcmp(ctx->be->arch, "x86_64") == 0) {
		hvp_page_device(m, HVP_X86_APIC_GPA, 0x1000);
		hvp_page_device(m, HVP_X86_IOAPIC_GPA, 0x1000);
	} else {
		hvp_page_device(m, HVP_ARM64_GICD_GPA, 0x100000); /* distributor, ITS and redistributors */
	}
}

struct hvp_machine *irq_machine(struct hvp_ctx *ctx, bool chip)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");

	if (chip) {
		struct hvp_status st = ctx->be->irq_chip_create(m->vm, irq_arch_of(ctx)->chip);
		hvp_record(ctx, st, "VM: in-kernel interrupt controller");
		hvp_need_ok(ctx, st, "creating the in-kernel interrupt controller");
	}
	irq_page_controller(ctx, m);
	return m;
}

void irq_guest_start(struct irq_guest *g, struct hvp_machine *m, bool chip, uint64_t flags, uint64_t vector,
		     uint64_t want)
{
	uint64_t arg[4] = { HVP_SYS_DATA, 0, 0, 0 };
	struct hvp_ctx *ctx = m->ctx;

	g->m = m;
	g->block = (volatile uint64_t *)(void *)(m->sys + HVP_SYS_DATA - HVP_SYS_GPA);
	memset((void *)g->block, 0, HVP_IRQ_BLOCK_SIZE);
	g->block[HVP_IRQ_FLAGS / 8] = flags;
	g->block[HVP_IRQ_VECTOR / 8] = vector;
	g->block[HVP_IRQ_PIN / 8] = IRQ_GSI;
	g->block[HVP_IRQ_TIMER / 8] = TIMER_COUNT;
	g->block[HVP_IRQ_WANT / 8] = want;
	g->vcpu = hvp_vcpu_start(m, 0, &hvp_prog_irq_wait, arg);
	if (chip && ctx->be->irq_chip_ready) {
		struct hvp_status st = ctx->be->irq_chip_ready(m->vm);
		hvp_record(ctx, st, "%s: interrupt controller initialized, its vCPUs made", m->label);
		hvp_need_ok(ctx, st, "initializing the in-kernel interrupt controller");
	}
}

int irq_notifier(struct hvp_ctx *ctx)
{
	int fd = hvp_notifier_open();

	if (fd < 0 && (errno == EMFILE || errno == ENFILE))
		hvp_probe_end(ctx, HVP_ANSWER_SKIPPED, "no eventfd: the process's open-file limit, not the API's "
			      "(raise it: ulimit -n)");
	HVP_ASSERT(ctx, fd >= 0, "eventfd failed: %s", strerror(errno));
	return fd;
}

void irq_signal(struct hvp_ctx *ctx, int fd)
{
	HVP_ASSERT(ctx, hvp_notifier_signal(fd, 1) == 0, "writing the eventfd failed: %s", strerror(errno));
}

void irq_guest_armed(struct hvp_ctx *ctx, struct irq_guest *g)
{
	struct hvp_guest_result r;
	char how[128];

	hvp_guest_run(g->m, g->vcpu, &r);
	hvp_need_ok(ctx, r.st, "running the guest to where it waits for interrupts");
	if (r.n != 0 || hvp_guest_arch_channel(&r.last) != HVP_CHANNEL_PAUSE)
		hvp_probe_abort(ctx, __FILE__, __LINE__, "the guest did not pause once armed for interrupts: %s",
				hvp_guest_how(ctx, &r, how, sizeof(how)));
	hvp_guest_value(ctx, "guest armed for interrupts (pause)", 1);
}

/*
 * The MSI whose delivery the guest takes as vector: x86 the vector at APIC
 * 0; arm64 an event of device HVP_ARM64_ITS_DEVID at the ITS, which the
 * guest mapped (HVP_IRQF_ITS) to LPI HVP_ARM64_LPI + the event.
 */
static struct hvp_irq_route msi_of(const struct hvp_ctx *ctx, uint32_t gsi, uint32_t vector)
{
	if (strcmp(ctx->be->arch, "x86_64") == 0)
		return (struct hvp_irq_route){ .gsi = gsi, .msi = true, .msi_addr = IRQ_MSI_ADDR, .msi_data = vector };
	return (struct hvp_irq_route){ .gsi = gsi, .msi = true, .msi_addr = HVP_ARM64_ITS_TRANSLATER,
				       .msi_data = vector - HVP_ARM64_LPI, .msi_devid_valid = true,
				       .msi_devid = HVP_ARM64_ITS_DEVID };
}

/* Signals the MSI msi_of names; where it names a device, through msi_signal_devid (skipped where absent). */
static struct hvp_status msi_send(struct hvp_ctx *ctx, struct hvp_vm *vm, uint32_t vector)
{
	struct hvp_irq_route msi = msi_of(ctx, 0, vector);

	if (!msi.msi_devid_valid)
		return ctx->be->msi_signal(vm, msi.msi_addr, msi.msi_data);
	if (!ctx->be->msi_signal_devid)
		hvp_probe_end(ctx, HVP_ANSWER_SKIPPED, "the API has no MSI that names its device (an ITS's)");
	return ctx->be->msi_signal_devid(vm, msi.msi_addr, msi.msi_data, msi.msi_devid);
}

struct hvp_status irq_msi_route(struct hvp_ctx *ctx, struct irq_guest *g, uint32_t gsi, uint32_t vector, int fd)
{
	struct hvp_irq_route route = msi_of(ctx, gsi, vector);
	struct hvp_status st = ctx->be->gsi_routing_set(g->m->vm, &route, 1);

	st.evidence = hvp_record(ctx, st, "GSI %u -> MSI 0x%x at 0x%" PRIx64 "%s", gsi, route.msi_data, route.msi_addr,
				 route.msi_devid_valid ? ", with its device ID" : "");
	if (st.err != HVP_OK)
		return st;
	st = ctx->be->irqfd(g->m->vm, fd, gsi, -1, true);
	st.evidence = hvp_record(ctx, st, "eventfd -> GSI %u", gsi);
	return st;
}

/* The guest's wait on a thread of its own; HLT exits to userspace are counted and resumed. */
struct irq_wait {
	struct hvp_guest_thread t;
	unsigned halts;
	bool kicked;
	bool stalled;         /* the first kick found it short of its interrupts; it was entered again */
	uint64_t block_count; /* interrupts the guest's block says it took, when the wait ended */
	int64_t waited_s;     /* how long the guest was let wait, over its rounds */
};

static void *irq_wait_main(void *arg)
{
	struct irq_wait *w = arg;
	struct hvp_guest_result *r = &w->t.r;

	hvp_guest_run(w->t.m, w->t.vcpu, r);
	while (r->st.err == HVP_OK && !r->done && !r->failed && r->last.kind == HVP_EXIT_HLT && w->halts < HALTS_MAX) {
		w->halts++;
		hvp_guest_resume(w->t.m, w->t.vcpu, r, 0);
	}
	__atomic_store_n(&w->t.done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* One round of the guest's wait on its thread, kicked after ns; returns whether it was kicked. */
static bool irq_wait_round(struct hvp_ctx *ctx, struct irq_guest *g, struct irq_wait *w, int64_t ns)
{
	bool kicked = false;

	w->waited_s += ns / 1000000000;
	__atomic_store_n(&w->t.done, 0, __ATOMIC_RELEASE);
	HVP_ASSERT(ctx, pthread_create(&w->t.tid, NULL, irq_wait_main, w) == 0, "pthread_create failed");
	if (!hvp_guest_thread_wait(&w->t, ns)) {
		kicked = true;
		do
			hvp_kick(ctx, g->vcpu);
		while (!hvp_guest_thread_wait(&w->t, WAIT_NS));
	}
	pthread_join(w->t.tid, NULL);
	return kicked;
}

/* Where the kick found a guest that had not made its reports: its pc and flags and its block's count, as evidence. */
static void irq_record_kick(struct hvp_ctx *ctx, struct irq_guest *g, uint64_t taken)
{
	struct hvp_regs regs = { 0 };
	struct hvp_status st = ctx->be->regs_get(g->vcpu, &regs);

	if (st.err == HVP_OK)
		hvp_record(ctx, st, "%s: kicked at %lld s, %" PRIu64 " of %" PRIu64 " interrupts taken, pc 0x%" PRIx64
			   ", flags 0x%" PRIx64 "; run again", g->m->label, WAIT_NS / 1000000000, taken,
			   g->block[HVP_IRQ_WANT / 8], regs.pc, regs.flags);
	else
		hvp_record(ctx, st, "%s: kicked at %lld s, %" PRIu64 " of %" PRIu64 " interrupts taken; run again",
			   g->m->label, WAIT_NS / 1000000000, taken, g->block[HVP_IRQ_WANT / 8]);
}

/*
 * Lets the guest wait up to WAIT_NS for its interrupts, then kicks it and
 * enters it once more: a guest whose block shows it took them all just as
 * the kick came (a busy host) makes its reports; one short of them gets
 * REENTRY_WAIT_NS more (a lost wakeup ends there). The kick alone is never
 * the answer.
 */
static void irq_wait_bounded(struct hvp_ctx *ctx, struct irq_guest *g, struct irq_wait *w)
{
	memset(w, 0, sizeof(*w));
	w->t.m = g->m;
	w->t.vcpu = g->vcpu;
	w->kicked = irq_wait_round(ctx, g, w, WAIT_NS);
	if (w->kicked && !w->t.r.done) {
		uint64_t taken = g->block[HVP_IRQ_COUNT / 8];
		bool all = taken >= g->block[HVP_IRQ_WANT / 8];
		irq_record_kick(ctx, g, taken);
		w->stalled = !all;
		w->kicked = irq_wait_round(ctx, g, w, all ? WAIT_NS : REENTRY_WAIT_NS);
	}
	w->block_count = g->block[HVP_IRQ_COUNT / 8];
}

/* What the answer says of a guest that took its interrupts only after a kick and another entry. */
static const char *irq_stall_note(const struct irq_wait *w)
{
	return w->stalled && !w->kicked ? " (only once kicked and entered again: a lost wakeup)" : "";
}

static bool same_vectors(const uint64_t *got, const uint64_t *want, unsigned n)
{
	uint64_t seen = 0;

	for (unsigned i = 0; i < n; i++) {
		unsigned j;
		for (j = 0; j < n; j++)
			if (!(seen & (1ull << j)) && got[i] == want[j])
				break;
		if (j == n)
			return false;
		seen |= 1ull << j;
	}
	return true;
}

static void vector_list(char *buf, size_t size, const uint64_t *v, unsigned n)
{
	size_t len = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s0x%" PRIx64, i ? ", " : "", v[i]);
}

/*
 * Judges the guest's wait for the n vectors want: yes when it reported
 * exactly them, no when it reported others or, kicked, had taken fewer (its
 * block says which), crashed otherwise. what names the host's act.
 */
static void irq_judge_as(struct hvp_ctx *ctx, struct irq_guest *g, struct irq_wait *w, const uint64_t *want,
			 unsigned n, const char *what, const char *word)
{
	const struct hvp_guest_result *r = &w->t.r;
	uint64_t taken = g->block[HVP_IRQ_COUNT / 8], logged[HVP_IRQ_LOG_MAX] = { 0 };
	char got[96], wanted[96], how[128];

	hvp_decisive(ctx, r->st.evidence);
	vector_list(wanted, sizeof(wanted), want, n);
	if (w->kicked && !r->done && taken < n) {
		for (unsigned i = 0; i < taken && i < HVP_IRQ_LOG_MAX; i++)
			logged[i] = g->block[HVP_IRQ_LOG / 8 + i];
		vector_list(got, sizeof(got), logged, taken < HVP_IRQ_LOG_MAX ? (unsigned)taken : HVP_IRQ_LOG_MAX);
		hvp_guest_value(ctx, "interrupts the waiting guest took", taken);
		ctx->f->guest_verified = true;
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "after %s the guest waited %lld s and took %" PRIu64 " of the %u "
				   "interrupts (%s) it waited for%s%s", what, (long long)w->waited_s, taken, n, wanted,
				   taken ? ": " : "", got);
		return;
	}
	hvp_need_guest(ctx, r, n, "the guest's report of its interrupts");
	HVP_ASSERT(ctx, r->n == n, "the guest reported %u vectors, not %u: %s", r->n, n, hvp_guest_how(ctx, r, how, sizeof(how)));
	for (unsigned i = 0; i < n; i++)
		hvp_guest_value(ctx, "vector the guest's handler took", r->value[i]);
	ctx->f->guest_verified = true;
	vector_list(got, sizeof(got), r->value, n);
	if (!same_vectors(r->value, want, n)) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "after %s the guest took %s %s, not %s", what, word, got, wanted);
		return;
	}
	hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "after %s the guest's handler took %s %s%s%s", what, word, got,
			   w->halts || w->stalled ? "" : " (its wait stayed in the kernel)", irq_stall_note(w));
}

/* irq_judge_as with the architecture's word for what the handler logs (vector, INTID). */
static void irq_judge(struct hvp_ctx *ctx, struct irq_guest *g, struct irq_wait *w, const uint64_t *want, unsigned n,
		      const char *what)
{
	irq_judge_as(ctx, g, w, want, n, what, irq_arch_of(ctx)->word);
}

/* A call the question is about: a refusal of the API answers no (decisive), any other failure is not evidence. */
static bool refused(struct hvp_ctx *ctx, struct hvp_status st, const char *what)
{
	if (st.err == HVP_OK)
		return false;
	hvp_need_refusal(ctx, st, HVP_REFUSALS, what);
	hvp_decisive(ctx, st.evidence);
	hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "%s was refused: %s %s", what, st.call, hvp_native(ctx, st));
	return true;
}

/*
 * The controller of kind in a VM of its own: the guest sends itself an
 * interrupt (x86: an IPI through its local APIC; arm64: an SGI). Returns
 * the create's status; *got: what the guest's handler took (0: the guest's
 * wait ended without its report, kicked or otherwise).
 */
static struct hvp_status self_ipi(struct hvp_ctx *ctx, enum hvp_irq_chip kind, const char *label, uint64_t *got,
				  struct irq_wait *w)
{
	struct hvp_machine *m = hvp_machine_create(ctx, label);
	struct hvp_status st = ctx->be->irq_chip_create(m->vm, kind);
	struct irq_guest g;

	st.evidence = hvp_record(ctx, st, "%s: %s", label, kind == HVP_IRQCHIP_X86_SPLIT ? "split irqchip" : "irqchip");
	*got = 0;
	if (st.err != HVP_OK)
		return st;
	irq_page_controller(ctx, m);
	irq_guest_start(&g, m, true, HVP_IRQF_LAPIC | HVP_IRQF_EOI | HVP_IRQF_SELF_IPI, irq_arch_of(ctx)->self, 1);
	irq_wait_bounded(ctx, &g, w);
	if (hvp_guest_ok(&w->t.r) && w->t.r.n == 1)
		*got = w->t.r.value[0];
	return st;
}

/* x86: the split irqchip, asked as VM A's was; said beside the answer from its own evidence. */
static void split_irqchip(struct hvp_ctx *ctx, char *how, size_t size)
{
	struct hvp_status split;
	struct irq_wait ws;
	const char *name;
	uint64_t got = 0;

	if (ctx->be->irq_feature(ctx->hv, HVP_FEAT_SPLIT_IRQCHIP, &name) <= 0)
		return;
	split = self_ipi(ctx, HVP_IRQCHIP_X86_SPLIT, "VM B", &got, &ws);
	if (split.err != HVP_OK) {
		hvp_need_refusal(ctx, split, HVP_REFUSALS, "creating the split irqchip");
		snprintf(how, size, "; the split irqchip was refused (%s)", hvp_native(ctx, split));
		return;
	}
	hvp_need_guest(ctx, &ws.t.r, 1, "the guest's report of its self-IPI with the split irqchip");
	HVP_ASSERT(ctx, got != 0, "the guest with the split irqchip did not report one vector");
	hvp_guest_value(ctx, "vector taken with the split irqchip", got);
	snprintf(how, size, "; with the split irqchip (IOAPIC left to the VMM) it took 0x%" PRIx64 "%s", got,
		 irq_stall_note(&ws));
}

/* A controller of kind created in a VM of its own: what the API answered (a refusal, or no device here). */
static const char *chip_exists(struct hvp_ctx *ctx, enum hvp_irq_chip kind, const char *label, const char *what)
{
	struct hvp_machine *m = hvp_machine_create(ctx, label);
	struct hvp_status st = hvp_ok("");

	if (kind == HVP_IRQCHIP_GICV3_ITS)
		st = ctx->be->irq_chip_create(m->vm, HVP_IRQCHIP_GICV3);
	if (st.err == HVP_OK)
		st = ctx->be->irq_chip_create(m->vm, kind);
	hvp_record(ctx, st, "%s: %s", label, what);
	if (st.err != HVP_OK)
		hvp_need_refusal(ctx, st, HVP_REFUSALS | HVP_CLASS(HVP_ERR_NODEV), what);
	return st.err == HVP_OK ? "created" : hvp_native(ctx, st);
}

/* arm64: whether the host also offers a GICv2 and an ITS, each in a VM of its own. */
static void gic_others(struct hvp_ctx *ctx, char *how, size_t size)
{
	const char *v2 = chip_exists(ctx, HVP_IRQCHIP_GICV2, "VM B", "a GICv2");
	const char *its = chip_exists(ctx, HVP_IRQCHIP_GICV3_ITS, "VM C", "a GICv3 with an ITS");

	snprintf(how, size, "; a GICv2: %s; an ITS: %s", v2, its);
}

/* What the API's ID register says of a GIC (a fact where the backend reads it: HVF arm64), beside what works. */
static void gic_id_field(struct hvp_ctx *ctx, char *how, size_t size)
{
	struct hvp_facts facts = { 0 };
	const char *field;
	size_t len = strlen(how);

	ctx->be->facts(ctx->hv, &facts);
	field = hvp_facts_get(&facts, "ID_AA64PFR0_EL1.GIC");
	if (field && len < size)
		snprintf(how + len, size - len, "; the vCPU's ID_AA64PFR0_EL1.GIC says %s", field);
}

static void run_chip(struct hvp_ctx *ctx)
{
	const struct irq_arch *a = irq_arch_of(ctx);
	bool x86 = strcmp(ctx->be->arch, "x86_64") == 0;
	const char *raised = x86 ? "enabled its local APIC and sent itself vector" : "enabled its GICv3 CPU interface and "
		"sent itself SGI";
	struct hvp_status full;
	uint64_t got = 0;
	char others[256] = "", how[128];
	struct irq_wait w;

	irq_need_feature(ctx, HVP_FEAT_IRQCHIP, "in-kernel interrupt controller");
	full = self_ipi(ctx, a->chip, "VM A", &got, &w);
	if (refused(ctx, full, "creating the in-kernel interrupt controller"))
		return;
	if (x86)
		split_irqchip(ctx, others, sizeof(others));
	else if (strcmp(ctx->be->name, "kvm") == 0) /* one VM per process elsewhere (HVF): no others beside */
		gic_others(ctx, others, sizeof(others));
	gic_id_field(ctx, others, sizeof(others));
	hvp_decisive(ctx, w.t.r.st.evidence);
	if (got == 0 && w.kicked && w.t.r.n == 0 && w.block_count == 0) {
		ctx->f->guest_verified = true;
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the guest %s 0x%" PRIx64 ", then waited %lld s without taking it%s",
				   raised, a->self, (long long)w.waited_s, others);
		return;
	}
	hvp_need_guest(ctx, &w.t.r, 1, "the guest's report of its own interrupt");
	HVP_ASSERT(ctx, got != 0, "the guest did not report one %s: %s", a->word,
		   hvp_guest_how(ctx, &w.t.r, how, sizeof(how)));
	hvp_guest_value(ctx, "vector the guest's handler took", got);
	ctx->f->guest_verified = true;
	hvp_finding_answer(ctx->f, got == a->self ? HVP_ANSWER_YES : HVP_ANSWER_NO,
			   "the guest %s 0x%" PRIx64 " and its handler took %s 0x%" PRIx64 "%s%s", raised, a->self, a->word, got,
			   irq_stall_note(&w), others);
}

const struct hvp_probe probe_irq_chip = {
	.id = "irq.chip",
	.question = "Does the in-kernel interrupt controller deliver an interrupt the guest raised itself (x86: self-IPI; arm64: SGI)?",
	.timeout_s = 150,
	.run = run_chip,
};

/* A guest armed on IOAPIC pin IRQ_GSI with the in-kernel controller, an eventfd bound to it (resample: level). */
static void run_irqfd_kind(struct hvp_ctx *ctx, bool resample)
{
	uint64_t vector = resample ? irq_arch_of(ctx)->resample : irq_arch_of(ctx)->irqfd, count = 0;
	struct hvp_machine *m;
	struct irq_guest g;
	struct irq_wait w;
	struct hvp_status st;
	int fd, rfd = -1;

	irq_need_feature(ctx, HVP_FEAT_IRQCHIP, "in-kernel interrupt controller");
	irq_need_feature(ctx, HVP_FEAT_IRQFD, "irqfd");
	if (resample)
		irq_need_feature(ctx, HVP_FEAT_IRQFD_RESAMPLE, "resample irqfd");
	m = irq_machine(ctx, true);
	fd = irq_notifier(ctx);
	if (resample)
		rfd = irq_notifier(ctx);
	irq_guest_start(&g, m, true, HVP_IRQF_LAPIC | HVP_IRQF_EOI | HVP_IRQF_IOAPIC | HVP_IRQF_PAUSE, vector, 1);
	g.block[HVP_IRQ_RTE / 8] = resample ? RTE_LEVEL : 0; /* read once the guest runs */
	/* Once the controller is complete: arm64 KVM takes an irqfd only after the vGIC's init (EAGAIN before). */
	st = ctx->be->irqfd(m->vm, fd, IRQ_GSI, rfd, true);
	st.evidence = hvp_record(ctx, st, "eventfd -> GSI %u%s", IRQ_GSI, resample ? ", resample eventfd" : "");
	if (refused(ctx, st, "binding the eventfd to the GSI"))
		return;
	irq_guest_armed(ctx, &g);
	irq_signal(ctx, fd);
	irq_wait_bounded(ctx, &g, &w);
	irq_judge(ctx, &g, &w, &vector, 1, resample ? "an eventfd write on a level-triggered GSI" : "an eventfd write");
	if (!resample || ctx->f->answer != HVP_ANSWER_YES)
		return;
	HVP_ASSERT(ctx, hvp_notifier_take(rfd, &count) == 0, "reading the resample eventfd failed: %s", strerror(errno));
	hvp_guest_value(ctx, "resample eventfd count after the guest's EOI", count);
	if (count == 0)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the guest took %s 0x%" PRIx64 " and ended it at its interrupt "
				   "controller, but the resample eventfd was not signalled", irq_arch_of(ctx)->word, vector);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "the guest took %s 0x%" PRIx64 " from a level-triggered GSI and "
				   "ended it; the resample eventfd then counted %" PRIu64, irq_arch_of(ctx)->word, vector, count);
}

static void run_irqfd(struct hvp_ctx *ctx)
{
	run_irqfd_kind(ctx, false);
}

static void run_irqfd_resample(struct hvp_ctx *ctx)
{
	run_irqfd_kind(ctx, true);
}

const struct hvp_probe probe_irq_irqfd = {
	.id = "irq.irqfd",
	.question = "Does a write to an eventfd bound to a GSI (irqfd) deliver the routed vector (arm64: SPI) to the guest?",
	.timeout_s = 90,
	.run = run_irqfd,
};

const struct hvp_probe probe_irq_irqfd_resample = {
	.id = "irq.irqfd_resample",
	.question = "Does a resample irqfd on a level-triggered GSI deliver the vector and signal its resample eventfd at the guest's EOI?",
	.timeout_s = 90,
	.run = run_irqfd_resample,
};

/* arm64: an ITS beside the GICv3, which MSIs need; a host without one is no answer here (irq.chip says it). */
static void msi_its(struct hvp_ctx *ctx, struct hvp_machine *m)
{
	struct hvp_status st = ctx->be->irq_chip_create(m->vm, HVP_IRQCHIP_GICV3_ITS);
	char why[HVP_TEXT_MAX];

	hvp_record(ctx, st, "VM: an ITS");
	if (st.err == HVP_OK)
		return;
	snprintf(why, sizeof(why), "no ITS (%s %s): arm64 MSIs go through one", st.call, hvp_native(ctx, st));
	hvp_probe_end(ctx, HVP_ANSWER_SKIPPED, why);
}

static void run_msi(struct hvp_ctx *ctx)
{
	bool x86 = strcmp(ctx->be->arch, "x86_64") == 0;
	const uint64_t want[2] = { x86 ? VEC_SIGNAL_MSI : HVP_ARM64_LPI, x86 ? VEC_MSI_ROUTE : HVP_ARM64_LPI + 1 };
	struct hvp_machine *m;
	struct irq_guest g;
	struct irq_wait w;
	struct hvp_status st;
	int fd;

	irq_need_feature(ctx, HVP_FEAT_IRQCHIP, "in-kernel interrupt controller");
	irq_need_feature(ctx, HVP_FEAT_SIGNAL_MSI, "MSI signalling");
	irq_need_feature(ctx, HVP_FEAT_IRQ_ROUTING, "interrupt routing table");
	irq_need_feature(ctx, HVP_FEAT_IRQFD, "irqfd");
	m = irq_machine(ctx, true);
	if (!x86)
		msi_its(ctx, m);
	fd = irq_notifier(ctx);
	irq_guest_start(&g, m, true, HVP_IRQF_LAPIC | HVP_IRQF_EOI | HVP_IRQF_PAUSE | (x86 ? 0 : HVP_IRQF_ITS), 0, 2);
	st = irq_msi_route(ctx, &g, IRQ_GSI, (uint32_t)want[1], fd);
	if (refused(ctx, st, "routing a GSI to an MSI and binding an eventfd to it"))
		return;
	irq_guest_armed(ctx, &g);
	st = msi_send(ctx, m->vm, (uint32_t)want[0]);
	st.evidence = hvp_record(ctx, st, "MSI for %s 0x%" PRIx64, irq_arch_of(ctx)->word, want[0]);
	if (refused(ctx, st, "signalling an MSI"))
		return;
	irq_signal(ctx, fd);
	irq_wait_bounded(ctx, &g, &w);
	irq_judge(ctx, &g, &w, want, 2, "an MSI signalled directly and an eventfd write on an MSI route");
}

const struct hvp_probe probe_irq_msi = {
	.id = "irq.msi",
	.question = "Do an MSI signalled by the VMM and an MSI route driven by an irqfd deliver their vectors (arm64: LPIs through the ITS) to the guest?",
	.timeout_s = 90,
	.run = run_msi,
};

/*
 * A routing table of n entries, GSIs 0..n-1, the last one to what the guest
 * waits for: x86 MSIs, the last one VEC_ROUTE_LIMIT; arm64 GIC pins (SPI
 * pin + 32; api.rst KVM_SET_GSI_ROUTING: irqchip 0), the last one SPI 32 +
 * IRQ_GSI, the others SPI 32, which the guest leaves off. Not recorded: the
 * search's step.
 */
static struct hvp_status route_table(struct hvp_ctx *ctx, struct hvp_vm *vm, struct hvp_irq_route *t, unsigned n)
{
	bool x86 = strcmp(ctx->be->arch, "x86_64") == 0;

	for (unsigned i = 0; i < n; i++)
		if (x86)
			t[i] = (struct hvp_irq_route){ .gsi = i, .msi = true, .msi_addr = IRQ_MSI_ADDR,
						       .msi_data = i + 1 == n ? VEC_ROUTE_LIMIT : 0x30 };
		else
			t[i] = (struct hvp_irq_route){ .gsi = i, .chip = 0, .pin = i + 1 == n ? IRQ_GSI : 0 };
	return ctx->be->gsi_routing_set(vm, t, n);
}

/* Grows the table until refused (or ROUTES_CAP), then bisects: the largest size accepted, 0 if none. */
static unsigned route_search(struct hvp_ctx *ctx, struct hvp_vm *vm, struct hvp_irq_route *t, struct hvp_status *refusal)
{
	unsigned good = 0, bad = 0, n = 1;
	struct hvp_status st;

	while (!bad && n <= ROUTES_CAP) {
		st = route_table(ctx, vm, t, n);
		if (st.err == HVP_OK)
			good = n;
		else {
			hvp_need_refusal(ctx, st, HVP_CLASS(HVP_ERR_INVALID) | HVP_CLASS(HVP_ERR_NOMEM), "a routing table");
			bad = n;
			*refusal = st;
		}
		n *= 2;
	}
	while (bad && bad - good > 1) {
		unsigned mid = good + (bad - good) / 2;
		st = route_table(ctx, vm, t, mid);
		if (st.err == HVP_OK)
			good = mid;
		else {
			hvp_need_refusal(ctx, st, HVP_CLASS(HVP_ERR_INVALID) | HVP_CLASS(HVP_ERR_NOMEM), "a routing table");
			bad = mid;
			*refusal = st;
		}
	}
	return bad ? good : 0;
}

static void run_route_limit(struct hvp_ctx *ctx)
{
	int64_t stated = irq_need_feature(ctx, HVP_FEAT_IRQ_ROUTING, "interrupt routing table");
	struct hvp_irq_route *t = calloc(ROUTES_CAP + 1, sizeof(*t));
	struct hvp_status refusal = hvp_ok(""), st;
	struct hvp_machine *m;
	struct irq_guest g;
	struct irq_wait w;
	bool x86 = strcmp(ctx->be->arch, "x86_64") == 0;
	uint64_t want = x86 ? VEC_ROUTE_LIMIT : 32 + IRQ_GSI;
	unsigned largest;
	int fd;

	HVP_ASSERT(ctx, t != NULL, "no memory for a routing table of %d entries", ROUTES_CAP);
	irq_need_feature(ctx, HVP_FEAT_IRQFD, "irqfd");
	m = irq_machine(ctx, true);
	/* The controller complete first: arm64's vGIC init installs its default table over any set before. */
	if (x86)
		irq_guest_start(&g, m, true, HVP_IRQF_LAPIC | HVP_IRQF_EOI | HVP_IRQF_PAUSE, 0, 1);
	else
		irq_guest_start(&g, m, true, HVP_IRQF_LAPIC | HVP_IRQF_EOI | HVP_IRQF_IOAPIC | HVP_IRQF_PAUSE,
				32 + IRQ_GSI, 1);
	largest = route_search(ctx, m->vm, t, &refusal);
	if (largest == 0) {
		free(t);
		hvp_probe_end(ctx, HVP_ANSWER_SKIPPED, "every routing table up to 65536 entries was accepted: the "
			      "limit is past hvprobe's bound");
	}
	refusal.evidence = hvp_record(ctx, refusal, "a routing table of %u entries", largest + 1);
	st = route_table(ctx, m->vm, t, largest);
	st.evidence = hvp_record(ctx, st, "a routing table of %u entries", largest);
	free(t);
	hvp_need_ok(ctx, st, "the largest routing table again");
	fd = irq_notifier(ctx);
	st = ctx->be->irqfd(m->vm, fd, largest - 1, -1, true);
	st.evidence = hvp_record(ctx, st, "eventfd -> GSI %u, the table's last", largest - 1);
	hvp_need_ok(ctx, st, "binding an eventfd to the table's last GSI");
	irq_guest_armed(ctx, &g);
	irq_signal(ctx, fd);
	irq_wait_bounded(ctx, &g, &w);
	irq_judge(ctx, &g, &w, &want, 1, "an eventfd write on the last GSI of the largest table");
	if (ctx->f->answer != HVP_ANSWER_YES) /* the guest did not prove the table works: that is no answer */
		hvp_probe_end(ctx, HVP_ANSWER_CRASHED, "the largest routing table accepted did not deliver its last route");
	hvp_decisive(ctx, refusal.evidence);
	hvp_finding_answer(ctx->f, (int64_t)largest == stated ? HVP_ANSWER_YES : HVP_ANSWER_NO,
			   "the largest routing table accepted has %u entries (%u refused: %s), the API states %" PRId64
			   "; the guest took the %s routed at GSI %u", largest, largest + 1, hvp_native(ctx, refusal),
			   stated, irq_arch_of(ctx)->word, largest - 1);
}

const struct hvp_probe probe_irq_route_limit = {
	.id = "irq.route_limit",
	.question = "Is the largest interrupt routing table accepted the size the API states (KVM_CAP_IRQ_ROUTING)?",
	.timeout_s = 150,
	.run = run_route_limit,
};

/*
 * arm64, no in-kernel GIC: a WFI stays in the kernel (no exit to wait on),
 * so the guest pauses once armed, the VMM raises the vCPU's IRQ line, and
 * the guest's handler logs ISR_EL1 (HVP_ARM64_ISR_IRQ: the line pending).
 * The line stays up where the API keeps it so (irq_lower): lowered after
 * the guest's report, the report is the answer.
 */
static void inject_line(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = irq_machine(ctx, false);
	uint64_t want = HVP_ARM64_ISR_IRQ;
	struct irq_guest g;
	struct irq_wait w;
	struct hvp_status st;

	irq_guest_start(&g, m, false, HVP_IRQF_PAUSE, 0, 1);
	irq_guest_armed(ctx, &g);
	st = ctx->be->irq_inject(g.vcpu, 0);
	st.evidence = hvp_record(ctx, st, "the vCPU's IRQ line raised");
	if (refused(ctx, st, "raising the vCPU's IRQ line from the VMM"))
		return;
	irq_wait_bounded(ctx, &g, &w);
	if (ctx->be->irq_lower) {
		st = ctx->be->irq_lower(g.vcpu);
		hvp_record(ctx, st, "the vCPU's IRQ line lowered after the guest's report");
	}
	irq_judge_as(ctx, &g, &w, &want, 1, "the VMM raised the vCPU's IRQ line", "its IRQ with ISR_EL1 =");
}

/*
 * No in-kernel controller: the guest's HLT with interrupts on exits to the
 * VMM, which injects the vector and runs it again.
 */
static void run_inject_userspace(struct hvp_ctx *ctx)
{
	struct hvp_machine *m;
	struct irq_guest g;
	struct hvp_guest_result r;
	struct hvp_status st;
	uint64_t want = VEC_INJECT;
	char how[128];

	irq_need_feature(ctx, HVP_FEAT_USER_INJECT, "injection of interrupts by the VMM");
	if (strcmp(ctx->be->arch, "x86_64") != 0) {
		inject_line(ctx);
		return;
	}
	m = irq_machine(ctx, false);
	irq_guest_start(&g, m, false, 0, 0, 1);
	hvp_guest_run(m, g.vcpu, &r);
	hvp_need_ok(ctx, r.st, "running the guest to its wait");
	if (r.n != 0 || r.last.kind != HVP_EXIT_HLT)
		hvp_probe_abort(ctx, __FILE__, __LINE__, "the guest did not wait for an interrupt with HLT: %s",
				hvp_guest_how(ctx, &r, how, sizeof(how)));
	st = ctx->be->irq_inject(g.vcpu, VEC_INJECT);
	st.evidence = hvp_record(ctx, st, "vector 0x%x", VEC_INJECT);
	if (refused(ctx, st, "injecting a vector from the VMM"))
		return;
	hvp_guest_resume(m, g.vcpu, &r, 0);
	hvp_decisive(ctx, r.st.evidence);
	if (r.st.err == HVP_OK && !r.done && r.n == 0 && r.last.kind == HVP_EXIT_HLT && g.block[HVP_IRQ_COUNT / 8] == 0) {
		ctx->f->guest_verified = true; /* its block says it took nothing */
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "after the VMM injected vector 0x%x the guest halted again "
				   "without taking it", VEC_INJECT);
		return;
	}
	hvp_need_guest(ctx, &r, 1, "the guest's report of the injected vector");
	hvp_guest_value(ctx, "vector the guest's handler took", r.value[0]);
	ctx->f->guest_verified = true;
	hvp_finding_answer(ctx->f, r.n == 1 && r.value[0] == want ? HVP_ANSWER_YES : HVP_ANSWER_NO,
			   "the guest waited with HLT (an exit to the VMM), the VMM injected vector 0x%x, and the guest's "
			   "handler took 0x%" PRIx64, VEC_INJECT, r.value[0]);
}

const struct hvp_probe probe_irq_inject_userspace = {
	.id = "irq.inject_userspace",
	.question = "Without an in-kernel controller, does a vector the VMM injects (arm64: the vCPU's IRQ line it raises) reach the guest's handler?",
	.timeout_s = 90,
	.run = run_inject_userspace,
};

/*
 * The local APIC timer, one-shot: armed and taken inside the kernel, the
 * run's only exits are the guest's report and its final report.
 */
static void run_guest_timer(struct hvp_ctx *ctx)
{
	const struct irq_arch *a = irq_arch_of(ctx);
	const char *timer = strcmp(ctx->be->arch, "x86_64") == 0 ? "local APIC timer" : "virtual timer";
	struct hvp_machine *m;
	struct irq_guest g;
	struct irq_wait w;
	const struct hvp_guest_result *r = &w.t.r;

	irq_need_feature(ctx, HVP_FEAT_IRQCHIP, "in-kernel interrupt controller");
	m = irq_machine(ctx, true);
	irq_guest_start(&g, m, true, HVP_IRQF_LAPIC | HVP_IRQF_EOI | HVP_IRQF_TIMER, a->timer, 1);
	irq_wait_bounded(ctx, &g, &w);
	hvp_decisive(ctx, r->st.evidence);
	hvp_need_guest(ctx, r, 1, "the guest's report of its timer interrupt");
	HVP_ASSERT(ctx, r->n == 1 && r->value[0] == a->timer, "the guest took %s 0x%" PRIx64 ", not its timer's 0x%" PRIx64,
		   a->word, r->value[0], a->timer);
	hvp_guest_value(ctx, "vector the guest's handler took", r->value[0]);
	hvp_guest_value(ctx, "exits to userspace while it waited", w.halts);
	ctx->f->guest_verified = true;
	if (w.halts)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the guest took its %s's %s 0x%" PRIx64 ", but its wait exited to "
				   "userspace %u times (HLT)", timer, a->word, a->timer, w.halts);
	else if (w.stalled)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the guest took its %s's %s 0x%" PRIx64 " only once kicked out "
				   "to userspace and entered again: its halted vCPU had not woken in %lld s", timer, a->word,
				   a->timer, WAIT_NS / 1000000000);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "the guest armed its %s and took %s 0x%" PRIx64 " with no exit to "
				   "userspace: the run's %u exits were its report and final report", timer, a->word, a->timer,
				   r->exits);
}

const struct hvp_probe probe_irq_guest_timer = {
	.id = "irq.guest_timer",
	.question = "Does the guest's own timer (x86: local APIC timer; arm64: virtual timer) interrupt it with no exit to userspace?",
	.timeout_s = 90,
	.run = run_guest_timer,
};
