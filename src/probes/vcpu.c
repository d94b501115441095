/* SPDX-License-Identifier: MIT */
/*
 * vCPUs and threads. Hypervisor.framework ties a vCPU to the thread that
 * created it; KVM documents only that vCPU ioctls "should" come from the
 * creating thread (a performance matter) and serializes each vCPU's ioctls.
 * Every "runs" below is a guest reporting what it was given; "while inside
 * run" is the guest's own marker, stored before it spins. A refusal answers
 * a question only in the class the question is about; any other failure
 * ends the probe as crashed, saying what it was.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../bench.h"
#include "../machine.h"
#include "../truth.h"

#define VALUE_A UINT64_C(0x7417ead000000a01)
#define VALUE_B UINT64_C(0x7417ead000000b02)
#define FLAGS_GPA UINT64_C(0x10000000)
#define SPIN_WAIT_NS 5000000000ll
#define RETURN_WAIT_NS 2000000000ll /* a run ended on purpose comes back within this */

/*
 * What an API answers a vCPU call from a thread it does not allow: the
 * vCPU busy, or not this thread's (invalid, denied, no such vCPU here, or
 * unusable). Apple documents no code for it, so the classes are broad; an
 * error the backend cannot name is still no answer.
 */
#define WRONG_THREAD_REFUSAL                                                                        \
	(HVP_CLASS(HVP_ERR_BUSY) | HVP_CLASS(HVP_ERR_INVALID) | HVP_CLASS(HVP_ERR_DENIED) |            \
	 HVP_CLASS(HVP_ERR_NODEV) | HVP_CLASS(HVP_ERR_IO))

/*
 * Hypervisor.framework allows vCPU calls only from the thread that created
 * the vCPU, so hvprobe's HVF backend carries every call out on the vCPU's
 * owner thread. The questions about which thread drives a vCPU ask the API
 * itself: the vCPU's calls are then made from the calling thread, breaking
 * the rule on purpose, and the finding says that it was (rule_note).
 */
static void calls_from_any_thread(struct hvp_ctx *ctx, struct hvp_vcpu *vcpu, bool on)
{
	if (ctx->be->vcpu_direct)
		ctx->be->vcpu_direct(vcpu, on);
}

static const char *rule_note(struct hvp_ctx *ctx)
{
	return ctx->be->vcpu_direct ? " (the calls went to the API from that thread, breaking its thread rule on purpose)"
				    : "";
}

/*
 * One thread with two vCPUs cannot be asked through owner threads alone: a
 * backend that keeps one thread per vCPU must be able to create a vCPU on
 * the calling thread (vcpu_create_here).
 */
static int owner_threads_only(struct hvp_ctx *ctx)
{
	if (!ctx->be->vcpu_direct || ctx->be->vcpu_create_here)
		return 0;
	hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "not applicable: hvprobe's %s backend creates each vCPU on a "
			   "thread of its own, as the API requires", ctx->be->name);
	return 1;
}

