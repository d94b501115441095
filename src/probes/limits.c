/* SPDX-License-Identifier: MIT */
/*
 * How many VMs a process holds, how many vCPUs a VM holds, and how many
 * vCPUs run at once. Each search stops at a cap the user can raise
 * (--cap-vms, --cap-vcpus) so that it never takes the machine down, and the
 * first and last objects run a guest. Only the edges of each search are
 * kept as evidence; the rest are counted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../bench.h"
#include "../machine.h"
#include "../truth.h"

#define VALUE UINT64_C(0x11a175000000000f)
#define COUNTER_GPA UINT64_C(0x10000000)
#define RENDEZVOUS_WAIT_NS 10000000000ll

/*
 * Each VM and vCPU is a file descriptor (KVM): use all the process may
 * have, so that the API's limit shows first. Says what it did in note, for
 * the reason (it is hvprobe's step, not an API call).
 */
static void raise_fd_limit(char *note, size_t size)
{
	struct rlimit rl;

	snprintf(note, size, "open files: no limit read");
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t was = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0) {
			snprintf(note, size, "open files: limit raised from %llu to %llu", (unsigned long long)was,
				 (unsigned long long)rl.rlim_cur);
			return;
		}
		rl.rlim_cur = was;
	}
	snprintf(note, size, "open files: limit %llu", (unsigned long long)rl.rlim_cur);
}

static long mem_available_kb(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long kb = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static const char *fact(struct hvp_ctx *ctx, struct hvp_facts *facts, const char *key)
{
	const char *v;

	if (facts->n == 0)
		ctx->be->facts(ctx->hv, facts);
	v = hvp_facts_get(facts, key);
	return v ? v : "?";
}

/* The guest on a new vCPU reports VALUE twice; anything else ends the probe (it proves nothing). */
static int guest_runs(struct hvp_machine *m, unsigned id)
{
	uint64_t arg[4] = { VALUE, VALUE, 0, 0 };
	struct hvp_guest_result r;
	struct hvp_vcpu *vcpu;

	hvp_need_ok(m->ctx, hvp_vcpu_start_try(m, id, &hvp_prog_report_args, arg, &vcpu), "starting a guest");
	hvp_guest_run(m, vcpu, &r);
	hvp_need_guest(m->ctx, &r, 2, m->label);
	/* A VM whose guest misreports is broken: a count that includes it proves nothing. */
	HVP_ASSERT(m->ctx, r.value[0] == VALUE && r.value[1] == VALUE,
		   "the guest in %s reported 0x%" PRIx64 ", not the 0x%" PRIx64 " it was given", m->label, r.value[0], VALUE);
	return 1;
}

static void run_vms_per_process(struct hvp_ctx *ctx)
{
	unsigned cap = ctx->caps && ctx->caps->vms ? ctx->caps->vms : HVP_CAP_VMS_DEFAULT, n = 1, extra = 0;
	struct hvp_vm **vms = calloc(cap, sizeof(*vms));
	struct hvp_machine *first, *last = NULL;
	struct hvp_status st = hvp_ok("");
	long before, after;
	int first_ran, last_ran = 0;

	char files[80];

	HVP_ASSERT(ctx, vms, "out of memory");
	raise_fd_limit(files, sizeof(files));
	before = mem_available_kb();
	first = hvp_machine_create(ctx, "VM 1");
	first_ran = guest_runs(first, 0);
	/* Plain VMs in between, through the backend: only the edges are evidence. */
	while (n + 1 < cap) {
		st = ctx->be->vm_create(ctx->hv, &vms[extra]);
		if (st.err != HVP_OK)
			break;
		extra++;
		n++;
	}
	if (st.err == HVP_OK) {
		char label[32];
		snprintf(label, sizeof(label), "VM %u", n + 1);
		st = hvp_machine_create_try(ctx, label, &last);
		if (st.err == HVP_OK) {
			n++;
			last_ran = guest_runs(last, 0);
		}
	} else {
		st.evidence = hvp_record(ctx, st, "VM %u", n + 1);
	}
	after = mem_available_kb();
	/* The VMs in between are counted, not listed: the edges are the evidence. */
	ctx->f->evidence_omitted += extra;
	hvp_decisive(ctx, st.err != HVP_OK ? st.evidence : -1);
	/* A refusal the API would not give for a limit of its own is no answer (EMFILE: the process's). */
	if (st.err != HVP_OK && !hvp_refused_as(st, HVP_REFUSALS))
		hvp_not_evidence(ctx, st, "VM %u, after %u VMs", n + 1, n);
	ctx->f->guest_verified = first_ran && (st.err != HVP_OK || last_ran);
	char mem[96] = "";
	if (before > 0 && after > 0 && before > after)
		snprintf(mem, sizeof(mem), "; host memory available fell by about %ld KiB per VM", (before - after) / (long)n);
	if (st.err != HVP_OK)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "%u VMs were created in one process; VM %u was refused with %s (%s)%s; %s",
				   n, n + 1, ctx->be->native_name(st.native), hvp_err_name(st.err), mem, files);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED,
				   "at least %u VMs in one process: the cap stopped the search before any refusal (raise "
				   "--cap-vms); the first and the last ran a guest%s; %s", n, mem, files);
	for (unsigned i = 0; i < extra; i++) {
		struct hvp_status gone = ctx->be->vm_destroy(vms[i]);
		if (gone.err != HVP_OK)
			hvp_record(ctx, gone, "VM %u of those in between", i + 2);
		hvp_need_ok(ctx, gone, "destroying the VMs in between");
	}
	free(vms);
}

