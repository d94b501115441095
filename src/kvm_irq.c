/* SPDX-License-Identifier: MIT */
/*
 * The KVM backend's interrupt and I/O notification calls: the in-kernel
 * irqchip, irqfd, GSI routing and MSIs, injection from userspace,
 * ioeventfd and coalesced MMIO.
 *
 * Reference: Linux Documentation/virt/kvm/api.rst (KVM_CREATE_IRQCHIP,
 * KVM_IRQFD, KVM_SET_GSI_ROUTING, KVM_SIGNAL_MSI, KVM_INTERRUPT,
 * KVM_IOEVENTFD, KVM_REGISTER_COALESCED_MMIO) and
 * Documentation/virt/kvm/devices/arm-vgic-v3.rst.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "guest_abi.h"
#include "kvm_internal.h"

#define KVM_CALL(call, expr) ((expr) < 0 ? kvm_status(call, errno) : hvp_ok(call))

/* x86's IOAPIC has 24 pins in KVM; a split irqchip leaves as many routes to the VMM's own. */
#define KVM_X86_IOAPIC_PINS 24

static const struct {
	long cap;
	const char *name;
} features[] = {
	[HVP_FEAT_IRQCHIP] = { KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
#ifdef KVM_CAP_SPLIT_IRQCHIP
	[HVP_FEAT_SPLIT_IRQCHIP] = { KVM_CAP_SPLIT_IRQCHIP, "KVM_CAP_SPLIT_IRQCHIP" },
#else
	[HVP_FEAT_SPLIT_IRQCHIP] = { -1, "KVM_CAP_SPLIT_IRQCHIP" },
#endif
	[HVP_FEAT_IRQFD] = { KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
	[HVP_FEAT_IRQFD_RESAMPLE] = { KVM_CAP_IRQFD_RESAMPLE, "KVM_CAP_IRQFD_RESAMPLE" },
	[HVP_FEAT_IRQ_ROUTING] = { KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING" },
	[HVP_FEAT_SIGNAL_MSI] = { KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI" },
	[HVP_FEAT_USER_INJECT] = { 0, "KVM_INTERRUPT" },
	[HVP_FEAT_IOEVENTFD] = { KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	[HVP_FEAT_IOEVENTFD_ANY_LENGTH] = { KVM_CAP_IOEVENTFD_ANY_LENGTH, "KVM_CAP_IOEVENTFD_ANY_LENGTH" },
	[HVP_FEAT_COALESCED_MMIO] = { KVM_CAP_COALESCED_MMIO, "KVM_CAP_COALESCED_MMIO" },
};

/*
 * KVM_INTERRUPT is basic on x86 (api.rst: "Capability: basic") and needs
 * no in-kernel irqchip; arm64 has no such call: the VMM raises the vCPU's
 * IRQ line with KVM_IRQ_LINE, irq_type KVM_ARM_IRQ_TYPE_CPU (api.rst 4.25:
 * "KVM_IRQ_LINE can always be used for a userspace interrupt controller").
 */
int64_t kvm_irq_feature(struct hvp_hv *hv, enum hvp_irq_feature f, const char **name)
{
	int r;

	if ((unsigned)f >= sizeof(features) / sizeof(features[0]))
		return 0;
	*name = features[f].name;
	if (f == HVP_FEAT_USER_INJECT) {
#if defined(__x86_64__)
		return 1;
#else
		*name = "KVM_IRQ_LINE";
		return 1;
#endif
	}
	if (features[f].cap < 0)
		return 0;
	r = ioctl(hv->fd, KVM_CHECK_EXTENSION, features[f].cap);
	return r < 0 ? 0 : r;
}

void kvm_irq_facts(struct hvp_hv *hv, struct hvp_facts *out)
{
	for (unsigned f = 0; f < sizeof(features) / sizeof(features[0]); f++) {
		const char *name = NULL;
		int64_t v = kvm_irq_feature(hv, (enum hvp_irq_feature)f, &name);
		if (f != HVP_FEAT_USER_INJECT)
			hvp_facts_add(out, name, "%lld", (long long)v);
	}
}

#if defined(__x86_64__)
/* The split irqchip: KVM_ENABLE_CAP with the number of routes reserved for the VMM's IOAPIC. */
static struct hvp_status split_irqchip(struct hvp_vm *vm)
{
#ifdef KVM_CAP_SPLIT_IRQCHIP
	struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args = { KVM_X86_IOAPIC_PINS } };

	return KVM_CALL("KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP)", ioctl(vm->fd, KVM_ENABLE_CAP, &cap));
#else
	(void)vm;
	return kvm_status("KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP)", EOPNOTSUPP);
#endif
}
#endif

#if defined(__aarch64__)
/* A device of type in the VM (KVM_CREATE_DEVICE); *fd its descriptor. */
static struct hvp_status create_device(struct hvp_vm *vm, uint32_t type, const char *call, int *fd)
{
	struct kvm_create_device d = { .type = type };

	if (ioctl(vm->fd, KVM_CREATE_DEVICE, &d) < 0)
		return kvm_status(call, errno);
	*fd = (int)d.fd;
	return hvp_ok(call);
}

static struct hvp_status device_attr(int fd, uint32_t group, uint64_t attr, uint64_t value, const char *call)
{
	struct kvm_device_attr a = { .group = group, .attr = attr, .addr = (uintptr_t)&value };

	return KVM_CALL(call, ioctl(fd, KVM_SET_DEVICE_ATTR, &a));
}

/*
 * A GICv3: the device, then where its distributor and redistributors are
 * (devices/arm-vgic-v3.rst, KVM_DEV_ARM_VGIC_GRP_ADDR); it is initialized
 * once the vCPUs exist (kvm_irq_chip_ready). A GICv2 is only created: the
 * question is whether the host has one.
 */
static struct hvp_status create_gic(struct hvp_vm *vm, enum hvp_irq_chip kind)
{
	struct hvp_status st;
	int fd;

	if (kind == HVP_IRQCHIP_GICV2)
		return create_device(vm, KVM_DEV_TYPE_ARM_VGIC_V2, "KVM_CREATE_DEVICE(KVM_DEV_TYPE_ARM_VGIC_V2)", &fd);
	if (kind == HVP_IRQCHIP_GICV3_ITS) {
		st = create_device(vm, KVM_DEV_TYPE_ARM_VGIC_ITS, "KVM_CREATE_DEVICE(KVM_DEV_TYPE_ARM_VGIC_ITS)", &fd);
		if (st.err != HVP_OK)
			return st;
		vm->its_fd = fd;
		vm->has_its = true;
		return device_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE, HVP_ARM64_ITS_GPA,
				   "KVM_SET_DEVICE_ATTR(KVM_VGIC_ITS_ADDR_TYPE)");
	}
	st = create_device(vm, KVM_DEV_TYPE_ARM_VGIC_V3, "KVM_CREATE_DEVICE(KVM_DEV_TYPE_ARM_VGIC_V3)", &fd);
	if (st.err != HVP_OK)
		return st;
	vm->gic_fd = fd;
	vm->has_gic = true;
	st = device_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, HVP_ARM64_GICD_GPA,
			 "KVM_SET_DEVICE_ATTR(KVM_VGIC_V3_ADDR_TYPE_DIST)");
	if (st.err != HVP_OK)
		return st;
	return device_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, HVP_ARM64_GICR_GPA,
			   "KVM_SET_DEVICE_ATTR(KVM_VGIC_V3_ADDR_TYPE_REDIST)");
}
#endif

struct hvp_status kvm_irq_chip_create(struct hvp_vm *vm, enum hvp_irq_chip kind)
{
#if defined(__x86_64__)
	if (kind == HVP_IRQCHIP_X86_FULL)
		return KVM_CALL("KVM_CREATE_IRQCHIP", ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0));
	if (kind == HVP_IRQCHIP_X86_SPLIT)
		return split_irqchip(vm);
#elif defined(__aarch64__)
	if (kind == HVP_IRQCHIP_GICV3 || kind == HVP_IRQCHIP_GICV2 || kind == HVP_IRQCHIP_GICV3_ITS)
		return create_gic(vm, kind);
#endif
	(void)vm;
	(void)kind;
	return kvm_status("KVM_CREATE_IRQCHIP", EOPNOTSUPP);
}

