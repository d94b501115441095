/* SPDX-License-Identifier: MIT */
/*
 * What a VM exit costs. Exits to userspace (port I/O, MMIO, HLT) are timed
 * by the host over batches of run calls against a guest that exits on
 * every iteration; exits the kernel handles itself (CPUID, the hypercall,
 * an emulated MSR) never reach userspace, so the guest times them with
 * its TSC. bench.exit.raw_baseline runs the pio_out guest with nothing but
 * the API's own run call in the loop: the yardstick for hvprobe's cost.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../bench.h"
#include "../stats.h"
#include "../machine.h"

#define BENCH_PORT 0x0b00
#define MMIO_GPA UINT64_C(0xd0000000) /* paged for the guest, never mapped */
#define HYPERCALL_NR 0xffff           /* no such hypercall: the kernel answers ENOSYS at once */
#define MSR_APIC_BASE 0x1b            /* emulated by KVM on every vendor */

struct exit_loop {
	struct hvp_ctx *ctx;
	struct hvp_vcpu *vcpu;
	enum hvp_exit_kind want;
	int raw;
	/*
	 * Raw baseline: hvprobe's loop, timed beside each raw batch, kept in a
	 * ring by batch number. The samples are the last batches hvp_bench_run
	 * takes (after warm-up and scaling), so the last bench.n entries of the
	 * ring are exactly the ones taken with them, however many there are.
	 */
	double ring_ns[HVP_SAMPLES_MAX];
	uint64_t batches;
};

static int64_t harness_batch(struct exit_loop *l, uint64_t ops);

/*
 * One batch: ops run calls. The raw baseline times hvprobe's loop right
 * before each raw batch, so that both see the same machine state and the
 * ratio of the two is not drift between runs.
 */
static int64_t exit_batch(void *arg, uint64_t ops)
{
	struct exit_loop *l = arg;
	int64_t t, raw = 0;
	int raw_first = l->batches % 2; /* alternate the order: neither loop always runs warmer */

	if (!l->raw)
		return harness_batch(l, ops);
	if (raw_first)
		raw = l->ctx->be->raw_run_loop(l->vcpu, ops);
	t = harness_batch(l, ops);
	if (t < 0 || raw < 0)
		return -1;
	l->ring_ns[l->batches++ % HVP_SAMPLES_MAX] = (double)t / (double)ops;
	return raw_first ? raw : l->ctx->be->raw_run_loop(l->vcpu, ops);
}

/* ops run calls through the backend, each of which must end in the expected exit. */
static int64_t harness_batch(struct exit_loop *l, uint64_t ops)
{
	const struct hvp_backend *be = l->ctx->be;
	struct hvp_exit x = { 0 };
	int64_t t0;

	t0 = hvp_now_ns();
	for (uint64_t i = 0; i < ops; i++) {
		struct hvp_status st = be->vcpu_run(l->vcpu, &x);
		if (st.err != HVP_OK || x.kind != l->want) {
			hvp_record(l->ctx, st, "expected a %s exit, got %s at 0x%" PRIx64, hvp_exit_kind_name(l->want),
				   hvp_exit_kind_name(x.kind), x.addr);
			return -1;
		}
	}
	return hvp_now_ns() - t0;
}

/* hvprobe's loop over the last n batches: those taken with the raw loop's samples (warm-up excluded). */
static void harness_with_samples(const struct exit_loop *l, unsigned n, struct hvp_bench *out)
{
	uint64_t first = l->batches - n;

	for (unsigned i = 0; i < n; i++)
		out->sample[i] = l->ring_ns[(first + i) % HVP_SAMPLES_MAX];
	out->n = n;
	hvp_bench_summarize(out);
}

static void bench_exit_loop(struct hvp_ctx *ctx, const struct hvp_program *prog, uint64_t target,
			    enum hvp_exit_kind want, unsigned ring, int raw)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	uint64_t arg[4] = { target, 0, 0, 0 };
	struct exit_loop l = { ctx, NULL, want, raw, { 0 }, 0 };
	struct hvp_status st;

	hvp_bench_pin(ctx);
	if (want == HVP_EXIT_MMIO)
		hvp_page(m, target, 0x1000);
	if (raw && !ctx->be->raw_run_loop) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "the %s backend has no raw run loop", ctx->be->name);
		return;
	}
	st = hvp_vcpu_start_ring_try(m, 0, prog, arg, ring, &l.vcpu);
	HVP_ASSERT(ctx, st.err == HVP_OK, "starting the vCPU failed: %s %s", st.call, ctx->be->native_name(st.native));
	if (hvp_bench_run(ctx, exit_batch, &l, "exit round trip", ring ? "guest ring 3" : "guest ring 0", 0)) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the guest did not exit as the benchmark expects");
		return;
	}
	ctx->f->guest_verified = true; /* every timed iteration was a guest exit of the expected kind */
	if (raw) {
		struct hvp_bench harness = { 0 };
		harness_with_samples(&l, ctx->f->bench.n, &harness);
		ctx->f->bench.harness_ratio = ctx->f->bench.median > 0 ? harness.median / ctx->f->bench.median : 0;
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "median %.0f ns per exit with a bare KVM_RUN loop, %.0f ns with hvprobe's loop in "
				   "interleaved batches: ratio %.3f", ctx->f->bench.median, harness.median,
				   ctx->f->bench.harness_ratio);
		return;
	}
	hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "median %.0f ns per %s exit round trip (guest exit, userspace, back)",
			   ctx->f->bench.median, hvp_exit_kind_name(want));
}