const struct hvp_probe probe_limits_vms_per_process = {
	.id = "limits.vms_per_process",
	.question = "Does the API refuse VMs in one process beyond a limit (searched up to --cap-vms)?",
	.timeout_s = 60,
	.run = run_vms_per_process,
};

/* The fewest vCPUs the API says a VM may have (KVM: MAX_VCPUS, and ids below MAX_VCPU_ID); 0 if it says none. */
static unsigned reported_vcpu_limit(struct hvp_ctx *ctx, struct hvp_facts *facts)
{
	unsigned limit = 0;
	static const char *const keys[] = { "KVM_CAP_MAX_VCPUS", "KVM_CAP_MAX_VCPU_ID", "max_vcpus" };

	for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		unsigned v;
		if (sscanf(fact(ctx, facts, keys[i]), "%u", &v) == 1 && v > 0 && (limit == 0 || v < limit))
			limit = v;
	}
	return limit;
}

static void answer_vcpu_refusal(struct hvp_ctx *ctx, struct hvp_status st, unsigned n, unsigned limit,
				const char *limits)
{
	const char *name = ctx->be->native_name(st.native);

	if (!hvp_refused_as(st, HVP_REFUSALS))
		hvp_not_evidence(ctx, st, "vCPU %u, after %u vCPUs (%s)", n, n, limits);
	if (limit && n != limit)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "vCPU %u was refused with %s, but the API's own limit is %u; %s",
				   n, name, limit, limits);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "%u vCPUs were created, vCPU %u was refused with %s%s; %s; "
				   "the last vCPU ran a guest", n, n, name, limit ? ", at the API's own limit" : "", limits);
}

static void run_vcpus_per_vm(struct hvp_ctx *ctx)
{
	unsigned cap = ctx->caps && ctx->caps->vcpus ? ctx->caps->vcpus : HVP_CAP_VCPUS_DEFAULT, n = 0, limit;
	struct hvp_vcpu **vcpus = calloc(cap, sizeof(*vcpus));
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	struct hvp_status st = hvp_ok("");
	struct hvp_facts facts = { 0 };
	struct hvp_guest_result r = { 0 };
	char limits[160], files[80];

	HVP_ASSERT(ctx, vcpus, "out of memory");
	raise_fd_limit(files, sizeof(files));
	for (; n < cap; n++) {
		st = ctx->be->vcpu_create(m->vm, n, &vcpus[n]);
		if (st.err != HVP_OK)
			break;
		if (n == 0)
			hvp_record(ctx, st, "vcpu 0");
	}
	/* vCPUs 1..n-1 are counted, not listed: the first and the refused one are the evidence. */
	ctx->f->evidence_omitted += n > 1 ? n - 1 : 0;
	if (st.err != HVP_OK)
		hvp_decisive(ctx, hvp_record(ctx, st, "vcpu %u refused", n));
	snprintf(limits, sizeof(limits), "the API reports NR_VCPUS %s, MAX_VCPUS %s, MAX_VCPU_ID %s; %s",
		 fact(ctx, &facts, "KVM_CAP_NR_VCPUS"), fact(ctx, &facts, "KVM_CAP_MAX_VCPUS"),
		 fact(ctx, &facts, "KVM_CAP_MAX_VCPU_ID"), files);
	limit = reported_vcpu_limit(ctx, &facts);
	if (n == 0)
		hvp_not_evidence(ctx, st, "the first vCPU");
	/* The last vCPU runs a guest: the count is of vCPUs that work. */
	hvp_need_ok(ctx, hvp_vcpu_boot_try(m, vcpus[n - 1], n - 1, &hvp_prog_report_args,
					   (uint64_t[4]){ VALUE, VALUE, 0, 0 }, 0), "booting the last vCPU");
	hvp_guest_run(m, vcpus[n - 1], &r);
	hvp_need_guest(ctx, &r, 2, "the last vCPU's guest");
	HVP_ASSERT(ctx, r.value[0] == VALUE, "the last vCPU's guest reported 0x%" PRIx64 ", not 0x%" PRIx64, r.value[0],
		   VALUE);
	ctx->f->guest_verified = true;
	if (st.err != HVP_OK)
		answer_vcpu_refusal(ctx, st, n, limit, limits);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "at least %u vCPUs: the cap stopped the search before any "
				   "refusal (raise --cap-vcpus); %s", n, limits);
	for (unsigned i = 0; i < n; i++)
		hvp_need_ok(ctx, ctx->be->vcpu_destroy(vcpus[i]), "destroying the vCPUs");
	free(vcpus);
}

