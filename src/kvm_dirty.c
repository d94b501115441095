/* SPDX-License-Identifier: MIT */
/*
 * The KVM backend's dirty tracking beyond the plain bitmap (api.rst):
 * manual re-protection (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, then
 * KVM_GET_DIRTY_LOG leaves the log and KVM_CLEAR_DIRTY_LOG re-arms pages),
 * and the per-vCPU dirty ring (KVM_CAP_DIRTY_LOG_RING, 8.29: a ring of
 * struct kvm_dirty_gfn mapped from the vCPU fd at KVM_DIRTY_LOG_PAGE_OFFSET,
 * entries handed back with KVM_DIRTY_GFN_F_RESET and KVM_RESET_DIRTY_RINGS).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_internal.h"

#ifndef KVM_CAP_DIRTY_LOG_RING_ACQ_REL
#define KVM_CAP_DIRTY_LOG_RING_ACQ_REL 223
#endif

/*
 * KVM keeps at least this many entries of every ring for what a run may
 * still dirty, and the CPU's own log (Intel's PML, 512 more) on top of it
 * (virt/kvm/dirty_ring.c): the ring stops runs at the entries less these
 * at most.
 */
#define RING_RESERVED_ENTRIES 64
#define RING_BYTES_MAX (1u << 20)

static int check_ext(int fd, long cap)
{
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);
	return r < 0 ? 0 : r;
}

struct hvp_status kvm_dirty_log_manual(struct hvp_vm *vm)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 };
	int have = check_ext(vm->fd, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);

	if (!(have & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE))
		return kvm_status("KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 = 0", EOPNOTSUPP);
	/* Without KVM_DIRTY_LOG_INITIALLY_SET: the log starts empty, as the bitmap mode's does. */
	cap.args[0] = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE;
	if (ioctl(vm->fd, KVM_ENABLE_CAP, &cap) < 0)
		return kvm_status("KVM_ENABLE_CAP(MANUAL_DIRTY_LOG_PROTECT2)", errno);
	return hvp_ok("KVM_ENABLE_CAP(MANUAL_DIRTY_LOG_PROTECT2)");
}

struct hvp_status kvm_dirty_log_clear(struct hvp_vm *vm, uint64_t gpa, uint64_t size, const uint64_t *bitmap)
{
	struct kvm_region *r = kvm_region_of(vm, gpa, size);
	long page = sysconf(_SC_PAGESIZE);
	struct kvm_clear_dirty_log c = { 0 };

	if (!r && !vm->dead) {
		struct hvp_status st = kvm_status("KVM_CLEAR_DIRTY_LOG", EINVAL);
		st.unmade = true; /* no such region: nothing to name in a call */
		return st;
	}
	/* The whole slot, so first_page and num_pages meet the call's multiple-of-64 rule. */
	c.slot = r ? r->slot : 0;
	c.first_page = 0;
	c.num_pages = r ? (uint32_t)(r->size / (uint64_t)page) : 0;
	c.dirty_bitmap = (void *)(uintptr_t)bitmap;
	if (ioctl(vm->fd, KVM_CLEAR_DIRTY_LOG, &c) < 0)
		return kvm_status("KVM_CLEAR_DIRTY_LOG", errno);
	return hvp_ok("KVM_CLEAR_DIRTY_LOG");
}

/*
 * The smallest ring KVM takes with the entries asked for: a power of two of
 * at least a page and more than the entries it reserves, which Intel's PML makes larger (EINVAL
 * below that): so each size is tried from one page up. The acquire-release
 * form is the one arm64 has; x86 has both.
 */
struct hvp_status kvm_dirty_ring_enable(struct hvp_vm *vm, uint32_t *entries, uint32_t *soft)
{
	long cap_id = KVM_CAP_DIRTY_LOG_RING_ACQ_REL;
	int max = check_ext(vm->fd, cap_id);
	struct kvm_enable_cap cap = { 0 };
	long page = sysconf(_SC_PAGESIZE);
	uint64_t least = (uint64_t)*entries * sizeof(struct kvm_dirty_gfn);
	int err = EINVAL;

