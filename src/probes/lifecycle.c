/* SPDX-License-Identifier: MIT */
/*
 * Teardown in awkward orders: the VM handle closed while a vCPU handle
 * lives on, and a process exiting while one of its threads is inside run.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../bench.h"
#include "../machine.h"
#include "../probe_child.h"

#define VALUE UINT64_C(0x11fec7c1e0000001)
#define FLAG_GPA UINT64_C(0x10000000)
#define EXIT_WAIT_NS 5000000000ll
#define SETTLE_ALONE_NS 300000000ll /* time for a run to come back by itself after a destroy */

static void run_close_vm_keep_vcpu(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	uint64_t arg[4] = { VALUE, VALUE, 0, 0 };
	struct hvp_vcpu *vcpu = hvp_vcpu_start(m, 0, &hvp_prog_report_args, arg);
	struct hvp_status st = ctx->be->vm_destroy(m->vm);
	struct hvp_guest_result r;

	hvp_decisive(ctx, hvp_record(ctx, st, "VM handle closed; its vCPU handle stays open"));
	m->vm = NULL; /* gone from here on: the vCPU is all that is left */
	hvp_guest_run(m, vcpu, &r);
	ctx->f->guest_verified = hvp_guest_ok(&r) && r.n == 2 && r.value[0] == VALUE;
	if (ctx->f->guest_verified)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "after the VM handle was closed (%s), its vCPU still ran a guest in the VM's memory",
				   ctx->be->native_name(st.native));
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "after the VM handle was closed the vCPU's run gave %s (%s exit)",
				   ctx->be->native_name(r.st.native), hvp_exit_kind_name(r.last.kind));
	ctx->be->vcpu_destroy(vcpu);
}

const struct hvp_probe probe_lifecycle_close_vm_keep_vcpu = {
	.id = "lifecycle.close_vm_keep_vcpu",
	.question = "After the VM handle is closed, does a vCPU handle that is still open run a guest?",
	.timeout_s = 10,
	.run = run_close_vm_keep_vcpu,
};

struct spinner {
	struct hvp_machine *m;
	struct hvp_vcpu *vcpu;
	int in_run; /* accessed atomically */
};

static void *spinner_main(void *arg)
{
	struct spinner *s = arg;
	struct hvp_guest_result r;

	__atomic_store_n(&s->in_run, 1, __ATOMIC_RELEASE);
	hvp_guest_run(s->m, s->vcpu, &r); /* spins: the flag is never set */
	return NULL;
}

/* The child: a vCPU thread spinning in the guest, and the main thread calling exit. */
static void exiting_child(struct hvp_ctx *ctx)
{
	const struct timespec settle = { 0, 50000000 };
	struct spinner s = { 0 };
	uint64_t arg[4] = { FLAG_GPA, 0, 0, 0 };
	pthread_t tid;

	if (ctx->be->open(ctx->open, &ctx->hv).err != HVP_OK || hvp_machine_create_try(ctx, "VM", &s.m).err != HVP_OK ||
	    hvp_map_try(s.m, hvp_guest_memory(ctx, 0x1000), FLAG_GPA, 0x1000, HVP_PROT_RWX).err != HVP_OK ||
	    hvp_vcpu_start_try(s.m, 0, &hvp_prog_wait_flag, arg, &s.vcpu).err != HVP_OK)
		_exit(2);
	if (pthread_create(&tid, NULL, spinner_main, &s) != 0)
		_exit(3);
	while (!__atomic_load_n(&s.in_run, __ATOMIC_ACQUIRE))
		;
	nanosleep(&settle, NULL);
	_exit(0); /* exit_group: every thread goes, the one inside run included */
}

