/* SPDX-License-Identifier: MIT */
#include "machine.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "guest.h"

#define RUN_EXITS_MAX 10000 /* a program is a few reports; more is a runaway guest */
/* Each vCPU's stack in the system region (guest_abi.h): guest memory, no map of its own. */
#define VCPU_STACK_SIZE 4096ull

uint64_t hvp_api_page_size(const struct hvp_ctx *ctx)
{
	return ctx->be->page_size(ctx->hv);
}

uint64_t hvp_page_size(const struct hvp_ctx *ctx)
{
	uint64_t api = hvp_api_page_size(ctx), asked = ctx->open ? ctx->open->page_size : 0;

	/* Only a multiple of the API's page is one its maps take (main refuses any other). */
	return asked > api && asked % api == 0 ? asked : api;
}

/*
 * mmap aligns to the host's page only: for a larger alignment, an
 * inaccessible reservation with room to spare is made first, the memory is
 * put at its aligned place inside, and the rest is given back.
 */
static void *mmap_aligned(uint64_t align, uint64_t size, int flags, int fd)
{
	long host_page = sysconf(_SC_PAGESIZE);
	uint8_t *spare, *p;
	uint64_t lead;
	int err;

	if (host_page > 0 && align <= (uint64_t)host_page)
		return mmap(NULL, size, PROT_READ | PROT_WRITE, flags, fd, 0);
	spare = mmap(NULL, size + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (spare == MAP_FAILED)
		return MAP_FAILED;
	p = (uint8_t *)(((uintptr_t)spare + align - 1) & ~(uintptr_t)(align - 1));
	if (mmap(p, size, PROT_READ | PROT_WRITE, flags | MAP_FIXED, fd, 0) == MAP_FAILED) {
		err = errno;
		munmap(spare, size + align);
		errno = err;
		return MAP_FAILED;
	}
	lead = (uint64_t)(p - spare);
	if (lead)
		munmap(spare, lead);
	munmap(p + size, align - lead);
	return p;
}

void *hvp_host_mmap(const struct hvp_ctx *ctx, uint64_t size, int flags, int fd)
{
	return mmap_aligned(hvp_page_size(ctx), size, flags, fd);
}

void *hvp_guest_memory(struct hvp_ctx *ctx, uint64_t size)
{
	void *p = hvp_host_mmap(ctx, size, MAP_PRIVATE | MAP_ANONYMOUS, -1);

	HVP_ASSERT(ctx, p != MAP_FAILED, "mmap of %" PRIu64 " bytes of guest memory: %s", size,
		   strerror(errno));
	return p;
}

void hvp_guest_memory_free(void *p, uint64_t size)
{
	munmap(p, size);
}

struct hvp_status hvp_machine_create_try(struct hvp_ctx *ctx, const char *label, struct hvp_machine **out)
{
	struct hvp_machine *m = calloc(1, sizeof(*m));
	struct hvp_status st;

	*out = NULL;
	HVP_ASSERT(ctx, m, "out of memory");
	m->ctx = ctx;
	hvp_copy_str(m->label, sizeof(m->label), label);
	st = ctx->be->vm_create(ctx->hv, &m->vm);
	st.evidence = hvp_record(ctx, st, "%s", label);
	if (st.err != HVP_OK) {
		free(m);
		return st;
	}
	m->sys = hvp_guest_memory(ctx, HVP_SYS_SIZE);
	hvp_guest_arch_init(m->sys, &m->paging);
	/* Setup: a failed map is not the create's answer. */
	hvp_map(m, m->sys, HVP_SYS_GPA, HVP_SYS_SIZE, HVP_PROT_RWX);
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
	/*
	 * Ranges beyond identity paging's reach are seen through hvp_window().
	 * The page tables are hvprobe's own: no room there is hvprobe's
	 * failure, which no API call made.
	 */
	HVP_ASSERT(ctx, !size || gpa + size - 1 >= hvp_guest_arch_identity_limit() ||
			   hvp_guest_arch_map(m->sys, &m->paging, gpa, gpa, size) == 0,
		   "%s: no room in hvprobe's guest page tables for gpa 0x%" PRIx64 " size 0x%" PRIx64, m->label, gpa,
		   size);
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
		   "hvprobe's guest page tables cannot reach gpa 0x%" PRIx64 ", not even through a window", gpa);
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
	/* arm64 guests fetch it through their instruction cache, which stores do not reach (x86: nothing to do). */
	__builtin___clear_cache((char *)m->sys + at - HVP_SYS_GPA, (char *)m->sys + at - HVP_SYS_GPA + len);
	m->code_used += (unsigned)((len + 15) & ~15u);
	m->loaded[m->n_loaded] = prog;
	m->loaded_at[m->n_loaded++] = at;
	return at;
}

