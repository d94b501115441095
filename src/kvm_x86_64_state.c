/* SPDX-License-Identifier: MIT */
/*
 * The KVM backend's snapshots, x86_64 part: every class of vCPU state KVM
 * hands a VMM, each as its ioctl gives it (api.rst, 4. API description):
 * the CPUID table, KVM_GET_REGS, KVM_GET_SREGS, the FPU/SSE/AVX state
 * (KVM_GET_XSAVE2 with the size KVM_CAP_XSAVE2 gives, else KVM_GET_XSAVE,
 * else KVM_GET_FPU), KVM_GET_XCRS, every MSR of KVM_GET_MSR_INDEX_LIST that
 * reads, the local APIC where the VM has an in-kernel irqchip
 * (KVM_GET_LAPIC: its registers, the IRR's pending interrupts, the timer's
 * current count; CR8 is its TPR), KVM_GET_DEBUGREGS, KVM_GET_VCPU_EVENTS,
 * the TSC offset (KVM_VCPU_TSC_CTRL) and KVM_GET_MP_STATE.
 *
 * Restore puts them back in the order QEMU does (the CPUID table first,
 * since KVM checks XCR0, XSAVE and MSRs against it), and the TSC offset
 * last, so that the guest's TSC counts the time the VM was away (devices/
 * vcpu.rst, KVM_VCPU_TSC_OFFSET, the migration procedure). The local APIC
 * goes after KVM_SET_SREGS, whose apic_base is the APIC base MSR that
 * KVM_SET_LAPIC applies first and reads the APIC ID's format from (x86.c
 * __set_sregs_common, lapic.c kvm_apic_set_state; api.rst 4.57), and before
 * the MSRs, since KVM drops a TSC-deadline MSR write while the LVT timer is
 * not in TSC-deadline mode (lapic.c kvm_set_lapic_tscdeadline_msr).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm_internal.h"

enum {
	TAG_CPUID = 1, TAG_REGS, TAG_SREGS, TAG_FPU, TAG_XSAVE, TAG_XSAVE2, TAG_XCRS, TAG_MSRS, TAG_DEBUGREGS,
	TAG_EVENTS, TAG_TSC_OFFSET, TAG_MP_STATE, TAG_LAPIC,
};

#define CPUID_ENTRIES_MAX 256
#define MSR_CHUNK 64

const char *kvm_arch_state_tag_name(uint32_t tag)
{
	static const char *const names[] = {
		[TAG_CPUID] = "cpuid", [TAG_REGS] = "regs", [TAG_SREGS] = "sregs", [TAG_FPU] = "fpu",
		[TAG_XSAVE] = "xsave", [TAG_XSAVE2] = "xsave2", [TAG_XCRS] = "xcrs", [TAG_MSRS] = "msrs",
		[TAG_DEBUGREGS] = "debugregs", [TAG_EVENTS] = "vcpu_events", [TAG_TSC_OFFSET] = "tsc_offset",
		[TAG_MP_STATE] = "mp_state", [TAG_LAPIC] = "lapic",
	};

	return tag < sizeof(names) / sizeof(names[0]) ? names[tag] : NULL;
}

/* One fixed-size class: the get ioctl's struct, as it is, in one section. */
static struct hvp_status save_fixed(struct hvp_vcpu *vcpu, struct hvp_blob *b, uint32_t tag, unsigned long req,
				    const char *call, size_t size)
{
	void *buf = calloc(1, size);
	struct hvp_status st;

	if (!buf)
		return kvm_status("calloc", ENOMEM);
	if (ioctl(vcpu->fd, req, buf) < 0) {
		st = kvm_status(call, errno);
	} else {
		hvp_blob_put(b, tag, buf, (uint32_t)size);
		st = hvp_ok(call);
	}
	free(buf);
	return st;
}

