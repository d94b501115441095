/* SPDX-License-Identifier: MIT */
/*
 * VMs per process and thread: the seed's first questions. On KVM each
 * KVM_CREATE_VM returns a new VM file descriptor, so any number of VMs may
 * live in one process and thread; Hypervisor.framework allows one VM per
 * process ("a VM instance for the current task"), and the seed saw
 * hv_vm_destroy() crash after a refused second hv_vm_create(). Every "yes"
 * below means a guest ran in each VM and reported what it was given.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../machine.h"
#include "../probe_child.h"

#define VALUE_A UINT64_C(0xa11ce0000000000a)
#define VALUE_B UINT64_C(0xb0b000000000000b)
#define VALUE_C UINT64_C(0xc0ffee000000000c)

/*
 * Runs load_store in m's own data page with value v: the guest reports what
 * the page held, stores v, and reports it back. Returns 1 if it ran and
 * read back v; the first report is left in *before.
 */
static int run_store_guest(struct hvp_machine *m, uint64_t v, uint64_t *before)
{
	uint64_t arg[4] = { HVP_SYS_DATA, v, 0, 0 };
	struct hvp_vcpu *vcpu = hvp_vcpu_start(m, 0, &hvp_prog_load_store, arg);
	struct hvp_guest_result r;
	char label[48];

	hvp_guest_run(m, vcpu, &r);
	hvp_vcpu_destroy(m, vcpu);
	if (!hvp_guest_ok(&r) || r.n != 2)
		return 0;
	snprintf(label, sizeof(label), "%s: data before store", m->label);
	hvp_guest_value(m->ctx, label, r.value[0]);
	snprintf(label, sizeof(label), "%s: data after store", m->label);
	hvp_guest_value(m->ctx, label, r.value[1]);
	*before = r.value[0];
	return r.value[1] == v;
}

static const char *native(struct hvp_ctx *ctx, struct hvp_status st)
{
	return ctx->be->native_name(st.native);
}

static void run_sequential(struct hvp_ctx *ctx)
{
	struct hvp_machine *a, *b;
	struct hvp_status st;
	uint64_t before;

	a = hvp_machine_create(ctx, "VM A");
	HVP_ASSERT(ctx, run_store_guest(a, VALUE_A, &before), "the first VM's guest did not run");
	hvp_machine_destroy(a);
	st = hvp_machine_create_try(ctx, "VM B", &b);
	hvp_decisive(ctx, st.evidence);
	if (st.err != HVP_OK) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "creating a VM after destroying the first failed: %s %s",
				   st.call, native(ctx, st));
		return;
	}
	ctx->f->guest_verified = run_store_guest(b, VALUE_B, &before);
	hvp_machine_destroy(b);
	if (!ctx->f->guest_verified)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the second VM was created but its guest did not run");
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "a second VM created after the first was destroyed ran its guest");
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
	uint64_t a_before, b_before;
	int a_ok, b_ok;

	a = hvp_machine_create(ctx, "VM A");
	st = hvp_machine_create_try(ctx, "VM B", &b);
	hvp_decisive(ctx, st.evidence);
	if (st.err != HVP_OK) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "a second VM could not be created while the first lives: %s %s",
				   st.call, native(ctx, st));
		hvp_machine_destroy(a);
		return;
	}
	a_ok = run_store_guest(a, VALUE_A, &a_before);
	b_ok = run_store_guest(b, VALUE_B, &b_before);
	hvp_machine_destroy(b);
	hvp_machine_destroy(a);
	ctx->f->guest_verified = a_ok && b_ok;
	if (!a_ok || !b_ok)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "both VMs were created, but the guest of VM %s did not run",
				   a_ok ? "B" : "A");
	else if (b_before == VALUE_A)
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
	struct hvp_status st_b, st_a;
	uint64_t before;

	a = hvp_machine_create(ctx, "VM A");
	st_b = hvp_machine_create_try(ctx, "VM B", &b);
	if (b)
		hvp_machine_destroy(b);
	/* The call the seed saw crash on Hypervisor.framework. */
	st_a = hvp_machine_destroy_try(a);
	hvp_decisive(ctx, st_a.evidence);
	if (st_a.err != HVP_OK) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "destroying the first VM failed: %s %s", st_a.call,
				   native(ctx, st_a));
		return;
	}
	c = hvp_machine_create(ctx, "VM C");
	ctx->f->guest_verified = run_store_guest(c, VALUE_C, &before);
	hvp_machine_destroy(c);
	if (!ctx->f->guest_verified)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the first VM was destroyed, but a new VM's guest did not run");
	else if (st_b.err == HVP_OK)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "the second create was not refused (%s succeeded), and destroying the first VM "
				   "afterwards worked; a new VM then ran its guest", st_b.call);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "the second create was refused (%s %s); destroying the first VM still worked and "
				   "a new VM then ran its guest", st_b.call, native(ctx, st_b));
}

const struct hvp_probe probe_vm_destroy_after_refused_create = {
	.id = "vm.destroy_after_refused_create",
	.question = "After a second VM create in the same process (refused or not), can the first VM still be destroyed and a new one run?",
	.timeout_s = 10,
	.run = run_destroy_after_refused,
};

