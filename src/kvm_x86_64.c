/* SPDX-License-Identifier: MIT */
/*
 * The KVM backend, x86_64 part: the CPUID table every vCPU gets, entering
 * 64-bit long mode directly through KVM_SET_SREGS, registers, and the host
 * facts only x86 has (which module provides KVM, VMX/SVM flags).
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "cpu_model.h"
#include "kvm_internal.h"

#define CPUID_MAX_ENTRIES 256

#define X86_CR0_PE (1ull << 0)
#define X86_CR0_MP (1ull << 1)
#define X86_CR0_ET (1ull << 4)
#define X86_CR0_NE (1ull << 5)
#define X86_CR0_WP (1ull << 16)
#define X86_CR0_PG (1ull << 31)
#define X86_CR4_PAE (1ull << 5)
#define X86_CR4_OSFXSR (1ull << 9)
#define X86_CR4_OSXMMEXCPT (1ull << 10)
#define X86_EFER_SCE (1ull << 0)
#define X86_EFER_LME (1ull << 8)
#define X86_EFER_LMA (1ull << 10)
#define X86_EFER_NXE (1ull << 11)
#define X86_MSR_IA32_TSC 0x10

/*
 * KVM checks EFER.LME against the guest's CPUID (long mode must be offered),
 * so every vCPU gets the table KVM says it supports, as a VMM would.
 */
int kvm_arch_open(struct hvp_hv *hv)
{
	size_t size = sizeof(struct kvm_cpuid2) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *cpuid = calloc(1, size);

	if (!cpuid)
		return -1;
	cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(hv->fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
		int err = errno;
		free(cpuid);
		errno = err;
		return -1;
	}
	hv->arch = cpuid;
	return 0;
}

void kvm_arch_close(struct hvp_hv *hv)
{
	free(hv->arch);
	hv->arch = NULL;
}

static void cpu_vendor(char out[13])
{
	unsigned a, b, c, d;

	__cpuid(0, a, b, c, d);
	memcpy(out, &b, 4);
	memcpy(out + 4, &d, 4);
	memcpy(out + 8, &c, 4);
	out[12] = '\0';
}

/* The hypervisor this host itself runs under, from CPUID leaf 0x40000000. */
static void host_hypervisor(char *out, size_t size)
{
	unsigned a, b, c, d;
	char sig[13];

	__cpuid(1, a, b, c, d);
	if (!(c & (1u << 31))) {
		snprintf(out, size, "none (bare metal)");
		return;
	}
	__cpuid(0x40000000, a, b, c, d);
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	sig[12] = '\0';
	for (int i = 0; i < 12; i++)
		if (sig[i] && (sig[i] < 0x20 || sig[i] > 0x7e))
			sig[i] = '?';
	snprintf(out, size, "yes (CPUID signature \"%s\")", sig);
}

/* Which of vmx, svm appear in /proc/cpuinfo's flags. */
static void cpu_flags(char *out, size_t size)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[8192];
	int vmx = 0, svm = 0;

	snprintf(out, size, "unknown (/proc/cpuinfo unreadable)");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		vmx = strstr(line, " vmx") != NULL;
		svm = strstr(line, " svm") != NULL;
		break;
	}
	fclose(f);
	snprintf(out, size, "%s", vmx ? "vmx" : svm ? "svm" : "neither vmx nor svm");
}

/* The kernel modules that provide KVM here, from /sys/module (built-in ones appear too). */
static void kvm_modules(char *out, size_t size)
{
	static const char *const known[] = { "kvm_intel", "kvm_amd", "kvm_pvm", "kvm" };
	size_t len = 0;
	struct stat st;

	out[0] = '\0';
	for (unsigned i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		char path[64];
		snprintf(path, sizeof(path), "/sys/module/%s", known[i]);
		if (stat(path, &st) == 0 && len < size)
			len += (size_t)snprintf(out + len, size - len, "%s%s", len ? " " : "", known[i]);
	}
	if (len == 0)
		snprintf(out, size, "unknown (no kvm module in /sys/module)");
}

