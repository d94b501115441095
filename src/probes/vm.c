/* SPDX-License-Identifier: MIT */
/*
 * VMs per process and thread: the seed's first questions. On KVM each
 * KVM_CREATE_VM returns a new VM file descriptor, so any number of VMs may
 * live in one process and thread; Hypervisor.framework allows one VM per
 * process ("a VM instance for the current task"), and the seed saw
 * hv_vm_destroy() crash after a refused second hv_vm_create(). Every "yes"
 * below means a guest ran in each VM and reported what it was given.
 *
 * "No" is decided by a create the API refused as a second VM (busy, or one
 * exists): a host limit (EMFILE) or an error the backend cannot name says
 * nothing about VMs per process, and ends the probe as crashed. After a
 * refused create, the teardown is recorded, not asserted: on
 * Hypervisor.framework it is the very call the seed saw crash.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../machine.h"
#include "../truth.h"
#include "../probe_child.h"

#define VALUE_A UINT64_C(0xa11ce0000000000a)
#define VALUE_B UINT64_C(0xb0b000000000000b)
#define VALUE_C UINT64_C(0xc0ffee000000000c)

/* The refusal the questions below are about: the API allows no other VM now. */
#define ONE_VM_REFUSAL (HVP_CLASS(HVP_ERR_BUSY) | HVP_CLASS(HVP_ERR_EXISTS))
/* A destroy the API refuses for a reason: the VM busy, in a state it cannot leave, or gone. */
#define DESTROY_REFUSAL                                                                                    \
	(HVP_CLASS(HVP_ERR_BUSY) | HVP_CLASS(HVP_ERR_INVALID) | HVP_CLASS(HVP_ERR_NODEV) | HVP_CLASS(HVP_ERR_IO) | \
	 HVP_CLASS(HVP_ERR_DENIED))
#define MEET_WAIT_S 5

/*
 * Runs load_store in m's own data page with value v: the guest reports what
 * the page held, stores v, and reports it back. A guest that does not read
 * back v proves nothing, and the probe ends as crashed. Returns the first
 * report: what the page held before.
 */
static uint64_t run_store_guest(struct hvp_machine *m, uint64_t v)
{
	uint64_t arg[4] = { HVP_SYS_DATA, v, 0, 0 };
	struct hvp_vcpu *vcpu = hvp_vcpu_start(m, 0, &hvp_prog_load_store, arg);
	struct hvp_guest_result r;
	char label[48], how[128];

	hvp_guest_run(m, vcpu, &r);
	hvp_vcpu_destroy(m, vcpu);
	HVP_ASSERT(m->ctx, hvp_guest_ok(&r) && r.n == 2 && r.value[1] == v,
		   "%s: the guest did not store 0x%" PRIx64 " and read it back, so its reports prove nothing: %s",
		   m->label, v, hvp_guest_how(m->ctx, &r, how, sizeof(how)));
	snprintf(label, sizeof(label), "%s: data before store", m->label);
	hvp_guest_value(m->ctx, label, r.value[0]);
	snprintf(label, sizeof(label), "%s: data after store", m->label);
	hvp_guest_value(m->ctx, label, r.value[1]);
	return r.value[0];
}

/* A create that failed: the answer if the API refused a second VM, else the probe ends as crashed. */
static void require_one_vm_refusal(struct hvp_ctx *ctx, struct hvp_status st, const char *who)
{
	hvp_need_refusal(ctx, st, ONE_VM_REFUSAL, who);
}

/* The teardown after a refused create: recorded, never judged. Leaves its native result's name in name. */
static void teardown_after_refusal(struct hvp_machine *m, char name[HVP_ERRNAME_MAX])
{
	struct hvp_ctx *ctx = m->ctx;

	hvp_copy_str(name, HVP_ERRNAME_MAX, hvp_native(ctx, hvp_machine_destroy_try(m)));
}

