/* SPDX-License-Identifier: MIT */
/*
 * The Hypervisor.framework backend, architecture-independent part: return
 * codes kept by name, the one VM per process, memory maps, and each vCPU's
 * owner thread, on which every vCPU call is carried out (Apple: "call
 * functions that operate on the vCPU from the same thread", the kick
 * excepted). Calls on one vCPU are serialized, as KVM serializes them.
 * Opening the API, once per process tree, is hvf_host.c's.
 *
 * Where that would make hvprobe answer for the framework, the call goes to
 * the framework from the calling thread instead: a probe that breaks the
 * thread rule on purpose (vcpu_direct), a vCPU whose owner is gone (its
 * destroy), and a forked child, in which no owner thread exists.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifdef __APPLE__
#include <mach/vm_page_size.h>
#include <sys/sysctl.h>
#endif

#include "cpu_model.h"
#include "hvf_internal.h"

/*
 * 0xfae94008 is a refusal of an existing object where the headers call it
 * HV_EXISTS (arm64); on x86_64, where no header names it, it is no answer.
 */
#if defined(__aarch64__)
#define EXISTS_OR_FAULT_CLASS HVP_ERR_EXISTS
#else
#define EXISTS_OR_FAULT_CLASS HVP_ERR_OTHER
#endif

static const struct {
	hv_return_t code;
	const char *name;
	enum hvp_err err;
} codes[] = {
	{ HV_SUCCESS, "HV_SUCCESS", HVP_OK },
	{ HV_ERROR, "HV_ERROR", HVP_ERR_GENERIC }, /* the framework's refusal that names no reason */
	{ HV_BUSY, "HV_BUSY", HVP_ERR_BUSY },
	{ HV_BAD_ARGUMENT, "HV_BAD_ARGUMENT", HVP_ERR_INVALID },
	{ HV_ILLEGAL_GUEST_STATE, "HV_ILLEGAL_GUEST_STATE", HVP_ERR_OTHER },
	{ HV_NO_RESOURCES, "HV_NO_RESOURCES", HVP_ERR_NOMEM },
	{ HV_NO_DEVICE, "HV_NO_DEVICE", HVP_ERR_NODEV },
	{ HV_DENIED, "HV_DENIED", HVP_ERR_DENIED },
	{ HVF_EXISTS_OR_FAULT, "HV_EXISTS/HV_FAULT", EXISTS_OR_FAULT_CLASS },
	{ HV_UNSUPPORTED, "HV_UNSUPPORTED", HVP_ERR_UNSUPPORTED },
};

struct hvp_status hvf_status(const char *call, hv_return_t r)
{
	for (unsigned i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i].code == r)
			return (struct hvp_status){ codes[i].err, (int64_t)(uint32_t)r, call, -1 };
	return (struct hvp_status){ HVP_ERR_OTHER, (int64_t)(uint32_t)r, call, -1 };
}