static void run_pio_out(struct hvp_ctx *ctx)
{
	bench_exit_loop(ctx, &hvp_prog_loop_pio_out, BENCH_PORT, HVP_EXIT_IO, 0, 0);
}

static void run_pio_out_ring3(struct hvp_ctx *ctx)
{
	bench_exit_loop(ctx, &hvp_prog_loop_pio_out, BENCH_PORT, HVP_EXIT_IO, 3, 0);
}

/* The cheapest exit to userspace each architecture has: port I/O on x86, MMIO elsewhere. */
static void run_raw_baseline(struct hvp_ctx *ctx)
{
#if defined(__x86_64__)
	bench_exit_loop(ctx, &hvp_prog_loop_pio_out, BENCH_PORT, HVP_EXIT_IO, 0, 1);
#else
	bench_exit_loop(ctx, &hvp_prog_loop_mmio_write, MMIO_GPA, HVP_EXIT_MMIO, 0, 1);
#endif
}

static void run_pio_in(struct hvp_ctx *ctx)
{
	bench_exit_loop(ctx, &hvp_prog_loop_pio_in, BENCH_PORT, HVP_EXIT_IO, 0, 0);
}

static void run_mmio_write(struct hvp_ctx *ctx)
{
	bench_exit_loop(ctx, &hvp_prog_loop_mmio_write, MMIO_GPA, HVP_EXIT_MMIO, 0, 0);
}

static void run_mmio_write_ring3(struct hvp_ctx *ctx)
{
	bench_exit_loop(ctx, &hvp_prog_loop_mmio_write, MMIO_GPA, HVP_EXIT_MMIO, 3, 0);
}

static void run_mmio_read(struct hvp_ctx *ctx)
{
	bench_exit_loop(ctx, &hvp_prog_loop_mmio_read, MMIO_GPA, HVP_EXIT_MMIO, 0, 0);
}

static void run_mmio_read_ring3(struct hvp_ctx *ctx)
{
	bench_exit_loop(ctx, &hvp_prog_loop_mmio_read, MMIO_GPA, HVP_EXIT_MMIO, 3, 0);
}

static void run_pio_in_ring3(struct hvp_ctx *ctx)
{
	bench_exit_loop(ctx, &hvp_prog_loop_pio_in, BENCH_PORT, HVP_EXIT_IO, 3, 0);
}

static void run_hlt(struct hvp_ctx *ctx)
{
	bench_exit_loop(ctx, &hvp_prog_loop_hlt, 0, HVP_EXIT_HLT, 0, 0);
}

#define EXIT_BENCH(name_, id_, what_, fn_)                                                        \
	const struct hvp_probe name_ = { .id = id_, .question = what_, .kind = HVP_PROBE_BENCH,   \
					 .timeout_s = 60, .run = fn_ }
/* Port I/O, CPUID, RDMSR, HLT that exits, a hypercall from user mode: x86 only. */
#define X86_EXIT_BENCH(name_, id_, what_, fn_)                                                    \
	const struct hvp_probe name_ = { .id = id_, .question = what_, .kind = HVP_PROBE_BENCH,   \
					 .timeout_s = 60, .arch = "x86_64", .run = fn_ }

X86_EXIT_BENCH(probe_bench_exit_pio_out, "bench.exit.pio_out", "Port I/O write exit to userspace and back, guest ring 0",
	   run_pio_out);
X86_EXIT_BENCH(probe_bench_exit_pio_out_ring3, "bench.exit.pio_out.ring3",
	   "Port I/O write exit to userspace and back, guest ring 3", run_pio_out_ring3);
EXIT_BENCH(probe_bench_exit_raw_baseline, "bench.exit.raw_baseline",
	   "bench.exit.pio_out (x86; arm64: mmio_write) with nothing but the API's run call in the loop",
	   run_raw_baseline);
X86_EXIT_BENCH(probe_bench_exit_pio_in, "bench.exit.pio_in", "Port I/O read exit to userspace and back, guest ring 0",
	   run_pio_in);
EXIT_BENCH(probe_bench_exit_mmio_write, "bench.exit.mmio_write", "MMIO write exit to userspace and back, guest ring 0",
	   run_mmio_write);
EXIT_BENCH(probe_bench_exit_mmio_write_ring3, "bench.exit.mmio_write.ring3",
	   "MMIO write exit to userspace and back, guest ring 3", run_mmio_write_ring3);
EXIT_BENCH(probe_bench_exit_mmio_read, "bench.exit.mmio_read", "MMIO read exit to userspace and back, guest ring 0",
	   run_mmio_read);
X86_EXIT_BENCH(probe_bench_exit_pio_in_ring3, "bench.exit.pio_in.ring3",
	   "Port I/O read exit to userspace and back, guest ring 3", run_pio_in_ring3);
