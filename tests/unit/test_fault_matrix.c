/* SPDX-License-Identifier: MIT */
/*
 * Every question probe under every fault: no fault may turn into the answer.
 *
 * A backend that wraps the mock injects one fault per run: the Nth backend
 * call fails with an errno no question is about (EPROTO); every create
 * after the first few fails with EMFILE, the process's open-file limit;
 * every run call fails at once; the guest's reports vanish (each report
 * exit becomes a HLT exit); the guest's reports carry wrong values; a
 * process the probe forked dies at its first backend call. For each probe
 * and each fault that really fired, the finding must not be `hung`, and
 * must not be yes or no unless the fault could be an answer at all: only
 * wrong values from the guest can, and then never the answer the contract
 * expects (or, where the contract is silent, the answer of the clean run).
 * A fault is not evidence (DESIGN.md, "Truth rules").
 *
 * The matrix is generated from the registry and from what each probe does
 * in a clean run (how many calls it makes), so a new probe is covered
 * without anyone adding it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "builtin_contract.h"
#include "contract.h"
#include "guest.h"
#include "mock_backend.h"
#include "probe.h"
#include "runner.h"
#include "tap.h"

enum fault {
	FAULT_NONE,
	FAULT_NTH_CALL_FAILS,  /* call number nth fails with EPROTO */
	FAULT_EMFILE_AFTER,    /* creates after the first nth succeed fail with EMFILE */
	FAULT_RUN_FAILS,       /* every run call fails at once */
	FAULT_REPORTS_VANISH,  /* report and final-report exits become HLT exits */
	FAULT_REPORTS_WRONG,   /* reported values are changed */
	FAULT_CHILD_CRASHES,   /* a forked process dies at its first backend call */
};

static const char *const fault_names[] = {
	[FAULT_NONE] = "no fault",
	[FAULT_NTH_CALL_FAILS] = "call %u fails with EPROTO",
	[FAULT_EMFILE_AFTER] = "EMFILE after %u creates",
	[FAULT_RUN_FAILS] = "every run fails at once",
	[FAULT_REPORTS_VANISH] = "the guest's reports vanish",
	[FAULT_REPORTS_WRONG] = "the guest's reports carry wrong values",
	[FAULT_CHILD_CRASHES] = "a forked child crashes",
};

#define WRONG_VALUE_XOR 0x5a5a5a5a5a5a5a5aull

/* Shared with the probe's process and its children: the plan and what happened. */
struct fault_state {
	enum fault kind;
	unsigned nth;
	unsigned calls;   /* backend calls made (all processes of the probe) */
	unsigned creates; /* VMs, vCPUs and maps created */
	unsigned fired;   /* times the fault was injected */
	pid_t probe_pid;  /* the probe's own process (set when it opens the API) */
	bool trace;       /* print every call with its number (HVP_FAULT_TRACE=1, one probe) */
};

static struct fault_state *fs;

/* Per thread: the last run ended in a report, so RAX/x0 carries its value. */
static __thread int last_exit_was_report;

static struct hvp_status failure(const char *call, int err, enum hvp_err class)
{
	return (struct hvp_status){ class, err, call, -1 };
}

/*
 * Counts one call; returns 1 with *st set when the fault replaces it.
 * create: the call makes an object that costs a descriptor on KVM.
 */
static int inject(const char *call, int create, struct hvp_status *st)
{
	unsigned n = __atomic_add_fetch(&fs->calls, 1, __ATOMIC_SEQ_CST);

	if (fs->trace)
		fprintf(stderr, "# call %u: %s (pid %d)\n", n, call, (int)getpid());

	if (fs->kind == FAULT_CHILD_CRASHES && getpid() != fs->probe_pid) {
		__atomic_add_fetch(&fs->fired, 1, __ATOMIC_SEQ_CST);
		kill(getpid(), SIGKILL);
	}
	if (fs->kind == FAULT_NTH_CALL_FAILS && n == fs->nth) {
		__atomic_add_fetch(&fs->fired, 1, __ATOMIC_SEQ_CST);
		*st = failure(call, EPROTO, HVP_ERR_OTHER);
		return 1;
	}
	if (create && fs->kind == FAULT_EMFILE_AFTER &&
	    __atomic_add_fetch(&fs->creates, 1, __ATOMIC_SEQ_CST) > fs->nth) {
		__atomic_add_fetch(&fs->fired, 1, __ATOMIC_SEQ_CST);
		*st = failure(call, EMFILE, HVP_ERR_RLIMIT);
		return 1;
	}
	return 0;
}

