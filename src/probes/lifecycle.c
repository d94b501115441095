/* SPDX-License-Identifier: MIT */
/*
 * Teardown in awkward orders: the VM handle closed while a vCPU handle
 * lives on, a process exiting while one of its threads is inside run,
 * calls on destroyed objects, and destroys under a running thread.
 *
 * "Inside run" is the guest's own marker, stored before it spins
 * (hvp_guest_thread_spin): a run that failed at once is never taken for one
 * that a destroy or an exit ended. A refusal answers only in the class the
 * question is about (the object in use, or gone); anything else ends the
 * probe as crashed, saying what it was.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../bench.h"
#include "../machine.h"
#include "../truth.h"
#include "../probe_child.h"

#define VALUE UINT64_C(0x11fec7c1e0000001)
#define FLAG_GPA UINT64_C(0x10000000)
#define SETUP_WAIT_NS 5000000000ll   /* a child's VM, up to its guest's marker */
#define EXIT_WAIT_NS 5000000000ll
#define SETTLE_ALONE_NS 300000000ll  /* time for a run to come back by itself after a destroy */
#define RETURN_WAIT_NS 2000000000ll  /* a run ended on purpose comes back within this */

/* The refusal of a destroy that means "in use", and of a call that means "gone". */
#define IN_USE_REFUSAL HVP_CLASS(HVP_ERR_BUSY)
#define GONE_REFUSAL (HVP_CLASS(HVP_ERR_IO) | HVP_CLASS(HVP_ERR_NODEV) | HVP_CLASS(HVP_ERR_INVALID))

static void run_close_vm_keep_vcpu(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	uint64_t arg[4] = { VALUE, VALUE, 0, 0 };
	struct hvp_vcpu *vcpu = hvp_vcpu_start(m, 0, &hvp_prog_report_args, arg);
	struct hvp_status st = ctx->be->vm_destroy(m->vm);
	struct hvp_guest_result r;

	hvp_decisive(ctx, hvp_record(ctx, st, "VM handle closed; its vCPU handle stays open"));
	if (st.err != HVP_OK) {
		hvp_need_refusal(ctx, st, IN_USE_REFUSAL, "closing the VM while its vCPU lives");
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the VM handle could not be closed while a vCPU lives: %s %s",
				   st.call, hvp_native(ctx, st));
		return;
	}
	m->vm = NULL; /* gone from here on: the vCPU is all that is left */
	hvp_guest_run(m, vcpu, &r);
	if (r.st.err != HVP_OK) {
		hvp_need_refusal(ctx, r.st, GONE_REFUSAL, "the vCPU's run after the VM handle was closed");
		hvp_decisive(ctx, r.st.evidence);
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "after the VM handle was closed the vCPU's run was refused: %s %s",
				   r.st.call, hvp_native(ctx, r.st));
		return;
	}
	hvp_guest_require(ctx, &r, arg, 2, "the vCPU after its VM handle was closed");
	hvp_vcpu_destroy(m, vcpu);
	ctx->f->guest_verified = true;
	hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
			   "after the VM handle was closed (%s), its vCPU still ran a guest in the VM's memory",
			   hvp_native(ctx, st));
}

const struct hvp_probe probe_lifecycle_close_vm_keep_vcpu = {
	.id = "lifecycle.close_vm_keep_vcpu",
	.question = "After the VM handle is closed, does a vCPU handle that is still open run a guest?",
	.timeout_s = 10,
	.run = run_close_vm_keep_vcpu,
};

/*
 * The child: a vCPU thread spinning in the guest, and, once the guest has
 * said it is spinning, the main thread calling exit. Its setup's failures
 * end it through its own report (hvp_child_ctx), never as the exit asked
 * about.
 */
static void exiting_child(struct hvp_ctx *ctx, struct hvp_child_report *c)
{
	struct hvp_ctx cc = hvp_child_ctx(ctx, c);
	struct hvp_guest_thread t = { 0 };
	struct hvp_status st = ctx->be->open(ctx->open, &cc.hv);

	HVP_ASSERT(&cc, st.err == HVP_OK, "opening the API: %s %s", st.call, hvp_native(ctx, st));
	hvp_guest_thread_spin(&cc, &t, FLAG_GPA); /* the flag is never set */
	c->ran = 1;
	hvp_child_exit(c); /* _exit(0), exit_group: every thread goes, the one inside run included */
}

/*
 * Waits for the child to end: until EXIT_WAIT_NS after its _exit(0), or
 * after its setup's bound if it never gets there. Returns 1 if it ended
 * (its wait status in *status); kills it and returns 0 if not.
 */