const struct hvp_probe probe_limits_vcpus_per_vm = {
	.id = "limits.vcpus_per_vm",
	.question = "Does the API refuse vCPUs in one VM beyond its reported limit (searched up to --cap-vcpus)?",
	.timeout_s = 60,
	.run = run_vcpus_per_vm,
};

/* One vCPU per thread, created there (the HVF rule), meeting the others in guest memory. */
struct meeting {
	struct hvp_machine *m;
	unsigned id, expected;
	struct hvp_status start;
	struct hvp_guest_result r;
	int done; /* accessed atomically: the thread's run is over */
	pthread_t tid;
};

static void *meeting_main(void *arg)
{
	struct meeting *me = arg;
	uint64_t prog_arg[4] = { COUNTER_GPA, me->expected, 0, 0 };
	struct hvp_vcpu *vcpu;

	me->start = hvp_vcpu_start_try(me->m, me->id, &hvp_prog_rendezvous, prog_arg, &vcpu);
	if (me->start.err == HVP_OK)
		hvp_guest_run(me->m, vcpu, &me->r);
	__atomic_store_n(&me->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* A thread whose run ended before everyone counted in failed: waiting longer cannot complete the meeting. */
static int any_done(struct meeting *t, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (__atomic_load_n(&t[i].done, __ATOMIC_ACQUIRE))
			return 1;
	return 0;
}

/* Runs n vCPUs at once until all have counted in; returns how many saw the full count. */
static unsigned meet(struct hvp_ctx *ctx, unsigned n)
{
	struct hvp_machine *m = hvp_machine_create(ctx, n > 1 ? "VM" : "VM");
	uint64_t *counter = hvp_guest_memory(ctx, hvp_page_size(ctx));
	struct meeting *t = calloc(n, sizeof(*t));
	int64_t deadline = hvp_now_ns() + RENDEZVOUS_WAIT_NS;
	unsigned met = 0;

	HVP_ASSERT(ctx, t, "out of memory");
	hvp_map(m, counter, COUNTER_GPA, hvp_page_size(ctx), HVP_PROT_RWX);
	for (unsigned i = 0; i < n; i++) {
		t[i] = (struct meeting){ .m = m, .id = i, .expected = n };
		HVP_ASSERT(ctx, pthread_create(&t[i].tid, NULL, meeting_main, &t[i]) == 0, "pthread_create failed");
	}
	/* If some never arrive, release the waiting ones so that every thread ends. */
	while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) < n && hvp_now_ns() < deadline && !any_done(t, n))
		usleep(1000);
	if (__atomic_load_n(counter, __ATOMIC_ACQUIRE) < n)
		__atomic_store_n(counter, (uint64_t)1 << 40, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < n; i++)
		pthread_join(t[i].tid, NULL);
	/* Every vCPU must have run to its report: one that did not start or run says nothing about meeting. */
	for (unsigned i = 0; i < n; i++) {
		hvp_need_ok(ctx, t[i].start, "starting a vCPU thread's guest");
		hvp_need_guest(ctx, &t[i].r, 1, "a vCPU thread's guest");
		met += t[i].r.value[0] >= n && t[i].r.value[0] < ((uint64_t)1 << 40);
	}
	free(t);
	return met;
}

static void run_threads_running_vcpus(struct hvp_ctx *ctx)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = cpus > 0 ? (unsigned)cpus : 1, met1, met2;

	met1 = meet(ctx, n);
	met2 = meet(ctx, 2 * n);
	ctx->f->guest_verified = met1 == n && met2 == 2 * n;
	if (ctx->f->guest_verified)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "%u vCPU threads (one per host CPU), then %u, were all in the guest together: each "
				   "counted in and saw every other's count", n, 2 * n);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "of %u vCPU threads %u met in the guest; of %u, %u", n, met1,
				   2 * n, met2);
}

const struct hvp_probe probe_limits_threads_running_vcpus = {
	.id = "limits.threads_running_vcpus",
	.question = "Can as many vCPUs as host CPUs, then twice as many, run at once on their own threads?",
	.timeout_s = 30,
	.run = run_threads_running_vcpus,
};