#define M hvp_backend_mock
#define INJECT(call, create)                    \
	do {                                    \
		struct hvp_status _st;          \
		if (inject(call, create, &_st)) \
			return _st;             \
	} while (0)

static struct hvp_status f_open(const struct hvp_open_opts *o, struct hvp_hv **out)
{
	fs->probe_pid = getpid();
	return M.open(o, out);
}

static struct hvp_status f_vm_create(struct hvp_hv *hv, struct hvp_vm **out)
{
	*out = NULL;
	INJECT("mock_vm_create", 1);
	return M.vm_create(hv, out);
}

static struct hvp_status f_vm_destroy(struct hvp_vm *vm)
{
	INJECT("mock_vm_destroy", 0);
	return M.vm_destroy(vm);
}

static struct hvp_status f_mem_map(struct hvp_vm *vm, void *host, uint64_t gpa, uint64_t size, unsigned prot)
{
	INJECT("mock_map", 1);
	return M.mem_map(vm, host, gpa, size, prot);
}

static struct hvp_status f_mem_unmap(struct hvp_vm *vm, uint64_t gpa, uint64_t size)
{
	INJECT("mock_unmap", 0);
	return M.mem_unmap(vm, gpa, size);
}

static struct hvp_status f_mem_protect(struct hvp_vm *vm, uint64_t gpa, uint64_t size, unsigned prot)
{
	INJECT("mock_protect", 0);
	return M.mem_protect(vm, gpa, size, prot);
}

static struct hvp_status f_dirty_enable(struct hvp_vm *vm, uint64_t gpa, uint64_t size, bool on)
{
	INJECT("mock_dirty_log_enable", 0);
	return M.dirty_log_enable(vm, gpa, size, on);
}

static struct hvp_status f_dirty_get(struct hvp_vm *vm, uint64_t gpa, uint64_t size, uint64_t *bitmap)
{
	INJECT("mock_dirty_log_get", 0);
	return M.dirty_log_get(vm, gpa, size, bitmap);
}

static struct hvp_status f_vcpu_create(struct hvp_vm *vm, unsigned id, struct hvp_vcpu **out)
{
	*out = NULL;
	INJECT("mock_vcpu_create", 1);
	return M.vcpu_create(vm, id, out);
}

static struct hvp_status f_vcpu_destroy(struct hvp_vcpu *v)
{
	INJECT("mock_vcpu_destroy", 0);
	return M.vcpu_destroy(v);
}

static struct hvp_status f_vcpu_boot(struct hvp_vcpu *v, const struct hvp_boot *b)
{
	INJECT("mock_vcpu_boot", 0);
	return M.vcpu_boot(v, b);
}

/* The guest's side of the faults: its reports vanish or change on their way out. */
static void disturb_reports(struct hvp_exit *x)
{
	enum hvp_guest_channel ch = hvp_guest_arch_channel(x);

	last_exit_was_report = 0;
	if (fs->kind == FAULT_REPORTS_VANISH && (ch == HVP_CHANNEL_REPORT || ch == HVP_CHANNEL_DONE)) {
		__atomic_add_fetch(&fs->fired, 1, __ATOMIC_SEQ_CST);
		*x = (struct hvp_exit){ .kind = HVP_EXIT_HLT };
	} else if (fs->kind == FAULT_REPORTS_WRONG && ch == HVP_CHANNEL_REPORT) {
		__atomic_add_fetch(&fs->fired, 1, __ATOMIC_SEQ_CST);
		x->value ^= WRONG_VALUE_XOR;
		last_exit_was_report = 1;
	}
}

