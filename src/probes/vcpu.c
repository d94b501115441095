/* SPDX-License-Identifier: MIT */
/*
 * vCPUs and threads. Hypervisor.framework ties a vCPU to the thread that
 * created it; KVM documents only that vCPU ioctls "should" come from the
 * creating thread (a performance matter) and serializes each vCPU's ioctls.
 * Every "runs" below is a guest reporting what it was given.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../bench.h"
#include "../machine.h"

#define VALUE_A UINT64_C(0x7417ead000000a01)
#define VALUE_B UINT64_C(0x7417ead000000b02)
#define FLAGS_GPA UINT64_C(0x10000000)
#define SPIN_WAIT_NS 5000000000ll

static const char *native(struct hvp_ctx *ctx, struct hvp_status st)
{
	return ctx->be->native_name(st.native);
}

/*
 * Hypervisor.framework allows vCPU calls only from the thread that created
 * the vCPU, so hvprobe's HVF backend carries every call out on the vCPU's
 * owner thread. The questions about which thread drives a vCPU ask the API
 * itself: the vCPU's calls are then made from the calling thread, breaking
 * the rule on purpose, and the finding records that it was.
 */
static void calls_from_any_thread(struct hvp_ctx *ctx, struct hvp_vcpu *vcpu, bool on)
{
	if (!ctx->be->vcpu_direct)
		return; /* any thread may call anyway */
	ctx->be->vcpu_direct(vcpu, on);
	hvp_record(ctx, hvp_ok("vcpu_direct"), on ? "calls from the calling thread: the API's thread rule broken on purpose"
						  : "calls from the vCPU's own thread again");
}

/* One thread with two vCPUs cannot be asked through owner threads: one thread per vCPU is what HVF gives. */
static int owner_threads_only(struct hvp_ctx *ctx)
{
	if (!ctx->be->vcpu_direct)
		return 0;
	hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "not applicable: hvprobe's %s backend creates each vCPU on a "
			   "thread of its own, as the API requires", ctx->be->name);
	return 1;
}

static void run_from_other_thread(struct hvp_ctx *ctx)
{
	struct hvp_guest_thread t = { .m = hvp_machine_create(ctx, "VM") };
	uint64_t arg[4] = { VALUE_A, VALUE_B, 0, 0 };

	t.vcpu = hvp_vcpu_start(t.m, 0, &hvp_prog_report_args, arg); /* created on this thread */
	calls_from_any_thread(ctx, t.vcpu, true);
	hvp_guest_thread_start(&t);
	pthread_join(t.tid, NULL);
	hvp_decisive(ctx, t.r.st.evidence);
	ctx->f->guest_verified = hvp_guest_ok(&t.r) && t.r.n == 2 && t.r.value[0] == VALUE_A && t.r.value[1] == VALUE_B;
	if (ctx->f->guest_verified)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "a vCPU created on one thread ran its guest from another thread");
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "run from another thread: %s %s, %s exit",
				   t.r.st.call, native(ctx, t.r.st), hvp_exit_kind_name(t.r.last.kind));
}

const struct hvp_probe probe_vcpu_run_from_other_thread = {
	.id = "vcpu.run_from_other_thread",
	.question = "Can a vCPU created on one thread run its guest when driven from another thread?",
	.timeout_s = 10,
	.run = run_from_other_thread,
};

struct regs_thread {
	struct hvp_ctx *ctx;
	struct hvp_vcpu *vcpu;
	struct hvp_status get, set;
	uint64_t pc_seen;
};

/* Reads the registers and writes RSI/x1, from a thread that did not create the vCPU. */
static void *regs_main(void *arg)
{
	struct regs_thread *t = arg;
	struct hvp_regs regs;

	t->get = t->ctx->be->regs_get(t->vcpu, &regs);
	t->get.evidence = hvp_record(t->ctx, t->get, "read from another thread: pc=0x%" PRIx64, regs.pc);
	t->pc_seen = regs.pc;
	if (t->get.err != HVP_OK)
		return NULL;
	regs.gpr[hvp_guest_arch_arg_reg(1)] = VALUE_B;
	t->set = t->ctx->be->regs_set(t->vcpu, &regs);
	t->set.evidence = hvp_record(t->ctx, t->set, "write from another thread: second argument = 0x%" PRIx64, VALUE_B);
	return NULL;
}