/* A refused call on a vCPU from another thread: the answer if it is the wrong-thread refusal, else crashed. */
static void require_wrong_thread_refusal(struct hvp_ctx *ctx, struct hvp_status st, const char *what)
{
	hvp_need_refusal(ctx, st, WRONG_THREAD_REFUSAL, what);
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
	if (t.r.st.err != HVP_OK) {
		require_wrong_thread_refusal(ctx, t.r.st, "the run");
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "run from another thread was refused: %s %s%s", t.r.st.call,
				   hvp_native(ctx, t.r.st), rule_note(ctx));
		return;
	}
	hvp_guest_require(ctx, &t.r, arg, 2, "the run from another thread");
	ctx->f->guest_verified = true;
	hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "a vCPU created on one thread ran its guest from another thread%s",
			   rule_note(ctx));
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
	struct hvp_regs regs = { 0 };

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
	char how[128];
	pthread_t tid;

	calls_from_any_thread(ctx, t.vcpu, true);
	HVP_ASSERT(ctx, pthread_create(&tid, NULL, regs_main, &t) == 0, "pthread_create failed");
	pthread_join(tid, NULL);
	calls_from_any_thread(ctx, t.vcpu, false); /* the guest then runs by the rule, to show what it saw */
	hvp_decisive(ctx, t.get.err != HVP_OK ? t.get.evidence : t.set.evidence);
	if (t.get.err != HVP_OK || t.set.err != HVP_OK) {
		struct hvp_status bad = t.get.err != HVP_OK ? t.get : t.set;
		require_wrong_thread_refusal(ctx, bad, "register access");
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "register access from another thread was refused: %s %s%s",
				   bad.call, hvp_native(ctx, bad), rule_note(ctx));
		return;
	}
	hvp_guest_run(m, t.vcpu, &r);
	/* The guest reports its two arguments: the first as given, the second as written, or as it was. */
	HVP_ASSERT(ctx, hvp_guest_ok(&r) && r.n == 2 && r.value[0] == VALUE_A && (r.value[1] == VALUE_B || r.value[1] == 0),
		   "the guest did not report its arguments, so it proves nothing: %s", hvp_guest_how(ctx, &r, how, sizeof(how)));
	hvp_guest_value(ctx, "second argument as the guest saw it", r.value[1]);
	ctx->f->guest_verified = true;
	if (r.value[1] == VALUE_B)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "another thread read the registers (pc 0x%" PRIx64 ") and wrote one; the guest then "
				   "reported the value it wrote%s", t.pc_seen, rule_note(ctx));
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "the register calls from another thread returned OK, but the guest did not see the write%s",
				   rule_note(ctx));
}

const struct hvp_probe probe_vcpu_regs_from_other_thread = {
	.id = "vcpu.regs_from_other_thread",
	.question = "Can another thread read a vCPU's registers and write one that the guest then sees?",
	.timeout_s = 10,
	.run = run_regs_from_other_thread,
};

/* A vCPU of this very thread (where the backend would otherwise give it a thread of its own), started at prog. */
static struct hvp_status start_here(struct hvp_machine *m, unsigned id, const uint64_t arg[4], struct hvp_vcpu **out)
{
	struct hvp_ctx *ctx = m->ctx;
	struct hvp_status st;

	if (!ctx->be->vcpu_create_here)
		return hvp_vcpu_start_try(m, id, &hvp_prog_report_args, arg, out);
	st = ctx->be->vcpu_create_here(m->vm, id, out);
	st.evidence = hvp_record(ctx, st, "%s vcpu %u, on this thread", m->label, id);
	if (st.err != HVP_OK)
		return st;
	st = hvp_vcpu_boot_try(m, *out, id, &hvp_prog_report_args, arg, 0);
	HVP_ASSERT(ctx, st.err == HVP_OK, "booting vcpu %u failed: %s %s", id, st.call, hvp_native(ctx, st));
	return st;
}

static void one_thread_two_vcpus(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	uint64_t arg0[4] = { VALUE_A, 0, 0, 0 }, arg1[4] = { VALUE_B, 0, 0, 0 };
	struct hvp_vcpu *v0, *v1;
	struct hvp_status st = start_here(m, 0, arg0, &v0);
	struct hvp_guest_result r0, r1;

	HVP_ASSERT(ctx, st.err == HVP_OK, "the thread's first vCPU failed: %s %s", st.call, hvp_native(ctx, st));
	st = start_here(m, 1, arg1, &v1);

	hvp_decisive(ctx, st.evidence);
	if (st.err != HVP_OK) {
		/* The one refusal that answers: a thread may have one vCPU (HVF arm64's rule). */
		HVP_ASSERT(ctx, hvp_refused_as(st, HVP_CLASS(HVP_ERR_BUSY) | HVP_CLASS(HVP_ERR_EXISTS)),
			   "the second vCPU failed with %s %s, which is not a refusal of a thread's second vCPU", st.call,
			   hvp_native(ctx, st));
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the thread's second vCPU was refused: %s %s", st.call,
				   hvp_native(ctx, st));
		return;
	}
	hvp_guest_run(m, v0, &r0);
	hvp_guest_run(m, v1, &r1);
	hvp_guest_require(ctx, &r0, arg0, 2, "vCPU 0");
	hvp_guest_require(ctx, &r1, arg1, 2, "vCPU 1");
	ctx->f->guest_verified = true;
	hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "one thread created two vCPUs and ran a guest on each in turn");
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

