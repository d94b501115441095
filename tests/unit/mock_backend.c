/* SPDX-License-Identifier: MIT */
/*
 * A mock backend for testing probes without a hypervisor. It keeps guest
 * memory maps as KVM does (refusing what KVM refuses, with KVM's errno
 * values) and runs the guest programs through small models of what each
 * program does: loads, stores and reports go through the mock's maps and
 * walk the guest page tables that hvprobe built, so a probe sees the same
 * exits it would see on real hardware. Faults can be injected to check
 * that a probe classifies a misbehaving API correctly.
 *
 * It lives with the tests: no finding a user sees ever comes from it.
 */
#define _GNU_SOURCE
#include "mock_backend.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "bench.h"
#include "cpu_model.h"
#include "errname.h"
#include "guest.h"
#include "notify.h"
#include "guest_state.h"

struct mock_faults mock_faults = MOCK_FAULTS_KVM;

#define MOCK_SLOTS_DEFAULT 512
#define MOCK_VMS_PER_PROCESS 100

static unsigned live_vms; /* VMs alive in this process, as a kernel would account them */
#define MOCK_GPA_BITS 40
#define MOCK_TSC_KHZ 1000000.0 /* a 1 GHz guest clock: one cycle per nanosecond */
#define CR0_LONG_MODE UINT64_C(0x80010033) /* PG, WP, NE, ET, MP, PE: as the KVM backend sets it */
#define SELECTOR_RING0_CODE 0x08 /* guest_x86_64.c's GDT: the CS a vCPU at ring 0 holds */
#define SELECTOR_RING3_CODE 0x33 /* user code, RPL 3 */
#define PAGE 0x1000ull

struct hvp_hv {
	int unused;
};

/* Interrupts and doorbells, modelled as KVM x86 has them (api.rst, KVM_IRQFD and the rest). */
#define MOCK_MAX_ROUTES 4096 /* KVM_MAX_IRQ_ROUTES */
#define MOCK_NOTIFIERS 8
#define MOCK_RING 64

struct mock_irqfd {
	int fd, resample_fd;
	uint32_t gsi;
	int level_pending; /* a resample line raised and not yet ended by the guest */
};

struct mock_bell {
	int fd;
	struct hvp_doorbell d;
};

struct mock_irq {
	int chip;                      /* 0: none; 1 + enum hvp_irq_chip */
	struct mock_irqfd irqfd[MOCK_NOTIFIERS];
	unsigned n_irqfd;
	struct hvp_irq_route *routes;  /* the routing table the VMM set; NULL: the default (GSI = IOAPIC pin) */
	unsigned n_routes;
	struct mock_bell bell[MOCK_NOTIFIERS];
	unsigned n_bell;
	struct { uint64_t addr; uint32_t size; } zone[4];
	unsigned n_zone;
	struct hvp_coalesced ring[MOCK_RING];
	unsigned ring_first, ring_last;
	uint64_t pending[4];           /* vectors raised for vCPU 0, a bit each; accessed atomically */
};

struct region {
	uint64_t gpa, size;
	uint8_t *host;
	unsigned prot;
	int dirty_logging;
	uint64_t *dirty; /* one bit per page */
};

struct hvp_vm {
	unsigned n, cap;
	struct region *r;
	unsigned n_ids;
	unsigned ids[64]; /* vCPU ids in use (the first 64) */
	pid_t owner;      /* as KVM: only the creating process may use the VM (EIO elsewhere) */
	int64_t msr_filtered; /* the MSR whose guest reads exit to the VMM, -1: none */
	int dead;         /* destroyed: calls get EBADF, as on KVM's closed fd; vCPUs keep its memory */
	struct mock_irq irq;
	int manual_protect;   /* reading the dirty log leaves it; the VMM clears it */
	unsigned ring_entries, ring_soft; /* a dirty ring (0: none), one per VM: the probes run one vCPU */
	unsigned ring_used, ring_collected;
	uint64_t *ring;       /* guest-physical addresses of the pages dirtied, in order */
};

enum program { P_UNKNOWN, P_REPORT_ARGS, P_LOAD2, P_LOAD_STORE, P_WAIT_FLAG, P_LOAD_LIST, P_STORE_PAGES, P_HANDSHAKE,
	       P_RENDEZVOUS, P_TIMED_ALU, P_HYPERCALL, P_LOOP_HLT, P_CPUID_REPORT, P_RDMSR_REPORT,
	       P_TSC_PAIR, P_REAL_MODE16, P_IRQ_WAIT, P_DOORBELL_PIO, P_DOORBELL_MMIO, P_STATE_CHECK };

struct hvp_vcpu {
	struct hvp_vm *vm;
	struct hvp_boot boot;
	enum program prog;
	unsigned step;
	unsigned ring;    /* the ring the vCPU really runs at */
	uint64_t cr0;
	uint64_t i, acc, addr;
	int waiting_read; /* the last exit was an MMIO read: the next run brings its value */
	uint32_t cpuid_leaf, cpuid_val[4]; /* the one leaf the VMM set (leaf 0: none) */
	uint32_t msr_index;               /* the one MSR the VMM set */
	uint64_t msr_value;
	double tsc_khz;                   /* the guest TSC: tsc_base + (now - tsc_epoch) at tsc_khz */
	uint64_t tsc_base;
	int64_t tsc_epoch_ns;
	uint64_t state_lost; /* the classes a restore did not bring back (HVP_LOST_*) */
	int kicked;
	int wake_lost; /* this wait takes no interrupt until a kick (mock_faults.irq_wakes_lost) */
	uint64_t injected; /* a vector the VMM injected (KVM_INTERRUPT) + 1; 0: none */
	int dead; /* destroyed: later calls get EBADF; a run already inside goes on until kicked */
	pthread_mutex_t lock; /* one call at a time per vCPU, as KVM's vcpu->mutex */
	sigset_t guest_mask;  /* the caller's signal mask: signals arrive only while "in the guest" */
};

static struct hvp_status st_of(const char *call, int err)
{
	static const enum hvp_err map[] = { [0] = HVP_OK, [EEXIST] = HVP_ERR_EXISTS, [EINVAL] = HVP_ERR_INVALID,
					    [ENOSPC] = HVP_ERR_NOMEM, [ENOMEM] = HVP_ERR_NOMEM, [EMFILE] = HVP_ERR_RLIMIT,
					    [EFAULT] = HVP_ERR_FAULT, [ENXIO] = HVP_ERR_NODEV, [EINTR] = HVP_ERR_INTERRUPTED, [EIO] = HVP_ERR_IO, [EBADF] = HVP_ERR_IO };
	enum hvp_err e = (unsigned)err < sizeof(map) / sizeof(map[0]) ? map[err] : HVP_ERR_OTHER;
	return (struct hvp_status){ err && e == HVP_OK ? HVP_ERR_OTHER : e, err, call, -1 };
}

static struct hvp_status mock_open(const struct hvp_open_opts *opts, struct hvp_hv **out)
{
	(void)opts;
	*out = calloc(1, sizeof(**out));
	return st_of("mock_open", *out ? 0 : ENOMEM);
}

static void mock_close(struct hvp_hv *hv)
{
	free(hv);
}

static const char *mock_advice(const struct hvp_open_opts *opts, struct hvp_status st)
{
	(void)opts;
	(void)st;
	return "the mock never fails to open";
}

#define MOCK_MAX_VCPU_ID 1024

static void mock_facts(struct hvp_hv *hv, struct hvp_facts *out)
{
	(void)hv;
	hvp_facts_add(out, "backend", "mock");
	/* Under KVM's name, so that probes reading KVM's limits read the mock's. */
	hvp_facts_add(out, "KVM_CAP_MAX_VCPU_ID", "%d", MOCK_MAX_VCPU_ID);
	if (mock_faults.modules)
		hvp_facts_add(out, "kvm_modules", "%s", mock_faults.modules);
}

/* The API's page: maps are refused unless aligned to it, and the dirty log has a bit per page. */
static uint64_t api_page(void)
{
	return mock_faults.page_size ? mock_faults.page_size : PAGE;
}

static uint64_t mock_page_size(struct hvp_hv *hv)
{
	(void)hv;
	return api_page();
}

static const char *mock_native_name(int64_t native)
{
	return hvp_errno_name((int)native);
}

static unsigned mock_gpa_bits(struct hvp_hv *hv)
{
	(void)hv;
	return MOCK_GPA_BITS;
}

static struct hvp_status mock_vm_create(struct hvp_hv *hv, struct hvp_vm **out)
{
	(void)hv;
	*out = NULL;
	if (live_vms >= MOCK_VMS_PER_PROCESS)
		return st_of("mock_vm_create", ENOMEM);
	*out = calloc(1, sizeof(**out));
	if (*out) {
		(*out)->owner = getpid();
		(*out)->msr_filtered = -1;
		live_vms++;
	}
	return st_of("mock_vm_create", *out ? 0 : ENOMEM);
}

