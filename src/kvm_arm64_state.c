/* SPDX-License-Identifier: MIT */
/*
 * The KVM backend's snapshots, arm64 part: every register KVM_GET_REG_LIST
 * names, read with KVM_GET_ONE_REG at the size its id encodes (api.rst,
 * KVM_GET_REG_LIST and KVM_GET_ONE_REG), grouped into classes by the id's
 * coprocessor field: the core registers (x0-x30, SP, PC, PSTATE, the
 * FP/SIMD V0-V31, FPSR, FPCR), the system registers, the virtual timer
 * (CNTV_CTL, CNTV_CVAL, and KVM_REG_ARM_TIMER_CNT, the counter itself),
 * the firmware pseudo-registers and, where the vCPU has SVE, Z, P and FFR;
 * and KVM_GET_MP_STATE (powered on or off).
 *
 * Restore initializes the vCPU as vcpu_boot does (KVM_ARM_VCPU_INIT with
 * the preferred target and the same features) and sets each register back; the counter last, so
 * that setting it fixes the virtual offset from that moment.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm_internal.h"

enum { TAG_CORE = 1, TAG_SYSREG, TAG_TIMER, TAG_FW, TAG_SVE, TAG_OTHER, TAG_COUNTER, TAG_MP_STATE };

#define REG_BYTES_MAX 256 /* an SVE Z register at the widest vector length KVM offers: 2048 bits */

const char *kvm_arch_state_tag_name(uint32_t tag)
{
	static const char *const names[] = {
		[TAG_CORE] = "core", [TAG_SYSREG] = "sysregs", [TAG_TIMER] = "timer", [TAG_FW] = "firmware",
		[TAG_SVE] = "sve", [TAG_OTHER] = "other", [TAG_COUNTER] = "counter", [TAG_MP_STATE] = "mp_state",
	};

	return tag < sizeof(names) / sizeof(names[0]) ? names[tag] : NULL;
}

/* SVE for the VM's later vCPUs, where KVM offers it (KVM_CAP_ARM_SVE). */
struct hvp_status kvm_arm64_sve_enable(struct hvp_vm *vm)
{
	if (ioctl(vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_SVE) <= 0)
		return kvm_status("KVM_CAP_ARM_SVE = 0", EOPNOTSUPP);
	vm->arm64_sve = 1;
	return hvp_ok("KVM_CHECK_EXTENSION(KVM_CAP_ARM_SVE)");
}

/*
 * The vector lengths are set, where given, between KVM_ARM_VCPU_INIT and
 * KVM_ARM_VCPU_FINALIZE, the one time KVM takes them (api.rst,
 * KVM_ARM_VCPU_FINALIZE). A second init of a vCPU already finalized
 * (vcpu_boot after a restore) finds both refused with EPERM: nothing to do.
 */
struct hvp_status kvm_arm64_sve_finalize(struct hvp_vcpu *vcpu)
{
	int feature = KVM_ARM_VCPU_SVE;
	struct kvm_one_reg vls = { .id = KVM_REG_ARM64_SVE_VLS, .addr = (uint64_t)(uintptr_t)vcpu->sve_vls };

	if (vcpu->sve_vls && ioctl(vcpu->fd, KVM_SET_ONE_REG, &vls) < 0 && errno != EPERM)
		return kvm_status("KVM_SET_ONE_REG(KVM_REG_ARM64_SVE_VLS)", errno);
	if (ioctl(vcpu->fd, KVM_ARM_VCPU_FINALIZE, &feature) < 0 && errno != EPERM)
		return kvm_status("KVM_ARM_VCPU_FINALIZE", errno);
	return hvp_ok("KVM_ARM_VCPU_FINALIZE");
}

static size_t reg_size(uint64_t id)
{
	return (size_t)1 << ((id & KVM_REG_SIZE_MASK) >> KVM_REG_SIZE_SHIFT);
}

static uint32_t reg_class(uint64_t id)
{
	if (id == KVM_REG_ARM_TIMER_CNT)
		return TAG_COUNTER;
	if (id == KVM_REG_ARM_TIMER_CTL || id == KVM_REG_ARM_TIMER_CVAL)
		return TAG_TIMER;
	switch (id & KVM_REG_ARM_COPROC_MASK) {
	case KVM_REG_ARM_CORE: return TAG_CORE;
	case KVM_REG_ARM64_SYSREG: return TAG_SYSREG;
	case KVM_REG_ARM_FW: return TAG_FW;
	case KVM_REG_ARM64_SVE: return TAG_SVE;
	default: return TAG_OTHER;
	}
}

static struct kvm_reg_list *reg_list(struct hvp_vcpu *vcpu, struct hvp_status *st)
{
	struct kvm_reg_list probe = { .n = 0 }, *list;

	if (ioctl(vcpu->fd, KVM_GET_REG_LIST, &probe) < 0 && errno != E2BIG) {
		*st = kvm_status("KVM_GET_REG_LIST", errno);
		return NULL;
	}
	list = calloc(1, sizeof(*list) + probe.n * sizeof(list->reg[0]));
	if (!list) {
		*st = kvm_status("calloc", ENOMEM);
		return NULL;
	}
	list->n = probe.n;
	if (ioctl(vcpu->fd, KVM_GET_REG_LIST, list) < 0) {
		*st = kvm_status("KVM_GET_REG_LIST", errno);
		free(list);
		return NULL;
	}
	*st = hvp_ok("KVM_GET_REG_LIST");
	return list;
}