static void run_regs_from_other_thread(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	uint64_t arg[4] = { VALUE_A, 0, 0, 0 };
	struct regs_thread t = { .ctx = ctx, .vcpu = hvp_vcpu_start(m, 0, &hvp_prog_report_args, arg) };
	struct hvp_guest_result r;
	pthread_t tid;

	calls_from_any_thread(ctx, t.vcpu, true);
	HVP_ASSERT(ctx, pthread_create(&tid, NULL, regs_main, &t) == 0, "pthread_create failed");
	pthread_join(tid, NULL);
	calls_from_any_thread(ctx, t.vcpu, false); /* the guest then runs by the rule, to show what it saw */
	hvp_decisive(ctx, t.set.err != HVP_OK ? t.set.evidence : t.get.evidence);
	if (t.get.err != HVP_OK || t.set.err != HVP_OK) {
		struct hvp_status bad = t.get.err != HVP_OK ? t.get : t.set;
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "register access from another thread failed: %s %s", bad.call,
				   native(ctx, bad));
		return;
	}
	hvp_guest_run(m, t.vcpu, &r);
	if (r.n == 2)
		hvp_guest_value(ctx, "second argument as the guest saw it", r.value[1]);
	ctx->f->guest_verified = hvp_guest_ok(&r) && r.n == 2 && r.value[0] == VALUE_A && r.value[1] == VALUE_B;
	if (ctx->f->guest_verified)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "another thread read the registers (pc 0x%" PRIx64 ") and wrote one; the guest then "
				   "reported the value it wrote", t.pc_seen);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "the register calls from another thread returned OK, but the guest did not see the write");
}

const struct hvp_probe probe_vcpu_regs_from_other_thread = {
	.id = "vcpu.regs_from_other_thread",
	.question = "Can another thread read a vCPU's registers and write one that the guest then sees?",
	.timeout_s = 10,
	.run = run_regs_from_other_thread,
};

static void one_thread_two_vcpus(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	uint64_t arg0[4] = { VALUE_A, 0, 0, 0 }, arg1[4] = { VALUE_B, 0, 0, 0 };
	struct hvp_vcpu *v0 = hvp_vcpu_start(m, 0, &hvp_prog_report_args, arg0), *v1;
	struct hvp_status st = hvp_vcpu_start_try(m, 1, &hvp_prog_report_args, arg1, &v1);
	struct hvp_guest_result r0, r1;

	hvp_decisive(ctx, st.evidence);
	if (st.err != HVP_OK) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the thread's second vCPU could not be created: %s %s", st.call,
				   native(ctx, st));
		return;
	}
	hvp_guest_run(m, v0, &r0);
	hvp_guest_run(m, v1, &r1);
	ctx->f->guest_verified = hvp_guest_ok(&r0) && hvp_guest_ok(&r1) && r0.value[0] == VALUE_A && r1.value[0] == VALUE_B;
	if (ctx->f->guest_verified)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "one thread created two vCPUs and ran a guest on each in turn");
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "both vCPUs were created, but vCPU %d did not run its guest",
				   hvp_guest_ok(&r0) ? 1 : 0);
}

static void run_one_thread_two_vcpus(struct hvp_ctx *ctx)
{
	if (!owner_threads_only(ctx))
		one_thread_two_vcpus(ctx);
}

const struct hvp_probe probe_vcpu_one_thread_two_vcpus = {
	.id = "vcpu.one_thread_two_vcpus",
	.question = "Can one thread create two vCPUs and run a guest on each?",
	.timeout_s = 10,
	.run = run_one_thread_two_vcpus,
};

/*
 * Two vCPUs run at once: each stores its marker and waits for the other's,
 * so neither can finish unless both are in the guest together (or the host
 * time-slices them: either way both make progress concurrently).
 */
