/* SPDX-License-Identifier: MIT */
/*
 * The KVM backend, architecture-independent part: the system, VM and vCPU
 * file descriptors, memory slots, KVM_RUN and its exits, and kicks.
 *
 * Reference: Linux Documentation/virt/kvm/api.rst.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "errname.h"
#include "kvm_internal.h"

/* The signal that kicks a vCPU thread out of KVM_RUN; its handler does nothing. */
#define KVM_KICK_SIGNAL SIGUSR1

/* An answer the backend gives itself, with no call made (see backend.h). */
static struct hvp_status kvm_unmade(const char *call, int err)
{
	struct hvp_status st = kvm_status(call, err);

	st.unmade = true;
	return st;
}

struct hvp_status kvm_status(const char *call, int err)
{
	enum hvp_err e;

	switch (err) {
	case 0: e = HVP_OK; break;
	case EEXIST: e = HVP_ERR_EXISTS; break;
	case EINVAL: case ERANGE: case ENOEXEC: e = HVP_ERR_INVALID; break; /* ENOEXEC: a vCPU not initialized (arm64) */
	case ENOMEM: case ENOSPC: case E2BIG: e = HVP_ERR_NOMEM; break;
	case EMFILE: case ENFILE: e = HVP_ERR_RLIMIT; break;
	case EBUSY: e = HVP_ERR_BUSY; break;
	case ENOENT: case ENODEV: case ENXIO: e = HVP_ERR_NODEV; break;
	case EACCES: case EPERM: e = HVP_ERR_DENIED; break;
	case EFAULT: e = HVP_ERR_FAULT; break;
	case ENOTTY: case EOPNOTSUPP: case ENOSYS: e = HVP_ERR_UNSUPPORTED; break;
	case EINTR: case EAGAIN: e = HVP_ERR_INTERRUPTED; break;
	case EIO: case EBADF: e = HVP_ERR_IO; break;
	default: e = HVP_ERR_OTHER;
	}
	return (struct hvp_status){ e, err, call, -1 };
}

#define KVM_CALL(call, expr) ((expr) < 0 ? kvm_status(call, errno) : hvp_ok(call))

static const char *kvm_native_name(int64_t native)
{
	return hvp_errno_name((int)native);
}

static void kick_handler(int sig)
{
	(void)sig; /* its only purpose is to make KVM_RUN return EINTR */
}

static int check_ext(int fd, long cap)
{
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);
	return r < 0 ? 0 : r;
}

static struct hvp_status kvm_open(const struct hvp_open_opts *opts, struct hvp_hv **out)
{
	const char *dev = opts && opts->kvm_device ? opts->kvm_device : "/dev/kvm";
	struct sigaction sa = { .sa_handler = kick_handler, .sa_flags = SA_RESTART };
	struct hvp_hv *hv;
	int fd, version;

	*out = NULL;
	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return kvm_status("open", errno);
	version = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		close(fd);
		/* Not KVM at all (ENOTTY) or an API this program does not speak. */
		return version < 0 ? kvm_status("KVM_GET_API_VERSION", errno)
				   : kvm_status("KVM_GET_API_VERSION", EPROTO);
	}
	hv = calloc(1, sizeof(*hv));
	if (!hv) {
		close(fd);
		return kvm_status("calloc", ENOMEM);
	}
	hv->fd = fd;
	hv->run_size = ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (hv->run_size < (int)sizeof(struct kvm_run)) {
		struct hvp_status st = kvm_status("KVM_GET_VCPU_MMAP_SIZE", hv->run_size < 0 ? errno : EPROTO);
		close(fd);
		free(hv);
		return st;
	}
	hv->nr_memslots = (unsigned)check_ext(fd, KVM_CAP_NR_MEMSLOTS);
	if (hv->nr_memslots == 0)
		hv->nr_memslots = 32; /* the documented minimum before the capability existed */
	if (kvm_arch_open(hv)) {
		struct hvp_status st = kvm_status("KVM_GET_SUPPORTED_CPUID", errno);
		close(fd);
		free(hv);
		return st;
	}
	/* KVM_RUN returns EINTR whatever SA_RESTART says; other calls just resume. */
	sigaction(KVM_KICK_SIGNAL, &sa, NULL);
	*out = hv;
	return hvp_ok("open");
}