static struct hvp_status save_cpuid(struct hvp_vcpu *vcpu, struct hvp_blob *b)
{
	size_t size = sizeof(struct kvm_cpuid2) + CPUID_ENTRIES_MAX * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *c = calloc(1, size);
	struct hvp_status st = hvp_ok("KVM_GET_CPUID2");

	if (!c)
		return kvm_status("calloc", ENOMEM);
	c->nent = CPUID_ENTRIES_MAX;
	if (ioctl(vcpu->fd, KVM_GET_CPUID2, c) < 0)
		st = kvm_status("KVM_GET_CPUID2", errno);
	else
		hvp_blob_put(b, TAG_CPUID, c, (uint32_t)(sizeof(*c) + c->nent * sizeof(c->entries[0])));
	free(c);
	return st;
}

/* The widest FPU state the host gives: XSAVE2 (what AMX needs), XSAVE, or the legacy FPU. */
static struct hvp_status save_fpu(struct hvp_vcpu *vcpu, struct hvp_blob *b)
{
	int size2 = ioctl(vcpu->vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);

	if (size2 >= (int)sizeof(struct kvm_xsave))
		return save_fixed(vcpu, b, TAG_XSAVE2, KVM_GET_XSAVE2, "KVM_GET_XSAVE2", (size_t)size2);
	if (ioctl(vcpu->vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0)
		return save_fixed(vcpu, b, TAG_XSAVE, KVM_GET_XSAVE, "KVM_GET_XSAVE", sizeof(struct kvm_xsave));
	return save_fixed(vcpu, b, TAG_FPU, KVM_GET_FPU, "KVM_GET_FPU", sizeof(struct kvm_fpu));
}

/* The vCPU-state MSRs KVM lists, for KVM_GET_MSRS. */
static struct kvm_msr_list *msr_index_list(struct hvp_hv *hv, struct hvp_status *st)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;

	if (ioctl(hv->fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG) {
		*st = kvm_status("KVM_GET_MSR_INDEX_LIST", errno);
		return NULL;
	}
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(list->indices[0]));
	if (!list) {
		*st = kvm_status("calloc", ENOMEM);
		return NULL;
	}
	list->nmsrs = probe.nmsrs;
	if (ioctl(hv->fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		*st = kvm_status("KVM_GET_MSR_INDEX_LIST", errno);
		free(list);
		return NULL;
	}
	*st = hvp_ok("KVM_GET_MSR_INDEX_LIST");
	return list;
}

/*
 * KVM_GET_MSRS and KVM_SET_MSRS stop at the first MSR they cannot read or
 * write and return how many they did: the rest go on from the one after
 * it. Returns how many of the n entries were done, moved to the front of
 * e in order, or -1 with errno.
 */
static int msrs_each(int fd, unsigned long req, struct kvm_msr_entry *e, unsigned n)
{
	union {
		struct kvm_msrs hdr;
		uint8_t bytes[sizeof(struct kvm_msrs) + MSR_CHUNK * sizeof(struct kvm_msr_entry)];
	} c;
	unsigned done = 0;

	for (unsigned i = 0; i < n;) {
		unsigned k = n - i < MSR_CHUNK ? n - i : MSR_CHUNK;
		int r;

		c.hdr.nmsrs = k;
		c.hdr.pad = 0;
		memcpy(c.hdr.entries, &e[i], k * sizeof(*e));
		r = ioctl(fd, req, &c.hdr);
		if (r < 0)
			return -1;
		memcpy(&e[done], c.hdr.entries, (unsigned)r * sizeof(*e));
		done += (unsigned)r;
		i += (unsigned)r + ((unsigned)r < k); /* skip the one it stopped at */
	}
	return (int)done;
}

/* The MSRs as the blob keeps them: a struct kvm_msrs with its entries. */
static void put_msrs(struct hvp_blob *b, const struct kvm_msr_entry *e, unsigned n)
{
	size_t size = sizeof(struct kvm_msrs) + n * sizeof(*e);
	struct kvm_msrs *m = calloc(1, size);

	if (!m) {
		b->err = ENOMEM;
		return;
	}
	m->nmsrs = n;
	memcpy(m->entries, e, n * sizeof(*e));
	hvp_blob_put(b, TAG_MSRS, m, (uint32_t)size);
	free(m);
}

static struct hvp_status save_msrs(struct hvp_vcpu *vcpu, struct hvp_blob *b)
{
	struct hvp_status st;
	struct kvm_msr_list *list = msr_index_list(vcpu->vm->hv, &st);
	struct kvm_msr_entry *e;
	int done;