static struct hvp_status f_vcpu_run(struct hvp_vcpu *v, struct hvp_exit *x)
{
	struct hvp_status st;

	if (fs->kind == FAULT_RUN_FAILS) {
		__atomic_add_fetch(&fs->fired, 1, __ATOMIC_SEQ_CST);
		*x = (struct hvp_exit){ .kind = HVP_EXIT_INTERNAL_ERROR };
		return failure("mock_run", EPROTO, HVP_ERR_OTHER);
	}
	INJECT("mock_run", 0);
	st = M.vcpu_run(v, x);
	if (st.err == HVP_OK)
		disturb_reports(x);
	return st;
}

static struct hvp_status f_regs_get(struct hvp_vcpu *v, struct hvp_regs *r)
{
	struct hvp_status st;

	INJECT("mock_regs_get", 0);
	st = M.regs_get(v, r);
	if (st.err == HVP_OK && last_exit_was_report)
		r->gpr[0] ^= WRONG_VALUE_XOR;
	return st;
}

static struct hvp_status f_regs_set(struct hvp_vcpu *v, const struct hvp_regs *r)
{
	INJECT("mock_regs_set", 0);
	return M.regs_set(v, r);
}

static struct hvp_status f_kick(struct hvp_vcpu *v)
{
	INJECT("mock_kick", 0);
	return M.vcpu_kick(v);
}

static struct hvp_status f_tsc_set(struct hvp_vcpu *v, uint64_t value)
{
	INJECT("mock_tsc_set", 0);
	return M.tsc_set(v, value);
}

static struct hvp_status f_tsc_khz_set(struct hvp_vcpu *v, uint64_t khz)
{
	INJECT("mock_tsc_khz_set", 0);
	return M.tsc_khz_set(v, khz);
}

static struct hvp_status f_cpuid_set(struct hvp_vcpu *v, uint32_t leaf, uint32_t index, const uint32_t val[4])
{
	INJECT("mock_cpuid_set", 0);
	return M.x86_cpuid_set(v, leaf, index, val);
}

static struct hvp_status f_msr_set(struct hvp_vcpu *v, uint32_t index, uint64_t value)
{
	INJECT("mock_msr_set", 0);
	return M.x86_msr_set(v, index, value);
}

static struct hvp_status f_msr_read_exits(struct hvp_vm *vm, uint32_t index)
{
	INJECT("mock_msr_filter", 0);
	return M.x86_msr_read_exits(vm, index);
}

static struct hvp_status f_irq_chip_create(struct hvp_vm *vm, enum hvp_irq_chip kind)
{
	INJECT("mock_irq_chip_create", 0);
	return M.irq_chip_create(vm, kind);
}

static struct hvp_status f_irqfd(struct hvp_vm *vm, int fd, uint32_t gsi, int resample_fd, bool assign)
{
	INJECT("mock_irqfd", 0);
	return M.irqfd(vm, fd, gsi, resample_fd, assign);
}

static struct hvp_status f_gsi_routing_set(struct hvp_vm *vm, const struct hvp_irq_route *r, unsigned n)
{
	INJECT("mock_gsi_routing_set", 0);
	return M.gsi_routing_set(vm, r, n);
}

static struct hvp_status f_msi_signal(struct hvp_vm *vm, uint64_t addr, uint32_t data)
{
	INJECT("mock_msi_signal", 0);
	return M.msi_signal(vm, addr, data);
}

static struct hvp_status f_irq_inject(struct hvp_vcpu *v, uint32_t vector)
{
	INJECT("mock_irq_inject", 0);
	return M.irq_inject(v, vector);
}

static struct hvp_status f_ioeventfd(struct hvp_vm *vm, int fd, const struct hvp_doorbell *d, bool assign)
{
	INJECT("mock_ioeventfd", 0);
	return M.ioeventfd(vm, fd, d, assign);
}