/*
 * Destroyed handles stay valid (backend.h); the memory of a destroyed VM
 * stays too, since its vCPUs may still run in it, as on KVM.
 */
static struct hvp_status mock_vm_destroy(struct hvp_vm *vm)
{
	if (vm->dead)
		return st_of("mock_vm_destroy", EBADF);
	vm->dead = 1;
	live_vms--;
	return st_of("mock_vm_destroy", 0);
}

static struct region *region_at(struct hvp_vm *vm, uint64_t gpa)
{
	for (unsigned i = 0; i < vm->n; i++)
		if (gpa >= vm->r[i].gpa && gpa - vm->r[i].gpa < vm->r[i].size)
			return &vm->r[i];
	return NULL;
}

static struct region *region_exact(struct hvp_vm *vm, uint64_t gpa, uint64_t size)
{
	for (unsigned i = 0; i < vm->n; i++)
		if (vm->r[i].gpa == gpa && vm->r[i].size == size)
			return &vm->r[i];
	return NULL;
}

static int overlaps(struct hvp_vm *vm, uint64_t gpa, uint64_t size)
{
	for (unsigned i = 0; i < vm->n; i++)
		if (gpa < vm->r[i].gpa + vm->r[i].size && vm->r[i].gpa < gpa + size)
			return 1;
	return 0;
}

/* The checks KVM_SET_USER_MEMORY_REGION makes, with its errno values. */
static struct hvp_status mock_mem_map(struct hvp_vm *vm, void *host, uint64_t gpa, uint64_t size, unsigned prot)
{
	const char *call = "mock_map";
	unsigned limit = mock_faults.max_slots ? mock_faults.max_slots : MOCK_SLOTS_DEFAULT;

	if (vm->dead)
		return st_of(call, EBADF);
	if (vm->owner != getpid())
		return st_of(call, EIO);
	if ((gpa | size | (uintptr_t)host) & (api_page() - 1) || size == 0 || gpa + size < gpa ||
	    gpa + size > (1ull << MOCK_GPA_BITS))
		return st_of(call, EINVAL);
	if (vm->n >= limit)
		return st_of(call, EINVAL);
	if (overlaps(vm, gpa, size) && !mock_faults.allow_overlap)
		return st_of(call, EEXIST);
	if (vm->n == vm->cap) {
		unsigned cap = vm->cap ? vm->cap * 2 : 16;
		struct region *grown = realloc(vm->r, cap * sizeof(*grown));
		if (!grown)
			return st_of(call, ENOMEM);
		vm->r = grown;
		vm->cap = cap;
	}
	/* A later map wins lookups where a faulty API let maps overlap. */
	memmove(&vm->r[1], &vm->r[0], vm->n * sizeof(vm->r[0]));
	vm->r[0] = (struct region){ gpa, size, host, prot, 0, NULL };
	vm->n++;
	return st_of(call, 0);
}

static struct hvp_status mock_mem_unmap(struct hvp_vm *vm, uint64_t gpa, uint64_t size)
{
	struct region *r = region_exact(vm, gpa, size);

	if (!r)
		return st_of("mock_unmap", EINVAL);
	free(r->dirty);
	*r = vm->r[--vm->n];
	return st_of("mock_unmap", 0);
}

static struct hvp_status mock_mem_protect(struct hvp_vm *vm, uint64_t gpa, uint64_t size, unsigned prot)
{
	struct region *r = region_exact(vm, gpa, size);

	if (!r)
		return st_of("mock_protect", EINVAL);
	r->prot = prot;
	return st_of("mock_protect", 0);
}

static struct hvp_status mock_dirty_enable(struct hvp_vm *vm, uint64_t gpa, uint64_t size, bool on)
{
	struct region *r = region_exact(vm, gpa, size);

	if (!r)
		return st_of("mock_dirty_log_enable", EINVAL);
	r->dirty_logging = on;
	free(r->dirty);
	r->dirty = on ? calloc((size / api_page() + 63) / 64, 8) : NULL;
	return st_of("mock_dirty_log_enable", on && !r->dirty ? ENOMEM : 0);
}

static struct hvp_status mock_dirty_get_live(struct hvp_vm *vm, uint64_t gpa, uint64_t size, uint64_t *bitmap);

static struct hvp_status mock_dirty_get(struct hvp_vm *vm, uint64_t gpa, uint64_t size, uint64_t *bitmap)
{
	return vm->dead ? st_of("mock_dirty_log_get", EBADF) : mock_dirty_get_live(vm, gpa, size, bitmap);
}

static struct hvp_status mock_dirty_get_live(struct hvp_vm *vm, uint64_t gpa, uint64_t size, uint64_t *bitmap)
{
	struct region *r = region_exact(vm, gpa, size);
	size_t words = (size / api_page() + 63) / 64;

	if (vm->ring_entries)
		return st_of("mock_dirty_log_get", ENXIO); /* as KVM: no bitmap with the ring */
	if (!r || !r->dirty)
		return st_of("mock_dirty_log_get", EINVAL);
	memcpy(bitmap, r->dirty, words * 8);
	if (!mock_faults.dirty_log_sticky && !vm->manual_protect)
		memset(r->dirty, 0, words * 8);
	return st_of("mock_dirty_log_get", 0);
}

static const struct {
	const struct hvp_program *prog;
	enum program id;
} programs[] = {
	{ &hvp_prog_report_args, P_REPORT_ARGS }, { &hvp_prog_load2, P_LOAD2 },
	{ &hvp_prog_load_store, P_LOAD_STORE },   { &hvp_prog_wait_flag, P_WAIT_FLAG },
	{ &hvp_prog_load_list, P_LOAD_LIST },     { &hvp_prog_store_pages, P_STORE_PAGES },
	{ &hvp_prog_handshake, P_HANDSHAKE },     { &hvp_prog_rendezvous, P_RENDEZVOUS },
	{ &hvp_prog_timed_alu, P_TIMED_ALU },     { &hvp_prog_hypercall_vmcall, P_HYPERCALL },
	{ &hvp_prog_hypercall_vmmcall, P_HYPERCALL }, { &hvp_prog_loop_hlt, P_LOOP_HLT },
	{ &hvp_prog_cpuid_report, P_CPUID_REPORT },   { &hvp_prog_rdmsr_report, P_RDMSR_REPORT },
	{ &hvp_prog_tsc_pair, P_TSC_PAIR },           { &hvp_prog_real_mode16, P_REAL_MODE16 },
	{ &hvp_prog_irq_wait, P_IRQ_WAIT },           { &hvp_prog_doorbell_pio, P_DOORBELL_PIO },
	{ &hvp_prog_doorbell_mmio, P_DOORBELL_MMIO },
	{ &hvp_prog_state_check, P_STATE_CHECK },
};

static struct hvp_status mock_vcpu_create(struct hvp_vm *vm, unsigned id, struct hvp_vcpu **out)
{
	*out = NULL;
	if (vm->dead)
		return st_of("mock_vcpu_create", EBADF);
	if (vm->owner != getpid())
		return st_of("mock_vcpu_create", EIO);
	if (id >= MOCK_MAX_VCPU_ID)
		return st_of("mock_vcpu_create", EINVAL);
	for (unsigned i = 0; i < vm->n_ids; i++)
		if (vm->ids[i] == id)
			return st_of("mock_vcpu_create", EEXIST);
	if (vm->n_ids < sizeof(vm->ids) / sizeof(vm->ids[0]))
		vm->ids[vm->n_ids++] = id;
	*out = calloc(1, sizeof(**out));
	if (*out) {
		(*out)->vm = vm;
		(*out)->tsc_khz = MOCK_TSC_KHZ;
		(*out)->tsc_epoch_ns = hvp_now_ns();
		pthread_mutex_init(&(*out)->lock, NULL);
	}
	return st_of("mock_vcpu_create", *out ? 0 : ENOMEM);
}

static struct hvp_status mock_vcpu_destroy(struct hvp_vcpu *vcpu)
{
	if (__atomic_exchange_n(&vcpu->dead, 1, __ATOMIC_ACQ_REL))
		return st_of("mock_vcpu_destroy", EBADF);
	return st_of("mock_vcpu_destroy", 0);
}

/* Host memory behind a guest-physical address, or NULL if none (or if the host unmapped it). */
static uint8_t *host_of(struct hvp_vm *vm, uint64_t gpa, struct region **out)
{
	struct region *r = region_at(vm, gpa);
	uint8_t *p;

	if (out)
		*out = r;
	if (!r)
		return NULL;
	p = r->host + (gpa - r->gpa);
	return p;
}

static int host_page_gone(const uint8_t *p)
{
	return msync((void *)((uintptr_t)p & ~(uintptr_t)(PAGE - 1)), PAGE, MS_ASYNC) != 0;
}