static void run_two_parallel(struct hvp_ctx *ctx)
{
	struct hvp_guest_thread t[2] = { { .m = hvp_machine_create(ctx, "VM") } };
	uint64_t *flags = hvp_guest_memory(ctx, 0x1000);
	uint64_t arg0[4] = { FLAGS_GPA + 8, FLAGS_GPA, VALUE_A, 0 }, arg1[4] = { FLAGS_GPA, FLAGS_GPA + 8, VALUE_B, 0 };
	int finished;

	t[1].m = t[0].m;
	hvp_map(t[0].m, flags, FLAGS_GPA, 0x1000, HVP_PROT_RWX);
	t[0].vcpu = hvp_vcpu_start(t[0].m, 0, &hvp_prog_handshake, arg0);
	t[1].vcpu = hvp_vcpu_start(t[0].m, 1, &hvp_prog_handshake, arg1);
	hvp_guest_thread_start(&t[0]);
	hvp_guest_thread_start(&t[1]);
	finished = hvp_guest_thread_wait(&t[0], SPIN_WAIT_NS) && hvp_guest_thread_wait(&t[1], SPIN_WAIT_NS);
	if (!finished) {
		/* Let both guests finish whatever happened, so that the threads end. */
		__atomic_store_n(&flags[0], VALUE_A, __ATOMIC_RELEASE);
		__atomic_store_n(&flags[1], VALUE_B, __ATOMIC_RELEASE);
	}
	pthread_join(t[0].tid, NULL);
	pthread_join(t[1].tid, NULL);
	if (t[0].r.n)
		hvp_guest_value(ctx, "vCPU 0 saw vCPU 1's marker", t[0].r.value[0]);
	if (t[1].r.n)
		hvp_guest_value(ctx, "vCPU 1 saw vCPU 0's marker", t[1].r.value[0]);
	ctx->f->guest_verified = finished && t[0].r.n == 1 && t[0].r.value[0] == VALUE_B && t[1].r.n == 1 &&
				 t[1].r.value[0] == VALUE_A;
	if (ctx->f->guest_verified)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "two vCPUs on two threads each waited in the guest for the other's marker and saw it");
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "the two vCPUs did not see each other's markers within %lld s", SPIN_WAIT_NS / 1000000000);
}

const struct hvp_probe probe_vcpu_two_parallel = {
	.id = "vcpu.two_parallel",
	.question = "Can two vCPUs of one VM run at the same time on two threads, seeing each other's writes?",
	.timeout_s = 15,
	.run = run_two_parallel,
};

static void run_duplicate_id(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	struct hvp_vcpu *first = hvp_vcpu_start(m, 0, &hvp_prog_report_args, NULL), *second = NULL;
	struct hvp_status st = ctx->be->vcpu_create(m->vm, 0, &second);

	(void)first;
	hvp_decisive(ctx, hvp_record(ctx, st, "VM vcpu 0 again"));
	if (st.err != HVP_OK)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "a second vCPU with id 0 was refused: %s %s", st.call,
				   native(ctx, st));
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "a second vCPU with id 0 was created");
}

const struct hvp_probe probe_vcpu_duplicate_id = {
	.id = "vcpu.duplicate_id",
	.question = "Is a second vCPU with an id already in use refused?",
	.timeout_s = 10,
	.run = run_duplicate_id,
};

/* The id limit the API reports, if it reports one. */
static unsigned long vcpu_id_limit(struct hvp_ctx *ctx)
{
	struct hvp_facts facts = { 0 };
	const char *v;

	ctx->be->facts(ctx->hv, &facts);
	v = hvp_facts_get(&facts, "KVM_CAP_MAX_VCPU_ID");
	return v ? strtoul(v, NULL, 10) : 0;
}

static void run_id_out_of_range(struct hvp_ctx *ctx)
{
	unsigned long limit = vcpu_id_limit(ctx);
	unsigned id = limit ? (unsigned)limit : 0xffffffffu;
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	struct hvp_vcpu *last = NULL, *past = NULL;
	struct hvp_guest_result r = { 0 };
	struct hvp_status st_last = hvp_ok(""), st_past;

	if (limit) {
		st_last = hvp_vcpu_start_try(m, id - 1, &hvp_prog_report_args, (uint64_t[4]){ VALUE_A, 0, 0, 0 }, &last);
		if (st_last.err == HVP_OK)
			hvp_guest_run(m, last, &r);
	}
	st_past = ctx->be->vcpu_create(m->vm, id, &past);
	hvp_decisive(ctx, hvp_record(ctx, st_past, "VM vcpu %u (the limit)", id));
	ctx->f->guest_verified = limit && hvp_guest_ok(&r) && r.value[0] == VALUE_A;
	if (st_past.err == HVP_OK)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "vCPU id %u was accepted", id);
	else if (limit)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "id %u (the reported limit) was refused with %s; id %u was %s%s", id, native(ctx, st_past),
				   id - 1, st_last.err == HVP_OK ? "accepted" : "refused too",
				   ctx->f->guest_verified ? " and ran a guest" : "");
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "id 0x%x was refused with %s (the API reports no limit)", id,
				   native(ctx, st_past));
}

