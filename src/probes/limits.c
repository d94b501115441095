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

#define VALUE UINT64_C(0x11a175000000000f)
#define COUNTER_GPA UINT64_C(0x10000000)
#define RENDEZVOUS_WAIT_NS 10000000000ll

/* Each VM and vCPU is a file descriptor: use all the process may have, so the API's limit shows first. */
static void raise_fd_limit(struct hvp_ctx *ctx)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			hvp_record(ctx, hvp_ok("setrlimit"), "RLIMIT_NOFILE raised to %llu", (unsigned long long)rl.rlim_cur);
	}
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

static int guest_runs(struct hvp_machine *m, unsigned id)
{
	uint64_t arg[4] = { VALUE, VALUE, 0, 0 };
	struct hvp_guest_result r;
	struct hvp_vcpu *vcpu;

	if (hvp_vcpu_start_try(m, id, &hvp_prog_report_args, arg, &vcpu).err != HVP_OK)
		return 0;
	hvp_guest_run(m, vcpu, &r);
	return hvp_guest_ok(&r) && r.n == 2 && r.value[0] == VALUE;
}

static void run_vms_per_process(struct hvp_ctx *ctx)
{
	unsigned cap = ctx->caps && ctx->caps->vms ? ctx->caps->vms : HVP_CAP_VMS_DEFAULT, n = 1, extra = 0;
	struct hvp_vm **vms = calloc(cap, sizeof(*vms));
	struct hvp_machine *first, *last = NULL;
	struct hvp_status st = hvp_ok("");
	long before, after;
	int first_ran, last_ran = 0;

	HVP_ASSERT(ctx, vms, "out of memory");
	raise_fd_limit(ctx);
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
	hvp_record(ctx, hvp_ok(ctx->be->name), "VMs 2..%u created without evidence of their own", extra + 1);
	ctx->f->evidence_omitted += extra;
	hvp_decisive(ctx, st.err != HVP_OK ? st.evidence : -1);
	ctx->f->guest_verified = first_ran && (st.err != HVP_OK || last_ran);
	char mem[96] = "";
	if (before > 0 && after > 0 && before > after)
		snprintf(mem, sizeof(mem), "; host memory available fell by about %ld KiB per VM", (before - after) / (long)n);
	if (st.err != HVP_OK)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "%u VMs were created in one process; VM %u was refused with %s%s%s",
				   n, n + 1, ctx->be->native_name(st.native),
				   st.native == EMFILE ? " (the process's open-file limit, not the API's)" : "", mem);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED,
				   "at least %u VMs in one process: the cap stopped the search before any refusal (raise "
				   "--cap-vms); the first and the last ran a guest%s", n, mem);
	for (unsigned i = 0; i < extra; i++)
		ctx->be->vm_destroy(vms[i]);
	free(vms);
}

const struct hvp_probe probe_limits_vms_per_process = {
	.id = "limits.vms_per_process",
	.question = "Does the API refuse VMs in one process beyond a limit (searched up to --cap-vms)?",
	.timeout_s = 60,
	.run = run_vms_per_process,
};