	if (!list)
		return st;
	e = calloc(list->nmsrs + 1, sizeof(*e));
	if (!e) {
		free(list);
		return kvm_status("calloc", ENOMEM);
	}
	for (unsigned i = 0; i < list->nmsrs; i++)
		e[i].index = list->indices[i];
	done = msrs_each(vcpu->fd, KVM_GET_MSRS, e, list->nmsrs);
	if (done < 0) {
		st = kvm_status("KVM_GET_MSRS", errno);
	} else {
		put_msrs(b, e, (unsigned)done);
		st = hvp_ok("KVM_GET_MSRS");
	}
	free(e);
	free(list);
	return st;
}

static struct kvm_device_attr tsc_offset_attr(uint64_t *value)
{
	return (struct kvm_device_attr){ .group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET,
					 .addr = (uint64_t)(uintptr_t)value };
}

/* The TSC offset where the host has the attribute (Linux 5.16+); nothing where it has not. */
static struct hvp_status save_tsc_offset(struct hvp_vcpu *vcpu, struct hvp_blob *b)
{
	uint64_t offset = 0;
	struct kvm_device_attr a = tsc_offset_attr(&offset);

	if (ioctl(vcpu->fd, KVM_HAS_DEVICE_ATTR, &a) < 0)
		return hvp_ok("KVM_HAS_DEVICE_ATTR");
	if (ioctl(vcpu->fd, KVM_GET_DEVICE_ATTR, &a) < 0)
		return kvm_status("KVM_GET_DEVICE_ATTR(KVM_VCPU_TSC_OFFSET)", errno);
	hvp_blob_put(b, TAG_TSC_OFFSET, &offset, sizeof(offset));
	return hvp_ok("KVM_GET_DEVICE_ATTR(KVM_VCPU_TSC_OFFSET)");
}

/*
 * The local APIC where the vCPU has one in the kernel. KVM_GET_LAPIC's one
 * EINVAL is a vCPU without (x86.c, kvm_arch_vcpu_ioctl: !lapic_in_kernel):
 * a VM without an irqchip, whose blob then has no lapic class.
 */
static struct hvp_status save_lapic(struct hvp_vcpu *vcpu, struct hvp_blob *b)
{
	struct kvm_lapic_state s;

	memset(&s, 0, sizeof(s));
	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &s) < 0)
		return errno == EINVAL ? hvp_ok("KVM_GET_LAPIC") : kvm_status("KVM_GET_LAPIC", errno);
	hvp_blob_put(b, TAG_LAPIC, &s, sizeof(s));
	return hvp_ok("KVM_GET_LAPIC");
}

