/* SPDX-License-Identifier: MIT */
/*
 * What the hypervisor does with the instructions a guest uses to talk to
 * it: a hypercall, and HLT with interrupts off. Each may be handled in the
 * kernel, exit to the VMM, fault, or never return; a guest on another
 * thread with a bounded wait tells which, and a kick ends it in any case.
 */
#include <inttypes.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "../bench.h"
#include "../machine.h"
#include "../truth.h"
#include "guest_proof.h"

#define HYPERCALL_NR 0xffff     /* no such hypercall: KVM answers -KVM_ENOSYS (x86) or NOT_SUPPORTED (arm64) */
#define KVM_ENOSYS_IN_RAX UINT64_C(0xfffffffffffffc18) /* -1000: include/uapi/linux/kvm_para.h */
#define SMCCC_NOT_SUPPORTED UINT64_MAX                 /* -1 in x0: the Arm SMC Calling Convention */
#define WAIT_NS 2000000000ll

/* Runs the vCPU on its own thread; kicks it after the wait. Returns 1 if it came back by itself. */
static int run_bounded(struct hvp_ctx *ctx, struct hvp_guest_thread *b)
{
	int by_itself;

	hvp_guest_thread_start(b);
	by_itself = hvp_guest_thread_wait(b, WAIT_NS);
	if (!by_itself)
		do
			ctx->be->vcpu_kick(b->vcpu);
		while (!hvp_guest_thread_wait(b, WAIT_NS));
	pthread_join(b->tid, NULL);
	return by_itself;
}

/* What the kernel answers an unknown hypercall with: -KVM_ENOSYS in RAX (x86), NOT_SUPPORTED in x0 (SMCCC). */
static const char *unknown_call_answer(uint64_t value)
{
	return value == KVM_ENOSYS_IN_RAX ? "-KVM_ENOSYS" : value == SMCCC_NOT_SUPPORTED ? "SMCCC_RET_NOT_SUPPORTED" : NULL;
}

/*
 * How the hypercall itself ended the run, when the kernel did not answer
 * it: an exit to the VMM, or a fault the guest took on it (x86: a triple
 * fault without an IDT; arm64: the vectors' report). NULL for any other
 * end, which says nothing of the hypercall.
 */
static const char *hypercall_not_handled(const struct hvp_guest_result *r)
{
	if (r->st.err != HVP_OK || r->n)
		return NULL;
	if (r->last.kind == HVP_EXIT_HYPERCALL)
		return "it exited to the VMM (a hypercall exit)";
	if (r->last.kind == HVP_EXIT_SHUTDOWN)
		return "the guest faulted on it (a shutdown exit)";
	if (r->failed && (r->done_status & 0xf000) == HVP_FAIL_EXCEPTION)
		return "the guest took an exception on it";
	return NULL;
}

static void run_hypercall(struct hvp_ctx *ctx)
{
	const char *insn, *answer, *not_handled;
	const struct hvp_program *prog = hvp_guest_arch_hypercall(&insn);
	struct hvp_guest_thread b = { .m = hvp_machine_create(ctx, "VM") };
	uint64_t arg[4] = { HYPERCALL_NR, 0, 0, 0 };
	int by_itself;

	b.vcpu = hvp_vcpu_start(b.m, 0, prog, arg);
	by_itself = run_bounded(ctx, &b);
	hvp_decisive(ctx, b.r.st.evidence);
	if (!by_itself) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the hypercall never returned to the guest or the VMM within 2 s");
		return;
	}
	not_handled = hypercall_not_handled(&b.r);
	if (not_handled) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "%s with unknown number 0x%x was not handled in the kernel: %s",
				   insn, HYPERCALL_NR, not_handled);
		return;
	}
	hvp_need_guest(ctx, &b.r, 1, "the guest after its hypercall");
	HVP_ASSERT(ctx, b.r.n == 1, "the guest made %u reports after its hypercall, not one", b.r.n);
	hvp_guest_value(ctx, "result register after the hypercall", b.r.value[0]);
	answer = unknown_call_answer(b.r.value[0]);
	/* Only the kernel's answer to an unknown call proves the kernel answered: another value tells nothing. */
	HVP_ASSERT(ctx, answer, "the guest went on after its hypercall with 0x%" PRIx64 " in its result register, which "
		   "is not what the kernel answers an unknown call with", b.r.value[0]);
	ctx->f->guest_verified = true;
	hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
			   "%s with unknown number 0x%x was handled in the kernel: the guest went on with %s = 0x%" PRIx64
			   " (%s)", insn, HYPERCALL_NR, strcmp(ctx->be->arch, "x86_64") == 0 ? "RAX" : "x0", b.r.value[0],
			   answer);
}

const struct hvp_probe probe_cpu_hypercall = {
	.id = "cpu.hypercall",
	.question = "Is the vendor's hypercall instruction (VMCALL/VMMCALL) handled in the kernel, the guest going on?",
	.timeout_s = 15,
	.run = run_hypercall,
};

static void run_hlt(struct hvp_ctx *ctx)
{
	struct hvp_guest_thread b = { .m = hvp_machine_create(ctx, "VM") };
	int by_itself;

	b.vcpu = hvp_vcpu_start(b.m, 0, &hvp_prog_loop_hlt, NULL);
	by_itself = run_bounded(ctx, &b);
	hvp_decisive(ctx, b.r.st.evidence);
	ctx->f->guest_verified = false; /* the guest only halts: the exit is the answer */
	if (!by_itself) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "run blocked on HLT with interrupts off until kicked after 2 s");
		return;
	}
	/* Run returned by itself: its exit answers, but a failed run call says nothing of HLT. */
	hvp_need_ok(ctx, b.r.st, "running the halting guest");
	if (b.r.last.kind == HVP_EXIT_HLT)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "HLT with interrupts off made run return with a hlt exit");
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