EXIT_BENCH(probe_bench_exit_mmio_read_ring3, "bench.exit.mmio_read.ring3",
	   "MMIO read exit to userspace and back, guest ring 3", run_mmio_read_ring3);
/* HLT and RDMSR fault in ring 3: they are ring-0 instructions, measured there only. */
X86_EXIT_BENCH(probe_bench_exit_hlt, "bench.exit.hlt", "HLT exit to userspace and back, guest ring 0", run_hlt);

/* Exits the kernel handles, timed by the guest's own TSC. */
struct timed_loop {
	struct hvp_machine *m;
	struct hvp_vcpu *vcpu;
	const struct hvp_program *prog;
	uint64_t operand;
	unsigned ring;
	double ns_per_cycle;
};

static int64_t timed_batch(void *arg, uint64_t ops)
{
	struct timed_loop *l = arg;
	uint64_t prog_arg[4] = { ops, l->operand, 0, 0 };
	struct hvp_guest_result r;
	struct hvp_status st = hvp_vcpu_rerun_try(l->m, l->vcpu, 0, l->prog, prog_arg, l->ring);

	if (st.err != HVP_OK) {
		hvp_record(l->m->ctx, st, "pointing the vCPU at %s again", l->prog->name);
		return -1;
	}
	hvp_guest_run(l->m, l->vcpu, &r);
	if (!hvp_guest_ok(&r) || r.n != 1)
		return -1;
	return (int64_t)((double)r.value[0] * l->ns_per_cycle);
}

static void bench_timed(struct hvp_ctx *ctx, const struct hvp_program *prog, uint64_t operand, unsigned ring,
			const char *what)
{
	struct timed_loop l = { hvp_machine_create(ctx, "VM"), NULL, prog, operand, ring, 0 };
	uint64_t arg[4] = { 1, operand, 0, 0 };
	struct hvp_status st;
	uint64_t khz;

	hvp_bench_pin(ctx);
	st = hvp_vcpu_start_ring_try(l.m, 0, prog, arg, ring, &l.vcpu);
	HVP_ASSERT(ctx, st.err == HVP_OK, "starting the vCPU failed: %s %s", st.call, ctx->be->native_name(st.native));
	khz = ctx->be->tsc_khz ? ctx->be->tsc_khz(l.vcpu) : 0;
	if (khz == 0) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "the API does not tell the guest's TSC frequency");
		return;
	}
	l.ns_per_cycle = 1e6 / (double)khz;
	if (hvp_bench_run(ctx, timed_batch, &l, what, ring ? "guest ring 3" : "guest ring 0", (double)khz)) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the timing guest did not finish its loop (a fault?)");
		return;
	}
	ctx->f->guest_verified = true; /* the guest measured and reported every batch */
	hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "median %.0f ns (%.0f TSC cycles) per %s, timed by the guest",
			   ctx->f->bench.median, ctx->f->bench.median * (double)khz / 1e6, what);
}

static void run_cpuid(struct hvp_ctx *ctx)
{
	bench_timed(ctx, &hvp_prog_timed_cpuid, 0, 0, "CPUID exit");
}

static void run_cpuid_ring3(struct hvp_ctx *ctx)
{
	bench_timed(ctx, &hvp_prog_timed_cpuid, 0, 3, "CPUID exit");
}

/* VMCALL on Intel, VMMCALL on AMD: the instruction KVM expects for the host's vendor. */
static void run_hypercall(struct hvp_ctx *ctx)
{
	bench_timed(ctx, hvp_guest_arch_timed_hypercall(), HYPERCALL_NR, 0,
		    "hypercall exit");
}

static void run_hypercall_ring3(struct hvp_ctx *ctx)
{
	bench_timed(ctx, hvp_guest_arch_timed_hypercall(), HYPERCALL_NR, 3,
		    "hypercall exit");
}

static void run_rdmsr(struct hvp_ctx *ctx)
{
	bench_timed(ctx, &hvp_prog_timed_rdmsr, MSR_APIC_BASE, 0, "RDMSR exit");
}

X86_EXIT_BENCH(probe_bench_exit_cpuid, "bench.exit.cpuid", "CPUID exit handled in the kernel, guest ring 0", run_cpuid);
X86_EXIT_BENCH(probe_bench_exit_cpuid_ring3, "bench.exit.cpuid.ring3", "CPUID exit handled in the kernel, guest ring 3",
	   run_cpuid_ring3);
EXIT_BENCH(probe_bench_exit_hypercall, "bench.exit.hypercall",
	   "Hypercall (VMCALL/VMMCALL) handled in the kernel, guest ring 0", run_hypercall);
X86_EXIT_BENCH(probe_bench_exit_hypercall_ring3, "bench.exit.hypercall.ring3",
	   "Hypercall (VMCALL/VMMCALL) handled in the kernel, guest ring 3", run_hypercall_ring3);
X86_EXIT_BENCH(probe_bench_exit_rdmsr, "bench.exit.rdmsr", "RDMSR of an MSR the kernel emulates (APIC base), guest ring 0",
	   run_rdmsr);