static void run_sequential(struct hvp_ctx *ctx)
{
	struct hvp_machine *a, *b;
	struct hvp_status st;

	a = hvp_machine_create(ctx, "VM A");
	run_store_guest(a, VALUE_A);
	hvp_machine_destroy(a);
	st = hvp_machine_create_try(ctx, "VM B", &b);
	hvp_decisive(ctx, st.evidence);
	if (st.err != HVP_OK) {
		require_one_vm_refusal(ctx, st, "VM B");
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "creating a VM after destroying the first was refused: %s %s",
				   st.call, hvp_native(ctx, st));
		return;
	}
	run_store_guest(b, VALUE_B);
	hvp_machine_destroy(b);
	ctx->f->guest_verified = true;
	hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "a second VM created after the first was destroyed ran its guest");
}

const struct hvp_probe probe_vm_sequential_in_one_thread = {
	.id = "vm.sequential_in_one_thread",
	.question = "Can one thread create a VM, destroy it, and create another that runs a guest?",
	.timeout_s = 10,
	.run = run_sequential,
};

static void run_two_in_one_thread(struct hvp_ctx *ctx)
{
	struct hvp_machine *a, *b;
	struct hvp_status st;
	char teardown[HVP_ERRNAME_MAX];
	uint64_t b_before;

	a = hvp_machine_create(ctx, "VM A");
	st = hvp_machine_create_try(ctx, "VM B", &b);
	hvp_decisive(ctx, st.evidence);
	if (st.err != HVP_OK) {
		require_one_vm_refusal(ctx, st, "VM B");
		teardown_after_refusal(a, teardown);
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "a second VM could not be created while the first lives: %s %s (destroying the first "
				   "afterwards: %s)", st.call, hvp_native(ctx, st), teardown);
		return;
	}
	run_store_guest(a, VALUE_A);
	b_before = run_store_guest(b, VALUE_B);
	hvp_machine_destroy(b);
	hvp_machine_destroy(a);
	ctx->f->guest_verified = true;
	if (b_before == VALUE_A)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "both guests ran, but VM B read VM A's value at the same guest address: not separate");
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "both VMs ran guests at once; VM B read 0x%" PRIx64 ", not VM A's value, at the same address",
				   b_before);
}

const struct hvp_probe probe_vm_two_in_one_thread = {
	.id = "vm.two_in_one_thread",
	.question = "Can one thread hold two VMs at once, each running its own guest in separate memory?",
	.timeout_s = 10,
	.run = run_two_in_one_thread,
};

static void run_destroy_after_refused(struct hvp_ctx *ctx)
{
	struct hvp_machine *a, *b = NULL, *c;
	struct hvp_status st_b, st_a, st_c;

	a = hvp_machine_create(ctx, "VM A");
	st_b = hvp_machine_create_try(ctx, "VM B", &b);
	if (b)
		hvp_machine_destroy(b);
	else
		require_one_vm_refusal(ctx, st_b, "VM B");
	/* The call the seed saw crash on Hypervisor.framework. */
	st_a = hvp_machine_destroy_try(a);
	hvp_decisive(ctx, st_a.evidence);
	if (st_a.err != HVP_OK) {
		HVP_ASSERT(ctx, hvp_refused_as(st_a, DESTROY_REFUSAL), "destroying the first VM failed with %s %s (%s), "
			   "which gives no reason", st_a.call, hvp_native(ctx, st_a), hvp_err_name(st_a.err));
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "destroying the first VM failed: %s %s", st_a.call,
				   hvp_native(ctx, st_a));
		return;
	}
	st_c = hvp_machine_create_try(ctx, "VM C", &c);
	if (st_c.err != HVP_OK) {
		require_one_vm_refusal(ctx, st_c, "VM C");
		hvp_decisive(ctx, st_c.evidence);
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "the first VM was destroyed, but a new VM was refused as if it still existed: %s %s",
				   st_c.call, hvp_native(ctx, st_c));
		return;
	}
	run_store_guest(c, VALUE_C);
	hvp_machine_destroy(c);
	ctx->f->guest_verified = true;
	if (st_b.err == HVP_OK)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "the second create was not refused (%s succeeded), and destroying the first VM "
				   "afterwards worked; a new VM then ran its guest", st_b.call);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "the second create was refused (%s %s); destroying the first VM still worked and "
				   "a new VM then ran its guest", st_b.call, hvp_native(ctx, st_b));
}