/* Walks the guest's 4-level tables (2 MiB leaves, as guest_x86_64.c builds them). */
static int translate(struct hvp_vcpu *v, uint64_t va, uint64_t *gpa)
{
	uint64_t table = v->boot.page_table, e = 0;
	static const int shift[3] = { 39, 30, 21 };

	for (int level = 0; level < 3; level++) {
		uint8_t *p = host_of(v->vm, (table & 0x000ffffffffff000ull) + 8 * ((va >> shift[level]) & 511), NULL);
		if (!p)
			return -1;
		memcpy(&e, p, 8);
		if (!(e & 1))
			return -1;
		table = e;
	}
	*gpa = (e & 0x000fffffffe00000ull) + (va & 0x1fffff);
	return 0;
}

static enum program identify(struct hvp_vcpu *v)
{
	uint64_t gpa;
	uint8_t *code;

	if (translate(v, v->boot.entry, &gpa) || !(code = host_of(v->vm, gpa, NULL)))
		return P_UNKNOWN;
	for (unsigned i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
		size_t len = (size_t)(programs[i].prog->end - programs[i].prog->start);
		if (memcmp(code, programs[i].prog->start, len) == 0)
			return programs[i].id;
	}
	return P_UNKNOWN;
}

static struct hvp_status mock_vcpu_boot(struct hvp_vcpu *vcpu, const struct hvp_boot *boot)
{
	if (boot->real_mode && mock_faults.no_real_mode)
		return st_of("mock_vcpu_boot", EINVAL);
	vcpu->boot = *boot;
	vcpu->step = 0;
	vcpu->i = 0;
	vcpu->ring = mock_faults.ring_ignored ? 0 : boot->ring;
	vcpu->cr0 = boot->real_mode ? mock_faults.real_mode_cr0 : CR0_LONG_MODE;
	vcpu->prog = identify(vcpu);
	return st_of("mock_vcpu_boot", vcpu->prog == P_UNKNOWN ? EINVAL : 0);
}

/* Outcomes of one guest memory access in the model. */
enum access { DONE_ACCESS, EXITED, FAULTED };

/*
 * The host bytes behind an 8-byte access at gpa, one lookup per byte, since
 * an access may span two maps. Returns 0, or -1 if any byte is unbacked.
 */
static int bytes_of(struct hvp_vm *vm, uint64_t gpa, uint8_t *p[8], struct region *r[8])
{
	for (int i = 0; i < 8; i++)
		if (!(p[i] = host_of(vm, gpa + i, &r[i])))
			return -1;
	return 0;
}

/*
 * An aligned 8-byte access within one host mapping is single-copy atomic, as
 * on x86_64 and arm64 hardware: another vCPU spinning on the word must never
 * see half of a store. Other accesses go byte by byte (they may span maps).
 */
static uint64_t *whole_word(uint8_t *p[8])
{
	return ((uintptr_t)p[0] % 8 == 0 && p[7] == p[0] + 7) ? (uint64_t *)(void *)p[0] : NULL;
}

static enum access guest_load(struct hvp_vcpu *v, uint64_t va, uint64_t *val, struct hvp_exit *x)
{
	struct region *r[8];
	uint8_t *p[8];
	uint64_t gpa;

	if (v->waiting_read) { /* the VMM answered the read that exited */
		v->waiting_read = 0;
		*val = x->value;
		return DONE_ACCESS;
	}
	if (translate(v, va, &gpa))
		return FAULTED;
	if (bytes_of(v->vm, gpa, p, r)) {
		*x = (struct hvp_exit){ .kind = HVP_EXIT_MMIO, .addr = gpa, .size = 8, .write = false };
		v->waiting_read = 1;
		return EXITED;
	}
	if (host_page_gone(p[0]) || host_page_gone(p[7]))
		return FAULTED;
	if (whole_word(p)) {
		*val = __atomic_load_n(whole_word(p), __ATOMIC_ACQUIRE);
		return DONE_ACCESS;
	}
	*val = 0;
	for (int i = 0; i < 8; i++)
		*val |= (uint64_t)*p[i] << (8 * i);
	return DONE_ACCESS;
}

static void log_dirty(struct hvp_vm *vm, struct region *r, uint64_t gpa)
{
	uint64_t page = (gpa - r->gpa) / api_page(), bit = 1ull << (page % 64);

	if (!r->dirty_logging || !r->dirty)
		return;
	/* The ring takes a page at its first write since it was last handed back, as KVM's write protection does. */
	if (vm->ring_entries && !(r->dirty[page / 64] & bit) && vm->ring_used < vm->ring_entries)
		vm->ring[vm->ring_used++] = r->gpa + page * api_page();
	r->dirty[page / 64] |= bit;
}

/* A write in a coalesced zone goes to the ring (while it has room); returns 1 if it did. */
static int coalesce(struct hvp_vm *vm, uint64_t gpa, uint32_t len, uint64_t val)
{
	struct mock_irq *q = &vm->irq;

	for (unsigned i = 0; i < q->n_zone && !mock_faults.bells_ignored; i++) {
		if (gpa < q->zone[i].addr || gpa - q->zone[i].addr >= q->zone[i].size)
			continue;
		if ((q->ring_last + 1) % MOCK_RING == q->ring_first)
			return 0; /* full: KVM exits to userspace */
		q->ring[q->ring_last] = (struct hvp_coalesced){ gpa, len, val };
		q->ring_last = (q->ring_last + 1) % MOCK_RING;
		return 1;
	}
	return 0;
}

static enum access guest_store(struct hvp_vcpu *v, uint64_t va, uint64_t val, struct hvp_exit *x, int *resumed)
{
	struct region *r[8];
	uint8_t *p[8];
	uint64_t gpa;
	int readonly = 0;

	if (*resumed) { /* the VMM absorbed the write that exited */
		*resumed = 0;
		return DONE_ACCESS;
	}
	if (translate(v, va, &gpa))
		return FAULTED;
	int unbacked = bytes_of(v->vm, gpa, p, r);
	for (int i = 0; !unbacked && i < 8; i++)
		readonly |= !(r[i]->prot & HVP_PROT_WRITE) && !mock_faults.readonly_writes_land;
	if (unbacked && coalesce(v->vm, gpa, 8, val))
		return DONE_ACCESS;
	if (unbacked || readonly) {
		*x = (struct hvp_exit){ .kind = HVP_EXIT_MMIO, .addr = gpa, .size = 8, .write = true, .value = val };
		*resumed = 1;
		return EXITED;
	}
	if (host_page_gone(p[0]) || host_page_gone(p[7]))
		return FAULTED;
	if (whole_word(p))
		__atomic_store_n(whole_word(p), val, __ATOMIC_RELEASE);
	for (int i = 0; i < 8; i++) {
		if (!whole_word(p))
			*p[i] = (uint8_t)(val >> (8 * i));
		log_dirty(v->vm, r[i], gpa + i);
	}
	return DONE_ACCESS;
}

static void io_exit(struct hvp_exit *x, uint16_t port, uint64_t value)
{
	*x = (struct hvp_exit){ .kind = HVP_EXIT_IO, .addr = port, .size = 4, .write = true, .value = value & 0xffffffff };
}

/* Waits for host memory to reach at least min, as a spinning guest would; a kick ends the wait. */
static int spin_until_at_least(struct hvp_vcpu *v, uint64_t va, uint64_t min, uint64_t *val, struct hvp_exit *x);

static int spin_until_nonzero(struct hvp_vcpu *v, uint64_t va, uint64_t *val, struct hvp_exit *x)
{
	return spin_until_at_least(v, va, 1, val, x);
}

/* lock incq: atomic on the host memory the guest address names. */
static enum access guest_atomic_inc(struct hvp_vcpu *v, uint64_t va)
{
	uint64_t gpa;
	uint8_t *p;

	if (translate(v, va, &gpa) || !(p = host_of(v->vm, gpa, NULL)))
		return FAULTED;
	__atomic_add_fetch((uint64_t *)(void *)p, 1, __ATOMIC_SEQ_CST);
	return DONE_ACCESS;
}

static int spin_until_at_least(struct hvp_vcpu *v, uint64_t va, uint64_t min, uint64_t *val, struct hvp_exit *x)
{
	const struct timespec pause = { 0, 100000 };

	for (;;) {
		enum access a = guest_load(v, va, val, x);
		if (a != DONE_ACCESS)
			return a;
		if (*val >= min)
			return DONE_ACCESS;
		/*
		 * A kick, or a signal to this thread, ends the run. Signals are blocked
		 * in the model and let in only by ppoll while the guest "spins", so
		 * none is lost between checks (KVM checks on every entry).
		 */
		if (__atomic_exchange_n(&v->kicked, 0, __ATOMIC_SEQ_CST) || ppoll(NULL, 0, &pause, &v->guest_mask) != 0) {
			*x = (struct hvp_exit){ .kind = HVP_EXIT_INTERRUPTED };
			return EXITED;
		}
	}
}