static void run_exit_with_running_vcpu(struct hvp_ctx *ctx)
{
	const struct timespec ms = { 0, 1000000 };
	struct hvp_child_report *c = hvp_child_report_new(ctx);
	struct hvp_ctx cc = hvp_child_ctx(ctx, c); /* the child's setup calls are kept apart: its exit is the evidence */
	int64_t t0, deadline;
	int status = 0, exited = 0;
	pid_t pid;

	t0 = hvp_now_ns();
	pid = fork();
	HVP_ASSERT(ctx, pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0)
		exiting_child(&cc);
	for (deadline = t0 + EXIT_WAIT_NS; hvp_now_ns() < deadline; nanosleep(&ms, NULL))
		if (waitpid(pid, &status, WNOHANG) == pid) {
			exited = 1;
			break;
		}
	if (!exited) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	hvp_child_report_free(c);
	hvp_record(ctx, hvp_ok("exit"), "child with a vCPU thread inside run called _exit(0): %s",
		   !exited ? "still there after 5 s" : WIFEXITED(status) ? "exited" : "killed by a signal");
	ctx->f->guest_verified = false; /* the guest only spins; the process's end is the answer */
	if (exited && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "a process whose vCPU thread was inside run exited cleanly (status 0) in %.0f ms",
				   (double)(hvp_now_ns() - t0) / 1e6);
	else if (exited)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the process ended with status 0x%x (setup %s)", status,
				   WIFEXITED(status) && WEXITSTATUS(status) > 1 ? "failed" : "worked");
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the process had not ended 5 s after _exit(0); it was killed");
}

const struct hvp_probe probe_lifecycle_exit_with_running_vcpu = {
	.id = "lifecycle.exit_with_running_vcpu",
	.question = "Does a process exit cleanly while one of its threads is inside run?",
	.timeout_s = 15,
	.run = run_exit_with_running_vcpu,
};

/* Records a call on a destroyed object; returns 1 if the API refused it (an error, not a crash). */
static int stale_call(struct hvp_ctx *ctx, struct hvp_status st, const char *what)
{
	hvp_record(ctx, st, "%s", what);
	return st.err != HVP_OK;
}

static void run_use_after_destroy(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	uint64_t arg[4] = { VALUE, VALUE, 0, 0 };
	struct hvp_vcpu *dead = hvp_vcpu_start(m, 0, &hvp_prog_report_args, arg), *again = NULL, *next = NULL;
	uint64_t *page = hvp_guest_memory(ctx, 0x1000);
	struct hvp_guest_result r = { 0 };
	struct hvp_regs regs;
	struct hvp_exit x = { 0 };
	struct hvp_status same_id;
	int refused = 0, calls = 0, vm_usable;

	hvp_record(ctx, ctx->be->vcpu_destroy(dead), "vcpu 0 destroyed");
	calls++, refused += stale_call(ctx, ctx->be->vcpu_run(dead, &x), "run on the destroyed vcpu 0");
	calls++, refused += stale_call(ctx, ctx->be->regs_get(dead, &regs), "register read on the destroyed vcpu 0");
	same_id = ctx->be->vcpu_create(m->vm, 0, &again);
	hvp_record(ctx, same_id, "a new vcpu with the destroyed one's id 0");
	/* The VM itself is still fine: a new vCPU runs a guest. */
	if (hvp_vcpu_start_try(m, 1, &hvp_prog_report_args, arg, &next).err == HVP_OK)
		hvp_guest_run(m, next, &r);
	vm_usable = hvp_guest_ok(&r) && r.value[0] == VALUE;
	hvp_record(ctx, ctx->be->vm_destroy(m->vm), "VM destroyed");
	calls++, refused += stale_call(ctx, ctx->be->mem_map(m->vm, page, 0x20000000, 0x1000, HVP_PROT_RWX),
				       "map on the destroyed VM");
	calls++, refused += stale_call(ctx, ctx->be->vcpu_create(m->vm, 2, &again), "vcpu create on the destroyed VM");
	calls++, refused += stale_call(ctx, ctx->be->vm_destroy(m->vm), "destroying the VM again");
	m->vm = NULL;
	ctx->f->guest_verified = vm_usable;
	if (refused == calls && vm_usable)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "all %d calls on destroyed objects failed with an error; a new vCPU with the destroyed "
				   "one's id was %s; the VM kept running guests on other vCPUs", calls,
				   same_id.err == HVP_OK ? "accepted" : ctx->be->native_name(same_id.native));
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "%d of %d calls on destroyed objects succeeded; the VM %s usable after a vCPU's destroy",
				   calls - refused, calls, vm_usable ? "stayed" : "was not");
}