static void run_vcpus_per_vm(struct hvp_ctx *ctx)
{
	unsigned cap = ctx->caps && ctx->caps->vcpus ? ctx->caps->vcpus : HVP_CAP_VCPUS_DEFAULT, n = 0;
	struct hvp_vcpu **vcpus = calloc(cap, sizeof(*vcpus));
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	struct hvp_status st = hvp_ok("");
	struct hvp_facts facts = { 0 };
	struct hvp_guest_result r = { 0 };
	char limits[160];

	HVP_ASSERT(ctx, vcpus, "out of memory");
	raise_fd_limit(ctx);
	for (; n < cap; n++) {
		st = ctx->be->vcpu_create(m->vm, n, &vcpus[n]);
		if (st.err != HVP_OK)
			break;
		if (n == 0)
			hvp_record(ctx, st, "vcpu 0");
	}
	if (n > 1)
		hvp_record(ctx, hvp_ok(st.err == HVP_OK ? st.call : "vcpu_create"), "vcpus 1..%u created", n - 1);
	ctx->f->evidence_omitted += n > 2 ? n - 2 : 0;
	if (st.err != HVP_OK)
		hvp_decisive(ctx, hvp_record(ctx, st, "vcpu %u refused", n));
	HVP_ASSERT(ctx, n > 0, "not even one vCPU: %s %s", st.call, ctx->be->native_name(st.native));
	/* The last vCPU runs a guest. */
	if (hvp_vcpu_boot_try(m, vcpus[n - 1], n - 1, &hvp_prog_report_args, (uint64_t[4]){ VALUE, VALUE, 0, 0 }, 0).err ==
	    HVP_OK)
		hvp_guest_run(m, vcpus[n - 1], &r);
	ctx->f->guest_verified = hvp_guest_ok(&r) && r.n == 2 && r.value[0] == VALUE;
	snprintf(limits, sizeof(limits), "the API reports NR_VCPUS %s, MAX_VCPUS %s, MAX_VCPU_ID %s",
		 fact(ctx, &facts, "KVM_CAP_NR_VCPUS"), fact(ctx, &facts, "KVM_CAP_MAX_VCPUS"),
		 fact(ctx, &facts, "KVM_CAP_MAX_VCPU_ID"));
	if (st.err != HVP_OK)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "%u vCPUs were created, vCPU %u was refused with %s; %s; the last "
				   "vCPU %s", n, n, ctx->be->native_name(st.native), limits,
				   ctx->f->guest_verified ? "ran a guest" : "did not run a guest");
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "at least %u vCPUs: the cap stopped the search before any "
				   "refusal (raise --cap-vcpus); %s", n, limits);
	for (unsigned i = 0; i < n; i++)
		ctx->be->vcpu_destroy(vcpus[i]);
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
	struct hvp_guest_result r;
	pthread_t tid;
};

static void *meeting_main(void *arg)
{
	struct meeting *me = arg;
	uint64_t prog_arg[4] = { COUNTER_GPA, me->expected, 0, 0 };
	struct hvp_vcpu *vcpu;

	if (hvp_vcpu_start_try(me->m, me->id, &hvp_prog_rendezvous, prog_arg, &vcpu).err == HVP_OK)
		hvp_guest_run(me->m, vcpu, &me->r);
	return NULL;
}

/* Runs n vCPUs at once until all have counted in; returns how many saw the full count. */
static unsigned meet(struct hvp_ctx *ctx, unsigned n)
{
	struct hvp_machine *m = hvp_machine_create(ctx, n > 1 ? "VM" : "VM");
	uint64_t *counter = hvp_guest_memory(ctx, 0x1000);
	struct meeting *t = calloc(n, sizeof(*t));
	int64_t deadline = hvp_now_ns() + RENDEZVOUS_WAIT_NS;
	unsigned met = 0;

	HVP_ASSERT(ctx, t, "out of memory");
	hvp_map(m, counter, COUNTER_GPA, 0x1000, HVP_PROT_RWX);
	for (unsigned i = 0; i < n; i++) {
		t[i] = (struct meeting){ .m = m, .id = i, .expected = n };
		HVP_ASSERT(ctx, pthread_create(&t[i].tid, NULL, meeting_main, &t[i]) == 0, "pthread_create failed");
	}
	/* If some never arrive, release the waiting ones so that every thread ends. */
	while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) < n && hvp_now_ns() < deadline)
		usleep(1000);
	if (__atomic_load_n(counter, __ATOMIC_ACQUIRE) < n)
		__atomic_store_n(counter, (uint64_t)1 << 40, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < n; i++) {
		pthread_join(t[i].tid, NULL);
		met += hvp_guest_ok(&t[i].r) && t[i].r.n == 1 && t[i].r.value[0] >= n && t[i].r.value[0] < ((uint64_t)1 << 40);
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