/* Raises vector for vCPU 0 (an in-kernel controller's delivery). */
static void irq_raise(struct hvp_vm *vm, uint64_t vector)
{
	__atomic_or_fetch(&vm->irq.pending[(vector >> 6) & 3], 1ull << (vector & 63), __ATOMIC_SEQ_CST);
}

/* The highest pending vector, taken; 0 if none. */
static unsigned irq_take(struct hvp_vm *vm)
{
	for (int w = 3; w >= 0; w--) {
		uint64_t bits = __atomic_load_n(&vm->irq.pending[w], __ATOMIC_SEQ_CST);
		if (bits) {
			unsigned b = 63 - (unsigned)__builtin_clzll(bits);
			__atomic_and_fetch(&vm->irq.pending[w], ~(1ull << b), __ATOMIC_SEQ_CST);
			return (unsigned)w * 64 + b;
		}
	}
	return 0;
}

/* Where a GSI goes: its MSI's vector in the VMM's table, or by default the IOAPIC pin the guest routed. */
static uint64_t gsi_vector(struct hvp_vm *vm, uint32_t gsi, const uint64_t *block)
{
	if (vm->irq.routes) {
		for (unsigned i = 0; i < vm->irq.n_routes; i++)
			if (vm->irq.routes[i].gsi == gsi && vm->irq.routes[i].msi)
				return vm->irq.routes[i].msi_data & 0xff;
		return 0;
	}
	if ((block[HVP_IRQ_FLAGS / 8] & HVP_IRQF_IOAPIC) && block[HVP_IRQ_PIN / 8] == gsi)
		return block[HVP_IRQ_VECTOR / 8] & 0xff;
	return 0;
}

/* The eventfds the VMM wrote since the last look, as the kernel's irqfd workers would see them. */
static void irq_poll_irqfds(struct hvp_vm *vm, const uint64_t *block)
{
	for (unsigned i = 0; i < vm->irq.n_irqfd; i++) {
		struct mock_irqfd *f = &vm->irq.irqfd[i];
		uint64_t n = 0, vector;
		if (hvp_notifier_take(f->fd, &n) != 0 || n == 0)
			continue;
		vector = gsi_vector(vm, f->gsi, block);
		if (vector && !mock_faults.irq_lost)
			irq_raise(vm, vector);
		f->level_pending = f->resample_fd >= 0;
	}
}

/* The guest's EOI for a level line: the resample eventfd is signalled. */
static void irq_eoi(struct hvp_vm *vm)
{
	for (unsigned i = 0; i < vm->irq.n_irqfd; i++)
		if (vm->irq.irqfd[i].level_pending) {
			vm->irq.irqfd[i].level_pending = 0;
			hvp_notifier_signal(vm->irq.irqfd[i].resample_fd, 1);
		}
}

static uint64_t guest_tsc(const struct hvp_vcpu *v);

/* irq_wait's handler: logs each pending vector in the guest's block, as the program's does. */
static void irq_handle(struct hvp_vcpu *v, uint64_t *block)
{
	unsigned vector;

	while ((vector = irq_take(v->vm)) != 0) {
		uint64_t n = block[HVP_IRQ_COUNT / 8];
		block[HVP_IRQ_TSC / 8] = guest_tsc(v);
		if (n < HVP_IRQ_LOG_MAX)
			block[HVP_IRQ_LOG / 8 + n] = vector;
		__atomic_store_n(&block[HVP_IRQ_COUNT / 8], n + 1, __ATOMIC_RELEASE);
		if (block[HVP_IRQ_FLAGS / 8] & HVP_IRQF_EOI)
			irq_eoi(v->vm);
	}
}

/*
 * irq_wait's HLT with interrupts on: taken in the kernel with a controller
 * there (a kick or a signal ends it), an exit to the VMM without one.
 * Returns 1 with the exit in x, 0 once the guest took what it waits for.
 */
static int irq_wait_step(struct hvp_vcpu *v, uint64_t *block, struct hvp_exit *x)
{
	const struct timespec pause = { 0, 100000 };

	for (;;) {
		if (v->injected) {
			irq_raise(v->vm, v->injected - 1);
			v->injected = 0;
		}
		irq_poll_irqfds(v->vm, block);
		if (!v->wake_lost)
			irq_handle(v, block);
		if (block[HVP_IRQ_COUNT / 8] >= block[HVP_IRQ_WANT / 8])
			return 0;
		if (!v->vm->irq.chip) {
			*x = (struct hvp_exit){ .kind = HVP_EXIT_HLT };
			return 1;
		}
		if (__atomic_exchange_n(&v->kicked, 0, __ATOMIC_SEQ_CST) || ppoll(NULL, 0, &pause, &v->guest_mask) != 0) {
			v->wake_lost = 0; /* the next entry looks at what is pending */
			*x = (struct hvp_exit){ .kind = HVP_EXIT_INTERRUPTED };
			return 1;
		}
	}
}

/* The host memory of irq_wait's block, or NULL. */
static uint64_t *irq_block(struct hvp_vcpu *v)
{
	uint64_t gpa;
	uint8_t *p;

	if (translate(v, v->boot.arg[0], &gpa) || !(p = host_of(v->vm, gpa, NULL)))
		return NULL;
	return (uint64_t *)(void *)p;
}

/* A doorbell write: an ioeventfd's, a coalesced zone's, or an exit (returns 1 with it in x). */
static int bell_write(struct hvp_vcpu *v, bool pio, uint64_t addr, uint32_t len, uint64_t value, struct hvp_exit *x)
{
	struct mock_irq *q = &v->vm->irq;

	for (unsigned i = 0; i < q->n_bell && !mock_faults.bells_ignored; i++) {
		const struct hvp_doorbell *d = &q->bell[i].d;
		if (d->pio == pio && d->addr == addr && (d->len == 0 || d->len == len) && (!d->datamatch || d->data == value)) {
			hvp_notifier_signal(q->bell[i].fd, 1);
			return 0;
		}
	}
	if (!pio && coalesce(v->vm, addr, len, value))
		return 0;
	*x = (struct hvp_exit){ .kind = pio ? HVP_EXIT_IO : HVP_EXIT_MMIO, .addr = addr, .size = len, .write = true,
				.value = value };
	return 1;
}

static uint64_t width_mask(uint32_t len)
{
	return len >= 8 ? ~0ull : (1ull << (8 * len)) - 1;
}

static int store_resumed_flag(struct hvp_vcpu *v)
{
	return v->step & 0x100 ? 1 : 0;
}

/*
 * The guest TSC cycles timed_alu's n iterations take at the vCPU's ring:
 * the same block timed on this host for real, scaled by the slowdown the
 * test injects, so that "native" does not depend on how fast the build is.
 */
static uint64_t alu_cycles(const struct hvp_vcpu *v, uint64_t n)
{
	double slowdown = mock_faults.alu_slowdown[v->ring & 3];
	int64_t t0 = hvp_now_ns();

	hvp_guest_arch_alu_on_host(n);
	return (uint64_t)((double)(hvp_now_ns() - t0) * (slowdown > 0 ? slowdown : 1) * v->tsc_khz / 1e6);
}

/* What the guest's ring report says: the CS selector of the ring the vCPU really runs at. */
static uint64_t ring_report(const struct hvp_vcpu *v)
{
	return v->ring == 3 ? SELECTOR_RING3_CODE : SELECTOR_RING0_CODE;
}

/* CPUID as the guest sees it: the VMM's leaf, or the host CPU's where the model lets ring 3 reach it. */
static const uint32_t *guest_cpuid(struct hvp_vcpu *v, uint32_t leaf)
{
	static __thread uint32_t out[4];

	memset(out, 0, sizeof(out));
	if (v->ring == 3 && mock_faults.cpuid_ring3_host) {
#if defined(__x86_64__)
		__cpuid_count(leaf, 0, out[0], out[1], out[2], out[3]);
#else
		memset(out, 0xff, sizeof(out)); /* a host CPU with every feature */
#endif
	} else if (leaf == v->cpuid_leaf) {
		memcpy(out, v->cpuid_val, sizeof(out));
	} else if (leaf == 0xd) { /* XSAVE: x87, SSE, AVX; 832 bytes for all */
		out[0] = 7;
		out[1] = out[2] = 0x340;
	}
	return out;
}

static uint64_t guest_tsc(const struct hvp_vcpu *v)
{
	double rate = v->tsc_khz * (mock_faults.tsc_runs_fast ? 1.1 : 1.0);

	return v->tsc_base + (uint64_t)((double)(hvp_now_ns() - v->tsc_epoch_ns) * rate / 1e6);
}

/*
 * One step of a program: returns 1 when it produced an exit (in x), 0 to go
 * on, -1 on a fault. A step that exits is retried after the VMM answers.
 */