/* "HV_BUSY (0xfae94002)": the name, and the unsigned hex a search finds. */
static const char *hvf_native_name(int64_t native)
{
	static __thread char buf[48];

	if (native == 0)
		return "OK";
	for (unsigned i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if ((int64_t)(uint32_t)codes[i].code == native) {
			snprintf(buf, sizeof(buf), "%s (0x%08x)", codes[i].name, (unsigned)native);
			return buf;
		}
	snprintf(buf, sizeof(buf), native > 0 && native < 4096 ? "errno %d" : "0x%08x", (int)native);
	return buf;
}

/*
 * hv_vm_map wants a page-aligned host address and guest address and "a
 * multiple of the page size" (Apple, hv_vm_map): the host's page, 16 KiB on
 * Apple silicon, 4 KiB on Intel Macs.
 */
static uint64_t hvf_page_size(struct hvp_hv *hv)
{
	(void)hv;
#ifdef __APPLE__
	return (uint64_t)vm_page_size;
#else
	long page = sysconf(_SC_PAGESIZE); /* compile checks elsewhere */
	return page > 0 ? (uint64_t)page : 4096;
#endif
}

static void hvf_facts(struct hvp_hv *hv, struct hvp_facts *out)
{
	struct utsname u;

	hvp_facts_add(out, "backend", "hvf");
	if (uname(&u) == 0)
		hvp_facts_add(out, "kernel", "%s %s %s", u.sysname, u.release, u.machine);
#ifdef __APPLE__
	{
		char text[128] = "";
		size_t n = sizeof(text);
		if (sysctlbyname("kern.osproductversion", text, &n, NULL, 0) == 0)
			hvp_facts_add(out, "macos", "%s", text);
		n = sizeof(text);
		if (sysctlbyname("machdep.cpu.brand_string", text, &n, NULL, 0) == 0)
			hvp_facts_add(out, "cpu", "%s", text);
	}
#endif
	hvf_host_facts(hv, out);
	hvp_facts_add(out, "page_size", "%llu", (unsigned long long)hvf_page_size(hv));
	hvf_arch_facts(out);
}

static struct hvp_status hvf_vm_create_sized(struct hvp_hv *hv, unsigned bits, struct hvp_vm **out)
{
	struct hvp_vm *vm = calloc(1, sizeof(*vm));
	struct hvp_status st;

	*out = NULL;
	if (!vm)
		return hvf_status("calloc", HV_NO_RESOURCES);
	vm->hv = hv;
	st = hvf_arch_vm_create(vm, bits);
	if (st.err != HVP_OK) {
		free(vm);
		return st;
	}
	*out = vm;
	return st;
}

static struct hvp_status hvf_vm_create(struct hvp_hv *hv, struct hvp_vm **out)
{
	return hvf_vm_create_sized(hv, 0, out);
}

/* The handle stays valid (backend.h); the framework's answer for a second destroy is the data. */
static struct hvp_status hvf_vm_destroy(struct hvp_vm *vm)
{
	vm->dead = 1;
	return hvf_status("hv_vm_destroy", hv_vm_destroy());
}

static hv_memory_flags_t flags_of(unsigned prot)
{
	return (prot & HVP_PROT_READ ? HV_MEMORY_READ : 0) | (prot & HVP_PROT_WRITE ? HV_MEMORY_WRITE : 0) |
	       (prot & HVP_PROT_EXEC ? HV_MEMORY_EXEC : 0);
}

const struct hvf_map *hvf_map_at(const struct hvp_vm *vm, uint64_t gpa, uint64_t n)
{
	for (unsigned i = 0; i < HVF_MAPS_KEPT; i++) {
		const struct hvf_map *m = &vm->maps[i];
		if (m->host && gpa >= m->gpa && gpa + n <= m->gpa + m->size)
			return m;
	}
	return NULL;
}

/* The kept map that starts at gpa, or a free entry for one (host NULL), or NULL when all are taken. */
static struct hvf_map *map_slot(struct hvp_vm *vm, uint64_t gpa, const void *host)
{
	for (unsigned i = 0; i < HVF_MAPS_KEPT; i++)
		if (host ? !vm->maps[i].host : vm->maps[i].host && vm->maps[i].gpa == gpa)
			return &vm->maps[i];
	return NULL;
}

static struct hvp_status hvf_mem_map(struct hvp_vm *vm, void *host, uint64_t gpa, uint64_t size, unsigned prot)
{
	hv_return_t r = hv_vm_map(host, gpa, (size_t)size, flags_of(prot)); /* one VM per process: no VM named */
	struct hvf_map *m = r == HV_SUCCESS ? map_slot(vm, gpa, host) : NULL;

	if (m)
		*m = (struct hvf_map){ gpa, size, host, prot };
	return hvf_status("hv_vm_map", r);
}

static struct hvp_status hvf_mem_unmap(struct hvp_vm *vm, uint64_t gpa, uint64_t size)
{
	hv_return_t r = hv_vm_unmap(gpa, (size_t)size);
	struct hvf_map *m = r == HV_SUCCESS ? map_slot(vm, gpa, NULL) : NULL;

	if (m)
		m->host = NULL;
	return hvf_status("hv_vm_unmap", r);
}

static struct hvp_status hvf_mem_protect(struct hvp_vm *vm, uint64_t gpa, uint64_t size, unsigned prot)
{
	hv_return_t r = hv_vm_protect(gpa, (size_t)size, flags_of(prot));
	struct hvf_map *m = r == HV_SUCCESS ? map_slot(vm, gpa, NULL) : NULL;

	if (m)
		m->prot = prot;
	return hvf_status("hv_vm_protect", r);
}

static unsigned hvf_gpa_bits(struct hvp_hv *hv)
{
	(void)hv;
	return hvf_arch_gpa_bits();
}

#if defined(__aarch64__)
static unsigned hvf_gpa_bits_max(struct hvp_hv *hv)
{
	(void)hv;
	return hvf_arch_gpa_bits_max();
}
#endif

/* A request carried out on a vCPU's owner thread. */
enum hvf_op { OP_CREATE, OP_DESTROY, OP_BOOT, OP_RUN, OP_REGS_GET, OP_REGS_SET, OP_TSC_SET, OP_IRQ_INJECT, OP_STATE_SAVE,
	       OP_STATE_RESTORE };

struct hvf_call {
	enum hvf_op op;
	const void *in;
	void *out;
	uint64_t value;
	struct hvp_status st;
	int done;
};

static struct hvp_status dispatch(struct hvp_vcpu *vcpu, struct hvf_call *c)
{
	switch (c->op) {
	case OP_CREATE: return hvf_arch_vcpu_create(vcpu);
	case OP_DESTROY: return hvf_arch_vcpu_destroy(vcpu);
	case OP_BOOT: return hvf_arch_vcpu_boot(vcpu, c->in);
	case OP_RUN: return hvf_arch_vcpu_run(vcpu, c->out);
	case OP_REGS_GET: return hvf_arch_regs_get(vcpu, c->out);
	case OP_REGS_SET: return hvf_arch_regs_set(vcpu, c->in);
	case OP_TSC_SET: return hvf_arch_tsc_set(vcpu, c->value);
	case OP_IRQ_INJECT: return hvf_arch_irq_inject(vcpu, (uint32_t)c->value);
	case OP_STATE_SAVE: return hvf_arch_state_save(vcpu, c->out);
	case OP_STATE_RESTORE: return hvf_arch_state_restore(vcpu, c->in, (size_t)c->value);
	}
	return hvf_status("dispatch", HV_ERROR);
}

/* The owner thread: creates the vCPU, then serves requests until it is destroyed. */
static void *owner_main(void *arg)
{
	struct hvp_vcpu *vcpu = arg;

	pthread_mutex_lock(&vcpu->lock);
	for (;;) {
		struct hvf_call *c;
		while (!vcpu->call && !vcpu->stop)
			pthread_cond_wait(&vcpu->cond, &vcpu->lock);
		if (!vcpu->call)
			break;
		c = vcpu->call;
		pthread_mutex_unlock(&vcpu->lock);
		c->st = dispatch(vcpu, c);
		pthread_mutex_lock(&vcpu->lock);
		if ((c->op == OP_DESTROY && c->st.err == HVP_OK) || (c->op == OP_CREATE && c->st.err != HVP_OK))
			vcpu->stop = 1;
		c->done = 1;
		vcpu->call = NULL;
		pthread_cond_broadcast(&vcpu->cond);
	}
	pthread_mutex_unlock(&vcpu->lock);
	return NULL;
}

/*
 * Carries a call out on the owner thread and waits for it; calls from
 * several threads queue. Once the owner is gone (the vCPU destroyed), the
 * call goes to the framework from the calling thread: what the framework
 * does with a stale vCPU is the answer a probe wants.
 */
static struct hvp_status on_owner(struct hvp_vcpu *vcpu, struct hvf_call *c)
{
	if (__atomic_load_n(&vcpu->direct, __ATOMIC_ACQUIRE))
		return dispatch(vcpu, c); /* breaking Apple's thread rule, on purpose */
	if (getpid() != vcpu->pid)
		return dispatch(vcpu, c); /* fork copied no owner thread: the framework answers the child itself */
	pthread_mutex_lock(&vcpu->lock);
	while (vcpu->call && !vcpu->stop)
		pthread_cond_wait(&vcpu->cond, &vcpu->lock);
	if (vcpu->stop) {
		pthread_mutex_unlock(&vcpu->lock);
		return dispatch(vcpu, c);
	}
	vcpu->call = c;
	pthread_cond_broadcast(&vcpu->cond);
	while (!c->done)
		pthread_cond_wait(&vcpu->cond, &vcpu->lock);
	pthread_mutex_unlock(&vcpu->lock);
	return c->st;
}

static struct hvp_status hvf_vcpu_create(struct hvp_vm *vm, unsigned id, struct hvp_vcpu **out)
{
	struct hvp_vcpu *vcpu = calloc(1, sizeof(*vcpu));
	struct hvf_call c = { .op = OP_CREATE };
	struct hvp_status st;

	*out = NULL;
	if (!vcpu)
		return hvf_status("calloc", HV_NO_RESOURCES);
	*vcpu = (struct hvp_vcpu){ .vm = vm, .id = id, .pending_read_reg = -1, .pid = getpid() };
	pthread_mutex_init(&vcpu->lock, NULL);
	pthread_cond_init(&vcpu->cond, NULL);
	if (pthread_create(&vcpu->owner, NULL, owner_main, vcpu) != 0) {
		free(vcpu);
		return hvf_status("pthread_create", HV_NO_RESOURCES);
	}
	st = on_owner(vcpu, &c);
	if (st.err != HVP_OK) {
		pthread_join(vcpu->owner, NULL);
		free(vcpu);
		return st;
	}
	*out = vcpu; /* ids are the framework's own; the requested id is kept for the report */
	return st;
}

/*
 * A vCPU of the calling thread, with no owner thread: the framework's
 * hv_vcpu_create binds it to this thread (arm64: one per thread), and every
 * call on it is made from here.
 */
static struct hvp_status hvf_vcpu_create_here(struct hvp_vm *vm, unsigned id, struct hvp_vcpu **out)
{
	struct hvp_vcpu *vcpu = calloc(1, sizeof(*vcpu));
	struct hvf_call c = { .op = OP_CREATE };
	struct hvp_status st;

	*out = NULL;
	if (!vcpu)
		return hvf_status("calloc", HV_NO_RESOURCES);
	*vcpu = (struct hvp_vcpu){ .vm = vm, .id = id, .pending_read_reg = -1, .pid = getpid(), .direct = 1,
				   .stop = 1, .ownerless = 1 };
	pthread_mutex_init(&vcpu->lock, NULL);
	pthread_cond_init(&vcpu->cond, NULL);
	st = dispatch(vcpu, &c);
	if (st.err != HVP_OK) {
		free(vcpu);
		return st;
	}
	*out = vcpu;
	return st;
}

/*
 * Ends the owner thread of a destroyed vCPU once it is done with what it is
 * doing. Not waited for: a destroy made from another thread (vcpu_direct)
 * may find it inside a run the destroy did not end, and the probe that
 * asked must not hang on hvprobe's own thread.
 */
static void retire_owner(struct hvp_vcpu *vcpu)
{
	pthread_mutex_lock(&vcpu->lock);
	vcpu->stop = 1;
	pthread_cond_broadcast(&vcpu->cond);
	pthread_mutex_unlock(&vcpu->lock);
	pthread_detach(vcpu->owner);
}

static struct hvp_status hvf_vcpu_destroy(struct hvp_vcpu *vcpu)
{
	struct hvf_call c = { .op = OP_DESTROY };
	struct hvp_status st = on_owner(vcpu, &c);

	if (st.err == HVP_OK && getpid() == vcpu->pid && !__atomic_exchange_n(&vcpu->dead, 1, __ATOMIC_ACQ_REL) &&
	    !vcpu->ownerless)
		retire_owner(vcpu);
	return st;
}

static struct hvp_status hvf_vcpu_boot(struct hvp_vcpu *vcpu, const struct hvp_boot *boot)
{
	struct hvf_call c = { .op = OP_BOOT, .in = boot };
	return on_owner(vcpu, &c);
}

static struct hvp_status hvf_vcpu_run(struct hvp_vcpu *vcpu, struct hvp_exit *x)
{
	struct hvf_call c = { .op = OP_RUN, .out = x };
	return on_owner(vcpu, &c);
}

static struct hvp_status hvf_regs_get(struct hvp_vcpu *vcpu, struct hvp_regs *regs)
{
	struct hvf_call c = { .op = OP_REGS_GET, .out = regs };
	return on_owner(vcpu, &c);
}

static struct hvp_status hvf_regs_set(struct hvp_vcpu *vcpu, const struct hvp_regs *regs)
{
	struct hvf_call c = { .op = OP_REGS_SET, .in = regs };
	return on_owner(vcpu, &c);
}

static struct hvp_status hvf_tsc_set(struct hvp_vcpu *vcpu, uint64_t value)
{
	struct hvf_call c = { .op = OP_TSC_SET, .value = value };
	return on_owner(vcpu, &c);
}

static struct hvp_status hvf_irq_inject(struct hvp_vcpu *vcpu, uint32_t vector)
{
	struct hvf_call c = { .op = OP_IRQ_INJECT, .value = vector };
	return on_owner(vcpu, &c);
}

static int64_t hvf_irq_feature(struct hvp_hv *hv, enum hvp_irq_feature feature, const char **name)
{
	(void)hv;
	return hvf_arch_irq_feature(feature, name);
}

static void hvf_vcpu_direct(struct hvp_vcpu *vcpu, bool on)
{
	__atomic_store_n(&vcpu->direct, on, __ATOMIC_RELEASE);
}

static uint64_t hvf_tsc_khz(struct hvp_vcpu *vcpu)
{
	(void)vcpu;
	return hvf_arch_tsc_khz();
}

/*
 * The guest CPU model: what the architecture's part reads on a vCPU of
 * this thread in a scratch VM (one VM per process: made and gone before
 * any probe's).
 */
static struct hvp_status hvf_cpu_model(struct hvp_hv *hv, struct hvp_cpu_model *out)
{
	struct hvp_vm *vm;
	struct hvp_vcpu *vcpu;
	struct hvp_status st = hvf_vm_create(hv, &vm);

	memset(out, 0, sizeof(*out));
	if (st.err != HVP_OK)
		return st;
	if ((st = hvf_vcpu_create_here(vm, 0, &vcpu)).err == HVP_OK) {
		st = hvf_arch_cpu_model(vcpu, out);
		hvf_vcpu_destroy(vcpu);
	}
	hvf_vm_destroy(vm);
	return st;
}

/* Snapshots: the blob (state_blob.h) filled on the owner thread, where every vCPU call must be made. */
static struct hvp_status hvf_vcpu_state_save(struct hvp_vcpu *vcpu, uint8_t **blob, size_t *len)
{
	struct hvp_blob b = { 0 };
	struct hvf_call c = { .op = OP_STATE_SAVE, .out = &b };
	struct hvp_status st;

	*blob = NULL;
	*len = 0;
	hvp_blob_begin(&b, hvf_arch_blob_kind);
	st = on_owner(vcpu, &c);
	if (st.err == HVP_OK && b.err)
		st = hvf_status("malloc", HV_NO_RESOURCES);
	if (st.err != HVP_OK) {
		free(b.p);
		return st;
	}
	*blob = b.p;
	*len = b.len;
	return st;
}

static struct hvp_status hvf_vcpu_state_restore(struct hvp_vcpu *vcpu, const uint8_t *blob, size_t len)
{
	struct hvf_call c = { .op = OP_STATE_RESTORE, .in = blob, .value = len };
	struct hvp_status st;

	if (hvp_blob_check(blob, len, hvf_arch_blob_kind)) { /* not a snapshot of this backend: no call made */
		st = hvf_status("snapshot", HV_BAD_ARGUMENT);
		st.unmade = true;
		return st;
	}
	return on_owner(vcpu, &c);
}

static unsigned hvf_vcpu_state_classes(const uint8_t *blob, size_t len, struct hvp_state_class *out, unsigned max)
{
	return hvp_blob_classes(blob, len, hvf_arch_blob_kind, hvf_arch_state_tag_name, out, max);
}

const struct hvp_backend hvp_backend_hvf = {
	.name = "hvf",
#if defined(__x86_64__)
	.arch = "x86_64",
#elif defined(__aarch64__)
	.arch = "arm64",
#endif
	.open = hvf_open,
	.close = hvf_close,
	.open_advice = hvf_open_advice,
	.facts = hvf_facts,
	.native_name = hvf_native_name,
	.vm_create = hvf_vm_create,
	.vm_destroy = hvf_vm_destroy,
	.mem_map = hvf_mem_map,
	.mem_unmap = hvf_mem_unmap,
	.mem_protect = hvf_mem_protect,
	.gpa_bits = hvf_gpa_bits,
	.page_size = hvf_page_size,
	.vcpu_create = hvf_vcpu_create,
	.vcpu_create_here = hvf_vcpu_create_here,
	.vcpu_destroy = hvf_vcpu_destroy,
	.vcpu_boot = hvf_vcpu_boot,
	.vcpu_run = hvf_vcpu_run,
	.regs_get = hvf_regs_get,
	.regs_set = hvf_regs_set,
	.vcpu_kick = hvf_arch_vcpu_kick,
	.vcpu_direct = hvf_vcpu_direct,
	.tsc_khz = hvf_tsc_khz,
	.tsc_set = hvf_tsc_set,
	.cpu_model = hvf_cpu_model,
#if defined(__aarch64__)
	.vm_create_sized = hvf_vm_create_sized,
	.gpa_bits_max = hvf_gpa_bits_max,
#endif
	.irq_feature = hvf_irq_feature,
	.irq_chip_create = hvf_arch_irq_chip_create,
	.irq_inject = hvf_irq_inject,
	.vcpu_state_save = hvf_vcpu_state_save,
	.vcpu_state_restore = hvf_vcpu_state_restore,
	.vcpu_state_classes = hvf_vcpu_state_classes,
};

#ifdef __APPLE__
const struct hvp_backend *hvp_host_backend(void)
{
	return &hvp_backend_hvf;
}
#endif