	*entries = *soft = 0;
	if (max <= 0) {
		cap_id = KVM_CAP_DIRTY_LOG_RING;
		max = check_ext(vm->fd, cap_id);
	}
	if (max <= 0)
		return kvm_status("KVM_CAP_DIRTY_LOG_RING = 0", EOPNOTSUPP); /* and _ACQ_REL */
	cap.cap = (uint32_t)cap_id;
	for (uint64_t bytes = (uint64_t)page; bytes <= (uint64_t)max && bytes <= RING_BYTES_MAX; bytes *= 2) {
		if (bytes < least)
			continue;
		cap.args[0] = bytes;
		if (ioctl(vm->fd, KVM_ENABLE_CAP, &cap) == 0) {
			vm->dirty_ring_bytes = (uint32_t)bytes;
			*entries = (uint32_t)(bytes / sizeof(struct kvm_dirty_gfn));
			*soft = *entries > RING_RESERVED_ENTRIES ? *entries - RING_RESERVED_ENTRIES : 0;
			return hvp_ok("KVM_ENABLE_CAP(KVM_CAP_DIRTY_LOG_RING)");
		}
		err = errno;
		if (err != EINVAL)
			break;
	}
	return kvm_status("KVM_ENABLE_CAP(KVM_CAP_DIRTY_LOG_RING)", err);
}

static struct hvp_status map_ring(struct hvp_vcpu *vcpu)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	if (vcpu->dirty_ring)
		return hvp_ok("mmap(dirty ring)");
	if (!vcpu->vm->dirty_ring_bytes) {
		struct hvp_status st = kvm_status("mmap(dirty ring)", EINVAL);
		st.unmade = true; /* no ring was enabled: nothing to map */
		return st;
	}
	p = mmap(NULL, vcpu->vm->dirty_ring_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd,
		 (off_t)KVM_DIRTY_LOG_PAGE_OFFSET * page);
	if (p == MAP_FAILED)
		return kvm_status("mmap(dirty ring)", errno);
	vcpu->dirty_ring = p;
	return hvp_ok("mmap(dirty ring)");
}

void kvm_dirty_ring_unmap(struct hvp_vcpu *vcpu)
{
	if (vcpu->dirty_ring)
		munmap(vcpu->dirty_ring, vcpu->vm->dirty_ring_bytes);
	vcpu->dirty_ring = NULL;
}

/* The guest-physical address of a ring entry: its slot's base plus offset pages. */
static int entry_gpa(const struct hvp_vm *vm, uint32_t slot, uint64_t offset, uint64_t *gpa)
{
	long page = sysconf(_SC_PAGESIZE);

	for (unsigned i = 0; i < vm->n_regions; i++)
		if (vm->regions[i].slot == (slot & 0xffff) && offset * (uint64_t)page < vm->regions[i].size) {
			*gpa = vm->regions[i].gpa + offset * (uint64_t)page;
			return 0;
		}
	return -1;
}

/*
 * Collects entries in ring order from where the last harvest stopped: an
 * entry is the kernel's once it is marked dirty (read with acquire, as the
 * ACQ_REL form requires), and handed back by marking it for reset.
 */
struct hvp_status kvm_dirty_ring_harvest(struct hvp_vcpu *vcpu, uint64_t *gpa, unsigned max, unsigned *n)
{
	struct hvp_status st = map_ring(vcpu);
	uint32_t size = vcpu->vm->dirty_ring_bytes / sizeof(struct kvm_dirty_gfn);

	*n = 0;
	if (st.err != HVP_OK)
		return st;
	while (*n < max) {
		struct kvm_dirty_gfn *e = &vcpu->dirty_ring[vcpu->dirty_ring_next % size];
		uint32_t flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);

		if (!(flags & KVM_DIRTY_GFN_F_DIRTY))
			break;
		if (entry_gpa(vcpu->vm, e->slot, e->offset, &gpa[*n]))
			gpa[*n] = UINT64_MAX; /* a slot hvprobe does not know: kept, so that the caller sees it */
		(*n)++;
		__atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET, __ATOMIC_RELEASE);
		vcpu->dirty_ring_next++;
	}
	return hvp_ok("dirty ring harvest");
}

struct hvp_status kvm_dirty_ring_reset(struct hvp_vm *vm)
{
	if (ioctl(vm->fd, KVM_RESET_DIRTY_RINGS, 0) < 0)
		return kvm_status("KVM_RESET_DIRTY_RINGS", errno);
	return hvp_ok("KVM_RESET_DIRTY_RINGS");
}