/* MAXPHYADDR as the VM's CPUID offers it: leaf 0x80000008, EAX[7:0]. */
unsigned kvm_arch_gpa_bits(struct hvp_hv *hv)
{
	const struct kvm_cpuid2 *cpuid = hv->arch;

	for (unsigned i = 0; cpuid && i < cpuid->nent; i++)
		if (cpuid->entries[i].function == 0x80000008)
			return cpuid->entries[i].eax & 0xff;
	return 36; /* the architectural default without the leaf */
}

void kvm_arch_facts(struct hvp_hv *hv, struct hvp_facts *out)
{
	char buf[128];

	hvp_facts_add(out, "gpa_bits", "%u", kvm_arch_gpa_bits(hv));
	kvm_modules(buf, sizeof(buf));
	hvp_facts_add(out, "kvm_modules", "%s", buf);
	cpu_vendor(buf);
	hvp_facts_add(out, "cpu_vendor", "%s", buf);
	cpu_flags(buf, sizeof(buf));
	hvp_facts_add(out, "cpu_flags", "%s", buf);
	host_hypervisor(buf, sizeof(buf));
	hvp_facts_add(out, "host_hypervisor", "%s", buf);
}

static void seg64(struct kvm_segment *s, uint16_t sel, uint8_t type, int code, unsigned dpl)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = (uint8_t)dpl, .db = code ? 0 : 1, .s = 1, .l = code ? 1 : 0, .g = 1,
	};
}

static struct hvp_status set_long_mode(struct hvp_vcpu *vcpu, const struct hvp_boot *boot)
{
	struct kvm_sregs s;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0)
		return kvm_status("KVM_GET_SREGS", errno);
	s.cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
	s.cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	s.efer = X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;
	s.cr3 = boot->page_table;
	/* Ring 0: GDT 0x08/0x10; ring 3: 0x30/0x28 with RPL 3 (see guest_x86_64.c). */
	if (boot->ring == 3) {
		seg64(&s.cs, 0x33, 11, 1, 3);
		seg64(&s.ds, 0x2b, 3, 0, 3);
	} else {
		seg64(&s.cs, 0x08, 11, 1, 0); /* execute/read, accessed */
		seg64(&s.ds, 0x10, 3, 0, 0);  /* read/write, accessed */
	}
	s.es = s.fs = s.gs = s.ss = s.ds;
	/* A busy 64-bit TSS: VMX requires a usable TR even where nothing uses it. */
	s.tr = (struct kvm_segment){ .base = 0, .limit = 0x67, .selector = 0x18, .type = 11,
				     .present = 1, .s = 0 };
	s.ldt = (struct kvm_segment){ .selector = 0, .type = 2, .present = 0, .unusable = 1 };
	s.gdt.base = boot->gdt;
	s.gdt.limit = boot->gdt_limit;
	s.idt.base = 0;
	s.idt.limit = 0;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &s) < 0)
		return kvm_status("KVM_SET_SREGS", errno);
	return hvp_ok("KVM_SET_SREGS");
}

static void seg16(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	*s = (struct kvm_segment){ .base = (uint64_t)sel << 4, .limit = 0xffff, .selector = sel, .type = type,
				   .present = 1, .s = 1 };
}

/*
 * 16-bit real mode as after reset, but with CS:IP at the entry: the state
 * a firmware or a real-mode boot protocol starts in. VMX without
 * "unrestricted guest" cannot run it natively; that is the question.
 */
static struct hvp_status set_real_mode(struct hvp_vcpu *vcpu, const struct hvp_boot *boot)
{
	struct kvm_sregs s;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0)
		return kvm_status("KVM_GET_SREGS", errno);
	s.cr0 = X86_CR0_ET;
	s.cr3 = s.cr4 = s.efer = 0;
	seg16(&s.cs, (uint16_t)(boot->entry >> 4), 11);
	seg16(&s.ds, 0, 3);
	s.es = s.fs = s.gs = s.ss = s.ds;
	s.tr = (struct kvm_segment){ .limit = 0xffff, .type = 11, .present = 1 };
	s.ldt = (struct kvm_segment){ .limit = 0xffff, .type = 2, .present = 1 };
	s.gdt = (struct kvm_dtable){ .base = 0, .limit = 0xffff };
	s.idt = (struct kvm_dtable){ .base = 0, .limit = 0x3ff }; /* the real-mode interrupt table at 0 */
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &s) < 0)
		return kvm_status("KVM_SET_SREGS", errno);
	return hvp_ok("KVM_SET_SREGS");
}