static struct hvp_status f_coalesced_zone(struct hvp_vm *vm, uint64_t addr, uint32_t size, bool assign)
{
	INJECT("mock_coalesced_zone", 0);
	return M.coalesced_zone(vm, addr, size, assign);
}

static struct hvp_status f_coalesced_read(struct hvp_vcpu *v, struct hvp_coalesced *out, unsigned max, unsigned *n)
{
	*n = 0;
	INJECT("mock_coalesced_read", 0);
	return M.coalesced_read(v, out, max, n);
}

static struct hvp_status f_state_save(struct hvp_vcpu *v, uint8_t **blob, size_t *len)
{
	*blob = NULL;
	*len = 0;
	INJECT("mock_state_save", 0);
	return M.vcpu_state_save(v, blob, len);
}

static struct hvp_status f_state_restore(struct hvp_vcpu *v, const uint8_t *blob, size_t len)
{
	INJECT("mock_state_restore", 0);
	return M.vcpu_state_restore(v, blob, len);
}

static struct hvp_status f_dirty_manual(struct hvp_vm *vm)
{
	INJECT("mock_dirty_log_manual", 0);
	return M.dirty_log_manual(vm);
}

static struct hvp_status f_dirty_clear(struct hvp_vm *vm, uint64_t gpa, uint64_t size, const uint64_t *bitmap)
{
	INJECT("mock_dirty_log_clear", 0);
	return M.dirty_log_clear(vm, gpa, size, bitmap);
}

static struct hvp_status f_ring_enable(struct hvp_vm *vm, uint32_t *entries, uint32_t *soft)
{
	INJECT("mock_dirty_ring_enable", 0);
	return M.dirty_ring_enable(vm, entries, soft);
}

static struct hvp_status f_ring_harvest(struct hvp_vcpu *v, uint64_t *gpa, unsigned max, unsigned *n)
{
	*n = 0;
	INJECT("mock_dirty_ring_harvest", 0);
	return M.dirty_ring_harvest(v, gpa, max, n);
}

static struct hvp_status f_ring_reset(struct hvp_vm *vm)
{
	INJECT("mock_dirty_ring_reset", 0);
	return M.dirty_ring_reset(vm);
}

/* The mock with every call going through inject(); what the mock lacks stays NULL. */
static struct hvp_backend faulty_backend(void)
{
	struct hvp_backend b = M;

	b.open = f_open;
	b.vm_create = f_vm_create;
	b.vm_destroy = f_vm_destroy;
	b.mem_map = f_mem_map;
	b.mem_unmap = f_mem_unmap;
	b.mem_protect = M.mem_protect ? f_mem_protect : NULL;
	b.dirty_log_enable = M.dirty_log_enable ? f_dirty_enable : NULL;
	b.dirty_log_get = M.dirty_log_get ? f_dirty_get : NULL;
	b.vcpu_create = f_vcpu_create;
	b.vcpu_destroy = f_vcpu_destroy;
	b.vcpu_boot = f_vcpu_boot;
	b.vcpu_run = f_vcpu_run;
	b.regs_get = f_regs_get;
	b.regs_set = f_regs_set;
	b.vcpu_kick = f_kick;
	b.tsc_set = M.tsc_set ? f_tsc_set : NULL;
	b.tsc_khz_set = M.tsc_khz_set ? f_tsc_khz_set : NULL;
	b.x86_cpuid_set = M.x86_cpuid_set ? f_cpuid_set : NULL;
	b.x86_msr_set = M.x86_msr_set ? f_msr_set : NULL;
	b.x86_msr_read_exits = M.x86_msr_read_exits ? f_msr_read_exits : NULL;
	b.irq_chip_create = M.irq_chip_create ? f_irq_chip_create : NULL;
	b.irqfd = M.irqfd ? f_irqfd : NULL;
	b.gsi_routing_set = M.gsi_routing_set ? f_gsi_routing_set : NULL;
	b.msi_signal = M.msi_signal ? f_msi_signal : NULL;
	b.irq_inject = M.irq_inject ? f_irq_inject : NULL;
	b.ioeventfd = M.ioeventfd ? f_ioeventfd : NULL;
	b.coalesced_zone = M.coalesced_zone ? f_coalesced_zone : NULL;
	b.coalesced_read = M.coalesced_read ? f_coalesced_read : NULL;
	b.vcpu_state_save = M.vcpu_state_save ? f_state_save : NULL;
	b.vcpu_state_restore = M.vcpu_state_restore ? f_state_restore : NULL;
	b.dirty_log_manual = M.dirty_log_manual ? f_dirty_manual : NULL;
	b.dirty_log_clear = M.dirty_log_clear ? f_dirty_clear : NULL;
	b.dirty_ring_enable = M.dirty_ring_enable ? f_ring_enable : NULL;
	b.dirty_ring_harvest = M.dirty_ring_harvest ? f_ring_harvest : NULL;
	b.dirty_ring_reset = M.dirty_ring_reset ? f_ring_reset : NULL;
	/* The benchmarks' raw loop bypasses the wrapper: no question uses it. */
	b.raw_run_loop = NULL;
	return b;
}