/* Where a run that ended is no evidence of two vCPUs at once: it failed, or the guest did not report. */
static void require_handshake(struct hvp_ctx *ctx, struct hvp_guest_thread *t, uint64_t theirs, const char *who)
{
	if (__atomic_load_n(&t->done, __ATOMIC_ACQUIRE))
		hvp_guest_require(ctx, &t->r, &theirs, 1, who);
}

/*
 * Two vCPUs run at once: each stores its marker and waits for the other's,
 * so neither can finish unless both are in the guest together (or the host
 * time-slices them: either way both make progress concurrently). "No" is
 * a vCPU spinning in its guest while the other's guest never got there.
 */
static void run_two_parallel(struct hvp_ctx *ctx)
{
	struct hvp_guest_thread t[2] = { { .m = hvp_machine_create(ctx, "VM") } };
	uint64_t *flags = hvp_guest_memory(ctx, hvp_page_size(ctx));
	uint64_t arg0[4] = { FLAGS_GPA + 8, FLAGS_GPA, VALUE_A, 0 }, arg1[4] = { FLAGS_GPA, FLAGS_GPA + 8, VALUE_B, 0 };
	bool finished, in_guest[2];

	t[1].m = t[0].m;
	hvp_map(t[0].m, flags, FLAGS_GPA, hvp_page_size(ctx), HVP_PROT_RWX);
	t[0].vcpu = hvp_vcpu_start(t[0].m, 0, &hvp_prog_handshake, arg0);
	t[1].vcpu = hvp_vcpu_start(t[0].m, 1, &hvp_prog_handshake, arg1);
	hvp_guest_thread_start(&t[0]);
	hvp_guest_thread_start(&t[1]);
	finished = hvp_guest_thread_wait(&t[0], SPIN_WAIT_NS) && hvp_guest_thread_wait(&t[1], SPIN_WAIT_NS);
	require_handshake(ctx, &t[0], VALUE_B, "vCPU 0");
	require_handshake(ctx, &t[1], VALUE_A, "vCPU 1");
	in_guest[0] = __atomic_load_n(&flags[0], __ATOMIC_ACQUIRE) == VALUE_A;
	in_guest[1] = __atomic_load_n(&flags[1], __ATOMIC_ACQUIRE) == VALUE_B;
	if (finished) {
		pthread_join(t[0].tid, NULL);
		pthread_join(t[1].tid, NULL);
		hvp_guest_value(ctx, "vCPU 0 saw vCPU 1's marker", t[0].r.value[0]);
		hvp_guest_value(ctx, "vCPU 1 saw vCPU 0's marker", t[1].r.value[0]);
		ctx->f->guest_verified = true;
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "two vCPUs on two threads each waited in the guest for the other's marker and saw it");
		return;
	}
	/* Let both guests finish whatever happened, so that the threads can end; their reports are then the host's. */
	__atomic_store_n(&flags[0], VALUE_A, __ATOMIC_RELEASE);
	__atomic_store_n(&flags[1], VALUE_B, __ATOMIC_RELEASE);
	HVP_ASSERT(ctx, in_guest[0] || in_guest[1], "neither vCPU's guest stored its marker within %lld s",
		   SPIN_WAIT_NS / 1000000000);
	if (in_guest[0] && in_guest[1])
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "both vCPUs stored their markers, but neither saw the other's "
				   "within %lld s", SPIN_WAIT_NS / 1000000000);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "vCPU %d spun in its guest for %lld s while vCPU %d's guest "
				   "never stored its marker", in_guest[0] ? 0 : 1, SPIN_WAIT_NS / 1000000000, in_guest[0] ? 1 : 0);
	hvp_guest_thread_end(&t[0], RETURN_WAIT_NS);
	hvp_guest_thread_end(&t[1], RETURN_WAIT_NS);
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
	if (st.err == HVP_OK) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "a second vCPU with id 0 was created");
		return;
	}
	HVP_ASSERT(ctx, hvp_refused_as(st, HVP_CLASS(HVP_ERR_EXISTS)),
		   "the second vCPU with id 0 failed with %s %s, which does not say the id is in use", st.call,
		   hvp_native(ctx, st));
	hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "a second vCPU with id 0 was refused: %s %s", st.call,
			   hvp_native(ctx, st));
}

