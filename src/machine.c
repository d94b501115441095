/* SPDX-License-Identifier: MIT */
#include "machine.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "guest.h"

#define RUN_EXITS_MAX 10000 /* a program is a few reports; more is a runaway guest */

void *hvp_guest_memory(struct hvp_ctx *ctx, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	HVP_ASSERT(ctx, p != MAP_FAILED, "mmap of %" PRIu64 " bytes of guest memory: %s", size,
		   strerror(errno));
	return p;
}

void hvp_guest_memory_free(void *p, uint64_t size)
{
	munmap(p, size);
}

static struct hvp_status internal_error(const char *call)
{
	return (struct hvp_status){ HVP_ERR_INVALID, 0, call, -1 };
}

struct hvp_status hvp_machine_create_try(struct hvp_ctx *ctx, const char *label, struct hvp_machine **out)
{
	struct hvp_machine *m = calloc(1, sizeof(*m));
	struct hvp_status st;

	*out = NULL;
	HVP_ASSERT(ctx, m, "out of memory");
	m->ctx = ctx;
	hvp_copy_str(m->label, sizeof(m->label), label);
	struct hvp_status map;

	st = ctx->be->vm_create(ctx->hv, &m->vm);
	st.evidence = hvp_record(ctx, st, "%s", label);
	if (st.err != HVP_OK) {
		free(m);
		return st;
	}
	m->sys = hvp_guest_memory(ctx, HVP_SYS_SIZE);
	hvp_guest_arch_init(m->sys, &m->paging);
	map = hvp_map_try(m, m->sys, HVP_SYS_GPA, HVP_SYS_SIZE, HVP_PROT_RWX);
	if (map.err != HVP_OK) {
		hvp_machine_destroy_try(m);
		return map;
	}
	*out = m;
	return st; /* the create: what a probe asking "can a VM be created" decides on */
}

struct hvp_machine *hvp_machine_create(struct hvp_ctx *ctx, const char *label)
{
	struct hvp_machine *m;
	struct hvp_status st = hvp_machine_create_try(ctx, label, &m);

	HVP_ASSERT(ctx, st.err == HVP_OK, "%s: creating a VM with its system memory failed: %s %s", label,
		   st.call, ctx->be->native_name(st.native));
	return m;
}

struct hvp_status hvp_machine_destroy_try(struct hvp_machine *m)
{
	struct hvp_status st = m->ctx->be->vm_destroy(m->vm);

	st.evidence = hvp_record(m->ctx, st, "%s", m->label);
	if (m->sys)
		hvp_guest_memory_free(m->sys, HVP_SYS_SIZE);
	free(m);
	return st;
}

void hvp_machine_destroy(struct hvp_machine *m)
{
	struct hvp_ctx *ctx = m->ctx;
	char label[sizeof(m->label)];
	struct hvp_status st;

	memcpy(label, m->label, sizeof(label));
	st = hvp_machine_destroy_try(m);
	HVP_ASSERT(ctx, st.err == HVP_OK, "%s: destroying the VM failed: %s %s", label, st.call,
		   ctx->be->native_name(st.native));
}

struct hvp_status hvp_map_try(struct hvp_machine *m, void *host, uint64_t gpa, uint64_t size, unsigned prot)
{
	struct hvp_ctx *ctx = m->ctx;
	struct hvp_status st = ctx->be->mem_map(m->vm, host, gpa, size, prot);

	st.evidence = hvp_record(ctx, st, "%s gpa=0x%" PRIx64 " size=0x%" PRIx64, m->label, gpa, size);
	if (st.err != HVP_OK)
		return st;
	/* Ranges beyond identity paging's reach are seen through hvp_window(). */
	if (size && gpa + size - 1 < hvp_guest_arch_identity_limit() &&
	    hvp_guest_arch_map(m->sys, &m->paging, gpa, gpa, size) != 0) {
		st = internal_error("guest page tables");
		st.evidence = hvp_record(ctx, st, "no room to page gpa=0x%" PRIx64, gpa);
	}
	return st;
}