static int step(struct hvp_vcpu *v, struct hvp_exit *x)
{
	const uint64_t *a = v->boot.arg;
	int resumed = store_resumed_flag(v);
	unsigned s = v->step & 0xff;
	enum access r = DONE_ACCESS;

	v->step &= 0xff;
#define LOAD(va) do { r = guest_load(v, (va), &v->acc, x); if (r != DONE_ACCESS) goto out; } while (0)
#define STORE(va, val) do { r = guest_store(v, (va), (val), x, &resumed); if (r != DONE_ACCESS) goto out; } while (0)
#define REPORT(val, next) do { v->acc = (val); io_exit(x, HVP_PORT_REPORT, v->acc); v->step = (next); return 1; } while (0)
#define FINISH() do { v->acc = 0; io_exit(x, HVP_PORT_DONE, 0); v->step = 0xff; return 1; } while (0)
	switch (v->prog) {
	case P_REPORT_ARGS:
		if (s == 0) REPORT(a[0], 1);
		if (s == 1) REPORT(a[1], 2);
		FINISH();
	case P_LOAD2:
		if (s == 0) { LOAD(a[0]); REPORT(v->acc, 1); }
		if (s == 1) { LOAD(a[1]); REPORT(v->acc, 2); }
		FINISH();
	case P_LOAD_STORE:
		if (s == 0) { LOAD(a[0]); REPORT(v->acc, 1); }
		if (s == 1) { STORE(a[0], a[1]); v->step = s = 2; }
		if (s == 2) { LOAD(a[0]); REPORT(v->acc, 3); }
		FINISH();
	case P_LOAD_LIST:
		if (v->i >= a[1])
			FINISH();
		if (s == 0) { LOAD(a[0] + 8 * v->i); v->addr = v->acc; v->step = s = 1; }
		LOAD(v->addr);
		v->i++;
		REPORT(v->acc, 0);
	case P_STORE_PAGES:
		for (; v->i < a[1]; v->i++) {
			if (v->vm->ring_entries && v->vm->ring_used >= v->vm->ring_soft) { /* KVM checks at each entry */
				*x = (struct hvp_exit){ .kind = HVP_EXIT_DIRTY_RING_FULL };
				return 1;
			}
			STORE(a[0] + v->i * a[2], v->i + 1);
		}
		FINISH();
	case P_HANDSHAKE:
		if (s == 0) { STORE(a[1], a[2]); v->step = s = 1; }
		if (s == 1) {
			r = spin_until_nonzero(v, a[0], &v->acc, x);
			if (r != DONE_ACCESS) goto out;
			REPORT(v->acc, 2);
		}
		FINISH();
	case P_RENDEZVOUS:
		if (s == 0) {
			if (guest_atomic_inc(v, a[0]) != DONE_ACCESS)
				return -1;
			v->step = s = 1;
		}
		if (s == 1) {
			r = spin_until_at_least(v, a[0], a[1], &v->acc, x);
			if (r != DONE_ACCESS) goto out;
			REPORT(v->acc, 2);
		}
		FINISH();
	case P_TIMED_ALU: /* the guest clock's cycles for a[0] iterations, then the ring */
		if (s == 0)
			REPORT(alu_cycles(v, a[0]), 1);
		if (s == 1)
			REPORT(ring_report(v), 2);
		FINISH();
	case P_CPUID_REPORT:
		if (s < 4)
			REPORT(guest_cpuid(v, (uint32_t)a[0])[s], s + 1);
		if (s == 4)
			REPORT(ring_report(v), 5);
		FINISH();
	case P_RDMSR_REPORT:
		if (s == 0 && v->vm->msr_filtered == (int64_t)a[0] && !mock_faults.msr_filter_ignored) {
			*x = (struct hvp_exit){ .kind = HVP_EXIT_MSR, .addr = a[0], .size = 8 };
			v->step = 1; /* the next run brings the VMM's answer in x->value */
			return 1;
		}
		if (s == 0)
			REPORT(a[0] == v->msr_index ? v->msr_value : 0, 2);
		if (s == 1)
			REPORT(x->value, 2); /* what the VMM answered the filtered read with */
		FINISH();
	case P_TSC_PAIR:
		if (s == 0)
			REPORT(guest_tsc(v), 1);
		if (s == 1) {
			io_exit(x, HVP_PORT_PAUSE, 0);
			v->step = 2;
			return 1;
		}
		if (s == 2)
			REPORT(guest_tsc(v), 3);
		FINISH();
	case P_REAL_MODE16: {
		uint8_t *p = host_of(v->vm, HVP_SYS_DATA, NULL);
		uint32_t u = 0;
		if (!v->boot.real_mode || !p)
			return -1;
		memcpy(&u, p, sizeof(u));
		if (s == 0)
			REPORT(u, 1);
		if (s == 1)
			REPORT(v->cr0, 2);
		FINISH();
	}
	case P_STATE_CHECK: /* XCR0, TSC; pause; TSC, the classes the restore lost */
		if (mock_faults.avx_faults && !(a[0] & HVP_STATE_NO_AVX)) { /* its first AVX instruction: a triple fault */
			*x = (struct hvp_exit){ .kind = HVP_EXIT_SHUTDOWN };
			v->step = 0xff;
			return 1;
		}
		if (s == 0)
			REPORT(a[0] & HVP_STATE_NO_AVX ? 0 : 7, 1);
		if (s == 1)
			REPORT(guest_tsc(v), 2);
		if (s == 2) {
			io_exit(x, HVP_PORT_PAUSE, 0);
			v->step = 3;
			return 1;
		}
		if (s == 3)
			REPORT(guest_tsc(v), 4);
		if (s == 4)
			REPORT(v->state_lost, 5);
		FINISH();
	case P_HYPERCALL: /* handled "in the kernel": RAX is what the kernel answers an unknown number with */
		if (s == 0)
			REPORT(mock_faults.hypercall_result, 1);
		FINISH();
	case P_LOOP_HLT:
		*x = (struct hvp_exit){ .kind = HVP_EXIT_HLT };
		return 1;
	case P_WAIT_FLAG:
		if (s == 0) {
			r = spin_until_nonzero(v, a[0], &v->acc, x);
			if (r != DONE_ACCESS) goto out;
			REPORT(v->acc, 1);
		}
		FINISH();
	case P_IRQ_WAIT: {
		uint64_t *block = irq_block(v), f;
		if (!block)
			return -1;
		f = block[HVP_IRQ_FLAGS / 8];
		if (s == 0) {
			block[HVP_IRQ_COUNT / 8] = 0;
			if ((f & (HVP_IRQF_SELF_IPI | HVP_IRQF_TIMER)) && v->vm->irq.chip && (f & HVP_IRQF_LAPIC))
				irq_raise(v->vm, block[HVP_IRQ_VECTOR / 8] & 0xff);
			v->step = s = 1;
			if (v->vm->irq.chip && mock_faults.irq_wakes_lost) {
				mock_faults.irq_wakes_lost--;
				v->wake_lost = 1;
			}
			if (f & HVP_IRQF_PAUSE) {
				io_exit(x, HVP_PORT_PAUSE, 0);
				return 1;
			}
		}
		if (s == 1) {
			if (irq_wait_step(v, block, x))
				return 1;
			v->step = s = 2;
			v->i = 0;
		}
		if (v->i < block[HVP_IRQ_COUNT / 8] && v->i < HVP_IRQ_LOG_MAX) {
			v->i++;
			REPORT(block[HVP_IRQ_LOG / 8 + v->i - 1], 2);
		}
		FINISH();
	}
	case P_DOORBELL_MMIO: { /* a[3] 0 or 1: a 4-byte store each round, 1-, 2- and 8-byte ones before when 1 */
		static const uint32_t widths[4] = { 1, 2, 8, 4 };
		if (a[3] > 1)
			goto bell_pairs; /* a[3] above 1: doorbell_pio's pairs of writes, as stores */
		while (s < 4 && v->i < a[1]) {
			unsigned w = s == 0 && a[3] != 1 ? 3 : s;
			v->addr++;
			if (w == 3) {
				v->i++;
				v->step = s = 0;
			} else {
				v->step = s = w + 1;
			}
			if (bell_write(v, false, a[0], widths[w], a[2] & width_mask(widths[w]), x))
				return 1;
		}
		if (s < 4)
			REPORT(v->addr, 4);
		FINISH();
	}
	case P_DOORBELL_PIO: /* each round a write of a[2], then one of a[3] when not 0; reports those of a[2] */
	bell_pairs:
		while (s < 2 && v->i < a[1]) {
			if (s == 0) {
				v->step = s = 1;
				v->addr++;
				if (bell_write(v, v->prog == P_DOORBELL_PIO, a[0], 4, a[2] & 0xffffffff, x))
					return 1;
			}
			v->step = s = 0;
			v->i++;
			if (a[3] && bell_write(v, v->prog == P_DOORBELL_PIO, a[0], 4, a[3] & 0xffffffff, x))
				return 1;
		}
		if (s < 2)
			REPORT(v->addr, 2);
		FINISH();
	case P_UNKNOWN:
		return -1;
	}
out:
	if (r == EXITED && x->kind == HVP_EXIT_MMIO && x->write)
		v->step |= 0x100; /* the next run finishes this store */
	return r == EXITED ? 1 : -1;
#undef LOAD
#undef STORE
#undef REPORT
#undef FINISH
}