const struct hvp_probe probe_vcpu_duplicate_id = {
	.id = "vcpu.duplicate_id",
	.question = "Is a second vCPU with an id already in use refused?",
	.timeout_s = 10,
	.run = run_duplicate_id,
};

/* The id limit the API reports, 0 if it reports none. */
static unsigned long vcpu_id_limit(struct hvp_ctx *ctx)
{
	struct hvp_facts facts = { 0 };
	const char *v;

	ctx->be->facts(ctx->hv, &facts);
	v = hvp_facts_get(&facts, "KVM_CAP_MAX_VCPU_ID");
	return v ? strtoul(v, NULL, 10) : 0;
}

/* The refusal an id out of range gets: an invalid argument. */
#define ID_REFUSAL HVP_CLASS(HVP_ERR_INVALID)

/*
 * The id below the limit must be accepted and run a guest: only then does
 * a refusal at the limit say where the limit is. Its refusal as out of
 * range is the answer "no" (the reported limit is not the API's); any other
 * failure there, or of its guest, answers nothing.
 */
static void run_id_out_of_range(struct hvp_ctx *ctx)
{
	unsigned long limit = vcpu_id_limit(ctx);
	struct hvp_machine *m;
	struct hvp_vcpu *below = NULL, *at = NULL;
	uint64_t arg[4] = { VALUE_A, VALUE_B, 0, 0 };
	struct hvp_guest_result r;
	struct hvp_status st;
	unsigned id = (unsigned)limit;

	if (!limit || limit > 0xffffffffu) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "the API reports no vCPU id limit to hold it to");
		return;
	}
	m = hvp_machine_create(ctx, "VM");
	st = ctx->be->vcpu_create(m->vm, id - 1, &below);
	st.evidence = hvp_record(ctx, st, "VM vcpu %u (just below the limit)", id - 1);
	if (st.err != HVP_OK) {
		HVP_ASSERT(ctx, hvp_refused_as(st, ID_REFUSAL), "vCPU id %u failed with %s %s, which does not say the id is "
			   "out of range", id - 1, st.call, hvp_native(ctx, st));
		hvp_decisive(ctx, st.evidence);
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "id %u, below the reported limit %u, was refused too: %s %s",
				   id - 1, id, st.call, hvp_native(ctx, st));
		return;
	}
	HVP_ASSERT(ctx, hvp_vcpu_boot_try(m, below, id - 1, &hvp_prog_report_args, arg, 0).err == HVP_OK,
		   "vCPU %u could not be put at its program", id - 1);
	hvp_guest_run(m, below, &r);
	hvp_guest_require(ctx, &r, arg, 2, "the vCPU just below the limit");
	ctx->f->guest_verified = true;
	st = ctx->be->vcpu_create(m->vm, id, &at);
	hvp_decisive(ctx, hvp_record(ctx, st, "VM vcpu %u (the limit)", id));
	if (st.err == HVP_OK) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "vCPU id %u, the reported limit, was accepted", id);
		return;
	}
	HVP_ASSERT(ctx, hvp_refused_as(st, ID_REFUSAL), "vCPU id %u failed with %s %s, which does not say the id is "
		   "out of range", id, st.call, hvp_native(ctx, st));
	hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "id %u (the reported limit) was refused with %s; id %u was accepted and "
			   "ran a guest", id, hvp_native(ctx, st), id - 1);
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
 * guest stores a marker, then spins on a flag no one sets: the marker is
 * its own report that the vCPU is inside run, and run returns only if what
 * is asked about works. The flag is set at the end, and the guest's report
 * of it shows the vCPU was still in that loop.
 */