void hvp_map(struct hvp_machine *m, void *host, uint64_t gpa, uint64_t size, unsigned prot)
{
	struct hvp_status st = hvp_map_try(m, host, gpa, size, prot);

	HVP_ASSERT(m->ctx, st.err == HVP_OK, "%s: mapping gpa 0x%" PRIx64 " failed: %s %s", m->label, gpa,
		   st.call, m->ctx->be->native_name(st.native));
}

struct hvp_status hvp_unmap_try(struct hvp_machine *m, uint64_t gpa, uint64_t size)
{
	struct hvp_status st = m->ctx->be->mem_unmap(m->vm, gpa, size);

	st.evidence = hvp_record(m->ctx, st, "%s unmap gpa=0x%" PRIx64 " size=0x%" PRIx64, m->label, gpa, size);
	return st;
}

void hvp_unmap(struct hvp_machine *m, uint64_t gpa, uint64_t size)
{
	struct hvp_status st = hvp_unmap_try(m, gpa, size);

	HVP_ASSERT(m->ctx, st.err == HVP_OK, "%s: unmapping gpa 0x%" PRIx64 " failed: %s %s", m->label, gpa, st.call,
		   m->ctx->be->native_name(st.native));
}

void hvp_page(struct hvp_machine *m, uint64_t gpa, uint64_t size)
{
	HVP_ASSERT(m->ctx, hvp_guest_arch_map(m->sys, &m->paging, gpa, gpa, size) == 0,
		   "cannot page gpa 0x%" PRIx64 " for the guest", gpa);
}

uint64_t hvp_window(struct hvp_machine *m, uint64_t gpa, uint64_t size)
{
	uint64_t va = HVP_GUEST_WINDOW_VA + (gpa & ((2ull << 20) - 1));

	HVP_ASSERT(m->ctx, hvp_guest_arch_map(m->sys, &m->paging, va, gpa, size) == 0,
		   "cannot page a window onto gpa 0x%" PRIx64, gpa);
	return va;
}

/* Copies a program into the code area once per machine; returns its guest address. */
static uint64_t load_program(struct hvp_machine *m, const struct hvp_program *prog)
{
	size_t len = (size_t)(prog->end - prog->start);
	uint64_t at;

	for (unsigned i = 0; i < m->n_loaded; i++)
		if (m->loaded[i] == prog)
			return m->loaded_at[i];
	HVP_ASSERT(m->ctx, prog->end > prog->start, "guest program %s does not exist for this architecture", prog->name);
	HVP_ASSERT(m->ctx, m->n_loaded < sizeof(m->loaded) / sizeof(m->loaded[0]) &&
			   m->code_used + len <= HVP_SYS_CODE_SIZE,
		   "no room for guest program %s", prog->name);
	at = HVP_SYS_CODE + m->code_used;
	memcpy(m->sys + at - HVP_SYS_GPA, prog->start, len);
	m->code_used += (unsigned)((len + 15) & ~15u);
	m->loaded[m->n_loaded] = prog;
	m->loaded_at[m->n_loaded++] = at;
	return at;
}

struct hvp_status hvp_vcpu_start_try(struct hvp_machine *m, unsigned id, const struct hvp_program *prog,
				     const uint64_t arg[4], struct hvp_vcpu **out)
{
	return hvp_vcpu_start_ring_try(m, id, prog, arg, 0, out);
}

struct hvp_status hvp_vcpu_start_ring_try(struct hvp_machine *m, unsigned id, const struct hvp_program *prog,
					  const uint64_t arg[4], unsigned ring, struct hvp_vcpu **out)
{
	struct hvp_ctx *ctx = m->ctx;
	struct hvp_status st;

	st = ctx->be->vcpu_create(m->vm, id, out);
	st.evidence = hvp_record(ctx, st, "%s vcpu %u", m->label, id);
	if (st.err != HVP_OK)
		return st;
	st = hvp_vcpu_boot_try(m, *out, id, prog, arg, ring);
	if (st.err != HVP_OK) {
		ctx->be->vcpu_destroy(*out);
		*out = NULL;
	}
	return st;
}