/* One class: each register as its id then its bytes. */
static struct hvp_status save_class(struct hvp_vcpu *vcpu, struct hvp_blob *b, const struct kvm_reg_list *list,
				    uint32_t tag)
{
	struct hvp_blob sec = { 0 };
	uint8_t value[REG_BYTES_MAX];

	for (uint64_t i = 0; i < list->n; i++) {
		uint64_t id = list->reg[i];
		struct kvm_one_reg r = { .id = id, .addr = (uint64_t)(uintptr_t)value };

		if (reg_class(id) != tag || reg_size(id) > sizeof(value))
			continue;
		if (ioctl(vcpu->fd, KVM_GET_ONE_REG, &r) < 0) {
			free(sec.p);
			return kvm_status("KVM_GET_ONE_REG", errno);
		}
		hvp_blob_put(&sec, (uint32_t)(id >> 32), &id, sizeof(id)); /* the section header is reused as the entry's */
		hvp_blob_put(&sec, 0, value, (uint32_t)reg_size(id));
	}
	if (sec.err)
		b->err = sec.err;
	else if (sec.len)
		hvp_blob_put(b, tag, sec.p, (uint32_t)sec.len);
	free(sec.p);
	return hvp_ok("KVM_GET_ONE_REG");
}

/* Whether the vCPU is powered off (PSCI CPU_OFF) or runnable: KVM_GET_MP_STATE. */
static struct hvp_status save_mp_state(struct hvp_vcpu *vcpu, struct hvp_blob *b)
{
	struct kvm_mp_state mp;

	if (ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp) < 0)
		return kvm_status("KVM_GET_MP_STATE", errno);
	hvp_blob_put(b, TAG_MP_STATE, &mp, sizeof(mp));
	return hvp_ok("KVM_GET_MP_STATE");
}

static struct hvp_status restore_mp_state(struct hvp_vcpu *vcpu, const uint8_t *blob, size_t len)
{
	uint32_t size;
	const void *data = hvp_blob_find(blob, len, TAG_MP_STATE, &size);
	struct kvm_mp_state mp;

	if (!data)
		return hvp_ok("KVM_SET_MP_STATE");
	if (size != sizeof(mp))
		return kvm_status("KVM_SET_MP_STATE", EINVAL);
	memcpy(&mp, data, sizeof(mp));
	return ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp) < 0 ? kvm_status("KVM_SET_MP_STATE", errno) : hvp_ok("KVM_SET_MP_STATE");
}

struct hvp_status kvm_arch_state_save(struct hvp_vcpu *vcpu, struct hvp_blob *b)
{
	struct hvp_status st;
	struct kvm_reg_list *list = reg_list(vcpu, &st);

	if (!list)
		return st;
	for (uint32_t tag = TAG_CORE; tag <= TAG_COUNTER && st.err == HVP_OK; tag++)
		st = save_class(vcpu, b, list, tag);
	free(list);
	return st.err == HVP_OK ? save_mp_state(vcpu, b) : st;
}

/*
 * Sets a class's registers back. A register KVM refuses with the value the
 * same host gave (an invariant ID register, say) ends the restore: the
 * caller names it.
 */
static struct hvp_status restore_class(struct hvp_vcpu *vcpu, const uint8_t *blob, size_t len, uint32_t tag)
{
	uint32_t size;
	const uint8_t *p = hvp_blob_find(blob, len, tag, &size), *end = p + size;

	while (p && end - p >= 24) { /* an 8-byte header, the id, an 8-byte header, the value */
		uint64_t id;
		uint32_t vsize;
		uint8_t value[REG_BYTES_MAX];
		struct kvm_one_reg r = { .addr = (uint64_t)(uintptr_t)value };

		memcpy(&id, p + 8, sizeof(id));
		memcpy(&vsize, p + 20, sizeof(vsize));
		if (vsize != reg_size(id) || vsize > sizeof(value) || (size_t)(end - p) < 24 + vsize)
			return kvm_status("KVM_SET_ONE_REG", EINVAL);
		if (id == KVM_REG_ARM64_SVE_VLS) { /* set before KVM_ARM_VCPU_FINALIZE (kvm_arm64_sve_finalize) */
			p += 24 + vsize;
			continue;
		}
		memcpy(value, p + 24, vsize);
		r.id = id;
		if (ioctl(vcpu->fd, KVM_SET_ONE_REG, &r) < 0)
			return kvm_status("KVM_SET_ONE_REG", errno);
		p += 24 + vsize;
	}
	return hvp_ok("KVM_SET_ONE_REG");
}

/* The saved vector lengths, for kvm_arm64_sve_finalize; NULL where the blob has none. */
static const void *saved_vls(const uint8_t *blob, size_t len)
{
	uint32_t size;
	const uint8_t *p = hvp_blob_find(blob, len, TAG_SVE, &size), *end = p + size;
	uint64_t id;

	while (p && end - p >= 24) {
		uint32_t vsize;
		memcpy(&id, p + 8, sizeof(id));
		memcpy(&vsize, p + 20, sizeof(vsize));
		if ((size_t)(end - p) < 24 + (size_t)vsize)
			return NULL;
		if (id == KVM_REG_ARM64_SVE_VLS)
			return p + 24;
		p += 24 + vsize;
	}
	return NULL;
}

struct hvp_status kvm_arch_state_restore(struct hvp_vcpu *vcpu, const uint8_t *blob, size_t len)
{
	struct hvp_status st;

	vcpu->sve_vls = saved_vls(blob, len);
	if (vcpu->sve_vls && !vcpu->vm->arm64_sve)
		return kvm_status("snapshot (SVE state for a vCPU without SVE)", EINVAL);
	st = kvm_arm64_vcpu_init(vcpu);
	vcpu->sve_vls = NULL;

	for (uint32_t tag = TAG_CORE; tag <= TAG_COUNTER && st.err == HVP_OK; tag++)
		st = restore_class(vcpu, blob, len, tag);
	return st.err == HVP_OK ? restore_mp_state(vcpu, blob, len) : st;
}