const struct hvp_probe probe_vm_destroy_after_refused_create = {
	.id = "vm.destroy_after_refused_create",
	.question = "After a second VM create in the same process (refused or not), can the first VM still be destroyed and a new one run?",
	.timeout_s = 10,
	.run = run_destroy_after_refused,
};

/*
 * Where two threads meet: a thread arrives at a stage with what it has to
 * show (its VM, or none), and waits, bounded, for the other. One that comes
 * without a VM releases the other at once: no side ever waits for a thread
 * that failed. pthread barriers would do the first part, but not the
 * second, and macOS has none.
 */
struct meeting {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned arrived[2]; /* per stage: threads that came with their VM */
	bool failed;         /* a thread came without one */
};

/* Returns true when both threads came to stage with their VMs, within MEET_WAIT_S. */
static bool meet(struct meeting *mt, unsigned stage, bool with_vm)
{
	struct timespec deadline;
	bool both;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += MEET_WAIT_S;
	pthread_mutex_lock(&mt->lock);
	if (with_vm)
		mt->arrived[stage]++;
	else
		mt->failed = true;
	pthread_cond_broadcast(&mt->cond);
	while (mt->arrived[stage] < 2 && !mt->failed)
		if (pthread_cond_timedwait(&mt->cond, &mt->lock, &deadline) != 0)
			break;
	both = mt->arrived[stage] == 2 && !mt->failed;
	pthread_mutex_unlock(&mt->lock);
	return both;
}

struct thread_vm {
	struct hvp_ctx *ctx;
	struct meeting *meeting;
	const char *label;
	uint64_t value;
	struct hvp_status create;
	char teardown[HVP_ERRNAME_MAX]; /* after the other's refused create: the destroy's result */
	bool ran;
};

static void *thread_vm_main(void *arg)
{
	struct thread_vm *t = arg;
	struct hvp_machine *m = NULL;

	t->create = hvp_machine_create_try(t->ctx, t->label, &m);
	/* Both VMs exist before either guest runs: they are alive at the same time. */
	if (!meet(t->meeting, 0, m != NULL)) {
		if (m)
			teardown_after_refusal(m, t->teardown);
		return NULL;
	}
	run_store_guest(m, t->value);
	t->ran = true;
	meet(t->meeting, 1, true); /* and both live until both guests ran */
	hvp_machine_destroy(m);
	return NULL;
}

static void run_two_in_two_threads(struct hvp_ctx *ctx)
{
	struct meeting meeting = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
	struct thread_vm t[2] = {
		{ .ctx = ctx, .meeting = &meeting, .label = "thread 1 VM", .value = VALUE_A },
		{ .ctx = ctx, .meeting = &meeting, .label = "thread 2 VM", .value = VALUE_B },
	};
	pthread_t tid[2];

	for (int i = 0; i < 2; i++)
		HVP_ASSERT(ctx, pthread_create(&tid[i], NULL, thread_vm_main, &t[i]) == 0, "pthread_create failed");
	for (int i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	for (int i = 0; i < 2; i++) {
		if (t[i].create.err == HVP_OK)
			continue;
		require_one_vm_refusal(ctx, t[i].create, t[i].label);
		hvp_decisive(ctx, t[i].create.evidence);
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "thread %d could not create its VM while the other thread's lived: %s %s (destroying "
				   "the other's afterwards: %s)", i + 1, t[i].create.call, hvp_native(ctx, t[i].create),
				   t[1 - i].teardown[0] ? t[1 - i].teardown : "-");
		return;
	}
	HVP_ASSERT(ctx, t[0].ran && t[1].ran, "both threads created VMs, but the threads did not meet within %d s",
		   MEET_WAIT_S);
	hvp_decisive(ctx, t[0].create.evidence);
	ctx->f->guest_verified = true;
	hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
			   "two threads each created a VM, both alive at once, and each ran its guest");
}

const struct hvp_probe probe_vm_two_in_two_threads = {
	.id = "vm.two_in_two_threads",
	.question = "Can two threads of one process each create a VM and run a guest in it at the same time?",
	.timeout_s = 10,
	.run = run_two_in_two_threads,
};