const struct hvp_probe probe_lifecycle_use_after_destroy = {
	.id = "lifecycle.use_after_destroy",
	.question = "Do calls on a destroyed vCPU or VM fail with an error (not a crash), the VM staying usable after a vCPU is destroyed?",
	.timeout_s = 10,
	.run = run_use_after_destroy,
};

/* A vCPU thread spinning in the guest, for destroying things under it. */
struct spinning_vcpu {
	struct hvp_guest_thread t;
	uint64_t *flag;
};

/* Kicks the spinning vCPU; returns 1 if its run then came back within 2 s. */
static int kick_and_wait(struct hvp_ctx *ctx, struct spinning_vcpu *s)
{
	ctx->be->vcpu_kick(s->t.vcpu);
	if (hvp_guest_thread_wait(&s->t, 2000000000ll))
		return 1;
	__atomic_store_n(s->flag, 1, __ATOMIC_RELEASE); /* the guest then finishes by itself */
	return 0;
}

static void run_destroy_while_running(struct hvp_ctx *ctx)
{
	struct spinning_vcpu a = { 0 }, b = { 0 };
	struct hvp_guest_result after = { 0 };
	struct hvp_exit x = { 0 };
	struct hvp_status later;
	int a_alone, a_kicked, b_alone, b_kicked, b_went_on;

	/* A vCPU destroyed while its thread is inside run. */
	a.flag = hvp_guest_thread_spin(ctx, &a.t, FLAG_GPA);
	hvp_record(ctx, ctx->be->vcpu_destroy(a.t.vcpu), "vcpu destroyed while another thread is inside run");
	a_alone = hvp_guest_thread_wait(&a.t, SETTLE_ALONE_NS);
	a_kicked = a_alone || kick_and_wait(ctx, &a);
	pthread_join(a.t.tid, NULL);
	hvp_record(ctx, a.t.r.st, "the running thread's run returned");
	later = ctx->be->vcpu_run(a.t.vcpu, &x);
	hvp_record(ctx, later, "a later run on the destroyed vcpu");

	/* The VM destroyed while a vCPU's thread is inside run. */
	b.flag = hvp_guest_thread_spin(ctx, &b.t, FLAG_GPA);
	hvp_record(ctx, ctx->be->vm_destroy(b.t.m->vm), "VM destroyed while a vcpu thread is inside run");
	b.t.m->vm = NULL;
	b_alone = hvp_guest_thread_wait(&b.t, SETTLE_ALONE_NS);
	b_kicked = b_alone || kick_and_wait(ctx, &b);
	pthread_join(b.t.tid, NULL);
	hvp_record(ctx, b.t.r.st, "the running thread's run returned");
	__atomic_store_n(b.flag, 1, __ATOMIC_RELEASE);
	hvp_guest_resume(b.t.m, b.t.vcpu, &after, 0);
	b_went_on = hvp_guest_ok(&after) && after.n == 1;

	ctx->f->guest_verified = b_went_on;
	if (a_kicked && b_kicked)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "destroying the vCPU under a running thread %s (run gave %s), a later run gave %s; "
				   "destroying the VM %s, and after it the vCPU %s its guest",
				   a_alone ? "ended the run" : "did not end the run: it went on until kicked",
				   ctx->be->native_name(a.t.r.st.native), ctx->be->native_name(later.native),
				   b_alone ? "ended the run" : "did not end the run either (kicked)",
				   b_went_on ? "finished" : "did not finish");
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "after the destroy the running thread %s could not be kicked out",
				   a_kicked ? "of the VM" : "of the vCPU");
}

const struct hvp_probe probe_lifecycle_destroy_while_running = {
	.id = "lifecycle.destroy_while_running",
	.question = "Can a vCPU, and separately its VM, be destroyed while a thread is inside run, everything ending cleanly?",
	.timeout_s = 15,
	.run = run_destroy_while_running,
};