static void kvm_close(struct hvp_hv *hv)
{
	if (!hv)
		return;
	while (hv->dead_vcpus) {
		struct hvp_vcpu *v = hv->dead_vcpus;
		hv->dead_vcpus = v->next_dead;
		free(v);
	}
	while (hv->dead_vms) {
		struct hvp_vm *vm = hv->dead_vms;
		hv->dead_vms = vm->next_dead;
		free(vm->regions);
		free(vm->slot_used);
		free(vm);
	}
	kvm_arch_close(hv);
	close(hv->fd);
	free(hv);
}

static const char *kvm_open_advice(const struct hvp_open_opts *opts, struct hvp_status st)
{
	(void)opts;
	if (st.call && strcmp(st.call, "KVM_GET_API_VERSION") == 0)
		return st.native == ENOTTY ? "the device is not a KVM device; point --kvm-device at /dev/kvm"
					   : "this KVM speaks another API version than 12; use a kernel from this decade";
	switch (st.native) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return "KVM is not available: load kvm_intel or kvm_amd (modprobe), enable virtualization "
		       "(VT-x/AMD-V) in the firmware, or, inside a VM, enable nested virtualization on its host";
	case EACCES:
	case EPERM:
		return "permission denied: add your user to group 'kvm' (usermod -aG kvm $USER, then log in "
		       "again) or run as root";
	case EBUSY:
		return "the device is busy: another hypervisor (VirtualBox, VMware) holds the CPU's "
		       "virtualization extensions; stop it and try again";
	default:
		return "the KVM device could not be used";
	}
}

/*
 * KVM maps guest memory in the host kernel's pages (virt/kvm/kvm_main.c
 * refuses a slot whose size, guest or host address is not a multiple of
 * PAGE_SIZE with EINVAL), and its dirty log has a bit per such page.
 */
static uint64_t kvm_page_size(struct hvp_hv *hv)
{
	long page = sysconf(_SC_PAGESIZE);

	(void)hv;
	return page > 0 ? (uint64_t)page : 4096;
}