/* The boot of vCPU id into prog at ring (or HVP_REAL_MODE), the program loaded. */
static void program_boot(struct hvp_machine *m, struct hvp_boot *boot, unsigned id, const struct hvp_program *prog,
			 const uint64_t arg[4], unsigned ring)
{
	hvp_guest_arch_boot(boot, load_program(m, prog), arg);
	boot->real_mode = ring == HVP_REAL_MODE;
	boot->ring = boot->real_mode ? 0 : ring;
	boot->interrupts_off = prog->interrupts_off;
	/* Each vCPU gets its own stack: 4 KiB below the previous one's. */
	boot->stack -= VCPU_STACK_SIZE * (id % 16);
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
		/* Recorded, not judged: the caller answers from the refused boot. */
		hvp_record(ctx, ctx->be->vcpu_destroy(*out), "%s vcpu %u, after its refused boot", m->label, id);
		*out = NULL;
	}
	return st;
}

struct hvp_status hvp_vcpu_boot_try(struct hvp_machine *m, struct hvp_vcpu *vcpu, unsigned id,
				    const struct hvp_program *prog, const uint64_t arg[4], unsigned ring)
{
	struct hvp_boot boot;
	struct hvp_status st;

	program_boot(m, &boot, id, prog, arg, ring);
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

	program_boot(m, &boot, id, prog, arg, ring);
	hvp_guest_arch_regs(&boot, &regs);
	return m->ctx->be->regs_set(vcpu, &regs);
}

