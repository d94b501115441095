/* SPDX-License-Identifier: MIT */
/*
 * The truth rules (DESIGN.md) for the probes that use threads, children and
 * runs in progress: vm.*, vcpu.*, fork.*, lifecycle.* and the machine layer
 * under them. A backend that wraps the mock misbehaves in one chosen way
 * per run, as a real API or host might: a refusal the question is not
 * about, a run that fails at once, a child that dies, guest reports that
 * vanish or change, a VM per process. Each check names the rule it holds
 * the probe to: such a failure is never the answer, a refusal counts only
 * in the class asked about, and "inside run" is the guest's own word.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest.h"
#include "machine.h"
#include "mock_backend.h"
#include "probe.h"
#include "runner.h"
#include "tap.h"

#define XOR_REPORT 0x5a5a5a5a5a5a5a5aull
#define MOCK_MAX_VCPU_ID 1024 /* what the mock reports as KVM_CAP_MAX_VCPU_ID */

/* How the wrapped backend misbehaves in the next run; inherited by the probe's processes. */
static struct twist {
	unsigned refuse_ids_from;    /* vcpu_create of an id at or above: refused (0: never) */
	int refuse_ids_errno;        /* ... with this errno */
	enum hvp_err refuse_ids_class;
	bool one_vm;                 /* a second live VM is refused with EBUSY, as HVF's one VM per process */
	bool destroy_after_refusal;  /* vm_destroy after a refused create fails (EFAULT), as the seed saw on HVF */
	bool run_fails_at_once;      /* every run returns EINTR at once, never entering the guest */
	bool reports_changed;        /* reported values come out XORed */
	bool child_dies;             /* a forked process dies at its first call */
	bool child_eproto;           /* a forked process's calls fail with EPROTO */
	pid_t probe_pid;             /* the probe's own process: the first to open the API */
	unsigned live_vms;
	bool refused_create;
} twist;

static __thread bool last_exit_was_report;

#define M hvp_backend_mock

static struct hvp_status fail(const char *call, int err, enum hvp_err class)
{
	return (struct hvp_status){ class, err, call, -1 };
}

/* In a process the probe forked: dies or fails as told. Returns true with *st set when the call fails. */
static bool in_child(const char *call, struct hvp_status *st)
{
	if (!twist.probe_pid || getpid() == twist.probe_pid)
		return false;
	if (twist.child_dies)
		kill(getpid(), SIGKILL);
	if (twist.child_eproto) {
		*st = fail(call, EPROTO, HVP_ERR_OTHER);
		return true;
	}
	return false;
}

#define CHILD_TWIST(call)                       \
	do {                                    \
		struct hvp_status _st;          \
		if (in_child(call, &_st))       \
			return _st;             \
	} while (0)

static struct hvp_status t_open(const struct hvp_open_opts *o, struct hvp_hv **out)
{
	if (!twist.probe_pid)
		twist.probe_pid = getpid();
	return M.open(o, out);
}

static struct hvp_status t_vm_create(struct hvp_hv *hv, struct hvp_vm **out)
{
	struct hvp_status st;

	*out = NULL;
	CHILD_TWIST("mock_vm_create");
	/* Counted before the create, atomically: two threads creating at once must not both be first. */
	if (twist.one_vm && __atomic_fetch_add(&twist.live_vms, 1, __ATOMIC_SEQ_CST) > 0) {
		__atomic_fetch_sub(&twist.live_vms, 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&twist.refused_create, true, __ATOMIC_SEQ_CST);
		return fail("mock_vm_create", EBUSY, HVP_ERR_BUSY);
	}
	st = M.vm_create(hv, out);
	if (twist.one_vm && st.err != HVP_OK)
		__atomic_fetch_sub(&twist.live_vms, 1, __ATOMIC_SEQ_CST);
	return st;
}

static struct hvp_status t_vm_destroy(struct hvp_vm *vm)
{
	struct hvp_status st;