/* arm64: the vGIC (and ITS) initialized once every vCPU exists (devices/arm-vgic-v3.rst, KVM_DEV_ARM_VGIC_CTRL_INIT). */
struct hvp_status kvm_irq_chip_ready(struct hvp_vm *vm)
{
#if defined(__aarch64__)
	struct hvp_status st = hvp_ok("KVM_DEV_ARM_VGIC_CTRL_INIT");

	if (vm->has_gic)
		st = device_attr(vm->gic_fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, 0,
				 "KVM_SET_DEVICE_ATTR(KVM_DEV_ARM_VGIC_CTRL_INIT)");
	if (st.err == HVP_OK && vm->has_its)
		st = device_attr(vm->its_fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, 0,
				 "KVM_SET_DEVICE_ATTR(KVM_DEV_ARM_VGIC_CTRL_INIT) on the ITS");
	return st;
#else
	(void)vm;
	return hvp_ok("irq_chip_ready");
#endif
}

struct hvp_status kvm_irqfd(struct hvp_vm *vm, int fd, uint32_t gsi, int resample_fd, bool assign)
{
	struct kvm_irqfd i = { .fd = (uint32_t)fd, .gsi = gsi };

	if (!assign)
		i.flags |= KVM_IRQFD_FLAG_DEASSIGN;
	else if (resample_fd >= 0) {
		i.flags |= KVM_IRQFD_FLAG_RESAMPLE;
		i.resamplefd = (uint32_t)resample_fd;
	}
	return KVM_CALL("KVM_IRQFD", ioctl(vm->fd, KVM_IRQFD, &i));
}