struct hvp_status hvp_vcpu_boot_try(struct hvp_machine *m, struct hvp_vcpu *vcpu, unsigned id,
				    const struct hvp_program *prog, const uint64_t arg[4], unsigned ring)
{
	struct hvp_boot boot;
	struct hvp_status st;

	hvp_guest_arch_boot(&boot, load_program(m, prog), arg);
	boot.real_mode = ring == HVP_REAL_MODE;
	boot.ring = boot.real_mode ? 0 : ring;
	/* Each vCPU gets its own stack: 4 KiB below the previous one's. */
	boot.stack -= 4096ull * (id % 16);
	hvp_guest_arch_regs(&boot, &boot.regs);
	st = m->ctx->be->vcpu_boot(vcpu, &boot);
	if (boot.real_mode)
		st.evidence = hvp_record(m->ctx, st, "%s vcpu %u entry=%s real mode", m->label, id, prog->name);
	else
		st.evidence = hvp_record(m->ctx, st, "%s vcpu %u entry=%s ring %u", m->label, id, prog->name, ring);
	return st;
}

struct hvp_vcpu *hvp_vcpu_start(struct hvp_machine *m, unsigned id, const struct hvp_program *prog,
				const uint64_t arg[4])
{
	struct hvp_vcpu *vcpu;
	struct hvp_status st = hvp_vcpu_start_try(m, id, prog, arg, &vcpu);

	HVP_ASSERT(m->ctx, st.err == HVP_OK, "%s: starting vcpu %u failed: %s %s", m->label, id, st.call,
		   m->ctx->be->native_name(st.native));
	return vcpu;
}

struct hvp_status hvp_vcpu_rerun_try(struct hvp_machine *m, struct hvp_vcpu *vcpu, unsigned id,
				     const struct hvp_program *prog, const uint64_t arg[4], unsigned ring)
{
	struct hvp_regs regs;
	struct hvp_boot boot;

	hvp_guest_arch_boot(&boot, load_program(m, prog), arg);
	boot.stack -= 4096ull * (id % 16);
	boot.ring = ring;
	hvp_guest_arch_regs(&boot, &regs);
	return m->ctx->be->regs_set(vcpu, &regs);
}

void hvp_vcpu_destroy(struct hvp_machine *m, struct hvp_vcpu *vcpu)
{
	struct hvp_status st = m->ctx->be->vcpu_destroy(vcpu);

	hvp_record(m->ctx, st, "%s", m->label);
}

/* Reads the full 64-bit value a guest reported in RAX/x0 (the port carries 32 bits). */
/* A failed register read replaces the run's status in *st; a good one leaves KVM_RUN's there. */
static uint64_t reported_value(struct hvp_machine *m, struct hvp_vcpu *vcpu, const struct hvp_exit *x,
			       struct hvp_status *st)
{
	struct hvp_regs regs;
	struct hvp_status got;

	if (x->kind == HVP_EXIT_MMIO)
		return x->value;
	got = m->ctx->be->regs_get(vcpu, &regs);
	if (got.err != HVP_OK) {
		*st = got;
		return x->value;
	}
	return regs.gpr[0]; /* x86 RAX, arm64 x0 */
}

/* Handles one exit; returns 1 while the program goes on. */
static int handle_exit(struct hvp_machine *m, struct hvp_vcpu *vcpu, struct hvp_guest_result *res)
{
	const struct hvp_exit *x = &res->last;

	switch (hvp_guest_arch_channel(x)) {
	case HVP_CHANNEL_REPORT:
		if (res->n < HVP_GUEST_REPORTS_MAX)
			res->value[res->n] = reported_value(m, vcpu, x, &res->st);
		res->n++;
		return res->st.err == HVP_OK;
	case HVP_CHANNEL_DONE:
		res->done = true;
		res->done_status = reported_value(m, vcpu, x, &res->st);
		return 0;
	case HVP_CHANNEL_FAIL:
		res->failed = true;
		res->done_status = reported_value(m, vcpu, x, &res->st);
		return 0;
	default: /* a pause, or an exit the probe handles itself */
		return 0;
	}
}

void hvp_guest_run(struct hvp_machine *m, struct hvp_vcpu *vcpu, struct hvp_guest_result *res)
{
	memset(res, 0, sizeof(*res));
	hvp_guest_resume(m, vcpu, res, 0);
}