	CHILD_TWIST("mock_vm_destroy");
	if (twist.destroy_after_refusal && __atomic_load_n(&twist.refused_create, __ATOMIC_SEQ_CST))
		return fail("mock_vm_destroy", EFAULT, HVP_ERR_FAULT);
	st = M.vm_destroy(vm);
	if (twist.one_vm && st.err == HVP_OK)
		__atomic_fetch_sub(&twist.live_vms, 1, __ATOMIC_SEQ_CST);
	return st;
}

static struct hvp_status t_mem_map(struct hvp_vm *vm, void *host, uint64_t gpa, uint64_t size, unsigned prot)
{
	CHILD_TWIST("mock_map");
	return M.mem_map(vm, host, gpa, size, prot);
}

static struct hvp_status t_vcpu_create(struct hvp_vm *vm, unsigned id, struct hvp_vcpu **out)
{
	*out = NULL;
	CHILD_TWIST("mock_vcpu_create");
	if (twist.refuse_ids_from && id >= twist.refuse_ids_from)
		return fail("mock_vcpu_create", twist.refuse_ids_errno, twist.refuse_ids_class);
	return M.vcpu_create(vm, id, out);
}

static struct hvp_status t_vcpu_run(struct hvp_vcpu *v, struct hvp_exit *x)
{
	struct hvp_status st;

	CHILD_TWIST("mock_run");
	last_exit_was_report = false;
	if (twist.run_fails_at_once) {
		*x = (struct hvp_exit){ .kind = HVP_EXIT_INTERRUPTED };
		return fail("mock_run", EINTR, HVP_ERR_INTERRUPTED);
	}
	st = M.vcpu_run(v, x);
	if (st.err == HVP_OK && twist.reports_changed && hvp_guest_arch_channel(x) == HVP_CHANNEL_REPORT) {
		x->value ^= XOR_REPORT;
		last_exit_was_report = true;
	}
	return st;
}

static struct hvp_status t_regs_get(struct hvp_vcpu *v, struct hvp_regs *r)
{
	struct hvp_status st;

	CHILD_TWIST("mock_regs_get");
	st = M.regs_get(v, r);
	if (st.err == HVP_OK && last_exit_was_report)
		r->gpr[0] ^= XOR_REPORT;
	return st;
}

static struct hvp_backend twisted_backend(void)
{
	struct hvp_backend b = M;

	b.open = t_open;
	b.vm_create = t_vm_create;
	b.vm_destroy = t_vm_destroy;
	b.mem_map = t_mem_map;
	b.vcpu_create = t_vcpu_create;
	b.vcpu_run = t_vcpu_run;
	b.regs_get = t_regs_get;
	return b;
}

/* Runs one probe with the twist set; the twist is cleared afterwards. */
static struct hvp_finding run_probe(const struct hvp_probe *p)
{
	struct hvp_backend be = twisted_backend();
	struct hvp_run_opts o = { .be = &be, .timeout_s = 8, .bench = { .duration_s = 0.1, .pin_cpu = -1 } };
	struct hvp_finding f;
	int interrupted;

	memset(&f, 0, sizeof(f));
	if (p)
		hvp_run_probes(&p, 1, &o, &f, &interrupted);
	memset(&twist, 0, sizeof(twist));
	return f;
}

static struct hvp_finding run(const char *id)
{
	return run_probe(hvp_probe_find(id));
}

static bool has_evidence(const struct hvp_finding *f, const char *call, const char *errname)
{
	for (unsigned i = 0; i < f->n_evidence; i++)
		if (strcmp(f->evidence[i].call, call) == 0 && (!errname || strcmp(f->evidence[i].errname, errname) == 0))
			return true;
	return false;
}

/* Evidence lists only calls that reached the API: here, the mock's. */
static bool only_api_calls(const struct hvp_finding *f)
{
	for (unsigned i = 0; i < f->n_evidence; i++)
		if (strncmp(f->evidence[i].call, "mock_", 5) != 0)
			return false;
	return true;
}

static void crashed(struct tap *t, const struct hvp_finding *f, const char *why)
{
	ok(t, f->answer == HVP_ANSWER_CRASHED && !f->guest_verified, "%s: %s — %s (%s)", f->id, hvp_answer_name(f->answer),
	   why, f->reason);
}