static void kvm_facts(struct hvp_hv *hv, struct hvp_facts *out)
{
	static const struct { const char *name; long cap; } caps[] = {
		{ "KVM_CAP_NR_VCPUS", KVM_CAP_NR_VCPUS },
		{ "KVM_CAP_MAX_VCPUS", KVM_CAP_MAX_VCPUS },
		{ "KVM_CAP_MAX_VCPU_ID", KVM_CAP_MAX_VCPU_ID },
		{ "KVM_CAP_NR_MEMSLOTS", KVM_CAP_NR_MEMSLOTS },
		{ "KVM_CAP_READONLY_MEM", KVM_CAP_READONLY_MEM },
		{ "KVM_CAP_IMMEDIATE_EXIT", KVM_CAP_IMMEDIATE_EXIT },
		{ "KVM_CAP_USER_MEMORY2", KVM_CAP_USER_MEMORY2 },
		{ "KVM_CAP_GUEST_MEMFD", KVM_CAP_GUEST_MEMFD },
		{ "KVM_CAP_SYNC_MMU", KVM_CAP_SYNC_MMU },
		{ "KVM_CAP_DIRTY_LOG_RING", KVM_CAP_DIRTY_LOG_RING },
	};
	struct utsname u;

	hvp_facts_add(out, "backend", "kvm");
	hvp_facts_add(out, "api_version", "%d", ioctl(hv->fd, KVM_GET_API_VERSION, 0));
	if (uname(&u) == 0)
		hvp_facts_add(out, "kernel", "%s %s %s", u.sysname, u.release, u.machine);
	for (unsigned i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		hvp_facts_add(out, caps[i].name, "%d", check_ext(hv->fd, caps[i].cap));
	hvp_facts_add(out, "page_size", "%llu", (unsigned long long)kvm_page_size(hv));
	kvm_arch_facts(hv, out);
	kvm_irq_facts(hv, out);
}

static unsigned slot_table_size(const struct hvp_hv *hv)
{
	return hv->nr_memslots + 16;
}

/* A VM handle around a VM descriptor, with an empty slot table; closes fd on failure. */
static struct hvp_status adopt_vm_fd(struct hvp_hv *hv, int fd, const char *call, struct hvp_vm **out)
{
	struct hvp_vm *vm = calloc(1, sizeof(*vm));

	if (vm)
		vm->slot_used = calloc(slot_table_size(hv), 1);
	if (!vm || !vm->slot_used) {
		free(vm);
		close(fd);
		return kvm_status("calloc", ENOMEM);
	}
	vm->hv = hv;
	vm->fd = fd;
	*out = vm;
	return hvp_ok(call);
}

struct hvp_status kvm_vm_create_type(struct hvp_hv *hv, unsigned long type, struct hvp_vm **out)
{
	int fd;

	*out = NULL;
	fd = ioctl(hv->fd, KVM_CREATE_VM, type);
	if (fd < 0)
		return kvm_status("KVM_CREATE_VM", errno);
	return adopt_vm_fd(hv, fd, "KVM_CREATE_VM", out);
}

static struct hvp_status kvm_vm_create(struct hvp_hv *hv, struct hvp_vm **out)
{
	return kvm_vm_create_type(hv, 0, out);
}

/*
 * Closing the VM fd destroys the VM once its vCPU fds are closed too. The
 * handle stays (see backend.h): later calls use the closed fd's number.
 */
static struct hvp_status kvm_vm_destroy(struct hvp_vm *vm)
{
	struct hvp_status st;

	/* Not closed twice: the number may belong to another file by now. */
	if (vm->dead)
		return kvm_unmade("close(vm fd)", EBADF);
	st = KVM_CALL("close(vm fd)", close(vm->fd));
	/* The VM lives on while its devices' descriptors are open (each holds a reference). */
	if (vm->has_its)
		close(vm->its_fd);
	if (vm->has_gic)
		close(vm->gic_fd);
	vm->has_its = vm->has_gic = false;
	vm->dead = 1;
	/* The slot table is the big part (one byte per slot): a dead VM has no slots. */
	free(vm->regions);
	free(vm->slot_used);
	vm->regions = NULL;
	vm->slot_used = NULL;
	vm->n_regions = vm->cap_regions = 0;
	vm->next_dead = vm->hv->dead_vms;
	vm->hv->dead_vms = vm;
	return st;
}

static struct hvp_status set_region(struct hvp_vm *vm, uint32_t slot, uint32_t flags, uint64_t gpa,
				    uint64_t size, void *host)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};
	return KVM_CALL("KVM_SET_USER_MEMORY_REGION", ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r));
}

/*
 * The lowest unused slot id. Past KVM_CAP_NR_MEMSLOTS it still returns an
 * id, so that KVM itself, not this table, refuses the map that is one too many.
 */
static int free_slot(struct hvp_vm *vm)
{
	for (unsigned i = vm->slot_hint; i < slot_table_size(vm->hv); i++)
		if (!vm->slot_used[i])
			return (int)(vm->slot_hint = i);
	return -1;
}

static void release_slot(struct hvp_vm *vm, uint32_t slot)
{
	vm->slot_used[slot] = 0;
	if (slot < vm->slot_hint)
		vm->slot_hint = slot;
}

static struct kvm_region *find_region(struct hvp_vm *vm, uint64_t gpa, uint64_t size)
{
	for (unsigned i = 0; i < vm->n_regions; i++)
		if (vm->regions[i].gpa == gpa && vm->regions[i].size == size)
			return &vm->regions[i];
	return NULL;
}

/* A memory call on a destroyed VM: what KVM answers for its closed fd. */
static struct hvp_status dead_vm_region(struct hvp_vm *vm, void *host, uint64_t gpa, uint64_t size)
{
	return set_region(vm, 0, 0, gpa, size, host);
}