struct matrix {
	struct tap *t;
	struct hvp_backend be;
	struct hvp_contract contract;
	unsigned cases, fired;
};

static struct hvp_finding run_with(struct matrix *mx, const struct hvp_probe *p, enum fault kind, unsigned nth)
{
	/* Generous: a hang must be a probe waiting forever, not a slow sanitized build. */
	struct hvp_run_opts o = { .be = &mx->be, .timeout_s = 30,
				  .caps = { .maps = 600, .vms = 600, .vcpus = 0 },
				  .bench = { .duration_s = 0.1, .pin_cpu = -1 } };
	struct hvp_finding f;
	int interrupted;

	bool trace = fs->trace;

	memset(fs, 0, sizeof(*fs));
	fs->trace = trace && kind == FAULT_NONE;
	fs->kind = kind;
	fs->nth = nth;
	memset(&f, 0, sizeof(f));
	hvp_run_probes(&p, 1, &o, &f, &interrupted);
	hvp_contract_judge(&mx->contract, &f);
	return f;
}

/* What the probe must not answer under a fault: the contract's answer, or the clean run's. */
static enum hvp_answer answer_to_avoid(const struct hvp_finding *clean)
{
	enum hvp_answer want = hvp_answer_parse(clean->expected);

	if (want == HVP_ANSWER_YES || want == HVP_ANSWER_NO)
		return want;
	if (clean->answer == HVP_ANSWER_YES || clean->answer == HVP_ANSWER_NO)
		return clean->answer;
	return HVP_ANSWER_NONE;
}

/*
 * A failure that is not a refusal of the API (EPROTO, a process limit, a run
 * that fails at once, a guest that reports nothing, a dead child) is never
 * an answer: the probe must end crashed or skipped. Wrong values from the
 * guest may well be an answer ("no"), just never the expected one.
 */
static bool answer_allowed(enum fault kind, enum hvp_answer a, enum hvp_answer avoid)
{
	if (a == HVP_ANSWER_HUNG || a == HVP_ANSWER_NONE)
		return false;
	if (kind == FAULT_REPORTS_WRONG)
		return avoid == HVP_ANSWER_NONE || a != avoid;
	return a == HVP_ANSWER_CRASHED || a == HVP_ANSWER_SKIPPED;
}