struct hvp_status kvm_arch_vcpu_boot(struct hvp_vcpu *vcpu, const struct hvp_boot *boot)
{
	struct hvp_status st;

	if (ioctl(vcpu->fd, KVM_SET_CPUID2, vcpu->vm->hv->arch) < 0)
		return kvm_status("KVM_SET_CPUID2", errno);
	st = boot->real_mode ? set_real_mode(vcpu, boot) : set_long_mode(vcpu, boot);
	if (st.err != HVP_OK)
		return st;
	return kvm_arch_regs_set(vcpu, &boot->regs);
}

struct hvp_status kvm_arch_regs_get(struct hvp_vcpu *vcpu, struct hvp_regs *regs)
{
	struct kvm_regs r;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0)
		return kvm_status("KVM_GET_REGS", errno);
	memset(regs, 0, sizeof(*regs));
	regs->pc = r.rip;
	regs->sp = r.rsp;
	regs->flags = r.rflags;
	uint64_t gpr[16] = { r.rax, r.rcx, r.rdx, r.rbx, r.rsp, r.rbp, r.rsi, r.rdi,
			     r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15 };
	memcpy(regs->gpr, gpr, sizeof(gpr));
	return hvp_ok("KVM_GET_REGS");
}

struct hvp_status kvm_arch_regs_set(struct hvp_vcpu *vcpu, const struct hvp_regs *regs)
{
	const uint64_t *g = regs->gpr;
	struct kvm_regs r = {
		.rax = g[HVP_X86_RAX], .rcx = g[HVP_X86_RCX], .rdx = g[HVP_X86_RDX],
		.rbx = g[HVP_X86_RBX], .rbp = g[HVP_X86_RBP], .rsi = g[HVP_X86_RSI],
		.rdi = g[HVP_X86_RDI], .r8 = g[HVP_X86_R8], .r9 = g[HVP_X86_R9],
		.r10 = g[HVP_X86_R10], .r11 = g[HVP_X86_R11], .r12 = g[HVP_X86_R12],
		.r13 = g[HVP_X86_R13], .r14 = g[HVP_X86_R14], .r15 = g[HVP_X86_R15],
		.rsp = regs->sp, .rip = regs->pc, .rflags = regs->flags,
	};

	if (ioctl(vcpu->fd, KVM_SET_REGS, &r) < 0)
		return kvm_status("KVM_SET_REGS", errno);
	return hvp_ok("KVM_SET_REGS");
}

/* The x86 exits kvm_run describes in an x86-only member: MSR accesses the VMM asked to see. */
int kvm_arch_decode_exit(struct hvp_vcpu *vcpu, struct hvp_exit *x)
{
	struct kvm_run *run = vcpu->run;

	if (run->exit_reason != KVM_EXIT_X86_RDMSR && run->exit_reason != KVM_EXIT_X86_WRMSR)
		return 0;
	x->kind = HVP_EXIT_MSR;
	x->addr = run->msr.index;
	x->size = 8;
	x->write = run->exit_reason == KVM_EXIT_X86_WRMSR;
	x->native_detail = run->msr.reason;
	if (x->write)
		x->value = run->msr.data;
	else
		vcpu->pending_read = KVM_PENDING_MSR;
	run->msr.error = 0; /* handled: the VMM's answer, not a #GP, unless it says otherwise */
	return 1;
}

/*
 * One CPUID leaf replaced in a copy of the table the vCPU booted with (the
 * one KVM supports), handed to KVM_SET_CPUID2 whole, as the call requires.
 * KVM refuses a different table once the vCPU has run (EBUSY since 5.16),
 * so this comes between boot and the first run.
 */
