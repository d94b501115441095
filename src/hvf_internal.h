/* SPDX-License-Identifier: MIT */
/*
 * The Hypervisor.framework backend's private types, shared by the
 * architecture-independent part (hvf.c) and each architecture's part
 * (hvf_x86_64.c, hvf_arm64.c).
 *
 * Apple's rules shape it: one VM per process, implicit in every call (the
 * VM handle is hvprobe's, not Apple's), and every vCPU function but the kick
 * called from the thread that created the vCPU. So each vCPU has an owner
 * thread of its own, and hvprobe's calls from any thread are carried out
 * there (hvf.c, on_owner). A probe that asks the framework itself what a
 * call from another thread does breaks the rule on purpose (vcpu_direct);
 * in a forked child, which has no owner threads, calls go to the framework
 * from the calling thread too.
 */
#ifndef HVP_HVF_INTERNAL_H
#define HVP_HVF_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend.h"
#include "state_blob.h"
#include "hvf_api.h"

struct hvp_hv {
	int entitled; /* the entitlement: 1, 0, -1 cannot be told, -2 not asked (a forked child) */
};

/* Opening the API, and the host's offer of it (hvf_host.c). */
struct hvp_status hvf_open(const struct hvp_open_opts *opts, struct hvp_hv **out);
void hvf_close(struct hvp_hv *hv);
const char *hvf_open_advice(const struct hvp_open_opts *opts, struct hvp_status st);
void hvf_host_facts(const struct hvp_hv *hv, struct hvp_facts *out);
/* A sysctl's integer, or -1 where it is missing ("unknown oid"). */
int hvf_sysctl_int(const char *name);

/* A mapped range as the VMM mapped it: x86_64 decodes the instruction behind an EPT violation from it. */
struct hvf_map {
	uint64_t gpa, size;
	const uint8_t *host; /* NULL: the entry is free */
	unsigned prot;       /* HVP_PROT_* */
};

#define HVF_MAPS_KEPT 64 /* the first ones; the guest's code and data are among them */

struct hvp_vm {
	struct hvp_hv *hv;
	unsigned gpa_bits;
	int dead;
	struct hvf_map maps[HVF_MAPS_KEPT];
};

/* The kept map that holds [gpa, gpa + n), or NULL. */
const struct hvf_map *hvf_map_at(const struct hvp_vm *vm, uint64_t gpa, uint64_t n);

struct hvf_call; /* a request carried out on a vCPU's owner thread */

struct hvp_vcpu {
	struct hvp_vm *vm;
	unsigned id;
	uint64_t native;          /* hv_vcpuid_t (x86_64) or hv_vcpu_t (arm64) */
	void *exit_info;          /* arm64: the hv_vcpu_exit_t the framework fills */
	int dead;                 /* accessed atomically */
	/* what the last exit left to finish on the next run */
	int pending_read_reg;     /* the register an MMIO or port read fills, -1: none */
	unsigned pending_read_shift; /* x86_64: 8 when that is its second byte (AH, CH, DH, BH) */
	uint64_t pending_pc_step; /* bytes to skip past the exiting instruction */
	/* the owner thread and its mailbox */
	pthread_t owner;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct hvf_call *call;    /* the request in progress, NULL: none */
	int stop;
	int kick_pending;         /* x86_64: a kick no run has taken yet; accessed atomically */
	int in_run;               /* x86_64: inside hvf_arch_vcpu_run; accessed atomically */
	int direct;               /* calls go to the framework from the calling thread (vcpu_direct) */
	int ownerless;            /* created by vcpu_create_here: no owner thread exists */
	pid_t pid;                /* the process whose owner thread it is */
};

struct hvp_status hvf_status(const char *call, hv_return_t r);

/* Architecture hooks; every vCPU hook runs on the vCPU's owner thread. */
struct hvp_status hvf_arch_vm_create(struct hvp_vm *vm, unsigned gpa_bits);
unsigned hvf_arch_gpa_bits(void);
unsigned hvf_arch_gpa_bits_max(void);
void hvf_arch_facts(struct hvp_facts *out);
struct hvp_status hvf_arch_vcpu_create(struct hvp_vcpu *vcpu);
struct hvp_status hvf_arch_vcpu_destroy(struct hvp_vcpu *vcpu);
struct hvp_status hvf_arch_vcpu_boot(struct hvp_vcpu *vcpu, const struct hvp_boot *boot);
struct hvp_status hvf_arch_vcpu_run(struct hvp_vcpu *vcpu, struct hvp_exit *x);
struct hvp_status hvf_arch_regs_get(struct hvp_vcpu *vcpu, struct hvp_regs *regs);
struct hvp_status hvf_arch_regs_set(struct hvp_vcpu *vcpu, const struct hvp_regs *regs);
struct hvp_status hvf_arch_tsc_set(struct hvp_vcpu *vcpu, uint64_t value);
uint64_t hvf_arch_tsc_khz(void);
/* Forces the vCPU out of run; documented as callable from any thread. */
struct hvp_status hvf_arch_vcpu_kick(struct hvp_vcpu *vcpu);
/* The guest CPU model (cpu_model.h), read on vcpu, a vCPU of the calling thread. */
struct hvp_status hvf_arch_cpu_model(struct hvp_vcpu *vcpu, struct hvp_cpu_model *out);
/* Interrupts: what the framework offers, and the VMM's own injection (on the owner thread). */
int64_t hvf_arch_irq_feature(enum hvp_irq_feature feature, const char **name);
struct hvp_status hvf_arch_irq_inject(struct hvp_vcpu *vcpu, uint32_t vector);
struct hvp_status hvf_arch_irq_chip_create(struct hvp_vm *vm, enum hvp_irq_chip kind);
/* Snapshots (hvf_<arch>.c), on the owner thread: every class into b, and back from a blob of this kind. */
struct hvp_status hvf_arch_state_save(struct hvp_vcpu *vcpu, struct hvp_blob *b);
struct hvp_status hvf_arch_state_restore(struct hvp_vcpu *vcpu, const uint8_t *blob, size_t len);
const char *hvf_arch_state_tag_name(uint32_t tag);
extern const enum hvp_blob_kind hvf_arch_blob_kind;

#endif