void hvp_guest_resume(struct hvp_machine *m, struct hvp_vcpu *vcpu, struct hvp_guest_result *res,
		      uint64_t read_value)
{
	struct hvp_ctx *ctx = m->ctx;
	char how[64];

	res->n = 0;
	res->exits = 0;
	res->done = res->failed = false;
	res->last.value = read_value;
	do {
		res->st = ctx->be->vcpu_run(vcpu, &res->last);
		res->exits++;
		if (res->st.err != HVP_OK)
			break;
	} while (handle_exit(m, vcpu, res) && res->exits < RUN_EXITS_MAX);

	if (res->done)
		snprintf(how, sizeof(how), "final report %" PRIu64, res->done_status);
	else if (res->failed)
		snprintf(how, sizeof(how), "guest check %" PRIu64 " failed", res->done_status);
	else
		snprintf(how, sizeof(how), "stopped by %s exit 0x%" PRIx64, hvp_exit_kind_name(res->last.kind),
			 res->last.addr);
	res->st.evidence = hvp_record(ctx, res->st, "%s: %u exits, %u reports, %s", m->label, res->exits, res->n, how);
}

unsigned hvp_guest_read_list(struct hvp_machine *m, unsigned vcpu_id, const uint64_t *addrs, unsigned n,
			     uint64_t *values, struct hvp_guest_result *res)
{
	uint64_t arg[4] = { HVP_SYS_DATA, n, 0, 0 };
	struct hvp_vcpu *vcpu;
	unsigned got;

	HVP_ASSERT(m->ctx, n <= HVP_GUEST_REPORTS_MAX, "at most %d reads per run", HVP_GUEST_REPORTS_MAX);
	memcpy(m->sys + HVP_SYS_DATA - HVP_SYS_GPA, addrs, n * sizeof(*addrs));
	vcpu = hvp_vcpu_start(m, vcpu_id, &hvp_prog_load_list, arg);
	hvp_guest_run(m, vcpu, res);
	hvp_vcpu_destroy(m, vcpu);
	got = res->n < n ? res->n : n;
	memcpy(values, res->value, got * sizeof(*values));
	/* All n only when the program also ended as it should: a run cut short is never complete. */
	if (!hvp_guest_ok(res) && got == n)
		got = n - 1;
	return got;
}

static void *guest_thread_main(void *arg)
{
	struct hvp_guest_thread *t = arg;

	hvp_guest_run(t->m, t->vcpu, &t->r);
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

void hvp_guest_thread_start(struct hvp_guest_thread *t)
{
	HVP_ASSERT(t->m->ctx, pthread_create(&t->tid, NULL, guest_thread_main, t) == 0, "pthread_create failed");
}

int hvp_guest_thread_wait(struct hvp_guest_thread *t, int64_t ns)
{
	const struct timespec ms = { 0, 1000000 };
	struct timespec now;
	int64_t deadline;

	clock_gettime(CLOCK_MONOTONIC, &now);
	deadline = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec + ns;
	while (!__atomic_load_n(&t->done, __ATOMIC_ACQUIRE)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((int64_t)now.tv_sec * 1000000000 + now.tv_nsec > deadline)
			return 0;
		nanosleep(&ms, NULL);
	}
	return 1;
}

uint64_t *hvp_guest_thread_spin(struct hvp_ctx *ctx, struct hvp_guest_thread *t, uint64_t flag_gpa)
{
	const struct timespec settle = { 0, 50000000 };
	uint64_t arg[4] = { flag_gpa, 0, 0, 0 };
	uint64_t *flag = hvp_guest_memory(ctx, 0x1000);

	/*
	 * Written before the guest maps it: the page is the host's own from the
	 * start, not the shared zero page that the host's later write would
	 * replace under the running guest (a copy-on-write while mapped, after
	 * which arm64 guests under QEMU were seen reading a stale page).
	 */
	__atomic_store_n(flag, 0, __ATOMIC_RELEASE);
	t->m = hvp_machine_create(ctx, "VM");
	hvp_map(t->m, flag, flag_gpa, 0x1000, HVP_PROT_RWX);
	t->vcpu = hvp_vcpu_start(t->m, 0, &hvp_prog_wait_flag, arg);
	hvp_guest_thread_start(t);
	nanosleep(&settle, NULL);
	return flag;
}