struct hvp_status kvm_x86_cpuid_set(struct hvp_vcpu *vcpu, uint32_t leaf, uint32_t index, const uint32_t val[4])
{
	const struct kvm_cpuid2 *base = vcpu->vm->hv->arch;
	size_t size = sizeof(*base) + (base->nent + 1) * sizeof(base->entries[0]);
	struct kvm_cpuid2 *t = malloc(size);
	struct kvm_cpuid_entry2 *e = NULL;
	int r, err;

	if (!t)
		return kvm_status("malloc", ENOMEM);
	memcpy(t, base, sizeof(*base) + base->nent * sizeof(base->entries[0]));
	for (unsigned i = 0; i < t->nent && !e; i++)
		if (t->entries[i].function == leaf && t->entries[i].index == index)
			e = &t->entries[i];
	if (!e) {
		e = &t->entries[t->nent++];
		*e = (struct kvm_cpuid_entry2){ .function = leaf, .index = index };
	}
	e->eax = val[0];
	e->ebx = val[1];
	e->ecx = val[2];
	e->edx = val[3];
	r = ioctl(vcpu->fd, KVM_SET_CPUID2, t);
	err = errno;
	free(t);
	return r < 0 ? kvm_status("KVM_SET_CPUID2", err) : hvp_ok("KVM_SET_CPUID2");
}

/* KVM_SET_MSRS returns how many MSRs it set: fewer than asked is a refusal without errno. */
struct hvp_status kvm_x86_msr_set(struct hvp_vcpu *vcpu, uint32_t index, uint64_t value)
{
	/* struct kvm_msrs ends in a flexible array: one entry in a buffer sized and aligned for it. */
	union {
		struct kvm_msrs hdr;
		uint8_t bytes[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
	} m = { .hdr = { .nmsrs = 1 } };
	int r;

	m.hdr.entries[0] = (struct kvm_msr_entry){ .index = index, .data = value };
	r = ioctl(vcpu->fd, KVM_SET_MSRS, &m);

	if (r < 0)
		return kvm_status("KVM_SET_MSRS", errno);
	return r == 1 ? hvp_ok("KVM_SET_MSRS") : kvm_status("KVM_SET_MSRS", EINVAL);
}

/*
 * Userspace MSR exits for filtered MSRs (KVM_CAP_X86_USER_SPACE_MSR), then a
 * filter that allows everything but reads of index: one range of one MSR
 * whose bitmap bit is clear (api.rst, KVM_X86_SET_MSR_FILTER).
 */
struct hvp_status kvm_x86_msr_read_exits(struct hvp_vm *vm, uint32_t index)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR, .args = { KVM_MSR_EXIT_REASON_FILTER } };
	uint8_t deny = 0;
	struct kvm_msr_filter filter = { .flags = KVM_MSR_FILTER_DEFAULT_ALLOW };

	if (ioctl(vm->hv->fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_MSR_FILTER) <= 0)
		return kvm_status("KVM_CHECK_EXTENSION(KVM_CAP_X86_MSR_FILTER)", EOPNOTSUPP);
	if (ioctl(vm->fd, KVM_ENABLE_CAP, &cap) < 0)
		return kvm_status("KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR)", errno);
	filter.ranges[0] = (struct kvm_msr_filter_range){ .flags = KVM_MSR_FILTER_READ, .nmsrs = 1, .base = index,
							  .bitmap = &deny };
	if (ioctl(vm->fd, KVM_X86_SET_MSR_FILTER, &filter) < 0)
		return kvm_status("KVM_X86_SET_MSR_FILTER", errno);
	return hvp_ok("KVM_X86_SET_MSR_FILTER");
}

/* A host-initiated write of IA32_TSC sets the offset so that the guest reads value now. */
struct hvp_status kvm_x86_tsc_set(struct hvp_vcpu *vcpu, uint64_t value)
{
	return kvm_x86_msr_set(vcpu, X86_MSR_IA32_TSC, value);
}