static int child_ended(pid_t pid, const struct hvp_child_report *c, int64_t t0, int *status)
{
	const struct timespec ms = { 0, 1000000 };

	for (;;) {
		int64_t exit_at = __atomic_load_n(&c->finished, __ATOMIC_ACQUIRE) ? c->exit_ns : 0;
		int64_t deadline = exit_at ? exit_at + EXIT_WAIT_NS : t0 + SETUP_WAIT_NS + EXIT_WAIT_NS;
		if (waitpid(pid, status, WNOHANG) == pid)
			return 1;
		if (hvp_now_ns() > deadline)
			break;
		nanosleep(&ms, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, status, 0);
	return 0;
}

static void run_exit_with_running_vcpu(struct hvp_ctx *ctx)
{
	struct hvp_child_report *c = hvp_child_report_new(ctx);
	int64_t t0 = hvp_now_ns();
	int status = 0, ended;
	pid_t pid;

	pid = fork();
	HVP_ASSERT(ctx, pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0)
		exiting_child(ctx, c);
	ended = child_ended(pid, c, t0, &status);
	hvp_child_merge(ctx, c, "child");
	/* Its vCPU's guest never said it was spinning: nothing was inside run when it exited. */
	HVP_ASSERT(ctx, __atomic_load_n(&c->finished, __ATOMIC_ACQUIRE) && c->ran,
		   "the child never had a vCPU inside run: %s",
		   c->f.answer == HVP_ANSWER_CRASHED ? c->f.reason
		   : !ended			      ? "it was still setting up when it was killed"
		   : WIFSIGNALED(status)	      ? strsignal(WTERMSIG(status))
						      : "it exited first");
	ctx->f->guest_verified = true; /* the guest's marker: its thread was inside run */
	if (ended && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "a process whose vCPU thread was inside run (the guest said so) exited cleanly "
				   "(status 0) %.0f ms after _exit(0)", (double)(hvp_now_ns() - c->exit_ns) / 1e6);
	else if (ended)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the process called _exit(0) with a thread inside run, and ended "
				   "%s %d", WIFSIGNALED(status) ? "by signal" : "with status",
				   WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the process had not ended %lld s after _exit(0) with a thread "
				   "inside run; it was killed", EXIT_WAIT_NS / 1000000000);
	hvp_child_report_free(c);
}

const struct hvp_probe probe_lifecycle_exit_with_running_vcpu = {
	.id = "lifecycle.exit_with_running_vcpu",
	.question = "Does a process exit cleanly while one of its threads is inside run?",
	.timeout_s = 15,
	.run = run_exit_with_running_vcpu,
};

/*
 * Calls on one destroyed object: the API's answer is a refusal, the same
 * for each of them. A call that succeeds is the answer "no"; refusals that
 * differ, or that name a host limit, are no single answer.
 */
struct stale_calls {
	const char *object;
	unsigned calls, refused;
	struct hvp_status first;
	bool differ;
};

static void stale_call(struct hvp_ctx *ctx, struct stale_calls *s, struct hvp_status st, const char *what)
{
	hvp_record(ctx, st, "%s", what);
	s->calls++;
	if (st.err == HVP_OK)
		return;
	if (s->refused++ == 0)
		s->first = st;
	else if (st.native != s->first.native)
		s->differ = true;
	HVP_ASSERT(ctx, !hvp_refused_as(st, HVP_CLASS(HVP_ERR_RLIMIT) | HVP_CLASS(HVP_ERR_NOMEM)),
		   "%s failed with %s %s, a host limit, not an answer about a destroyed object", what, st.call,
		   hvp_native(ctx, st));
}

static void require_one_answer(struct hvp_ctx *ctx, const struct stale_calls *s)
{
	HVP_ASSERT(ctx, !s->differ, "the calls on the destroyed %s were refused in different ways (%s first): no one "
		   "answer", s->object, hvp_native(ctx, s->first));
}

/* The VM is still fine after a vCPU's destroy: a new vCPU runs a guest. Returns false if the VM refuses it as gone. */
static bool vm_still_usable(struct hvp_ctx *ctx, struct hvp_machine *m, const uint64_t arg[4])
{
	struct hvp_vcpu *next;
	struct hvp_guest_result r;
	struct hvp_status st = hvp_vcpu_start_try(m, 1, &hvp_prog_report_args, arg, &next);

	if (st.err != HVP_OK) {
		hvp_need_refusal(ctx, st, GONE_REFUSAL, "a new vCPU after a vCPU's destroy");
		return false;
	}
	hvp_guest_run(m, next, &r);
	hvp_guest_require(ctx, &r, arg, 2, "the new vCPU after a vCPU's destroy");
	return true;
}