#define INTRUDERS_WAIT_NS 300000000ll

struct spinning {
	struct hvp_guest_thread t;
	uint64_t *flag;
};

static void start_spinning(struct hvp_ctx *ctx, struct spinning *s)
{
	s->flag = hvp_guest_thread_spin(ctx, &s->t, FLAGS_GPA);
}

/*
 * Releases the spinning guest and joins its thread; a run that does not
 * come back within 2 s is kicked. Returns 0 if it never comes back: the
 * thread is then left, so that the probe ends with what happened.
 */
static int release(struct hvp_ctx *ctx, struct spinning *s)
{
	__atomic_store_n(s->flag, VALUE_A, __ATOMIC_RELEASE);
	if (hvp_guest_thread_end(&s->t, RETURN_WAIT_NS))
		return 1;
	hvp_kick(ctx, s->t.vcpu);
	return hvp_guest_thread_end(&s->t, RETURN_WAIT_NS);
}

/* True when the run ended as a kick or a signal ends it: an interruption, the guest reporting nothing. */
static bool interrupted(const struct hvp_guest_result *r)
{
	return r->last.kind == HVP_EXIT_INTERRUPTED && r->n == 0 && !r->done &&
	       (r->st.err == HVP_OK || r->st.err == HVP_ERR_INTERRUPTED);
}

/*
 * After an interruption: lets the guest go on, from this thread, and
 * requires its report of the flag: it was still spinning, and the vCPU
 * still runs. Ends the probe as crashed otherwise.
 */
static void resume_after_interruption(struct hvp_ctx *ctx, struct spinning *s, const char *what)
{
	struct hvp_guest_result after;
	char how[128];

	pthread_join(s->t.tid, NULL);
	HVP_ASSERT(ctx, interrupted(&s->t.r), "the run ended, but not as %s ends it: %s", what,
		   hvp_guest_how(ctx, &s->t.r, how, sizeof(how)));
	__atomic_store_n(s->flag, VALUE_A, __ATOMIC_RELEASE);
	hvp_guest_resume(s->t.m, s->t.vcpu, &after, 0);
	hvp_guest_require(ctx, &after, (uint64_t[1]){ VALUE_A }, 1, "the guest resumed after the interruption");
	hvp_guest_value(ctx, "flag as the resumed guest read it", after.value[0]);
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
	/* From the kick to the run call's own return, as the vCPU thread timed it (not the waiter's polling). */
	latency = s.t.r.returned_ns - t0;
	hvp_record(ctx, st, "kick from another thread");
	if (st.err != HVP_OK) {
		HVP_ASSERT(ctx, hvp_refused_as(st, HVP_CLASS(HVP_ERR_UNSUPPORTED)),
			   "the kick failed with %s %s, which does not say the API cannot kick", st.call, hvp_native(ctx, st));
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the API refused the kick: %s %s", st.call, hvp_native(ctx, st));
		release(ctx, &s);
		return;
	}
	if (!returned) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "a vCPU spinning in the guest was kicked, but its run had not "
				   "returned %lld s later", RETURN_WAIT_NS / 1000000000);
		release(ctx, &s);
		return;
	}
	resume_after_interruption(ctx, &s, "a kick");
	hvp_decisive(ctx, s.t.r.st.evidence);
	ctx->f->guest_verified = true;
	hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
			   "a vCPU spinning in the guest was kicked out: run returned %s (exit %s) within %.0f us, and "
			   "the guest then went on", hvp_native(ctx, s.t.r.st), hvp_exit_kind_name(s.t.r.last.kind),
			   (double)latency / 1e3);
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