/* Succeeds only with TSC scaling in hardware or a rate within KVM's tolerance of the host's. */
struct hvp_status kvm_x86_tsc_khz_set(struct hvp_vcpu *vcpu, uint64_t khz)
{
	if (ioctl(vcpu->fd, KVM_SET_TSC_KHZ, (unsigned long)khz) < 0)
		return kvm_status("KVM_SET_TSC_KHZ", errno);
	return hvp_ok("KVM_SET_TSC_KHZ");
}

/*
 * 0 where KVM states no rate; errno then tells its answer 0 (errno 0) from
 * a failed call (EIO: the host's TSC is unstable, api.rst KVM_GET_TSC_KHZ).
 */
uint64_t kvm_arch_tsc_khz(struct hvp_vcpu *vcpu)
{
	int khz = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);

	if (khz < 0)
		return 0;
	errno = 0;
	return (uint64_t)khz;
}

/*
 * The feature MSRs the system descriptor answers for (api.rst,
 * KVM_GET_MSR_FEATURE_INDEX_LIST and KVM_GET_MSRS on the system fd, with
 * KVM_CAP_GET_MSR_FEATURES): asked one at a time, since KVM_GET_MSRS stops
 * at the first it cannot read.
 */
static void feature_msrs(struct hvp_hv *hv, struct hvp_cpu_model *out)
{
	union {
		struct kvm_msr_list hdr;
		uint8_t bytes[sizeof(struct kvm_msr_list) + HVP_MODEL_MSRS_MAX * sizeof(uint32_t)];
	} list = { .hdr = { .nmsrs = HVP_MODEL_MSRS_MAX } };

	if (ioctl(hv->fd, KVM_CHECK_EXTENSION, KVM_CAP_GET_MSR_FEATURES) <= 0) {
		snprintf(out->note, sizeof(out->note), "no feature MSRs: KVM_CAP_GET_MSR_FEATURES is absent");
		return;
	}
	if (ioctl(hv->fd, KVM_GET_MSR_FEATURE_INDEX_LIST, &list) < 0) {
		/* E2BIG: the list is longer than the model holds; KVM wrote its length back (api.rst). */
		if (errno == E2BIG)
			snprintf(out->note, sizeof(out->note), "no feature MSRs: KVM offers %u, more than hvprobe's model "
				 "holds (%u, HVP_MODEL_MSRS_MAX)", list.hdr.nmsrs, HVP_MODEL_MSRS_MAX);
		else
			snprintf(out->note, sizeof(out->note), "no feature MSRs: KVM_GET_MSR_FEATURE_INDEX_LIST failed "
				 "with %s", strerror(errno));
		return;
	}
	for (unsigned i = 0; i < list.hdr.nmsrs && i < HVP_MODEL_MSRS_MAX; i++) {
		union {
			struct kvm_msrs hdr;
			uint8_t bytes[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
		} m = { .hdr = { .nmsrs = 1 } };
		m.hdr.entries[0].index = list.hdr.indices[i];
		if (ioctl(hv->fd, KVM_GET_MSRS, &m) == 1)
			out->msr[out->n_msrs++] = (struct hvp_model_msr){ list.hdr.indices[i], m.hdr.entries[0].data };
	}
}

/* The model: the CPUID table KVM supports (read at open) and the feature MSRs. */
struct hvp_status kvm_x86_cpu_model(struct hvp_hv *hv, struct hvp_cpu_model *out)
{
	const struct kvm_cpuid2 *cpuid = hv->arch;

	memset(out, 0, sizeof(*out));
	out->present = true;
	snprintf(out->arch, sizeof(out->arch), "x86_64");
	snprintf(out->source, sizeof(out->source), "KVM_GET_SUPPORTED_CPUID, KVM_GET_MSR_FEATURE_INDEX_LIST, KVM_GET_MSRS");
	for (unsigned i = 0; i < cpuid->nent && i < HVP_MODEL_CPUID_MAX; i++) {
		const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
		out->cpuid[out->n_cpuid++] = (struct hvp_model_cpuid){
			e->function, e->index, e->flags, { e->eax, e->ebx, e->ecx, e->edx } };
	}
	feature_msrs(hv, out);
	return hvp_ok("KVM_GET_SUPPORTED_CPUID");
}