struct hvp_status kvm_arch_state_save(struct hvp_vcpu *vcpu, struct hvp_blob *b)
{
	struct hvp_status st = save_cpuid(vcpu, b);

#define SAVE(expr) do { if (st.err == HVP_OK) st = (expr); } while (0)
	SAVE(save_fixed(vcpu, b, TAG_REGS, KVM_GET_REGS, "KVM_GET_REGS", sizeof(struct kvm_regs)));
	SAVE(save_fixed(vcpu, b, TAG_SREGS, KVM_GET_SREGS, "KVM_GET_SREGS", sizeof(struct kvm_sregs)));
	SAVE(save_fpu(vcpu, b));
	SAVE(save_fixed(vcpu, b, TAG_XCRS, KVM_GET_XCRS, "KVM_GET_XCRS", sizeof(struct kvm_xcrs)));
	SAVE(save_lapic(vcpu, b));
	SAVE(save_msrs(vcpu, b));
	SAVE(save_fixed(vcpu, b, TAG_DEBUGREGS, KVM_GET_DEBUGREGS, "KVM_GET_DEBUGREGS", sizeof(struct kvm_debugregs)));
	SAVE(save_fixed(vcpu, b, TAG_EVENTS, KVM_GET_VCPU_EVENTS, "KVM_GET_VCPU_EVENTS", sizeof(struct kvm_vcpu_events)));
	SAVE(save_fixed(vcpu, b, TAG_MP_STATE, KVM_GET_MP_STATE, "KVM_GET_MP_STATE", sizeof(struct kvm_mp_state)));
	SAVE(save_tsc_offset(vcpu, b));
#undef SAVE
	return st;
}

/* Sets one fixed-size class if the blob has it, the size checked. */
static struct hvp_status restore_fixed(struct hvp_vcpu *vcpu, const uint8_t *blob, size_t len, uint32_t tag,
				       unsigned long req, const char *call, size_t size)
{
	uint32_t have;
	const void *data = hvp_blob_find(blob, len, tag, &have);
	void *buf;
	struct hvp_status st;

	if (!data)
		return hvp_ok(call);
	if (have != size)
		return kvm_status(call, EINVAL);
	buf = malloc(size); /* aligned for the struct, which the blob's bytes need not be */
	if (!buf)
		return kvm_status("malloc", ENOMEM);
	memcpy(buf, data, size);
	st = ioctl(vcpu->fd, req, buf) < 0 ? kvm_status(call, errno) : hvp_ok(call);
	free(buf);
	return st;
}

/* A class whose size the blob says (the CPUID table, the MSRs, XSAVE2's area). */
static struct hvp_status restore_sized(struct hvp_vcpu *vcpu, const uint8_t *blob, size_t len, uint32_t tag,
				       unsigned long req, const char *call)
{
	uint32_t have;

	if (!hvp_blob_find(blob, len, tag, &have))
		return hvp_ok(call);
	return restore_fixed(vcpu, blob, len, tag, req, call, have);
}

/* The events, with the pending NMI marked valid too (a flag only KVM_SET_VCPU_EVENTS reads). */
static struct hvp_status restore_events(struct hvp_vcpu *vcpu, const uint8_t *blob, size_t len)
{
	struct kvm_vcpu_events e;
	uint32_t have;
	const void *data = hvp_blob_find(blob, len, TAG_EVENTS, &have);

	if (!data)
		return hvp_ok("KVM_SET_VCPU_EVENTS");
	if (have != sizeof(e))
		return kvm_status("KVM_SET_VCPU_EVENTS", EINVAL);
	memcpy(&e, data, sizeof(e));
	e.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING;
	return ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &e) < 0 ? kvm_status("KVM_SET_VCPU_EVENTS", errno)
							     : hvp_ok("KVM_SET_VCPU_EVENTS");
}

/* Every saved MSR KVM takes; one it refuses is skipped, as KVM_SET_MSRS itself stops there. */
static struct hvp_status restore_msrs(struct hvp_vcpu *vcpu, const uint8_t *blob, size_t len)
{
	uint32_t have;
	const uint8_t *data = hvp_blob_find(blob, len, TAG_MSRS, &have);
	struct kvm_msrs hdr;
	struct kvm_msr_entry *e;
	struct hvp_status st = hvp_ok("KVM_SET_MSRS");

	if (!data)
		return st;
	if (have < sizeof(hdr))
		return kvm_status("KVM_SET_MSRS", EINVAL);
	memcpy(&hdr, data, sizeof(hdr));
	if (have != sizeof(hdr) + hdr.nmsrs * sizeof(*e))
		return kvm_status("KVM_SET_MSRS", EINVAL);
	e = calloc(hdr.nmsrs + 1, sizeof(*e));
	if (!e)
		return kvm_status("calloc", ENOMEM);
	memcpy(e, data + sizeof(hdr), hdr.nmsrs * sizeof(*e));
	if (msrs_each(vcpu->fd, KVM_SET_MSRS, e, hdr.nmsrs) < 0)
		st = kvm_status("KVM_SET_MSRS", errno);
	free(e);
	return st;
}