static void one_case(struct matrix *mx, const struct hvp_probe *p, enum hvp_answer avoid, enum fault kind,
		     unsigned nth)
{
	char what[64];
	struct hvp_finding f = run_with(mx, p, kind, nth);
	unsigned fired = fs->fired;

	snprintf(what, sizeof(what), fault_names[kind], nth);
	if (!fired)
		return; /* the probe never reached what the fault disturbs: nothing to hold it to */
	mx->cases++;
	ok(mx->t, answer_allowed(kind, f.answer, avoid), "%s, %s: %s%s (%s) in %.2f s", p->id, what,
	   hvp_answer_name(f.answer), f.verdict == HVP_VERDICT_AS_DOCUMENTED ? ", as documented" : "", f.reason,
	   (double)f.elapsed_ns / 1e9);
}

/* Which call numbers to fail: every one of the first 24, then a spread to the last. */
static unsigned nth_calls(unsigned total, unsigned *out, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 1; i <= total && i <= 24 && n < max; i++)
		out[n++] = i;
	for (unsigned k = 1; total > 24 && k <= 8 && n < max; k++) {
		unsigned i = 24 + (unsigned)((uint64_t)(total - 24) * k / 8);
		if (i > out[n - 1])
			out[n++] = i;
	}
	return n;
}

static void probe_matrix(struct matrix *mx, const struct hvp_probe *p)
{
	struct hvp_finding clean = run_with(mx, p, FAULT_NONE, 0);
	unsigned total = fs->calls, nth[40], n;
	enum hvp_answer avoid = answer_to_avoid(&clean);

	/* The wrapper itself changes nothing: the clean run through it is the contract's answer. */
	ok(mx->t, clean.answer != HVP_ANSWER_CRASHED && clean.answer != HVP_ANSWER_HUNG &&
			  clean.verdict != HVP_VERDICT_DEVIATES,
	   "%s without a fault: %s (%s), %u calls", p->id, hvp_answer_name(clean.answer), clean.reason, total);
	n = nth_calls(total, nth, sizeof(nth) / sizeof(nth[0]));
	for (unsigned i = 0; i < n; i++)
		one_case(mx, p, avoid, FAULT_NTH_CALL_FAILS, nth[i]);
	one_case(mx, p, avoid, FAULT_EMFILE_AFTER, 2);
	one_case(mx, p, avoid, FAULT_EMFILE_AFTER, 40);
	one_case(mx, p, avoid, FAULT_RUN_FAILS, 0);
	one_case(mx, p, avoid, FAULT_REPORTS_VANISH, 0);
	one_case(mx, p, avoid, FAULT_REPORTS_WRONG, 0);
	one_case(mx, p, avoid, FAULT_CHILD_CRASHES, 0);
}

static int load_contract(struct hvp_contract *c)
{
	char err[256];
	size_t len;
	const char *text = hvp_builtin_contract("kvm", &len);

	return text ? hvp_contract_parse(c, "kvm", text, len, err, sizeof(err)) : -1;
}

int main(int argc, char **argv)
{
	struct tap t;
	struct matrix mx = { .t = &t, .be = faulty_backend() };
	unsigned probes = 0;

	TAP_PLAN_LATER(&t);
	fs = mmap(NULL, sizeof(*fs), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!ok(&t, fs != MAP_FAILED && load_contract(&mx.contract) == 0, "the shared fault plan and KVM's contract"))
		return tap_done(&t);
	fs->trace = argc > 1 && getenv("HVP_FAULT_TRACE");
	for (unsigned i = 0; i < hvp_n_probes; i++) {
		const struct hvp_probe *p = hvp_probes[i];
		/* One probe by id (argv[1]) when debugging; benchmarks measure, they do not answer. */
		if ((argc > 1 && strcmp(argv[1], p->id) != 0) || p->kind == HVP_PROBE_BENCH)
			continue;
		if (p->arch && strcmp(p->arch, mx.be.arch) != 0)
			continue;
		probe_matrix(&mx, p);
		probes++;
	}
	ok(&t, probes > 0 && mx.cases > probes, "%u (probe, fault) cases ran over %u probes", mx.cases, probes);
	printf("# %u (probe, fault) cases over %u question probes\n", mx.cases, probes);
	hvp_contract_free(&mx.contract);
	return tap_done(&t);
}
