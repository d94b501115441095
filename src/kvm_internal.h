/* SPDX-License-Identifier: MIT */
/*
 * The KVM backend's private types, shared by the architecture-independent
 * part (kvm.c) and each architecture's part (kvm_x86_64.c, kvm_arm64.c).
 */
#ifndef HVP_KVM_INTERNAL_H
#define HVP_KVM_INTERNAL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdint.h>

#include "backend.h"
#include "state_blob.h"

/* Newer than the headers of older distributions; the numbers are ABI. */
#ifndef KVM_CAP_USER_MEMORY2
#define KVM_CAP_USER_MEMORY2 231
#endif
#ifndef KVM_CAP_GUEST_MEMFD
#define KVM_CAP_GUEST_MEMFD 234
#endif

struct hvp_hv {
	int fd;
	int run_size;             /* KVM_GET_VCPU_MMAP_SIZE */
	unsigned nr_memslots;     /* KVM_CAP_NR_MEMSLOTS */
	void *arch;               /* kvm_x86_64.c: the supported CPUID table */
	struct hvp_vm *dead_vms;  /* destroyed handles, kept valid until close */
	struct hvp_vcpu *dead_vcpus;
};

struct kvm_region {
	uint32_t slot;
	uint32_t flags;
	uint64_t gpa, size;
	void *host;
};

struct hvp_vm {
	struct hvp_hv *hv;
	int fd;
	unsigned n_regions, cap_regions;
	struct kvm_region *regions;
	uint8_t *slot_used;       /* one byte per slot id, a few past nr_memslots */
	unsigned slot_hint;       /* no slot below this is free */
	int dead;                 /* destroyed: fd is closed, its number kept */
	struct hvp_vm *next_dead;
	int gic_fd, its_fd;       /* arm64: the vGIC and ITS devices (KVM_CREATE_DEVICE), when has_gic, has_its */
	bool has_gic, has_its;
	uint32_t dirty_ring_bytes;  /* kvm_dirty.c: the ring size enabled, 0 for none */
	int arm64_sve;              /* arm64: vCPUs made with SVE (kvm_arm64_state.c) */
};

struct hvp_vcpu {
	struct hvp_vm *vm;
	int fd;
	unsigned id;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;        /* the last thread that ran the vCPU: kicks signal it */
	int has_thread;          /* thread is valid; accessed atomically */
	int pending_read;        /* the last exit asked for data: KVM_PENDING_* */
	int incomplete;          /* the last exit's instruction completes only on the next KVM_RUN */
	int dead;                /* destroyed: fd closed, run area unmapped; accessed atomically */
	struct hvp_vcpu *next_dead;
	struct kvm_dirty_gfn *dirty_ring; /* kvm_dirty.c: the ring mapped from the vCPU fd, NULL until harvested */
	uint32_t dirty_ring_next;         /* the next entry to collect */
	const void *sve_vls;              /* arm64: the vector lengths to set before finalizing SVE, NULL: KVM's */
};

enum { KVM_PENDING_NONE, KVM_PENDING_IO, KVM_PENDING_MMIO, KVM_PENDING_MSR };

/* errno -> portable class */
struct hvp_status kvm_status(const char *call, int err);
/* KVM_CREATE_VM with a machine type (arm64: the IPA size). */
struct hvp_status kvm_vm_create_type(struct hvp_hv *hv, unsigned long type, struct hvp_vm **out);

/* The region that holds [gpa, gpa + size), or NULL. */
struct kvm_region *kvm_region_of(struct hvp_vm *vm, uint64_t gpa, uint64_t size);
/* Completes the operation of an I/O, MMIO or MSR exit, so that the vCPU's state is the guest's own. */
void kvm_complete_pending_exit(struct hvp_vcpu *vcpu);
/* Unmaps a destroyed vCPU's dirty ring (kvm_dirty.c). */
void kvm_dirty_ring_unmap(struct hvp_vcpu *vcpu);

/* Snapshots (kvm_state.c, in the blob of state_blob.h). */
struct hvp_status kvm_vcpu_state_save(struct hvp_vcpu *vcpu, uint8_t **blob, size_t *len);
struct hvp_status kvm_vcpu_state_restore(struct hvp_vcpu *vcpu, const uint8_t *blob, size_t len);
unsigned kvm_vcpu_state_classes(const uint8_t *blob, size_t len, struct hvp_state_class *out, unsigned max);
/* Per architecture (kvm_<arch>_state.c): every class, and the name of a section's tag. */
struct hvp_status kvm_arch_state_save(struct hvp_vcpu *vcpu, struct hvp_blob *b);
struct hvp_status kvm_arch_state_restore(struct hvp_vcpu *vcpu, const uint8_t *blob, size_t len);
const char *kvm_arch_state_tag_name(uint32_t tag);