/* vcpu.id_out_of_range: the id below the limit must be accepted and run for the refusal at the limit to count. */
static void id_below_the_limit(struct tap *t)
{
	struct hvp_finding f;

	twist.refuse_ids_from = MOCK_MAX_VCPU_ID - 1;
	twist.refuse_ids_errno = EINVAL;
	twist.refuse_ids_class = HVP_ERR_INVALID;
	f = run("vcpu.id_out_of_range");
	ok(t, f.answer == HVP_ANSWER_NO && strstr(f.reason, "below the reported limit"),
	   "vcpu.id_out_of_range: the id below the limit refused as out of range too is 'no' (%s)", f.reason);
	twist.refuse_ids_from = MOCK_MAX_VCPU_ID - 1;
	twist.refuse_ids_errno = EPROTO;
	twist.refuse_ids_class = HVP_ERR_OTHER;
	f = run("vcpu.id_out_of_range");
	crashed(t, &f, "the id below the limit failed with an error that is no answer");
	f = run("vcpu.id_out_of_range");
	ok(t, f.answer == HVP_ANSWER_YES && f.guest_verified && strstr(f.reason, "accepted and ran a guest"),
	   "vcpu.id_out_of_range: yes once the id below ran its guest (%s)", f.reason);
}

/* fork.vm_used_in_child: the child's exit status and report both count; only the foreign-process refusal is "no". */
static void children(struct tap *t)
{
	struct hvp_finding f;

	twist.child_dies = true;
	f = run("fork.vm_used_in_child");
	crashed(t, &f, "a child killed at its first call answered nothing");
	ok(t, strstr(f.reason, "killed") != NULL, "and the finding says how the child ended (%s)", f.reason);
	twist.child_eproto = true;
	f = run("fork.vm_used_in_child");
	crashed(t, &f, "a child refused with EPROTO, not the foreign-process EIO");
	f = run("fork.vm_used_in_child");
	ok(t, f.answer == HVP_ANSWER_NO && f.decisive >= 0 && strcmp(f.evidence[f.decisive].errname, "EIO") == 0,
	   "fork.vm_used_in_child: no, decided by the child's EIO (%s)", f.reason);
	twist.child_dies = true;
	f = run("fork.child_own_vm");
	crashed(t, &f, "a child killed at its first call answered nothing");
	twist.child_dies = true;
	f = run("vm.two_in_two_processes");
	crashed(t, &f, "a second process killed at its first call, never hanging the first");
}

/* "Inside run" is the guest's marker: a run that fails at once is never taken for one a destroy, a kick or an exit ended. */
static void runs_that_fail_at_once(struct tap *t)
{
	static const char *const ids[] = { "lifecycle.destroy_while_running", "lifecycle.exit_with_running_vcpu",
					   "vcpu.kick", "vcpu.signal_during_run", "vcpu.concurrent_run_same" };
	struct hvp_finding f;

	for (unsigned i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		twist.run_fails_at_once = true;
		f = run(ids[i]);
		crashed(t, &f, "a run that failed at once was never inside run");
		ok(t, strstr(f.reason, "spinning") != NULL, "%s: and says the guest never reported spinning (%s)", ids[i],
		   f.reason);
	}
}

/* guest_verified is the guest's deciding values, compared: changed reports verify nothing. */
static void changed_reports(struct tap *t)
{
	static const char *const ids[] = { "fork.guest_memory_private", "fork.guest_memory_shared",
					   "vcpu.concurrent_run_same", "vcpu.kick", "vcpu.signal_during_run",
					   "lifecycle.destroy_while_running", "vm.two_in_one_thread" };
	struct hvp_finding f;

	for (unsigned i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		twist.reports_changed = true;
		f = run(ids[i]);
		crashed(t, &f, "the guest's reports came out changed");
	}
	f = run("fork.guest_memory_private");
	ok(t, f.answer == HVP_ANSWER_YES && f.guest_verified, "fork.guest_memory_private: yes, guest-verified, when the "
	   "reports are the guest's (%s)", f.reason);
}