const struct hvp_probe probe_vcpu_id_out_of_range = {
	.id = "vcpu.id_out_of_range",
	.question = "Is a vCPU id at the API's reported limit refused, while the one below it works?",
	.timeout_s = 10,
	.run = run_id_out_of_range,
};

/*
 * Getting a vCPU out of run: a kick from another thread, an unmasked
 * signal, and a second thread calling into a vCPU that is running. The
 * guest spins on a flag no one sets, so run returns only if these work;
 * the flag is set at the end so that every thread finishes in any case.
 */
#define SETTLE_NS 50000000ll   /* let the vCPU get into the guest */
#define RETURN_WAIT_NS 2000000000ll

struct spinning {
	struct hvp_guest_thread t;
	uint64_t *flag;
};

static void start_spinning(struct hvp_ctx *ctx, struct spinning *s)
{
	s->flag = hvp_guest_thread_spin(ctx, &s->t, FLAGS_GPA);
}

/*
 * Releases the spinning guest and joins its thread. A guest that does not
 * see the flag within 2 s is kicked out, so that the probe ends with what
 * happened rather than hanging.
 */
static void stop_spinning(struct spinning *s)
{
	__atomic_store_n(s->flag, VALUE_A, __ATOMIC_RELEASE);
	while (!hvp_guest_thread_wait(&s->t, RETURN_WAIT_NS))
		s->t.m->ctx->be->vcpu_kick(s->t.vcpu);
	pthread_join(s->t.tid, NULL);
}

static void run_kick(struct hvp_ctx *ctx)
{
	struct spinning s = { { 0 } };
	struct hvp_status st;
	int64_t t0, latency;
	int returned;

	start_spinning(ctx, &s);
	t0 = hvp_now_ns();
	st = ctx->be->vcpu_kick(s.t.vcpu);
	returned = hvp_guest_thread_wait(&s.t, RETURN_WAIT_NS);
	latency = hvp_now_ns() - t0;
	hvp_record(ctx, st, "kick from another thread");
	stop_spinning(&s);
	hvp_decisive(ctx, s.t.r.st.evidence);
	ctx->f->guest_verified = returned && s.t.r.last.kind == HVP_EXIT_INTERRUPTED && s.t.r.n == 0;
	if (ctx->f->guest_verified)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "a vCPU spinning in the guest was kicked out: run returned %s (exit %s) within %.0f us",
				   native(ctx, s.t.r.st), hvp_exit_kind_name(s.t.r.last.kind), (double)latency / 1e3);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the kick did not end the run within %lld s (it ended by %s)",
				   RETURN_WAIT_NS / 1000000000, hvp_exit_kind_name(s.t.r.last.kind));
}

const struct hvp_probe probe_vcpu_kick = {
	.id = "vcpu.kick",
	.question = "Can another thread force a vCPU spinning in the guest out of run, and how fast?",
	.timeout_s = 10,
	.run = run_kick,
};

static void note_signal(int sig)
{
	(void)sig; /* its only job is to be pending while the vCPU runs */
}