static struct hvp_status vcpu_run_locked(struct hvp_vcpu *v, struct hvp_exit *x);

static struct hvp_status mock_vcpu_run(struct hvp_vcpu *v, struct hvp_exit *x)
{
	struct hvp_status st;
	sigset_t all;

	if (__atomic_load_n(&v->dead, __ATOMIC_ACQUIRE)) {
		*x = (struct hvp_exit){ .kind = HVP_EXIT_INTERNAL_ERROR };
		return st_of("mock_run", EBADF);
	}
	sigfillset(&all);
	pthread_mutex_lock(&v->lock);
	pthread_sigmask(SIG_BLOCK, &all, &v->guest_mask);
	st = vcpu_run_locked(v, x);
	pthread_sigmask(SIG_SETMASK, &v->guest_mask, NULL);
	pthread_mutex_unlock(&v->lock);
	return st;
}

static struct hvp_status vcpu_run_locked(struct hvp_vcpu *v, struct hvp_exit *x)
{
	if (__atomic_exchange_n(&v->kicked, 0, __ATOMIC_SEQ_CST)) {
		*x = (struct hvp_exit){ .kind = HVP_EXIT_INTERRUPTED };
		return st_of("mock_run", EINTR);
	}
	if ((v->step & 0xff) == 0xff) { /* past the final report: the guest halts */
		*x = (struct hvp_exit){ .kind = HVP_EXIT_HLT };
		return st_of("mock_run", 0);
	}
	for (int n = 0; n < 1 << 20; n++) {
		int r = step(v, x);
		if (r > 0)
			return st_of("mock_run", x->kind == HVP_EXIT_INTERRUPTED ? EINTR : 0);
		if (r < 0) {
			*x = (struct hvp_exit){ .kind = HVP_EXIT_INTERNAL_ERROR };
			return st_of("mock_run", EFAULT);
		}
	}
	*x = (struct hvp_exit){ .kind = HVP_EXIT_UNKNOWN };
	return st_of("mock_run", 0);
}

static struct hvp_status mock_regs_get(struct hvp_vcpu *v, struct hvp_regs *regs)
{
	if (__atomic_load_n(&v->dead, __ATOMIC_ACQUIRE))
		return st_of("mock_regs_get", EBADF);
	pthread_mutex_lock(&v->lock);
	memset(regs, 0, sizeof(*regs));
	regs->gpr[HVP_X86_RAX] = v->acc;
	regs->gpr[HVP_X86_RDI] = v->boot.arg[0];
	regs->gpr[HVP_X86_RSI] = v->boot.arg[1];
	regs->gpr[HVP_X86_RDX] = v->boot.arg[2];
	regs->gpr[HVP_X86_RCX] = v->boot.arg[3];
	regs->pc = v->boot.entry;
	regs->sp = v->boot.stack;
	pthread_mutex_unlock(&v->lock);
	return st_of("mock_regs_get", 0);
}

/* Setting the registers restarts the program model where pc points, with the new arguments. */
static struct hvp_status mock_regs_set(struct hvp_vcpu *v, const struct hvp_regs *regs)
{
	pthread_mutex_lock(&v->lock);
	v->acc = regs->gpr[HVP_X86_RAX];
	v->boot.arg[0] = regs->gpr[HVP_X86_RDI];
	v->boot.arg[1] = regs->gpr[HVP_X86_RSI];
	v->boot.arg[2] = regs->gpr[HVP_X86_RDX];
	v->boot.arg[3] = regs->gpr[HVP_X86_RCX];
	if (regs->pc != v->boot.entry || (v->step & 0xff) == 0xff) {
		v->boot.entry = regs->pc;
		v->boot.stack = regs->sp;
		v->step = 0;
		v->i = 0;
		v->prog = identify(v);
	}
	pthread_mutex_unlock(&v->lock);
	return st_of("mock_regs_set", v->prog == P_UNKNOWN ? EINVAL : 0);
}

static struct hvp_status mock_kick(struct hvp_vcpu *v)
{
	__atomic_store_n(&v->kicked, 1, __ATOMIC_SEQ_CST);
	return st_of("mock_kick", 0);
}

/* As the KVM backend: 0 where the API states no rate, errno set when its call failed. */
static uint64_t mock_tsc_khz(struct hvp_vcpu *v)
{
	if (mock_faults.tsc_khz_errno) {
		errno = mock_faults.tsc_khz_errno;
		return 0;
	}
	return mock_faults.tsc_khz_unknown ? 0 : (uint64_t)v->tsc_khz;
}

static struct hvp_status mock_tsc_set(struct hvp_vcpu *v, uint64_t value)
{
	if (!mock_faults.tsc_offset_ignored) {
		v->tsc_base = value;
		v->tsc_epoch_ns = hvp_now_ns();
	}
	return st_of("mock_tsc_set", 0);
}

static struct hvp_status mock_tsc_khz_set(struct hvp_vcpu *v, uint64_t khz)
{
	if (mock_faults.tsc_khz_set_errno)
		return st_of("mock_tsc_khz_set", mock_faults.tsc_khz_set_errno);
	v->tsc_base = guest_tsc(v);
	v->tsc_epoch_ns = hvp_now_ns();
	v->tsc_khz = (double)khz;
	return st_of("mock_tsc_khz_set", 0);
}

static struct hvp_status mock_cpuid_set(struct hvp_vcpu *v, uint32_t leaf, uint32_t index, const uint32_t val[4])
{
	static unsigned calls; /* per probe: each runs in its own child */

	if (index != 0 || ++calls == mock_faults.cpuid_set_refused)
		return st_of("mock_cpuid_set", EINVAL);
	v->cpuid_leaf = leaf;
	memcpy(v->cpuid_val, val, sizeof(v->cpuid_val));
	return st_of("mock_cpuid_set", 0);
}

static struct hvp_status mock_msr_set(struct hvp_vcpu *v, uint32_t index, uint64_t value)
{
	if (!mock_faults.msr_set_ignored) {
		v->msr_index = index;
		v->msr_value = value;
	}
	return st_of("mock_msr_set", 0);
}

static struct hvp_status mock_msr_read_exits(struct hvp_vm *vm, uint32_t index)
{
	if (mock_faults.msr_filter_unsupported)
		return (struct hvp_status){ HVP_ERR_UNSUPPORTED, EOPNOTSUPP, "mock_msr_filter", -1 };
	if (mock_faults.msr_filter_errno)
		return st_of("mock_msr_filter", mock_faults.msr_filter_errno);
	vm->msr_filtered = index;
	return st_of("mock_msr_filter", 0);
}

/*
 * The model the mock offers: the host CPU's leaves 0, 1 and 7 where the
 * host is x86 (so that a ring-3 CPUID reaching the host shows a feature the
 * model has), and a fixed one with avx2 elsewhere.
 */
static struct hvp_status mock_cpu_model(struct hvp_hv *hv, struct hvp_cpu_model *out)
{
	static const uint32_t leaves[][2] = { { 0, 0 }, { 1, 0 }, { 7, 0 } };

	(void)hv;
	memset(out, 0, sizeof(*out));
	out->present = true;
	snprintf(out->arch, sizeof(out->arch), "x86_64");
	snprintf(out->source, sizeof(out->source), "mock");
	for (unsigned i = 0; i < 3; i++) {
		struct hvp_model_cpuid *e = &out->cpuid[out->n_cpuid++];
		e->leaf = leaves[i][0];
		e->subleaf = leaves[i][1];
		e->flags = e->leaf == 7;
#if defined(__x86_64__)
		__cpuid_count(e->leaf, e->subleaf, e->reg[0], e->reg[1], e->reg[2], e->reg[3]);
#else
		e->reg[HVP_EBX] = e->leaf == 7 ? 1u << 5 : 0;
#endif
	}
	return st_of("mock_cpu_model", 0);
}

static const char *const mock_feature_names[] = {
	[HVP_FEAT_IRQCHIP] = "KVM_CAP_IRQCHIP", [HVP_FEAT_SPLIT_IRQCHIP] = "KVM_CAP_SPLIT_IRQCHIP",
	[HVP_FEAT_IRQFD] = "KVM_CAP_IRQFD", [HVP_FEAT_IRQFD_RESAMPLE] = "KVM_CAP_IRQFD_RESAMPLE",
	[HVP_FEAT_IRQ_ROUTING] = "KVM_CAP_IRQ_ROUTING", [HVP_FEAT_SIGNAL_MSI] = "KVM_CAP_SIGNAL_MSI",
	[HVP_FEAT_USER_INJECT] = "KVM_INTERRUPT", [HVP_FEAT_IOEVENTFD] = "KVM_CAP_IOEVENTFD",
	[HVP_FEAT_IOEVENTFD_ANY_LENGTH] = "KVM_CAP_IOEVENTFD_ANY_LENGTH", [HVP_FEAT_COALESCED_MMIO] = "KVM_CAP_COALESCED_MMIO",
};