/* One VM per process (HVF): a refused create is "no", its teardown recorded, never asserted, and no thread waits forever. */
static void one_vm_per_process(struct tap *t)
{
	struct hvp_finding f;

	twist.one_vm = twist.destroy_after_refusal = true;
	f = run("vm.two_in_one_thread");
	ok(t, f.answer == HVP_ANSWER_NO && strstr(f.reason, "EBUSY") && has_evidence(&f, "mock_vm_destroy", "EFAULT"),
	   "vm.two_in_one_thread: no from the refused create; the failed teardown is evidence (%s)", f.reason);
	twist.one_vm = true;
	f = run("vm.two_in_two_threads");
	ok(t, f.answer == HVP_ANSWER_NO && strstr(f.reason, "EBUSY") && f.elapsed_ns < 4000000000ll,
	   "vm.two_in_two_threads: no from the refused create, at once, not hung (%s, %.1f s)", f.reason,
	   (double)f.elapsed_ns / 1e9);
	twist.one_vm = twist.destroy_after_refusal = true;
	f = run("vm.two_in_two_threads");
	ok(t, f.answer == HVP_ANSWER_NO && has_evidence(&f, "mock_vm_destroy", "EFAULT"),
	   "vm.two_in_two_threads: the other thread's failed teardown is recorded, not asserted (%s)", f.reason);
	twist.one_vm = true;
	f = run("vm.destroy_after_refused_create");
	ok(t, f.answer == HVP_ANSWER_YES && strstr(f.reason, "EBUSY") && f.guest_verified,
	   "vm.destroy_after_refused_create: the refused create, then the first VM destroyed and a new one run (%s)",
	   f.reason);
}

/*
 * hvprobe's own page tables full: hvprobe's failure, never an API's refusal
 * nor evidence. 300 GiB in one map take a page-table page per GiB, more
 * than the pool holds; the mock never touches the host memory behind it.
 */
static void page_tables_full(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	uint64_t size = 300ull << 30;
	void *host = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct hvp_status st;

	HVP_ASSERT(ctx, host != MAP_FAILED, "no room for 300 GiB of address space");
	st = hvp_map_try(m, host, 1ull << 30, size, HVP_PROT_RWX);
	if (st.err != HVP_OK)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the map was refused: %s", st.call);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "300 GiB mapped");
}

/* A spinning guest is established by its marker: a run that fails at once is no spinning guest. */
static void spin_then_answer(struct hvp_ctx *ctx)
{
	struct hvp_guest_thread t = { 0 };

	hvp_guest_thread_spin(ctx, &t, 0x10000000);
	hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "a guest is spinning");
}

static void machine_layer(struct tap *t)
{
	const struct hvp_probe pages = { .id = "test.page_tables_full", .question = "?", .run = page_tables_full };
	const struct hvp_probe spin = { .id = "test.spin", .question = "?", .run = spin_then_answer };
	struct hvp_finding f;

	f = run_probe(&pages);
	ok(t, f.answer == HVP_ANSWER_CRASHED && strstr(f.reason, "page tables") &&
		      !has_evidence(&f, "guest page tables", NULL),
	   "no room in the guest page tables is hvprobe's failure, not evidence of a call (%s)", f.reason);
	ok(t, f.n_evidence > 0 && only_api_calls(&f), "every call in the evidence is one the API answered (%u calls)",
	   f.n_evidence);
	twist.run_fails_at_once = true;
	f = run_probe(&spin);
	crashed(t, &f, "hvp_guest_thread_spin: a run that failed at once is no spinning guest");
	f = run_probe(&spin);
	ok(t, f.answer == HVP_ANSWER_YES && f.n_guest == 1 && strstr(f.guest[0].label, "marker"),
	   "hvp_guest_thread_spin returns once the guest's marker is seen, and keeps it as the guest's report (%s)",
	   f.reason);
}

int main(void)
{
	struct tap t;

	TAP_PLAN_LATER(&t);
	id_below_the_limit(&t);
	children(&t);
	runs_that_fail_at_once(&t);
	changed_reports(&t);
	one_vm_per_process(&t);
	machine_layer(&t);
	return tap_done(&t);
}