/* Dirty tracking beyond the bitmap (kvm_dirty.c). */
struct hvp_status kvm_dirty_log_manual(struct hvp_vm *vm);
struct hvp_status kvm_dirty_log_clear(struct hvp_vm *vm, uint64_t gpa, uint64_t size, const uint64_t *bitmap);
struct hvp_status kvm_dirty_ring_enable(struct hvp_vm *vm, uint32_t *entries, uint32_t *soft);
struct hvp_status kvm_dirty_ring_harvest(struct hvp_vcpu *vcpu, uint64_t *gpa, unsigned max, unsigned *n);
struct hvp_status kvm_dirty_ring_reset(struct hvp_vm *vm);

/* Architecture hooks, one implementation per architecture. */
int kvm_arch_open(struct hvp_hv *hv);
void kvm_arch_close(struct hvp_hv *hv);
void kvm_arch_facts(struct hvp_hv *hv, struct hvp_facts *out);
struct hvp_status kvm_arch_vcpu_boot(struct hvp_vcpu *vcpu, const struct hvp_boot *boot);
struct hvp_status kvm_arch_regs_get(struct hvp_vcpu *vcpu, struct hvp_regs *regs);
struct hvp_status kvm_arch_regs_set(struct hvp_vcpu *vcpu, const struct hvp_regs *regs);
/* Decodes an architecture-specific exit; returns 0 if exit_reason is not one. */
unsigned kvm_arch_gpa_bits(struct hvp_hv *hv);
int kvm_arch_decode_exit(struct hvp_vcpu *vcpu, struct hvp_exit *x);
/* The guest's TSC (arm64: virtual counter) frequency in kHz, 0 if unknown. */
uint64_t kvm_arch_tsc_khz(struct hvp_vcpu *vcpu);

#if defined(__x86_64__)
struct hvp_status kvm_x86_cpuid_set(struct hvp_vcpu *vcpu, uint32_t leaf, uint32_t index, const uint32_t val[4]);
struct hvp_status kvm_x86_msr_set(struct hvp_vcpu *vcpu, uint32_t index, uint64_t value);
struct hvp_status kvm_x86_msr_read_exits(struct hvp_vm *vm, uint32_t index);
struct hvp_status kvm_x86_tsc_set(struct hvp_vcpu *vcpu, uint64_t value);
struct hvp_status kvm_x86_tsc_khz_set(struct hvp_vcpu *vcpu, uint64_t khz);
struct hvp_status kvm_x86_cpu_model(struct hvp_hv *hv, struct hvp_cpu_model *out);
#elif defined(__aarch64__)
struct hvp_status kvm_arm64_counter_set(struct hvp_vcpu *vcpu, uint64_t value);
struct hvp_status kvm_arm64_vm_create_sized(struct hvp_hv *hv, unsigned bits, struct hvp_vm **out);
unsigned kvm_arm64_gpa_bits_max(struct hvp_hv *hv);
struct hvp_status kvm_arm64_nisv_to_user(struct hvp_vm *vm);
struct hvp_status kvm_arm64_cpu_model(struct hvp_hv *hv, struct hvp_cpu_model *out);
struct hvp_status kvm_arm64_sysreg_get(struct hvp_vcpu *vcpu, uint16_t enc, uint64_t *value);
struct hvp_status kvm_arm64_sysreg_set(struct hvp_vcpu *vcpu, uint16_t enc, uint64_t value);
struct hvp_status kvm_arm64_vcpu_init(struct hvp_vcpu *vcpu);
struct hvp_status kvm_arm64_sve_enable(struct hvp_vm *vm);
/* After KVM_ARM_VCPU_INIT with SVE: the vector lengths (vcpu->sve_vls) if given, then KVM_ARM_VCPU_FINALIZE. */
struct hvp_status kvm_arm64_sve_finalize(struct hvp_vcpu *vcpu);
#endif

/* kvm_irq.c: interrupts and I/O notification. */
int64_t kvm_irq_feature(struct hvp_hv *hv, enum hvp_irq_feature f, const char **name);
void kvm_irq_facts(struct hvp_hv *hv, struct hvp_facts *out);
struct hvp_status kvm_irq_chip_create(struct hvp_vm *vm, enum hvp_irq_chip kind);
struct hvp_status kvm_irqfd(struct hvp_vm *vm, int fd, uint32_t gsi, int resample_fd, bool assign);
struct hvp_status kvm_gsi_routing_set(struct hvp_vm *vm, const struct hvp_irq_route *routes, unsigned n);
struct hvp_status kvm_msi_signal(struct hvp_vm *vm, uint64_t addr, uint32_t data);
struct hvp_status kvm_msi_signal_devid(struct hvp_vm *vm, uint64_t addr, uint32_t data, uint32_t devid);
struct hvp_status kvm_irq_inject(struct hvp_vcpu *vcpu, uint32_t vector);
struct hvp_status kvm_irq_lower(struct hvp_vcpu *vcpu);
struct hvp_status kvm_ioeventfd(struct hvp_vm *vm, int fd, const struct hvp_doorbell *d, bool assign);
struct hvp_status kvm_coalesced_zone(struct hvp_vm *vm, uint64_t addr, uint32_t size, bool assign);
struct hvp_status kvm_coalesced_read(struct hvp_vcpu *vcpu, struct hvp_coalesced *out, unsigned max, unsigned *n);
struct hvp_status kvm_irq_chip_ready(struct hvp_vm *vm);

#endif