static void run_use_after_destroy(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	uint64_t arg[4] = { VALUE, VALUE, 0, 0 };
	struct hvp_vcpu *dead = hvp_vcpu_start(m, 0, &hvp_prog_report_args, arg), *again = NULL;
	uint64_t *page = hvp_guest_memory(ctx, hvp_page_size(ctx));
	struct stale_calls on_vcpu = { .object = "vCPU" }, on_vm = { .object = "VM" };
	struct hvp_regs regs;
	struct hvp_exit x = { 0 };
	struct hvp_status st, same_id;
	bool vm_usable;

	hvp_vcpu_destroy(m, dead);
	stale_call(ctx, &on_vcpu, ctx->be->vcpu_run(dead, &x), "run on the destroyed vcpu 0");
	stale_call(ctx, &on_vcpu, ctx->be->regs_get(dead, &regs), "register read on the destroyed vcpu 0");
	same_id = ctx->be->vcpu_create(m->vm, 0, &again);
	hvp_record(ctx, same_id, "a new vcpu with the destroyed one's id 0");
	HVP_ASSERT(ctx, same_id.err == HVP_OK || hvp_refused_as(same_id, HVP_CLASS(HVP_ERR_EXISTS)),
		   "a new vCPU with the destroyed one's id failed with %s %s, neither accepted nor refused as in use",
		   same_id.call, hvp_native(ctx, same_id));
	vm_usable = vm_still_usable(ctx, m, arg);
	st = ctx->be->vm_destroy(m->vm);
	hvp_record(ctx, st, "VM destroyed");
	HVP_ASSERT(ctx, st.err == HVP_OK, "destroying the VM failed: %s %s", st.call, hvp_native(ctx, st));
	stale_call(ctx, &on_vm, ctx->be->mem_map(m->vm, page, 0x20000000, hvp_page_size(ctx), HVP_PROT_RWX), "map on the destroyed VM");
	stale_call(ctx, &on_vm, ctx->be->vcpu_create(m->vm, 2, &again), "vcpu create on the destroyed VM");
	stale_call(ctx, &on_vm, ctx->be->vm_destroy(m->vm), "destroying the VM again");
	m->vm = NULL;
	require_one_answer(ctx, &on_vcpu);
	require_one_answer(ctx, &on_vm);
	ctx->f->guest_verified = vm_usable;
	if (on_vcpu.refused == on_vcpu.calls && on_vm.refused == on_vm.calls && vm_usable)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "every call on a destroyed object failed with an error (the vCPU's: %s; the VM's: %s); "
				   "a new vCPU with the destroyed one's id was %s; the VM kept running guests on other vCPUs",
				   hvp_native(ctx, on_vcpu.first), hvp_native(ctx, on_vm.first),
				   same_id.err == HVP_OK ? "accepted" : "refused as in use");
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "%u of %u calls on destroyed objects succeeded; the VM %s usable after a vCPU's destroy",
				   on_vcpu.calls + on_vm.calls - on_vcpu.refused - on_vm.refused, on_vcpu.calls + on_vm.calls,
				   vm_usable ? "stayed" : "was not");
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

enum ending { ENDED_NEVER, ENDED_BY_ITSELF, ENDED_BY_KICK };

/*
 * How the run under a destroy came back: by itself, or after a kick. One
 * that does not come back even then is let finish (its flag set) and, if
 * that does not end it either, left behind.
 */
static enum ending run_ending(struct hvp_ctx *ctx, struct spinning_vcpu *s)
{
	char how[128];

	if (hvp_guest_thread_end(&s->t, SETTLE_ALONE_NS)) {
		/* Not the guest: its flag was never set, so it could not have reported or finished. */
		HVP_ASSERT(ctx, s->t.r.n == 0 && !s->t.r.done && !s->t.r.failed,
			   "the run came back with the guest's reports though it was never let finish: %s",
			   hvp_guest_how(ctx, &s->t.r, how, sizeof(how)));
		return ENDED_BY_ITSELF;
	}
	hvp_kick(ctx, s->t.vcpu);
	if (hvp_guest_thread_end(&s->t, RETURN_WAIT_NS)) {
		HVP_ASSERT(ctx, s->t.r.last.kind == HVP_EXIT_INTERRUPTED && s->t.r.n == 0,
			   "the run came back after the kick, but not as a kick ends it: %s",
			   hvp_guest_how(ctx, &s->t.r, how, sizeof(how)));
		return ENDED_BY_KICK;
	}
	__atomic_store_n(s->flag, 1, __ATOMIC_RELEASE);
	hvp_guest_thread_end(&s->t, RETURN_WAIT_NS);
	return ENDED_NEVER;
}

/*
 * A destroy the API refused while a thread is inside run: the answer if it
 * refused it as in use. The guest is then let finish, and must report.
 */