static struct hvp_status restore_tsc_offset(struct hvp_vcpu *vcpu, const uint8_t *blob, size_t len)
{
	uint32_t have;
	const void *data = hvp_blob_find(blob, len, TAG_TSC_OFFSET, &have);
	uint64_t offset;
	struct kvm_device_attr a = tsc_offset_attr(&offset);

	if (!data)
		return hvp_ok("KVM_SET_DEVICE_ATTR(KVM_VCPU_TSC_OFFSET)");
	if (have != sizeof(offset))
		return kvm_status("KVM_SET_DEVICE_ATTR(KVM_VCPU_TSC_OFFSET)", EINVAL);
	memcpy(&offset, data, sizeof(offset));
	if (ioctl(vcpu->fd, KVM_SET_DEVICE_ATTR, &a) < 0)
		return kvm_status("KVM_SET_DEVICE_ATTR(KVM_VCPU_TSC_OFFSET)", errno);
	return hvp_ok("KVM_SET_DEVICE_ATTR(KVM_VCPU_TSC_OFFSET)");
}

struct hvp_status kvm_arch_state_restore(struct hvp_vcpu *vcpu, const uint8_t *blob, size_t len)
{
	struct hvp_status st = restore_sized(vcpu, blob, len, TAG_CPUID, KVM_SET_CPUID2, "KVM_SET_CPUID2");

#define RESTORE(expr) do { if (st.err == HVP_OK) st = (expr); } while (0)
	RESTORE(restore_fixed(vcpu, blob, len, TAG_SREGS, KVM_SET_SREGS, "KVM_SET_SREGS", sizeof(struct kvm_sregs)));
	RESTORE(restore_fixed(vcpu, blob, len, TAG_REGS, KVM_SET_REGS, "KVM_SET_REGS", sizeof(struct kvm_regs)));
	RESTORE(restore_fixed(vcpu, blob, len, TAG_XCRS, KVM_SET_XCRS, "KVM_SET_XCRS", sizeof(struct kvm_xcrs)));
	/* KVM_SET_XSAVE reads as many bytes as KVM_GET_XSAVE2 wrote (api.rst, KVM_SET_XSAVE). */
	RESTORE(restore_sized(vcpu, blob, len, TAG_XSAVE2, KVM_SET_XSAVE, "KVM_SET_XSAVE"));
	RESTORE(restore_fixed(vcpu, blob, len, TAG_XSAVE, KVM_SET_XSAVE, "KVM_SET_XSAVE", sizeof(struct kvm_xsave)));
	RESTORE(restore_fixed(vcpu, blob, len, TAG_FPU, KVM_SET_FPU, "KVM_SET_FPU", sizeof(struct kvm_fpu)));
	RESTORE(restore_fixed(vcpu, blob, len, TAG_LAPIC, KVM_SET_LAPIC, "KVM_SET_LAPIC", sizeof(struct kvm_lapic_state)));
	RESTORE(restore_msrs(vcpu, blob, len));
	RESTORE(restore_fixed(vcpu, blob, len, TAG_DEBUGREGS, KVM_SET_DEBUGREGS, "KVM_SET_DEBUGREGS",
			      sizeof(struct kvm_debugregs)));
	RESTORE(restore_events(vcpu, blob, len));
	RESTORE(restore_fixed(vcpu, blob, len, TAG_MP_STATE, KVM_SET_MP_STATE, "KVM_SET_MP_STATE", sizeof(struct kvm_mp_state)));
	RESTORE(restore_tsc_offset(vcpu, blob, len));
#undef RESTORE
	return st;
}