struct hvp_status kvm_gsi_routing_set(struct hvp_vm *vm, const struct hvp_irq_route *routes, unsigned n)
{
	struct kvm_irq_routing *t = calloc(1, sizeof(*t) + (size_t)n * sizeof(t->entries[0]));
	struct hvp_status st;

	if (!t)
		return kvm_status("calloc", ENOMEM);
	t->nr = n;
	for (unsigned i = 0; i < n; i++) {
		struct kvm_irq_routing_entry *e = &t->entries[i];
		e->gsi = routes[i].gsi;
		if (routes[i].msi) {
			e->type = KVM_IRQ_ROUTING_MSI;
			e->u.msi.address_lo = (uint32_t)routes[i].msi_addr;
			e->u.msi.address_hi = (uint32_t)(routes[i].msi_addr >> 32);
			e->u.msi.data = routes[i].msi_data;
			if (routes[i].msi_devid_valid) {
				e->flags = KVM_MSI_VALID_DEVID;
				e->u.msi.devid = routes[i].msi_devid;
			}
		} else {
			e->type = KVM_IRQ_ROUTING_IRQCHIP;
			e->u.irqchip.irqchip = routes[i].chip;
			e->u.irqchip.pin = routes[i].pin;
		}
	}
	st = KVM_CALL("KVM_SET_GSI_ROUTING", ioctl(vm->fd, KVM_SET_GSI_ROUTING, t));
	free(t);
	return st;
}

/* KVM_SIGNAL_MSI returns > 0 when delivered, 0 when the guest blocked it: the guest's report decides. */
struct hvp_status kvm_msi_signal(struct hvp_vm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = { .address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32), .data = data };

	return KVM_CALL("KVM_SIGNAL_MSI", ioctl(vm->fd, KVM_SIGNAL_MSI, &msi));
}

/* An ITS tells devices apart: the message carries its device ID (api.rst 4.71, KVM_MSI_VALID_DEVID). */
struct hvp_status kvm_msi_signal_devid(struct hvp_vm *vm, uint64_t addr, uint32_t data, uint32_t devid)
{
	struct kvm_msi msi = { .address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32), .data = data,
			       .flags = KVM_MSI_VALID_DEVID, .devid = devid };

	return KVM_CALL("KVM_SIGNAL_MSI(KVM_MSI_VALID_DEVID)", ioctl(vm->fd, KVM_SIGNAL_MSI, &msi));
}

#if defined(__x86_64__)
struct hvp_status kvm_irq_inject(struct hvp_vcpu *vcpu, uint32_t vector)
{
	struct kvm_interrupt irq = { .irq = vector };

	return KVM_CALL("KVM_INTERRUPT", ioctl(vcpu->fd, KVM_INTERRUPT, &irq));
}
#elif defined(__aarch64__)
/*
 * The vCPU's IRQ line at level (api.rst 4.25, KVM_IRQ_LINE on arm64:
 * irq_type KVM_ARM_IRQ_TYPE_CPU, the vCPU's index (its id: hvprobe makes
 * them in order), irq_id KVM_ARM_IRQ_CPU_IRQ; refused with ENXIO while a
 * GIC is in the kernel). The line stays at level until set again.
 */