/*
 * One process's side: creates its VM, tells the other whether it has one,
 * and runs its guest only if both do (both VMs alive at once). A pipe that
 * ends without a word means the other process is gone. After the other's
 * refused create, the teardown is recorded, not judged.
 */
static bool vm_in_process(struct hvp_ctx *ctx, const char *label, uint64_t value, int tell, int hear,
			  struct hvp_status *create)
{
	struct hvp_machine *m = NULL;
	char mine, theirs = 'n', teardown[HVP_ERRNAME_MAX];

	*create = hvp_machine_create_try(ctx, label, &m);
	mine = m ? 'y' : 'n';
	if (write(tell, &mine, 1) != 1 || read(hear, &theirs, 1) != 1)
		theirs = 'n';
	if (!m)
		return false;
	if (theirs != 'y') {
		teardown_after_refusal(m, teardown);
		return false;
	}
	run_store_guest(m, value);
	hvp_machine_destroy(m);
	return true;
}

/* The second process: its own hypervisor handle, its report in shared memory. */
static void second_process(struct hvp_ctx *ctx, struct hvp_child_report *other, int tell, int hear)
{
	struct hvp_ctx cc = hvp_child_ctx(ctx, other);
	struct hvp_status st = ctx->be->open(ctx->open, &cc.hv);

	HVP_ASSERT(&cc, st.err == HVP_OK, "opening the API: %s %s", st.call, hvp_native(ctx, st));
	other->ran = vm_in_process(&cc, "process 2 VM", VALUE_B, tell, hear, &other->create);
	hvp_child_exit(other);
}

static void answer_two_processes(struct hvp_ctx *ctx, const struct hvp_child_report *other, int base,
				 struct hvp_status create, bool ran)
{
	struct hvp_status refused = create.err != HVP_OK ? create : other->create;
	int who = create.err != HVP_OK ? 1 : 2;

	if (other->create.evidence >= 0)
		hvp_decisive(ctx, base + other->create.evidence);
	if (refused.err != HVP_OK) {
		require_one_vm_refusal(ctx, refused, who == 1 ? "process 1 VM" : "process 2 VM");
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "process %d could not create its VM: %s %s", who,
				   refused.call, hvp_native(ctx, refused));
		return;
	}
	HVP_ASSERT(ctx, ran && other->ran, "both processes created VMs, but a guest was not run");
	ctx->f->guest_verified = true;
	hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
			   "two processes each created a VM, both alive at once, and each ran its guest");
}

static void run_two_in_two_processes(struct hvp_ctx *ctx)
{
	struct hvp_child_report *other = hvp_child_report_new(ctx);
	int to_child[2], to_parent[2], base;
	struct hvp_status create;
	char why[HVP_TEXT_MAX];
	const char *failure;
	pid_t pid;
	bool ran;

	HVP_ASSERT(ctx, pipe(to_child) == 0 && pipe(to_parent) == 0, "pipe: %s", strerror(errno));
	/* A word to a process that is gone fails (EPIPE) instead of ending this one: its end is told apart. */
	signal(SIGPIPE, SIG_IGN);
	pid = fork();
	HVP_ASSERT(ctx, pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(to_child[1]);
		close(to_parent[0]);
		second_process(ctx, other, to_parent[1], to_child[0]);
	}
	/* Only the other process holds these ends: its end, or its death, ends our read. */
	close(to_child[0]);
	close(to_parent[1]);
	ran = vm_in_process(ctx, "process 1 VM", VALUE_A, to_child[1], to_parent[0], &create);
	close(to_child[1]);
	close(to_parent[0]);
	failure = hvp_child_failure(other, hvp_child_wait(pid), why, sizeof(why));
	base = hvp_child_merge(ctx, other, "process 2");
	HVP_ASSERT(ctx, !failure, "the second process did not finish: %s", failure);
	answer_two_processes(ctx, other, base, create, ran);
	hvp_child_report_free(other);
}

const struct hvp_probe probe_vm_two_in_two_processes = {
	.id = "vm.two_in_two_processes",
	.question = "Can two processes each create a VM and run a guest in it at the same time?",
	.timeout_s = 10,
	.run = run_two_in_two_processes,
};