void hvp_vcpu_destroy(struct hvp_machine *m, struct hvp_vcpu *vcpu)
{
	struct hvp_status st = m->ctx->be->vcpu_destroy(vcpu);

	hvp_record(m->ctx, st, "%s", m->label);
	HVP_ASSERT(m->ctx, st.err == HVP_OK, "%s: destroying a vCPU failed: %s %s", m->label, st.call,
		   m->ctx->be->native_name(st.native));
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
	case HVP_CHANNEL_DONE: /* its status unread, the final report is not one */
		res->done_status = reported_value(m, vcpu, x, &res->st);
		res->done = res->st.err == HVP_OK;
		return 0;
	case HVP_CHANNEL_FAIL:
		res->done_status = reported_value(m, vcpu, x, &res->st);
		res->failed = res->st.err == HVP_OK;
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
		res->returned_ns = hvp_now_ns(); /* a kick's latency ends here, not when a poller notices */
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

bool hvp_guest_reported(const struct hvp_guest_result *r, const uint64_t *want, unsigned n)
{
	if (!hvp_guest_ok(r) || r->n != n)
		return false;
	for (unsigned i = 0; i < n && i < HVP_GUEST_REPORTS_MAX; i++)
		if (r->value[i] != want[i])
			return false;
	return true;
}

const char *hvp_guest_how(const struct hvp_ctx *ctx, const struct hvp_guest_result *r, char *buf, unsigned size)
{
	if (r->st.err != HVP_OK)
		snprintf(buf, size, "%s failed with %s (%s exit)", r->st.call, ctx->be->native_name(r->st.native),
			 hvp_exit_kind_name(r->last.kind));
	else if (r->failed)
		snprintf(buf, size, "the guest's check %" PRIu64 " failed after %u reports", r->done_status, r->n);
	else if (!r->done)
		snprintf(buf, size, "stopped by a %s exit at 0x%" PRIx64 " after %u reports", hvp_exit_kind_name(r->last.kind),
			 r->last.addr, r->n);
	else if (r->n == 0)
		snprintf(buf, size, "final report %" PRIu64 " after no report", r->done_status);
	else if (r->n == 1)
		snprintf(buf, size, "final report %" PRIu64 " after one report: 0x%" PRIx64, r->done_status, r->value[0]);
	else
		snprintf(buf, size, "final report %" PRIu64 " after %u reports: 0x%" PRIx64 ", 0x%" PRIx64 "%s",
			 r->done_status, r->n, r->value[0], r->value[1], r->n > 2 ? ", ..." : "");
	return buf;
}

void hvp_guest_require(struct hvp_ctx *ctx, const struct hvp_guest_result *r, const uint64_t *want, unsigned n,
		       const char *what)
{
	char how[128];

	if (hvp_guest_reported(r, want, n))
		return;
	for (unsigned i = 0; hvp_guest_ok(r) && i < n && i < r->n && i < HVP_GUEST_REPORTS_MAX; i++)
		if (r->value[i] != want[i])
			hvp_probe_abort(ctx, __FILE__, __LINE__,
					"%s: the guest reported 0x%" PRIx64 " where it was to report 0x%" PRIx64
					": its reports prove nothing", what, r->value[i], want[i]);
	hvp_probe_abort(ctx, __FILE__, __LINE__, "%s: the guest did not make the %u reports asked for: %s", what, n,
			hvp_guest_how(ctx, r, how, sizeof(how)));
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

void hvp_kick(struct hvp_ctx *ctx, struct hvp_vcpu *vcpu)
{
	struct hvp_status st = ctx->be->vcpu_kick(vcpu);

	HVP_ASSERT(ctx, st.err == HVP_OK, "a kick to end a run failed: %s %s", st.call, hvp_native(ctx, st));
}

void hvp_guest_thread_start(struct hvp_guest_thread *t)
{
	HVP_ASSERT(t->m->ctx, pthread_create(&t->tid, NULL, guest_thread_main, t) == 0, "pthread_create failed");
}

int hvp_guest_thread_end(struct hvp_guest_thread *t, int64_t ns)
{
	if (!hvp_guest_thread_wait(t, ns))
		return 0;
	pthread_join(t->tid, NULL);
	return 1;
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

/*
 * What a spinning guest stores before it spins, and how long it may take
 * to get there (a vCPU's first entry under nested emulation is slow).
 */
#define SPIN_MARKER UINT64_C(0x5b1ee9a5b1ee9a01)
#define SPIN_START_NS 3000000000ll

/* Waits for the spinning guest's marker; ends the probe as crashed if the run ends first or it never comes. */
static void wait_for_marker(struct hvp_ctx *ctx, struct hvp_guest_thread *t, const uint64_t *marker)
{
	const struct timespec ms = { 0, 1000000 };
	struct timespec now;
	int64_t deadline, now_ns;
	char how[128];

	clock_gettime(CLOCK_MONOTONIC, &now);
	deadline = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec + SPIN_START_NS;
	for (;;) {
		if (__atomic_load_n(marker, __ATOMIC_ACQUIRE) == SPIN_MARKER)
			break;
		HVP_ASSERT(ctx, !__atomic_load_n(&t->done, __ATOMIC_ACQUIRE),
			   "%s: the run ended before the guest reported that it was spinning: %s", t->m->label,
			   hvp_guest_how(ctx, &t->r, how, sizeof(how)));
		clock_gettime(CLOCK_MONOTONIC, &now);
		now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
		HVP_ASSERT(ctx, now_ns < deadline, "%s: the guest did not report that it was spinning within %lld s",
			   t->m->label, SPIN_START_NS / 1000000000);
		nanosleep(&ms, NULL);
	}
	hvp_guest_value(ctx, "spinning guest's marker", SPIN_MARKER);
}

uint64_t *hvp_guest_thread_spin(struct hvp_ctx *ctx, struct hvp_guest_thread *t, uint64_t flag_gpa)
{
	uint64_t arg[4] = { flag_gpa, flag_gpa + 8, SPIN_MARKER, 0 }, size = hvp_page_size(ctx);
	uint64_t *page = hvp_guest_memory(ctx, size);

	/*
	 * Written before the guest maps it: the page is the host's own from the
	 * start, not the shared zero page that the host's later write would
	 * replace under the running guest (a copy-on-write while mapped, after
	 * which arm64 guests under QEMU were seen reading a stale page).
	 */
	__atomic_store_n(&page[0], 0, __ATOMIC_RELEASE);
	__atomic_store_n(&page[1], 0, __ATOMIC_RELEASE);
	t->m = hvp_machine_create(ctx, "VM");
	hvp_map(t->m, page, flag_gpa, size, HVP_PROT_RWX);
	t->vcpu = hvp_vcpu_start(t->m, 0, &hvp_prog_handshake, arg);
	hvp_guest_thread_start(t);
	wait_for_marker(ctx, t, &page[1]);
	return page;
}

void hvp_page_device(struct hvp_machine *m, uint64_t gpa, uint64_t size)
{
	HVP_ASSERT(m->ctx, hvp_guest_arch_map_device(m->sys, &m->paging, gpa, gpa, size) == 0,
		   "cannot page device registers at gpa 0x%" PRIx64 " for the guest", gpa);
}