static struct hvp_status irq_line_cpu(struct hvp_vcpu *vcpu, uint32_t level)
{
	struct kvm_irq_level irq = { .level = level };

	irq.irq = (uint32_t)KVM_ARM_IRQ_TYPE_CPU << KVM_ARM_IRQ_TYPE_SHIFT |
		  (vcpu->id & 0xff) << KVM_ARM_IRQ_VCPU_SHIFT | KVM_ARM_IRQ_CPU_IRQ << KVM_ARM_IRQ_NUM_SHIFT;
	return KVM_CALL(level ? "KVM_IRQ_LINE(KVM_ARM_IRQ_CPU_IRQ, 1)" : "KVM_IRQ_LINE(KVM_ARM_IRQ_CPU_IRQ, 0)",
			ioctl(vcpu->vm->fd, KVM_IRQ_LINE, &irq));
}

struct hvp_status kvm_irq_inject(struct hvp_vcpu *vcpu, uint32_t vector)
{
	(void)vector;
	return irq_line_cpu(vcpu, 1);
}

struct hvp_status kvm_irq_lower(struct hvp_vcpu *vcpu)
{
	return irq_line_cpu(vcpu, 0);
}
#endif

struct hvp_status kvm_ioeventfd(struct hvp_vm *vm, int fd, const struct hvp_doorbell *d, bool assign)
{
	struct kvm_ioeventfd e = { .datamatch = d->data, .addr = d->addr, .len = d->len, .fd = fd };

	if (d->datamatch)
		e.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
	if (d->pio)
		e.flags |= KVM_IOEVENTFD_FLAG_PIO;
	if (!assign)
		e.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	return KVM_CALL("KVM_IOEVENTFD", ioctl(vm->fd, KVM_IOEVENTFD, &e));
}

struct hvp_status kvm_coalesced_zone(struct hvp_vm *vm, uint64_t addr, uint32_t size, bool assign)
{
	struct kvm_coalesced_mmio_zone z = { .addr = addr, .size = size };

	if (assign)
		return KVM_CALL("KVM_REGISTER_COALESCED_MMIO", ioctl(vm->fd, KVM_REGISTER_COALESCED_MMIO, &z));
	return KVM_CALL("KVM_UNREGISTER_COALESCED_MMIO", ioctl(vm->fd, KVM_UNREGISTER_COALESCED_MMIO, &z));
}

/*
 * The ring is a page of the vCPU's mapping, at the page offset that
 * KVM_CHECK_EXTENSION(KVM_CAP_COALESCED_MMIO) returns; KVM fills it at
 * last, the VMM takes from first (api.rst, KVM_REGISTER_COALESCED_MMIO).
 */
struct hvp_status kvm_coalesced_read(struct hvp_vcpu *vcpu, struct hvp_coalesced *out, unsigned max, unsigned *n)
{
	long page = sysconf(_SC_PAGESIZE);
	int offset = ioctl(vcpu->vm->hv->fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);
	struct kvm_coalesced_mmio_ring *ring;
	unsigned size;

	*n = 0;
	if (offset <= 0 || (size_t)(offset + 1) * (size_t)page > vcpu->run_size)
		return kvm_status("KVM_CHECK_EXTENSION(KVM_CAP_COALESCED_MMIO)", EOPNOTSUPP);
	ring = (struct kvm_coalesced_mmio_ring *)((uint8_t *)vcpu->run + (size_t)offset * (size_t)page);
	size = (unsigned)(((size_t)page - sizeof(*ring)) / sizeof(ring->coalesced_mmio[0]));
	while (*n < max) {
		uint32_t first = __atomic_load_n(&ring->first, __ATOMIC_RELAXED);
		const struct kvm_coalesced_mmio *e;
		if (first == __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE) || first >= size)
			break;
		e = &ring->coalesced_mmio[first];
		out[*n] = (struct hvp_coalesced){ .addr = e->phys_addr, .len = e->len };
		memcpy(&out[*n].value, e->data, e->len < 8 ? e->len : 8);
		(*n)++;
		__atomic_store_n(&ring->first, (first + 1) % size, __ATOMIC_RELEASE);
	}
	return hvp_ok("coalesced MMIO ring");
}