static void refused_under_run(struct hvp_ctx *ctx, struct spinning_vcpu *s, struct hvp_status st, const char *what)
{
	hvp_need_refusal(ctx, st, IN_USE_REFUSAL, what);
	__atomic_store_n(s->flag, 1, __ATOMIC_RELEASE);
	HVP_ASSERT(ctx, hvp_guest_thread_end(&s->t, RETURN_WAIT_NS), "the guest let finish did not come back");
	hvp_guest_require(ctx, &s->t.r, (uint64_t[1]){ 1 }, 1, "the guest let finish after the refused destroy");
	hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "%s was refused while a thread is inside run: %s %s", what, st.call,
			   hvp_native(ctx, st));
}

static const char *ending_name(enum ending e)
{
	return e == ENDED_BY_ITSELF ? "ended the run" : "did not end the run: it went on until kicked";
}

/*
 * After its VM's destroy, the vCPU is let go on: it finishes its guest, or
 * the API refuses it as gone. Returns true if the guest reported.
 */
static bool went_on(struct hvp_ctx *ctx, struct spinning_vcpu *s, struct hvp_guest_result *after)
{
	__atomic_store_n(s->flag, 1, __ATOMIC_RELEASE);
	hvp_guest_resume(s->t.m, s->t.vcpu, after, 0);
	if (after->st.err != HVP_OK) {
		hvp_need_refusal(ctx, after->st, GONE_REFUSAL, "the vCPU's run after its VM's destroy");
		return false;
	}
	hvp_guest_require(ctx, after, (uint64_t[1]){ 1 }, 1, "the vCPU after its VM's destroy");
	return true;
}

static void run_destroy_while_running(struct hvp_ctx *ctx)
{
	struct spinning_vcpu a = { 0 }, b = { 0 };
	struct hvp_guest_result after = { 0 };
	struct hvp_status st;
	enum ending a_end, b_end;
	char a_run[HVP_ERRNAME_MAX];
	bool b_went_on;

	/*
	 * A vCPU destroyed while its thread is inside run. The destroy goes to
	 * the API from this thread: on Hypervisor.framework, which allows vCPU
	 * calls only from the vCPU's own thread, that breaks the rule on
	 * purpose, as the question cannot be asked otherwise (the own thread is
	 * inside run); through the vCPU's owner it would only wait for the run.
	 */
	a.flag = hvp_guest_thread_spin(ctx, &a.t, FLAG_GPA);
	if (ctx->be->vcpu_direct)
		ctx->be->vcpu_direct(a.t.vcpu, true);
	st = ctx->be->vcpu_destroy(a.t.vcpu);
	hvp_record(ctx, st, "vcpu destroyed while another thread is inside run");
	if (st.err != HVP_OK) {
		refused_under_run(ctx, &a, st, "destroying the vCPU");
		return;
	}
	a_end = run_ending(ctx, &a);
	if (a_end == ENDED_NEVER) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "after the vCPU was destroyed under it, the thread's run did not "
				   "come back, even when kicked");
		return;
	}
	hvp_copy_str(a_run, sizeof(a_run), hvp_native(ctx, a.t.r.st));

	/* The VM destroyed while a vCPU's thread is inside run: not a vCPU call, no thread rule. */
	b.flag = hvp_guest_thread_spin(ctx, &b.t, FLAG_GPA);
	st = ctx->be->vm_destroy(b.t.m->vm);
	hvp_record(ctx, st, "VM destroyed while a vcpu thread is inside run");
	if (st.err != HVP_OK) {
		refused_under_run(ctx, &b, st, "destroying the VM");
		return;
	}
	b.t.m->vm = NULL;
	b_end = run_ending(ctx, &b);
	if (b_end == ENDED_NEVER) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "after the VM was destroyed under a vCPU's thread, its run did not "
				   "come back, even when kicked");
		return;
	}
	b_went_on = went_on(ctx, &b, &after);
	ctx->f->guest_verified = b_went_on;
	hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
			   "destroying the vCPU under a running thread %s (run gave %s); destroying the VM %s (run gave "
			   "%s), and after it the vCPU %s%s", ending_name(a_end), a_run, ending_name(b_end),
			   hvp_native(ctx, b.t.r.st), b_went_on ? "finished its guest" : "was refused a run: ",
			   b_went_on ? "" : hvp_native(ctx, after.st));
}

const struct hvp_probe probe_lifecycle_destroy_while_running = {
	.id = "lifecycle.destroy_while_running",
	.question = "Can a vCPU, and separately its VM, be destroyed while a thread is inside run, everything ending cleanly?",
	.timeout_s = 15,
	.run = run_destroy_while_running,
};