static int64_t mock_irq_feature(struct hvp_hv *hv, enum hvp_irq_feature f, const char **name)
{
	(void)hv;
	if ((unsigned)f >= sizeof(mock_feature_names) / sizeof(mock_feature_names[0]))
		return 0;
	*name = mock_feature_names[f];
	if (mock_faults.irq_absent)
		return 0;
	return f == HVP_FEAT_IRQ_ROUTING ? MOCK_MAX_ROUTES : f == HVP_FEAT_COALESCED_MMIO ? 2 : 1;
}

/* As KVM x86: one controller, before any vCPU. */
static struct hvp_status mock_irq_chip_create(struct hvp_vm *vm, enum hvp_irq_chip kind)
{
	if (vm->dead)
		return st_of("mock_irq_chip_create", EBADF);
	if (kind != HVP_IRQCHIP_X86_FULL && kind != HVP_IRQCHIP_X86_SPLIT)
		return st_of("mock_irq_chip_create", EINVAL);
	if (vm->irq.chip)
		return st_of("mock_irq_chip_create", EEXIST);
	if (vm->n_ids)
		return st_of("mock_irq_chip_create", EINVAL);
	vm->irq.chip = 1 + (int)kind;
	return st_of("mock_irq_chip_create", 0);
}

static struct hvp_status mock_irqfd(struct hvp_vm *vm, int fd, uint32_t gsi, int resample_fd, bool assign)
{
	struct mock_irq *q = &vm->irq;

	if (vm->dead)
		return st_of("mock_irqfd", EBADF);
	for (unsigned i = 0; i < q->n_irqfd; i++)
		if (q->irqfd[i].fd == fd && q->irqfd[i].gsi == gsi) {
			if (assign)
				return st_of("mock_irqfd", EBUSY);
			q->irqfd[i] = q->irqfd[--q->n_irqfd];
			return st_of("mock_irqfd", 0);
		}
	if (!assign)
		return st_of("mock_irqfd", ENOENT);
	if (!q->chip || q->n_irqfd == MOCK_NOTIFIERS || gsi >= MOCK_MAX_ROUTES)
		return st_of("mock_irqfd", EINVAL);
	q->irqfd[q->n_irqfd++] = (struct mock_irqfd){ fd, resample_fd, gsi, 0 };
	return st_of("mock_irqfd", 0);
}

static struct hvp_status mock_gsi_routing_set(struct hvp_vm *vm, const struct hvp_irq_route *routes, unsigned n)
{
	struct hvp_irq_route *copy;

	if (vm->dead)
		return st_of("mock_gsi_routing_set", EBADF);
	if (n > MOCK_MAX_ROUTES)
		return st_of("mock_gsi_routing_set", EINVAL);
	for (unsigned i = 0; i < n; i++)
		if (routes[i].gsi >= MOCK_MAX_ROUTES)
			return st_of("mock_gsi_routing_set", EINVAL);
	copy = malloc((n ? n : 1) * sizeof(*copy));
	if (!copy)
		return st_of("mock_gsi_routing_set", ENOMEM);
	memcpy(copy, routes, n * sizeof(*copy));
	free(vm->irq.routes);
	vm->irq.routes = copy;
	vm->irq.n_routes = n;
	return st_of("mock_gsi_routing_set", 0);
}

static struct hvp_status mock_msi_signal(struct hvp_vm *vm, uint64_t addr, uint32_t data)
{
	if (vm->dead)
		return st_of("mock_msi_signal", EBADF);
	if (!vm->irq.chip || (addr & 0xfff00000) != 0xfee00000)
		return st_of("mock_msi_signal", EINVAL);
	if (!mock_faults.irq_lost)
		irq_raise(vm, data & 0xff);
	return st_of("mock_msi_signal", 0);
}

/* KVM_INTERRUPT: ENXIO with the controller in the kernel, EEXIST with one queued already. */
static struct hvp_status mock_irq_inject(struct hvp_vcpu *v, uint32_t vector)
{
	if (__atomic_load_n(&v->dead, __ATOMIC_ACQUIRE))
		return st_of("mock_irq_inject", EBADF);
	if (v->vm->irq.chip)
		return st_of("mock_irq_inject", ENXIO);
	if (vector > 255)
		return st_of("mock_irq_inject", EINVAL);
	if (v->injected)
		return st_of("mock_irq_inject", EEXIST);
	v->injected = vector + 1ull;
	return st_of("mock_irq_inject", 0);
}

static struct hvp_status mock_ioeventfd(struct hvp_vm *vm, int fd, const struct hvp_doorbell *d, bool assign)
{
	struct mock_irq *q = &vm->irq;

	if (vm->dead)
		return st_of("mock_ioeventfd", EBADF);
	if ((d->len != 0 && d->len != 1 && d->len != 2 && d->len != 4 && d->len != 8) || (d->len == 0 && d->pio))
		return st_of("mock_ioeventfd", EINVAL);
	for (unsigned i = 0; i < q->n_bell; i++)
		if (q->bell[i].d.addr == d->addr && q->bell[i].d.pio == d->pio) {
			if (assign)
				return st_of("mock_ioeventfd", EEXIST);
			q->bell[i] = q->bell[--q->n_bell];
			return st_of("mock_ioeventfd", 0);
		}
	if (!assign)
		return st_of("mock_ioeventfd", ENOENT);
	if (q->n_bell == MOCK_NOTIFIERS)
		return st_of("mock_ioeventfd", ENOSPC);
	q->bell[q->n_bell++] = (struct mock_bell){ fd, *d };
	return st_of("mock_ioeventfd", 0);
}

static struct hvp_status mock_coalesced_zone(struct hvp_vm *vm, uint64_t addr, uint32_t size, bool assign)
{
	struct mock_irq *q = &vm->irq;

	if (vm->dead)
		return st_of("mock_coalesced_zone", EBADF);
	for (unsigned i = 0; !assign && i < q->n_zone; i++)
		if (q->zone[i].addr == addr && q->zone[i].size == size) {
			q->zone[i] = q->zone[--q->n_zone];
			return st_of("mock_coalesced_zone", 0);
		}
	if (!assign)
		return st_of("mock_coalesced_zone", ENXIO);
	if (q->n_zone == sizeof(q->zone) / sizeof(q->zone[0]))
		return st_of("mock_coalesced_zone", ENOSPC);
	q->zone[q->n_zone].addr = addr;
	q->zone[q->n_zone++].size = size;
	return st_of("mock_coalesced_zone", 0);
}

static struct hvp_status mock_coalesced_read(struct hvp_vcpu *v, struct hvp_coalesced *out, unsigned max, unsigned *n)
{
	struct mock_irq *q = &v->vm->irq;

	for (*n = 0; *n < max && q->ring_first != q->ring_last; (*n)++) {
		out[*n] = q->ring[q->ring_first];
		q->ring_first = (q->ring_first + 1) % MOCK_RING;
	}
	return st_of("mock_coalesced_read", 0);
}

/*
 * A snapshot: a header, the classes' names and sizes (the "xsave" class as
 * large as KVM's struct kvm_xsave, or the fault's; "lapic", as KVM's
 * struct kvm_lapic_state, where the VM has an irqchip), and the vCPU's
 * model state, the guest's TSC value at the save included.
 */
#define MOCK_SNAPSHOT_MAGIC 0x6d6f636bu
#define MOCK_CLASSES 3
#define MOCK_LAPIC_BYTES 1024

struct mock_snapshot {
	uint32_t magic, n;
	struct hvp_state_class classes[MOCK_CLASSES];
	struct hvp_boot boot;
	enum program prog;
	unsigned step, ring;
	uint64_t cr0, i, acc, tsc, msr_value;
	uint32_t msr_index;
	double tsc_khz;
};

static struct hvp_status mock_state_save(struct hvp_vcpu *v, uint8_t **blob, size_t *len)
{
	struct mock_snapshot *snap = calloc(1, sizeof(*snap));