static void signal_during_run(struct hvp_ctx *ctx)
{
	struct sigaction sa = { .sa_handler = note_signal };
	struct spinning s = { { 0 } };
	int returned, err;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	start_spinning(ctx, &s);
	err = pthread_kill(s.t.tid, SIGUSR2);
	HVP_ASSERT(ctx, err == 0, "pthread_kill: %s", strerror(err));
	returned = hvp_guest_thread_wait(&s.t, RETURN_WAIT_NS);
	if (!returned) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "a SIGUSR2 to the thread inside run did not make run return "
				   "within %lld s", RETURN_WAIT_NS / 1000000000);
		release(ctx, &s);
		return;
	}
	resume_after_interruption(ctx, &s, "a signal");
	hvp_decisive(ctx, s.t.r.st.evidence);
	ctx->f->guest_verified = true;
	hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "a SIGUSR2 to the vCPU thread made run return %s (exit %s), and "
			   "the guest then went on", hvp_native(ctx, s.t.r.st), hvp_exit_kind_name(s.t.r.last.kind));
}

/*
 * The thread inside run must be the one signalled. hvprobe's HVF backend
 * runs each vCPU on an owner thread of its own (the API's rule), which the
 * probe does not know: a signal to the probe's thread would reach a thread
 * waiting for that owner, not the one inside run.
 */
static void run_signal_during_run(struct hvp_ctx *ctx)
{
	if (ctx->be->vcpu_direct)
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "not applicable: hvprobe's %s backend runs each vCPU on a "
				   "thread of its own, as the API requires, so the probe cannot signal the thread inside run",
				   ctx->be->name);
	else
		signal_during_run(ctx);
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

/*
 * Waits for an intruder's call to come back after the first run returned;
 * a run of its own that went into the guest is kicked out after a grace
 * period. Returns 0 if it never comes back.
 */