struct thread_vm {
	struct hvp_ctx *ctx;
	pthread_barrier_t *both_created;
	const char *label;
	uint64_t value;
	struct hvp_status create;
	int ran;
};

static void *thread_vm_main(void *arg)
{
	struct thread_vm *t = arg;
	struct hvp_machine *m = NULL;
	uint64_t before;

	t->create = hvp_machine_create_try(t->ctx, t->label, &m);
	/* Both VMs exist before either guest runs: they are alive at the same time. */
	pthread_barrier_wait(t->both_created);
	if (!m)
		return NULL;
	t->ran = run_store_guest(m, t->value, &before);
	pthread_barrier_wait(t->both_created);
	hvp_machine_destroy(m);
	return NULL;
}

static void run_two_in_two_threads(struct hvp_ctx *ctx)
{
	pthread_barrier_t barrier;
	struct thread_vm t[2] = {
		{ ctx, &barrier, "thread 1 VM", VALUE_A, { 0 }, 0 },
		{ ctx, &barrier, "thread 2 VM", VALUE_B, { 0 }, 0 },
	};
	pthread_t tid[2];

	pthread_barrier_init(&barrier, NULL, 2);
	for (int i = 0; i < 2; i++)
		HVP_ASSERT(ctx, pthread_create(&tid[i], NULL, thread_vm_main, &t[i]) == 0, "pthread_create failed");
	for (int i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&barrier);
	ctx->f->guest_verified = t[0].ran && t[1].ran;
	hvp_decisive(ctx, t[1].create.err != HVP_OK ? t[1].create.evidence : t[0].create.evidence);
	for (int i = 0; i < 2; i++) {
		if (t[i].create.err != HVP_OK) {
			hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "thread %d could not create its VM: %s %s", i + 1,
					   t[i].create.call, native(ctx, t[i].create));
			return;
		}
	}
	if (!ctx->f->guest_verified)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "both threads created VMs, but a guest did not run");
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "two threads each created a VM, both alive at once, and each ran its guest");
}

const struct hvp_probe probe_vm_two_in_two_threads = {
	.id = "vm.two_in_two_threads",
	.question = "Can two threads of one process each create a VM and run a guest in it at the same time?",
	.timeout_s = 10,
	.run = run_two_in_two_threads,
};

/* Both processes' VMs exist before either guest runs; pipes are the handshake. */
static int vm_in_process(struct hvp_ctx *ctx, const char *label, uint64_t value, int tell, int wait_for,
			 struct hvp_status *create)
{
	struct hvp_machine *m = NULL;
	uint64_t before;
	char c = 'x';
	int ran = 0;

	*create = hvp_machine_create_try(ctx, label, &m);
	if (write(tell, &c, 1) != 1 || read(wait_for, &c, 1) != 1)
		return 0;
	if (m) {
		ran = run_store_guest(m, value, &before);
		hvp_machine_destroy(m);
	}
	return ran;
}

static void run_two_in_two_processes(struct hvp_ctx *ctx)
{
	struct hvp_child_report *other = hvp_child_report_new(ctx);
	int to_child[2], to_parent[2], ran, status, base;
	struct hvp_status create;
	pid_t pid;

	HVP_ASSERT(ctx, pipe(to_child) == 0 && pipe(to_parent) == 0, "pipe: %s", strerror(errno));
	pid = fork();
	HVP_ASSERT(ctx, pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* The second process records into shared memory, with its own hypervisor handle. */
		struct hvp_ctx cc = hvp_child_ctx(ctx, other);
		if (ctx->be->open(ctx->open, &cc.hv).err != HVP_OK)
			_exit(1);
		other->ran = vm_in_process(&cc, "process 2 VM", VALUE_B, to_parent[1], to_child[0], &other->create);
		_exit(0);
	}
	ran = vm_in_process(ctx, "process 1 VM", VALUE_A, to_child[1], to_parent[0], &create);
	status = hvp_child_wait(pid);
	base = hvp_child_merge(ctx, other, "process 2");
	if (other->create.evidence >= 0)
		hvp_decisive(ctx, base + other->create.evidence);
	ctx->f->guest_verified = ran && other->ran;
	if (create.err != HVP_OK || other->create.err != HVP_OK) {
		struct hvp_status bad = create.err != HVP_OK ? create : other->create;
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "process %d could not create its VM: %s %s",
				   create.err != HVP_OK ? 1 : 2, bad.call, native(ctx, bad));
	} else if (status != 0) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the second process did not finish cleanly (status %d)", status);
	} else if (!ctx->f->guest_verified) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "both processes created VMs, but a guest did not run");
	} else {
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "two processes each created a VM, both alive at once, and each ran its guest");
	}
	hvp_child_report_free(other);
}

const struct hvp_probe probe_vm_two_in_two_processes = {
	.id = "vm.two_in_two_processes",
	.question = "Can two processes each create a VM and run a guest in it at the same time?",
	.timeout_s = 10,
	.run = run_two_in_two_processes,
};
