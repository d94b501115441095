/* SPDX-License-Identifier: MIT */
/*
 * What the hypervisor does with the instructions a guest uses to talk to
 * it: a hypercall, and HLT with interrupts off. Each may be handled in the
 * kernel, exit to the VMM, fault, or never return; a guest on another
 * thread with a bounded wait tells which, and a kick ends it in any case.
 */
#include <cpuid.h>
#include <inttypes.h>
#include <pthread.h>
#include <time.h>

#include "../bench.h"
#include "../machine.h"

#define HYPERCALL_NR 0xffff     /* no such hypercall: KVM answers -KVM_ENOSYS in RAX */
#define KVM_ENOSYS_IN_RAX UINT64_C(0xfffffffffffffc18) /* -1000: include/uapi/linux/kvm_para.h */
#define WAIT_NS 2000000000ll

struct bounded_run {
	struct hvp_machine *m;
	struct hvp_vcpu *vcpu;
	struct hvp_guest_result r;
	int done;
};

static void *bounded_main(void *arg)
{
	struct bounded_run *b = arg;

	hvp_guest_run(b->m, b->vcpu, &b->r);
	__atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Runs the vCPU on its own thread; kicks it after the wait. Returns 1 if it came back by itself. */
static int run_bounded(struct hvp_ctx *ctx, struct bounded_run *b)
{
	const struct timespec ms = { 0, 1000000 };
	int64_t deadline = hvp_now_ns() + WAIT_NS;
	pthread_t tid;
	int by_itself = 1;

	HVP_ASSERT(ctx, pthread_create(&tid, NULL, bounded_main, b) == 0, "pthread_create failed");
	while (!__atomic_load_n(&b->done, __ATOMIC_ACQUIRE)) {
		if (hvp_now_ns() > deadline) {
			by_itself = 0;
			ctx->be->vcpu_kick(b->vcpu);
			deadline = hvp_now_ns() + WAIT_NS;
		}
		nanosleep(&ms, NULL);
	}
	pthread_join(tid, NULL);
	return by_itself;
}

static int host_is_intel(void)
{
	unsigned a, b, c, d;

	__cpuid(0, a, b, c, d);
	return b == 0x756e6547 && d == 0x49656e69 && c == 0x6c65746e; /* "GenuineIntel" */
}

static void run_hypercall(struct hvp_ctx *ctx)
{
	const struct hvp_program *prog = host_is_intel() ? &hvp_prog_hypercall_vmcall : &hvp_prog_hypercall_vmmcall;
	struct bounded_run b = { .m = hvp_machine_create(ctx, "VM") };
	uint64_t arg[4] = { HYPERCALL_NR, 0, 0, 0 };
	int by_itself;

	b.vcpu = hvp_vcpu_start(b.m, 0, prog, arg);
	by_itself = run_bounded(ctx, &b);
	hvp_decisive(ctx, b.r.st.evidence);
	if (b.r.n)
		hvp_guest_value(ctx, "RAX after the hypercall", b.r.value[0]);
	ctx->f->guest_verified = hvp_guest_ok(&b.r) && b.r.n == 1;
	if (ctx->f->guest_verified)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "%s with unknown number 0x%x was handled in the kernel: the guest went on with RAX = 0x%" PRIx64
				   "%s", host_is_intel() ? "VMCALL" : "VMMCALL", HYPERCALL_NR, b.r.value[0],
				   b.r.value[0] == KVM_ENOSYS_IN_RAX ? " (-KVM_ENOSYS)" : "");
	else if (!by_itself)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the hypercall never returned to the guest or the VMM within 2 s");
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the hypercall was not handled in the kernel: it ended in a %s exit",
				   hvp_exit_kind_name(b.r.last.kind));
}

const struct hvp_probe probe_cpu_hypercall = {
	.id = "cpu.hypercall",
	.question = "Is the vendor's hypercall instruction (VMCALL/VMMCALL) handled in the kernel, the guest going on?",
	.timeout_s = 15,
	.run = run_hypercall,
};

static void run_hlt(struct hvp_ctx *ctx)
{
	struct bounded_run b = { .m = hvp_machine_create(ctx, "VM") };
	int by_itself;

	b.vcpu = hvp_vcpu_start(b.m, 0, &hvp_prog_loop_hlt, NULL);
	by_itself = run_bounded(ctx, &b);
	hvp_decisive(ctx, b.r.st.evidence);
	ctx->f->guest_verified = false; /* the guest only halts: the exit is the answer */
	if (by_itself && b.r.last.kind == HVP_EXIT_HLT)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "HLT with interrupts off made run return with a hlt exit");
	else if (!by_itself)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "run blocked on HLT with interrupts off until kicked after 2 s");
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "HLT made run return with a %s exit",
				   hvp_exit_kind_name(b.r.last.kind));
}

const struct hvp_probe probe_cpu_hlt = {
	.id = "cpu.hlt",
	.question = "Does HLT with interrupts off make run return (a hlt exit) rather than block?",
	.timeout_s = 15,
	.run = run_hlt,
};