static struct hvp_status kvm_mem_map(struct hvp_vm *vm, void *host, uint64_t gpa, uint64_t size,
				     unsigned prot)
{
	uint32_t flags = (prot & HVP_PROT_WRITE) ? 0 : KVM_MEM_READONLY;
	int slot;
	struct hvp_status st;

	if (vm->dead)
		return dead_vm_region(vm, host, gpa, size);
	slot = free_slot(vm);
	if (slot < 0) /* KVM refused a slot id past its limit, and this one is past that too */
		return kvm_unmade("KVM_SET_USER_MEMORY_REGION", ENOSPC);
	if (vm->n_regions == vm->cap_regions) {
		unsigned cap = vm->cap_regions ? vm->cap_regions * 2 : 16;
		struct kvm_region *grown = realloc(vm->regions, cap * sizeof(*grown));
		if (!grown)
			return kvm_status("realloc", ENOMEM);
		vm->regions = grown;
		vm->cap_regions = cap;
	}
	st = set_region(vm, (uint32_t)slot, flags, gpa, size, host);
	if (st.err != HVP_OK)
		return st;
	vm->slot_used[slot] = 1;
	vm->regions[vm->n_regions++] = (struct kvm_region){ (uint32_t)slot, flags, gpa, size, host };
	return st;
}

static struct hvp_status kvm_mem_unmap(struct hvp_vm *vm, uint64_t gpa, uint64_t size)
{
	struct kvm_region *r = find_region(vm, gpa, size);
	struct hvp_status st;

	if (vm->dead)
		return dead_vm_region(vm, NULL, gpa, 0);
	/* KVM deletes whole slots only: a slot is deleted by setting its size to 0. */
	if (!r) /* no such region: nothing to name in a call */
		return kvm_unmade("KVM_SET_USER_MEMORY_REGION", EINVAL);
	st = set_region(vm, r->slot, r->flags, r->gpa, 0, r->host);
	if (st.err != HVP_OK)
		return st;
	release_slot(vm, r->slot);
	*r = vm->regions[--vm->n_regions];
	return st;
}

/*
 * KVM cannot change a slot's flags in place (api.rst: only
 * KVM_MEM_LOG_DIRTY_PAGES may change), so protection changes delete the slot
 * and create it again. KVM has no per-slot execute permission.
 */
static struct hvp_status kvm_mem_protect(struct hvp_vm *vm, uint64_t gpa, uint64_t size, unsigned prot)
{
	struct kvm_region *r = find_region(vm, gpa, size);
	struct hvp_status st;
	uint32_t flags;

	if (vm->dead)
		return dead_vm_region(vm, NULL, gpa, size);
	if (!r) /* no such region: nothing to name in a call */
		return kvm_unmade("KVM_SET_USER_MEMORY_REGION", EINVAL);
	if (!(prot & HVP_PROT_READ))
		return kvm_unmade("KVM_SET_USER_MEMORY_REGION", EOPNOTSUPP);
	flags = (prot & HVP_PROT_WRITE) ? 0 : KVM_MEM_READONLY;
	st = set_region(vm, r->slot, r->flags, r->gpa, 0, r->host);
	if (st.err != HVP_OK)
		return st;
	st = set_region(vm, r->slot, flags, r->gpa, r->size, r->host);
	if (st.err != HVP_OK) {
		release_slot(vm, r->slot);
		*r = vm->regions[--vm->n_regions];
		return st;
	}
	r->flags = flags;
	return st;
}

static struct hvp_status kvm_dirty_log_enable(struct hvp_vm *vm, uint64_t gpa, uint64_t size, bool on)
{
	struct kvm_region *r = find_region(vm, gpa, size);
	uint32_t flags;
	struct hvp_status st;

	if (vm->dead)
		return dead_vm_region(vm, NULL, gpa, size);
	if (!r) /* no such region: nothing to name in a call */
		return kvm_unmade("KVM_SET_USER_MEMORY_REGION", EINVAL);
	/* The one flag KVM lets a live slot change (api.rst, KVM_SET_USER_MEMORY_REGION). */
	flags = on ? r->flags | KVM_MEM_LOG_DIRTY_PAGES : r->flags & ~(uint32_t)KVM_MEM_LOG_DIRTY_PAGES;
	st = set_region(vm, r->slot, flags, r->gpa, r->size, r->host);
	if (st.err == HVP_OK)
		r->flags = flags;
	return st;
}