static int intruder_back(struct hvp_ctx *ctx, struct intruder *in)
{
	int64_t kick_from = hvp_now_ns() + RETURN_WAIT_NS, deadline = kick_from + RETURN_WAIT_NS;

	while (!__atomic_load_n(&in->returned_at, __ATOMIC_ACQUIRE)) {
		int64_t now = hvp_now_ns();
		if (now > deadline)
			return 0;
		if (now > kick_from)
			hvp_kick(ctx, in->vcpu);
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
	pthread_join(in->tid, NULL);
	return 1;
}

/*
 * A call that came back while the first thread was inside run: it ran
 * alongside (OK), or the API refused it for the vCPU being busy or not the
 * thread's. Anything else answers nothing.
 */
static void require_concurrent_answer(struct hvp_ctx *ctx, const struct intruder *in)
{
	HVP_ASSERT(ctx, in->st.err == HVP_OK || hvp_refused_as(in->st, WRONG_THREAD_REFUSAL),
		   "the second thread's %s came back at once with %s %s (%s), which says nothing about a vCPU in use",
		   in->regs ? "register read" : "run", in->st.call, hvp_native(ctx, in->st), hvp_err_name(in->st.err));
}

/*
 * The first run was inside the guest all along: it returned with the
 * guest's report of the flag, and went on cleanly, to the final report or,
 * where the waiting run took that, to the halt after it. The report's full
 * value is read from the registers after the exit (x86: the port carries
 * 32 bits), so a waiting run that went on to the final report may have
 * cleared them first: then 0, what the final report leaves there, is the
 * only other value that can be read.
 */
static void require_first_run_inside(struct hvp_ctx *ctx, const struct hvp_guest_result *r, const struct intruder *run)
{
	/* The guest went past its final report, in either thread's run (x86 halts after it; arm64 repeats it). */
	bool past_final = hvp_guest_arch_channel(&run->x) == HVP_CHANNEL_DONE || run->x.kind == HVP_EXIT_HLT ||
			  r->done || r->last.kind == HVP_EXIT_HLT;
	bool cleared = past_final && r->n >= 1 && r->value[0] == 0;
	/*
	 * KVM: both threads read their exit from the vCPU's one shared run page.
	 * When the waiting run takes the vCPU the moment the first returns, it
	 * runs the guest on to its final report and rewrites the page before the
	 * first thread reads it: the first then reads that final report. The
	 * guest got there only past its check of the flag, so the first run did
	 * end at the flag (seen on PVM about one run in four). Likewise the
	 * waiting run's own record may already be the halt after the final
	 * report, when the first thread's next run overwrote the page first.
	 */
	bool overwritten = hvp_guest_arch_channel(&run->x) == HVP_CHANNEL_DONE && r->n == 0 && hvp_guest_ok(r);
	char how[128];

	HVP_ASSERT(ctx, r->st.err == HVP_OK && ((r->n >= 1 && (r->value[0] == VALUE_A || cleared)) || overwritten),
		   "the first thread's run did not end with the guest's report of the flag: %s",
		   hvp_guest_how(ctx, r, how, sizeof(how)));
}

static void record_intruder(struct hvp_ctx *ctx, const struct intruder *in, bool early)
{
	if (in->regs)
		hvp_record(ctx, in->st, "second thread's register read: returned %s", early ? "at once" : "after the first's");
	else
		hvp_record(ctx, in->st, "second thread's run: returned %s; %s exit 0x%" PRIx64,
			   early ? "at once" : "after the first's", hvp_exit_kind_name(in->x.kind), in->x.addr);
}

static void run_concurrent_run_same(struct hvp_ctx *ctx)
{
	const struct timespec wait = { 0, INTRUDERS_WAIT_NS };
	struct spinning s = { { 0 } };
	struct intruder in[2] = { { .ctx = ctx, .regs = 0 }, { .ctx = ctx, .regs = 1 } };
	char got[2][HVP_ERRNAME_MAX];
	int64_t released;
	bool early[2];

	start_spinning(ctx, &s);
	calls_from_any_thread(ctx, s.t.vcpu, true); /* the framework's answer, not hvprobe's queue */
	for (int i = 0; i < 2; i++) {
		in[i].vcpu = s.t.vcpu;
		HVP_ASSERT(ctx, pthread_create(&in[i].tid, NULL, intruder_main, &in[i]) == 0, "pthread_create failed");
	}
	nanosleep(&wait, NULL);
	for (int i = 0; i < 2; i++)
		early[i] = __atomic_load_n(&in[i].returned_at, __ATOMIC_ACQUIRE) != 0;
	calls_from_any_thread(ctx, s.t.vcpu, false);
	released = hvp_now_ns();
	HVP_ASSERT(ctx, release(ctx, &s), "the spinning vCPU's run did not come back, even when kicked");
	for (int i = 0; i < 2; i++) {
		HVP_ASSERT(ctx, intruder_back(ctx, &in[i]), "the second thread's %s did not come back, even when kicked",
			   in[i].regs ? "register read" : "run");
		record_intruder(ctx, &in[i], early[i]);
		if (early[i])
			require_concurrent_answer(ctx, &in[i]);
	}
	require_first_run_inside(ctx, &s.t.r, &in[0]);
	hvp_decisive(ctx, (int)ctx->f->n_evidence - 2);
	ctx->f->guest_verified = true; /* the guest's marker, then its report of the flag on the first thread */
	for (int i = 0; i < 2; i++)
		hvp_copy_str(got[i], sizeof(got[i]), hvp_native(ctx, in[i].st));
	if (!early[0] && !early[1])
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "a second run and a register read from other threads both waited until the running "
				   "thread's run returned (%.0f ms later), then returned %s and %s%s",
				   (double)(in[0].returned_at - released) / 1e6, got[0], got[1], rule_note(ctx));
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "while one thread ran the vCPU, a second run returned %s (%s) and a register read %s (%s)%s",
				   early[0] ? "at once" : "after it", got[0], early[1] ? "at once" : "after it", got[1],
				   rule_note(ctx));
}

const struct hvp_probe probe_vcpu_concurrent_run_same = {
	.id = "vcpu.concurrent_run_same",
	.question = "While one thread is inside run on a vCPU, do another thread's run and register read on it wait?",
	.timeout_s = 15,
	.run = run_concurrent_run_same,
};