static void run_signal_during_run(struct hvp_ctx *ctx)
{
	struct sigaction sa = { .sa_handler = note_signal };
	struct spinning s = { { 0 } };
	int returned, err;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	start_spinning(ctx, &s);
	err = pthread_kill(s.t.tid, SIGUSR2);
	returned = hvp_guest_thread_wait(&s.t, RETURN_WAIT_NS);
	stop_spinning(&s);
	HVP_ASSERT(ctx, err == 0, "pthread_kill: %s", strerror(err));
	hvp_decisive(ctx, s.t.r.st.evidence);
	ctx->f->guest_verified = returned && s.t.r.n == 0;
	if (returned && s.t.r.last.kind == HVP_EXIT_INTERRUPTED)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "a SIGUSR2 to the vCPU thread made run return %s (exit %s)",
				   native(ctx, s.t.r.st), hvp_exit_kind_name(s.t.r.last.kind));
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "run %s after the signal (exit %s)",
				   returned ? "returned" : "did not return within 2 s", hvp_exit_kind_name(s.t.r.last.kind));
}

const struct hvp_probe probe_vcpu_signal_during_run = {
	.id = "vcpu.signal_during_run",
	.question = "Does an unmasked signal to the thread inside run make run return to it?",
	.timeout_s = 10,
	.run = run_signal_during_run,
};

struct intruder {
	struct hvp_ctx *ctx;
	struct hvp_vcpu *vcpu;
	int regs;                /* 1: a register read; 0: a run */
	struct hvp_status st;
	struct hvp_exit x;
	int64_t returned_at;     /* accessed atomically */
	pthread_t tid;
};

static void *intruder_main(void *arg)
{
	struct intruder *in = arg;
	struct hvp_regs regs;

	in->st = in->regs ? in->ctx->be->regs_get(in->vcpu, &regs) : in->ctx->be->vcpu_run(in->vcpu, &in->x);
	__atomic_store_n(&in->returned_at, hvp_now_ns(), __ATOMIC_RELEASE);
	return NULL;
}

static void run_concurrent_run_same(struct hvp_ctx *ctx)
{
	const struct timespec wait = { 0, 300000000 };
	struct spinning s = { { 0 } };
	struct intruder in[2] = { { .ctx = ctx, .regs = 0 }, { .ctx = ctx, .regs = 1 } };
	int64_t released;
	int early[2];

	start_spinning(ctx, &s);
	for (int i = 0; i < 2; i++) {
		in[i].vcpu = s.t.vcpu;
		HVP_ASSERT(ctx, pthread_create(&in[i].tid, NULL, intruder_main, &in[i]) == 0, "pthread_create failed");
	}
	nanosleep(&wait, NULL);
	for (int i = 0; i < 2; i++)
		early[i] = __atomic_load_n(&in[i].returned_at, __ATOMIC_ACQUIRE) != 0;
	released = hvp_now_ns();
	stop_spinning(&s);
	for (int i = 0; i < 2; i++) {
		/* A run that went into the guest after the first ended is kicked out too. */
		while (!__atomic_load_n(&in[i].returned_at, __ATOMIC_ACQUIRE)) {
			ctx->be->vcpu_kick(in[i].vcpu);
			nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
		}
		pthread_join(in[i].tid, NULL);
		if (in[i].regs)
			hvp_record(ctx, in[i].st, "second thread's register read: returned %s",
				   early[i] ? "at once" : "after the first's");
		else
			hvp_record(ctx, in[i].st, "second thread's run: returned %s; %s exit 0x%" PRIx64,
				   early[i] ? "at once" : "after the first's", hvp_exit_kind_name(in[i].x.kind), in[i].x.addr);
	}
	hvp_decisive(ctx, (int)ctx->f->n_evidence - 2);
	ctx->f->guest_verified = hvp_guest_ok(&s.t.r) || s.t.r.n > 0; /* the first thread's guest got its flag */
	if (!early[0] && !early[1])
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "a second run and a register read from other threads both waited until the running "
				   "thread's run returned (%.0f ms later), then returned %s and %s",
				   (double)(in[0].returned_at - released) / 1e6, native(ctx, in[0].st), native(ctx, in[1].st));
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "while one thread ran the vCPU, a second run returned %s (%s) and a register read %s (%s)",
				   early[0] ? "at once" : "after it", native(ctx, in[0].st), early[1] ? "at once" : "after it",
				   native(ctx, in[1].st));
}

const struct hvp_probe probe_vcpu_concurrent_run_same = {
	.id = "vcpu.concurrent_run_same",
	.question = "While one thread is inside run on a vCPU, do another thread's run and register read on it wait?",
	.timeout_s = 10,
	.run = run_concurrent_run_same,
};