static struct hvp_status kvm_dirty_log_get(struct hvp_vm *vm, uint64_t gpa, uint64_t size, uint64_t *bitmap)
{
	struct kvm_region *r = find_region(vm, gpa, size);
	struct kvm_dirty_log log = { 0 };

	if (!r && !vm->dead)
		return kvm_unmade("KVM_GET_DIRTY_LOG", EINVAL);
	log.slot = r ? r->slot : 0;
	log.dirty_bitmap = bitmap;
	return KVM_CALL("KVM_GET_DIRTY_LOG", ioctl(vm->fd, KVM_GET_DIRTY_LOG, &log));
}

static struct hvp_status kvm_vcpu_create(struct hvp_vm *vm, unsigned id, struct hvp_vcpu **out)
{
	struct hvp_vcpu *vcpu;
	void *run;
	int fd;

	*out = NULL;
	fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (fd < 0)
		return kvm_status("KVM_CREATE_VCPU", errno);
	run = mmap(NULL, (size_t)vm->hv->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (run == MAP_FAILED) {
		struct hvp_status st = kvm_status("mmap(kvm_run)", errno);
		close(fd);
		return st;
	}
	vcpu = calloc(1, sizeof(*vcpu));
	if (!vcpu) {
		munmap(run, (size_t)vm->hv->run_size);
		close(fd);
		return kvm_status("calloc", ENOMEM);
	}
	*vcpu = (struct hvp_vcpu){ .vm = vm, .fd = fd, .id = id, .run = run,
				   .run_size = (size_t)vm->hv->run_size };
	*out = vcpu;
	return hvp_ok("KVM_CREATE_VCPU");
}

/*
 * The run area is unmapped with the fd closed, since the mapping alone
 * keeps KVM's vCPU alive. A thread still inside KVM_RUN stays there (the
 * kernel holds its own reference) and on return sees dead and leaves the
 * run area alone.
 */
static struct hvp_status kvm_vcpu_destroy(struct hvp_vcpu *vcpu)
{
	struct hvp_status st;