	*blob = NULL;
	*len = 0;
	if (!snap)
		return st_of("mock_state_save", ENOMEM);
	pthread_mutex_lock(&v->lock);
	*snap = (struct mock_snapshot){ .magic = MOCK_SNAPSHOT_MAGIC, .n = MOCK_CLASSES, .boot = v->boot,
					.prog = v->prog, .step = v->step, .ring = v->ring, .cr0 = v->cr0, .i = v->i,
					.acc = v->acc, .tsc = guest_tsc(v), .msr_value = v->msr_value,
					.msr_index = v->msr_index, .tsc_khz = v->tsc_khz };
	pthread_mutex_unlock(&v->lock);
	snprintf(snap->classes[0].name, sizeof(snap->classes[0].name), "regs");
	snap->classes[0].size = sizeof(struct hvp_regs);
	snprintf(snap->classes[1].name, sizeof(snap->classes[1].name), "xsave");
	snap->classes[1].size = mock_faults.xsave_bytes ? mock_faults.xsave_bytes : 4096;
	if (v->vm->irq.chip && !mock_faults.lapic_unsaved) {
		snprintf(snap->classes[2].name, sizeof(snap->classes[2].name), "lapic");
		snap->classes[2].size = MOCK_LAPIC_BYTES;
		snap->n = 3;
	} else {
		snap->n = 2;
	}
	*blob = (uint8_t *)snap;
	*len = sizeof(*snap);
	return st_of("mock_state_save", 0);
}

static const struct mock_snapshot *snapshot_of(const uint8_t *blob, size_t len)
{
	const struct mock_snapshot *snap = (const struct mock_snapshot *)(const void *)blob;

	return blob && len == sizeof(*snap) && snap->magic == MOCK_SNAPSHOT_MAGIC ? snap : NULL;
}

/* state_check was told to load the local APIC (its values in the restored memory say so). */
static bool guest_lapic_loaded(struct hvp_vcpu *v)
{
	const uint8_t *p = v->prog == P_STATE_CHECK ? host_of(v->vm, HVP_STATE_VALUES + HVP_SV_LAPIC_N, NULL) : NULL;
	uint64_t n = 0;

	if (p)
		memcpy(&n, p, sizeof(n));
	return n != 0;
}

/* The snapshot carries the local APIC. */
static bool snapshot_has_lapic(const struct mock_snapshot *snap)
{
	return snap->n > 2 && !strcmp(snap->classes[2].name, "lapic");
}

/*
 * Into a vCPU never booted; the TSC goes on from the value saved; the
 * classes the fault names are lost, and the local APIC's (as its guest
 * would find them) where the guest loaded one (it was told of one:
 * HVP_SV_LAPIC_N) that the snapshot does not carry or this VM lacks.
 */
static struct hvp_status mock_state_restore(struct hvp_vcpu *v, const uint8_t *blob, size_t len)
{
	const struct mock_snapshot *snap = snapshot_of(blob, len);

	if (!snap)
		return st_of("mock_state_restore", EINVAL);
	v->boot = snap->boot;
	v->prog = snap->prog;
	v->step = snap->step;
	v->ring = snap->ring;
	v->cr0 = snap->cr0;
	v->i = snap->i;
	v->acc = snap->acc;
	v->msr_index = snap->msr_index;
	v->msr_value = snap->msr_value;
	v->tsc_khz = snap->tsc_khz;
	v->tsc_base = snap->tsc - (mock_faults.tsc_restore_behind ? (uint64_t)(snap->tsc_khz * 1000) : 0);
	v->tsc_epoch_ns = hvp_now_ns();
	v->state_lost = mock_faults.state_lost;
	if (guest_lapic_loaded(v) && (!snapshot_has_lapic(snap) || !v->vm->irq.chip))
		v->state_lost |= HVP_LOST_LAPIC | HVP_LOST_TIMER | HVP_LOST_PENDING;
	return st_of("mock_state_restore", 0);
}

static unsigned mock_state_classes(const uint8_t *blob, size_t len, struct hvp_state_class *out, unsigned max)
{
	const struct mock_snapshot *snap = snapshot_of(blob, len);
	unsigned n = snap ? snap->n : 0;

	n = n < max ? n : max;
	if (n)
		memcpy(out, snap->classes, n * sizeof(*out));
	return n;
}

static struct hvp_status mock_dirty_manual(struct hvp_vm *vm)
{
	vm->manual_protect = 1;
	return st_of("mock_dirty_log_manual", 0);
}

static struct hvp_status mock_dirty_clear(struct hvp_vm *vm, uint64_t gpa, uint64_t size, const uint64_t *bitmap)
{
	struct region *r = region_exact(vm, gpa, size);
	size_t words = (size / api_page() + 63) / 64;

	if (!r || !r->dirty || !vm->manual_protect)
		return st_of("mock_dirty_log_clear", EINVAL);
	for (size_t i = 0; i < words && !mock_faults.dirty_clear_ignored; i++)
		r->dirty[i] &= ~bitmap[i];
	return st_of("mock_dirty_log_clear", 0);
}

#define MOCK_RING_ENTRIES 256
#define MOCK_RING_RESERVED 64

static struct hvp_status mock_ring_enable(struct hvp_vm *vm, uint32_t *entries, uint32_t *soft)
{
	unsigned n = MOCK_RING_ENTRIES;

	while (n < *entries)
		n *= 2;
	if (vm->n_ids || vm->ring_entries)
		return st_of("mock_dirty_ring_enable", EINVAL); /* as KVM: before the first vCPU, once */
	vm->ring = calloc(n, sizeof(*vm->ring));
	if (!vm->ring)
		return st_of("mock_dirty_ring_enable", ENOMEM);
	vm->ring_entries = *entries = n;
	/* A ring that never fills stops no run: its soft limit is past the whole ring, which the model never reaches. */
	vm->ring_soft = *soft = n - MOCK_RING_RESERVED;
	if (mock_faults.ring_never_full)
		vm->ring_soft = n + 1;
	return st_of("mock_dirty_ring_enable", 0);
}

static struct hvp_status mock_ring_harvest(struct hvp_vcpu *v, uint64_t *gpa, unsigned max, unsigned *n)
{
	struct hvp_vm *vm = v->vm;

	*n = 0;
	if (!vm->ring_entries)
		return st_of("mock_dirty_ring_harvest", EINVAL);
	while (vm->ring_collected < vm->ring_used && *n < max)
		gpa[(*n)++] = vm->ring[vm->ring_collected++];
	return st_of("mock_dirty_ring_harvest", 0);
}

/* Hands the collected entries back and write-protects their pages again. */
static struct hvp_status mock_ring_reset(struct hvp_vm *vm)
{
	if (!vm->ring_entries)
		return st_of("mock_dirty_ring_reset", EINVAL);
	for (unsigned i = 0; i < vm->ring_collected; i++) {
		struct region *r = region_at(vm, vm->ring[i]);
		uint64_t page = r ? (vm->ring[i] - r->gpa) / api_page() : 0;
		if (r && r->dirty)
			r->dirty[page / 64] &= ~(1ull << (page % 64));
	}
	memmove(vm->ring, vm->ring + vm->ring_collected, (vm->ring_used - vm->ring_collected) * sizeof(*vm->ring));
	vm->ring_used -= vm->ring_collected;
	vm->ring_collected = 0;
	return st_of("mock_dirty_ring_reset", 0);
}

const struct hvp_backend hvp_backend_mock = {
	.name = "mock",
	.arch = "x86_64",
	.open = mock_open,
	.close = mock_close,
	.open_advice = mock_advice,
	.facts = mock_facts,
	.native_name = mock_native_name,
	.vm_create = mock_vm_create,
	.vm_destroy = mock_vm_destroy,
	.mem_map = mock_mem_map,
	.mem_unmap = mock_mem_unmap,
	.mem_protect = mock_mem_protect,
	.dirty_log_enable = mock_dirty_enable,
	.dirty_log_get = mock_dirty_get,
	.gpa_bits = mock_gpa_bits,
	.page_size = mock_page_size,
	.vcpu_create = mock_vcpu_create,
	.vcpu_destroy = mock_vcpu_destroy,
	.vcpu_boot = mock_vcpu_boot,
	.vcpu_run = mock_vcpu_run,
	.regs_get = mock_regs_get,
	.regs_set = mock_regs_set,
	.vcpu_kick = mock_kick,
	.tsc_khz = mock_tsc_khz,
	.tsc_set = mock_tsc_set,
	.tsc_khz_set = mock_tsc_khz_set,
	.x86_cpuid_set = mock_cpuid_set,
	.x86_msr_set = mock_msr_set,
	.x86_msr_read_exits = mock_msr_read_exits,
	.cpu_model = mock_cpu_model,
	.irq_feature = mock_irq_feature,
	.irq_chip_create = mock_irq_chip_create,
	.irqfd = mock_irqfd,
	.gsi_routing_set = mock_gsi_routing_set,
	.msi_signal = mock_msi_signal,
	.irq_inject = mock_irq_inject,
	.ioeventfd = mock_ioeventfd,
	.coalesced_zone = mock_coalesced_zone,
	.coalesced_read = mock_coalesced_read,
	.vcpu_state_save = mock_state_save,
	.vcpu_state_restore = mock_state_restore,
	.vcpu_state_classes = mock_state_classes,
	.dirty_log_manual = mock_dirty_manual,
	.dirty_log_clear = mock_dirty_clear,
	.dirty_ring_enable = mock_ring_enable,
	.dirty_ring_harvest = mock_ring_harvest,
	.dirty_ring_reset = mock_ring_reset,
};