	if (__atomic_load_n(&vcpu->dead, __ATOMIC_ACQUIRE))
		return kvm_unmade("close(vcpu fd)", EBADF);
	__atomic_store_n(&vcpu->dead, 1, __ATOMIC_RELEASE);
	st = KVM_CALL("close(vcpu fd)", close(vcpu->fd));
	munmap(vcpu->run, vcpu->run_size);
	kvm_dirty_ring_unmap(vcpu);
	vcpu->next_dead = vcpu->vm->hv->dead_vcpus;
	vcpu->vm->hv->dead_vcpus = vcpu;
	return st;
}

static uint64_t load_le(const uint8_t *p, uint32_t size)
{
	uint64_t v = 0;

	for (uint32_t i = 0; i < size && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void store_le(uint8_t *p, uint32_t size, uint64_t v)
{
	for (uint32_t i = 0; i < size && i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Hands the guest the data for the read that ended the previous run. */
static void complete_pending_read(struct hvp_vcpu *vcpu, const struct hvp_exit *x)
{
	struct kvm_run *run = vcpu->run;

	if (vcpu->pending_read == KVM_PENDING_IO)
		store_le((uint8_t *)run + run->io.data_offset, run->io.size, x->value);
	else if (vcpu->pending_read == KVM_PENDING_MMIO)
		store_le(run->mmio.data, run->mmio.len, x->value);
	else if (vcpu->pending_read == KVM_PENDING_MSR)
		run->msr.data = x->value;
	vcpu->pending_read = KVM_PENDING_NONE;
}

static void decode_exit(struct hvp_vcpu *vcpu, struct hvp_exit *x)
{
	struct kvm_run *run = vcpu->run;

	memset(x, 0, sizeof(*x));
	x->native_reason = run->exit_reason;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		x->kind = HVP_EXIT_IO;
		x->addr = run->io.port;
		x->size = run->io.size;
		x->write = run->io.direction == KVM_EXIT_IO_OUT;
		x->native_detail = run->io.count;
		if (x->write)
			x->value = load_le((uint8_t *)run + run->io.data_offset, run->io.size);
		else
			vcpu->pending_read = KVM_PENDING_IO;
		return;
	case KVM_EXIT_MMIO:
		x->kind = HVP_EXIT_MMIO;
		x->addr = run->mmio.phys_addr;
		x->size = run->mmio.len;
		x->write = run->mmio.is_write;
		if (x->write)
			x->value = load_le(run->mmio.data, run->mmio.len);
		else
			vcpu->pending_read = KVM_PENDING_MMIO;
		return;
	case KVM_EXIT_HLT:
		x->kind = HVP_EXIT_HLT;
		return;
	case KVM_EXIT_SHUTDOWN:
		x->kind = HVP_EXIT_SHUTDOWN;
		return;
	case KVM_EXIT_INTR:
		x->kind = HVP_EXIT_INTERRUPTED;
		return;
	case KVM_EXIT_HYPERCALL:
		x->kind = HVP_EXIT_HYPERCALL;
		x->value = run->hypercall.nr;
		return;
	case KVM_EXIT_FAIL_ENTRY:
		x->kind = HVP_EXIT_INTERNAL_ERROR;
		x->native_detail = run->fail_entry.hardware_entry_failure_reason;
		return;
	case KVM_EXIT_INTERNAL_ERROR:
		x->kind = HVP_EXIT_INTERNAL_ERROR;
		x->native_detail = run->internal.suberror;
		return;
	case KVM_EXIT_DIRTY_RING_FULL:
		x->kind = HVP_EXIT_DIRTY_RING_FULL;
		return;
	default:
		if (!kvm_arch_decode_exit(vcpu, x))
			x->kind = HVP_EXIT_UNKNOWN;
	}
}

/* Run on a destroyed vCPU: the API's answer for the closed fd, with the run area left alone. */
static struct hvp_status dead_vcpu_run(struct hvp_vcpu *vcpu, struct hvp_exit *x, int r, int err)
{
	memset(x, 0, sizeof(*x));
	x->kind = r < 0 && (err == EINTR || err == EAGAIN) ? HVP_EXIT_INTERRUPTED : HVP_EXIT_INTERNAL_ERROR;
	(void)vcpu;
	return r < 0 ? kvm_status("KVM_RUN", err) : hvp_ok("KVM_RUN");
}

static struct hvp_status kvm_vcpu_run(struct hvp_vcpu *vcpu, struct hvp_exit *x)
{
	int r, err;

	if (__atomic_load_n(&vcpu->dead, __ATOMIC_ACQUIRE)) {
		r = ioctl(vcpu->fd, KVM_RUN, 0);
		return dead_vcpu_run(vcpu, x, r, errno);
	}
	if (vcpu->pending_read)
		complete_pending_read(vcpu, x);
	if (!vcpu->has_thread || !pthread_equal(vcpu->thread, pthread_self())) {
		vcpu->thread = pthread_self();
		__atomic_store_n(&vcpu->has_thread, 1, __ATOMIC_RELEASE);
	}
	r = ioctl(vcpu->fd, KVM_RUN, 0);
	err = errno;
	if (__atomic_load_n(&vcpu->dead, __ATOMIC_ACQUIRE)) /* destroyed while this thread was inside */
		return dead_vcpu_run(vcpu, x, r, err);
	if (r < 0) {
		/* A kick or a signal: KVM_RUN returns EINTR (api.rst, KVM_EXIT_INTR). */
		__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		memset(x, 0, sizeof(*x));
		x->kind = err == EINTR || err == EAGAIN ? HVP_EXIT_INTERRUPTED : HVP_EXIT_INTERNAL_ERROR;
		x->native_reason = vcpu->run->exit_reason;
		return kvm_status("KVM_RUN", err);
	}
	decode_exit(vcpu, x);
	vcpu->incomplete = x->kind == HVP_EXIT_IO || x->kind == HVP_EXIT_MMIO || x->kind == HVP_EXIT_MSR;
	return hvp_ok("KVM_RUN");
}

/*
 * immediate_exit makes a KVM_RUN that has not started yet return at once;
 * the signal interrupts one that is already in the guest. Both are needed
 * to kick without a race (api.rst, 5. The kvm_run structure), and so the
 * run path itself needs no atomics. The signal goes to the last thread that
 * ran the vCPU, which must still be alive; elsewhere its handler does
 * nothing and SA_RESTART resumes what that thread was doing.
 */
static struct hvp_status kvm_vcpu_kick(struct hvp_vcpu *vcpu)
{
	int err;

	if (!__atomic_load_n(&vcpu->dead, __ATOMIC_ACQUIRE))
		__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&vcpu->has_thread, __ATOMIC_ACQUIRE))
		return hvp_ok("immediate_exit");
	err = pthread_kill(vcpu->thread, KVM_KICK_SIGNAL);
	return err ? kvm_status("pthread_kill", err) : hvp_ok("pthread_kill");
}

static struct hvp_status kvm_vm_send(struct hvp_vm *vm, int sock)
{
	char data = 'v', control[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { &data, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			      .msg_controllen = sizeof(control) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &vm->fd, sizeof(int));
	return KVM_CALL("sendmsg(SCM_RIGHTS)", sendmsg(sock, &msg, 0));
}

/* A VM handed over: its descriptor, with an empty slot table of its own. */
static struct hvp_status kvm_vm_receive(struct hvp_hv *hv, int sock, struct hvp_vm **out)
{
	char data, control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &data, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			      .msg_controllen = sizeof(control) };
	struct cmsghdr *c;
	int fd;

	*out = NULL;
	if (recvmsg(sock, &msg, 0) < 0)
		return kvm_status("recvmsg(SCM_RIGHTS)", errno);
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return kvm_status("recvmsg(SCM_RIGHTS)", EPROTO);
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return adopt_vm_fd(hv, fd, "recvmsg(SCM_RIGHTS)", out);
}

/*
 * The leanest KVM_RUN loop a VMM can have, the yardstick for the harness's
 * own cost: run, and check that the exit is the same kind as the first
 * (a loop that never reads exit_reason handles nothing).
 */
static int64_t kvm_raw_run_loop(struct hvp_vcpu *vcpu, uint64_t n)
{
	const volatile struct kvm_run *run = vcpu->run;
	struct timespec a, b;
	uint32_t reason = 0;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (uint64_t i = 0; i < n; i++) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0)
			return -errno;
		if (i == 0)
			reason = run->exit_reason;
		else if (run->exit_reason != reason)
			return -EPROTO;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (int64_t)(b.tv_sec - a.tv_sec) * 1000000000 + (b.tv_nsec - a.tv_nsec);
}

static struct hvp_status kvm_regs_get(struct hvp_vcpu *vcpu, struct hvp_regs *regs)
{
	return kvm_arch_regs_get(vcpu, regs);
}

/*
 * An I/O, MMIO or MSR exit completes (the guest's PC moves past the
 * instruction) only when KVM_RUN is entered again, so registers set before
 * that would be overtaken: on arm64 the new PC itself gets skipped. A run
 * with immediate_exit set completes the operation and returns before any
 * guest instruction (api.rst, KVM_RUN and the kvm_run structure).
 */
static void complete_exit(struct hvp_vcpu *vcpu)
{
	if (!vcpu->incomplete || __atomic_load_n(&vcpu->dead, __ATOMIC_ACQUIRE))
		return;
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	ioctl(vcpu->fd, KVM_RUN, 0); /* EINTR once the pending operation is done */
	__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	vcpu->incomplete = 0;
	vcpu->pending_read = KVM_PENDING_NONE;
}

static struct hvp_status kvm_regs_set(struct hvp_vcpu *vcpu, const struct hvp_regs *regs)
{
	complete_exit(vcpu);
	return kvm_arch_regs_set(vcpu, regs);
}

static struct hvp_status kvm_vcpu_boot(struct hvp_vcpu *vcpu, const struct hvp_boot *boot)
{
	complete_exit(vcpu);
	return kvm_arch_vcpu_boot(vcpu, boot);
}

struct kvm_region *kvm_region_of(struct hvp_vm *vm, uint64_t gpa, uint64_t size)
{
	return find_region(vm, gpa, size);
}

void kvm_complete_pending_exit(struct hvp_vcpu *vcpu)
{
	complete_exit(vcpu);
}

const struct hvp_backend hvp_backend_kvm = {
	.name = "kvm",
#if defined(__x86_64__)
	.arch = "x86_64",
#elif defined(__aarch64__)
	.arch = "arm64",
#endif
	.open = kvm_open,
	.close = kvm_close,
	.open_advice = kvm_open_advice,
	.facts = kvm_facts,
	.native_name = kvm_native_name,
	.vm_create = kvm_vm_create,
	.vm_destroy = kvm_vm_destroy,
	.mem_map = kvm_mem_map,
	.mem_unmap = kvm_mem_unmap,
	.mem_protect = kvm_mem_protect,
	.dirty_log_enable = kvm_dirty_log_enable,
	.dirty_log_get = kvm_dirty_log_get,
	.gpa_bits = kvm_arch_gpa_bits,
	.page_size = kvm_page_size,
	.vcpu_create = kvm_vcpu_create,
	.vcpu_destroy = kvm_vcpu_destroy,
	.vcpu_boot = kvm_vcpu_boot,
	.vcpu_run = kvm_vcpu_run,
	.regs_get = kvm_regs_get,
	.regs_set = kvm_regs_set,
	.vcpu_kick = kvm_vcpu_kick,
	.vm_send = kvm_vm_send,
	.vm_receive = kvm_vm_receive,
	.tsc_khz = kvm_arch_tsc_khz,
	.raw_run_loop = kvm_raw_run_loop,
#if defined(__x86_64__)
	.tsc_set = kvm_x86_tsc_set,
	.tsc_khz_set = kvm_x86_tsc_khz_set,
	.x86_cpuid_set = kvm_x86_cpuid_set,
	.x86_msr_set = kvm_x86_msr_set,
	.x86_msr_read_exits = kvm_x86_msr_read_exits,
	.cpu_model = kvm_x86_cpu_model,
#elif defined(__aarch64__)
	.tsc_set = kvm_arm64_counter_set,
	.vm_create_sized = kvm_arm64_vm_create_sized,
	.gpa_bits_max = kvm_arm64_gpa_bits_max,
	.arm64_nisv_to_user = kvm_arm64_nisv_to_user,
	.cpu_model = kvm_arm64_cpu_model,
	.arm64_sysreg_get = kvm_arm64_sysreg_get,
	.arm64_sysreg_set = kvm_arm64_sysreg_set,
#endif
	.irq_feature = kvm_irq_feature,
	.irq_chip_create = kvm_irq_chip_create,
	.irqfd = kvm_irqfd,
	.gsi_routing_set = kvm_gsi_routing_set,
	.msi_signal = kvm_msi_signal,
	.irq_inject = kvm_irq_inject,
	.ioeventfd = kvm_ioeventfd,
	.coalesced_zone = kvm_coalesced_zone,
	.coalesced_read = kvm_coalesced_read,
#if defined(__aarch64__)
	.irq_chip_ready = kvm_irq_chip_ready,
	.arm64_sve_enable = kvm_arm64_sve_enable,
	.irq_lower = kvm_irq_lower,
	.msi_signal_devid = kvm_msi_signal_devid,
#endif
	.vcpu_state_save = kvm_vcpu_state_save,
	.vcpu_state_restore = kvm_vcpu_state_restore,
	.vcpu_state_classes = kvm_vcpu_state_classes,
	.dirty_log_manual = kvm_dirty_log_manual,
	.dirty_log_clear = kvm_dirty_log_clear,
	.dirty_ring_enable = kvm_dirty_ring_enable,
	.dirty_ring_harvest = kvm_dirty_ring_harvest,
	.dirty_ring_reset = kvm_dirty_ring_reset,
};

const struct hvp_backend *hvp_host_backend(void)
{
	return &hvp_backend_kvm;
}
