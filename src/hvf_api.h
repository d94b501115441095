/* SPDX-License-Identifier: MIT */
/*
 * Apple's Hypervisor.framework, as far as hvprobe uses it.
 *
 * On macOS this is <Hypervisor/Hypervisor.h> itself. Elsewhere (Linux, where
 * hvprobe's HVF backends are compile-checked in `make check`) the same
 * types, prototypes and constants are declared here, each written from
 * Apple's documentation and SDK headers (Hypervisor.framework: hv.h,
 * hv_types.h, hv_error.h, hv_vmx.h, hv_arch_vmx.h, hv_arch_x86.h for
 * x86_64; hv_vm.h, hv_vm_types.h, hv_vcpu.h, hv_vcpu_types.h, hv_vm_config.h
 * for arm64; see ../shared reference notes in the project history). Only
 * what the backends use is declared, so that a wrong declaration cannot
 * hide behind an unused one.
 */
#ifndef HVP_HVF_API_H
#define HVP_HVF_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __APPLE__
#include <Availability.h>
#include <Hypervisor/Hypervisor.h>
/*
 * The arm64 backend calls hv_vm_config's IPA-size functions, which the
 * macOS 13 SDK declares first; the binary still runs on macOS 11
 * (HVF_MACOS_13, below).
 */
#if defined(__aarch64__) && !defined(__MAC_13_0)
#error "hvprobe's arm64 backend needs the macOS 13 SDK or newer (Xcode or its Command Line Tools 14.1 or later)"
#endif
#else

/* Return codes: mach_error_t, err_local | err_sub(0xba5) | code (hv_error.h, hv_kern_types.h). */
typedef int32_t hv_return_t;
#define HV_SUCCESS 0
#define HV_ERROR ((hv_return_t)0xfae94001)
#define HV_BUSY ((hv_return_t)0xfae94002)
#define HV_BAD_ARGUMENT ((hv_return_t)0xfae94003)
#define HV_ILLEGAL_GUEST_STATE ((hv_return_t)0xfae94004)
#define HV_NO_RESOURCES ((hv_return_t)0xfae94005)
#define HV_NO_DEVICE ((hv_return_t)0xfae94006)
#define HV_DENIED ((hv_return_t)0xfae94007)
#define HV_UNSUPPORTED ((hv_return_t)0xfae9400f)

typedef uint64_t hv_memory_flags_t;
#define HV_MEMORY_READ (1ull << 0)
#define HV_MEMORY_WRITE (1ull << 1)
#define HV_MEMORY_EXEC (1ull << 2)

#if defined(__x86_64__)
/* hv_types.h */
typedef unsigned hv_vcpuid_t;
typedef const void *hv_uvaddr_t;
typedef uint64_t hv_gpaddr_t;
typedef uint64_t hv_vm_options_t;
typedef uint64_t hv_vcpu_options_t;
typedef uint64_t hv_capability_t;
#define HV_VM_DEFAULT 0ull
#define HV_VCPU_DEFAULT 0ull
#define HV_CAP_VCPUMAX 0ull
#define HV_CAP_ADDRSPACEMAX 1ull
#define HV_DEADLINE_FOREVER (~0ull)

/* hv_arch_x86.h: registers, numbered from 0 */
typedef enum {
	HV_X86_RIP, HV_X86_RFLAGS, HV_X86_RAX, HV_X86_RCX, HV_X86_RDX, HV_X86_RBX, HV_X86_RSI, HV_X86_RDI,
	HV_X86_RSP, HV_X86_RBP, HV_X86_R8, HV_X86_R9, HV_X86_R10, HV_X86_R11, HV_X86_R12, HV_X86_R13,
	HV_X86_R14, HV_X86_R15, HV_X86_CS, HV_X86_SS, HV_X86_DS, HV_X86_ES, HV_X86_FS, HV_X86_GS,
	HV_X86_IDT_BASE, HV_X86_IDT_LIMIT, HV_X86_GDT_BASE, HV_X86_GDT_LIMIT, HV_X86_LDTR, HV_X86_LDT_BASE,
	HV_X86_LDT_LIMIT, HV_X86_LDT_AR, HV_X86_TR, HV_X86_TSS_BASE, HV_X86_TSS_LIMIT, HV_X86_TSS_AR,
	HV_X86_CR0, HV_X86_CR1, HV_X86_CR2, HV_X86_CR3, HV_X86_CR4, HV_X86_DR0, HV_X86_DR1, HV_X86_DR2,
	HV_X86_DR3, HV_X86_DR4, HV_X86_DR5, HV_X86_DR6, HV_X86_DR7, HV_X86_TPR, HV_X86_XCR0,
	HV_X86_REGISTERS_MAX,
} hv_x86_reg_t;

/* hv_vmx.h */
typedef enum {
	HV_VMX_CAP_PINBASED = 0,
	HV_VMX_CAP_PROCBASED = 1,
	HV_VMX_CAP_PROCBASED2 = 2,
	HV_VMX_CAP_ENTRY = 3,
	HV_VMX_CAP_EXIT = 4,
	HV_VMX_CAP_PREEMPTION_TIMER = 32,
} hv_vmx_capability_t;

/* hv.h */
hv_return_t hv_capability(hv_capability_t capability, uint64_t *value);
hv_return_t hv_vm_create(hv_vm_options_t flags);
hv_return_t hv_vm_destroy(void);
hv_return_t hv_vm_map(hv_uvaddr_t uva, hv_gpaddr_t gpa, size_t size, hv_memory_flags_t flags);
hv_return_t hv_vm_unmap(hv_gpaddr_t gpa, size_t size);
hv_return_t hv_vm_protect(hv_gpaddr_t gpa, size_t size, hv_memory_flags_t flags);
hv_return_t hv_vm_sync_tsc(uint64_t tsc);
hv_return_t hv_vcpu_create(hv_vcpuid_t *vcpu, hv_vcpu_options_t flags);
hv_return_t hv_vcpu_destroy(hv_vcpuid_t vcpu);
hv_return_t hv_vcpu_read_register(hv_vcpuid_t vcpu, hv_x86_reg_t reg, uint64_t *value);
hv_return_t hv_vcpu_write_register(hv_vcpuid_t vcpu, hv_x86_reg_t reg, uint64_t value);
hv_return_t hv_vcpu_enable_native_msr(hv_vcpuid_t vcpu, uint32_t msr, bool enable);
hv_return_t hv_vcpu_read_msr(hv_vcpuid_t vcpu, uint32_t msr, uint64_t *value);
hv_return_t hv_vcpu_write_msr(hv_vcpuid_t vcpu, uint32_t msr, uint64_t value);
hv_return_t hv_vcpu_run(hv_vcpuid_t vcpu); /* deprecated: also returns on exits handled transparently */
hv_return_t hv_vcpu_run_until(hv_vcpuid_t vcpu, uint64_t deadline); /* macOS 10.15 */
hv_return_t hv_vcpu_interrupt(hv_vcpuid_t *vcpus, unsigned int vcpu_count);
hv_return_t hv_vcpu_read_fpstate(hv_vcpuid_t vcpu, void *buffer, size_t size);
hv_return_t hv_vcpu_write_fpstate(hv_vcpuid_t vcpu, void *buffer, size_t size);
hv_return_t hv_vmx_vcpu_read_vmcs(hv_vcpuid_t vcpu, uint32_t field, uint64_t *value);
hv_return_t hv_vmx_vcpu_write_vmcs(hv_vcpuid_t vcpu, uint32_t field, uint64_t value);
hv_return_t hv_vmx_read_capability(hv_vmx_capability_t field, uint64_t *value);

/* hv_arch_vmx.h: VMCS field encodings (the Intel SDM's), control bits, exit reasons */
enum {
	VMCS_GUEST_ES = 0x800, VMCS_GUEST_CS = 0x802, VMCS_GUEST_SS = 0x804, VMCS_GUEST_DS = 0x806,
	VMCS_GUEST_FS = 0x808, VMCS_GUEST_GS = 0x80a, VMCS_GUEST_LDTR = 0x80c, VMCS_GUEST_TR = 0x80e,
	VMCS_GUEST_PHYSICAL_ADDRESS = 0x2400, VMCS_GUEST_IA32_EFER = 0x2806,
	VMCS_CTRL_PIN_BASED = 0x4000, VMCS_CTRL_CPU_BASED = 0x4002, VMCS_CTRL_EXC_BITMAP = 0x4004,
	VMCS_CTRL_VMEXIT_CONTROLS = 0x400c, VMCS_CTRL_VMENTRY_CONTROLS = 0x4012, VMCS_CTRL_VMENTRY_IRQ_INFO = 0x4016,
	VMCS_CTRL_CPU_BASED2 = 0x401e,
	VMCS_RO_INSTR_ERROR = 0x4400, VMCS_RO_EXIT_REASON = 0x4402, VMCS_RO_VMEXIT_INSTR_LEN = 0x440c,
	VMCS_RO_EXIT_QUALIFIC = 0x6400,
	VMCS_GUEST_ES_LIMIT = 0x4800, VMCS_GUEST_CS_LIMIT = 0x4802, VMCS_GUEST_SS_LIMIT = 0x4804,
	VMCS_GUEST_DS_LIMIT = 0x4806, VMCS_GUEST_FS_LIMIT = 0x4808, VMCS_GUEST_GS_LIMIT = 0x480a,
	VMCS_GUEST_LDTR_LIMIT = 0x480c, VMCS_GUEST_TR_LIMIT = 0x480e, VMCS_GUEST_GDTR_LIMIT = 0x4810,
	VMCS_GUEST_IDTR_LIMIT = 0x4812,
	VMCS_GUEST_ES_AR = 0x4814, VMCS_GUEST_CS_AR = 0x4816, VMCS_GUEST_SS_AR = 0x4818, VMCS_GUEST_DS_AR = 0x481a,
	VMCS_GUEST_FS_AR = 0x481c, VMCS_GUEST_GS_AR = 0x481e, VMCS_GUEST_LDTR_AR = 0x4820, VMCS_GUEST_TR_AR = 0x4822,
	VMCS_GUEST_INTERRUPTIBILITY = 0x4824, VMCS_GUEST_ACTIVITY_STATE = 0x4826,
	VMCS_CTRL_CR0_MASK = 0x6000, VMCS_CTRL_CR4_MASK = 0x6002, VMCS_CTRL_CR0_SHADOW = 0x6004,
	VMCS_CTRL_CR4_SHADOW = 0x6006,
	VMCS_GUEST_CR0 = 0x6800, VMCS_GUEST_CR3 = 0x6802, VMCS_GUEST_CR4 = 0x6804,
	VMCS_GUEST_ES_BASE = 0x6806, VMCS_GUEST_CS_BASE = 0x6808, VMCS_GUEST_SS_BASE = 0x680a,
	VMCS_GUEST_DS_BASE = 0x680c, VMCS_GUEST_FS_BASE = 0x680e, VMCS_GUEST_GS_BASE = 0x6810,
	VMCS_GUEST_LDTR_BASE = 0x6812, VMCS_GUEST_TR_BASE = 0x6814, VMCS_GUEST_GDTR_BASE = 0x6816,
	VMCS_GUEST_IDTR_BASE = 0x6818, VMCS_GUEST_RSP = 0x681c, VMCS_GUEST_RIP = 0x681e, VMCS_GUEST_RFLAGS = 0x6820,
};
#define CPU_BASED_HLT (1u << 7)
#define CPU_BASED_CR8_LOAD (1u << 19)
#define CPU_BASED_CR8_STORE (1u << 20)
#define CPU_BASED_SECONDARY_CTLS (1u << 31)
#define CPU_BASED2_EPT (1u << 1)
#define CPU_BASED2_UNRESTRICTED (1u << 7)
#define VMENTRY_GUEST_IA32E (1u << 9)
#define VMX_REASON_EXC_NMI 0
#define VMX_REASON_IRQ 1
#define VMX_REASON_TRIPLE_FAULT 2
#define VMX_REASON_CPUID 10
#define VMX_REASON_HLT 12
#define VMX_REASON_VMCALL 18
#define VMX_REASON_IO 30
#define VMX_REASON_RDMSR 31
#define VMX_REASON_WRMSR 32
#define VMX_REASON_VMENTRY_GUEST 33
#define VMX_REASON_EPT_VIOLATION 48
#define VMX_REASON_VMX_TIMER_EXPIRED 52
#endif /* __x86_64__ */

#if defined(__aarch64__)
/* hv_vcpu_types.h, hv_vm_types.h */
typedef uint64_t hv_vcpu_t;
typedef uint64_t hv_ipa_t;
typedef struct hv_vm_config_s *hv_vm_config_t;
typedef struct hv_vcpu_config_s *hv_vcpu_config_t;

typedef uint32_t hv_exit_reason_t;
#define HV_EXIT_REASON_CANCELED 0u
#define HV_EXIT_REASON_EXCEPTION 1u
#define HV_EXIT_REASON_VTIMER_ACTIVATED 2u
#define HV_EXIT_REASON_UNKNOWN 3u

typedef struct {
	uint64_t syndrome;        /* ESR_EL2 */
	uint64_t virtual_address; /* FAR_EL2 */
	hv_ipa_t physical_address;
} hv_vcpu_exit_exception_t;

typedef struct {
	hv_exit_reason_t reason;
	hv_vcpu_exit_exception_t exception;
} hv_vcpu_exit_t;

typedef uint32_t hv_reg_t;
#define HV_REG_X0 0u /* X1..X30 follow: HV_REG_X0 + n */
#define HV_REG_PC 31u
#define HV_REG_FPCR 32u
#define HV_REG_FPSR 33u
#define HV_REG_CPSR 34u

typedef uint16_t hv_sys_reg_t;
#define HV_SYS_REG_SP_EL0 ((hv_sys_reg_t)0xc208)
#define HV_SYS_REG_SP_EL1 ((hv_sys_reg_t)0xe208)
#define HV_SYS_REG_CNTKCTL_EL1 ((hv_sys_reg_t)0xc708) /* op0 3, op1 0, CRn 14, CRm 1, op2 0 */

hv_return_t hv_vm_get_max_vcpu_count(uint32_t *max_vcpu_count);
hv_return_t hv_vm_create(hv_vm_config_t config);
hv_return_t hv_vm_destroy(void);
hv_return_t hv_vm_map(void *addr, hv_ipa_t ipa, size_t size, hv_memory_flags_t flags);
hv_return_t hv_vm_unmap(hv_ipa_t ipa, size_t size);
hv_return_t hv_vm_protect(hv_ipa_t ipa, size_t size, hv_memory_flags_t flags);
hv_vm_config_t hv_vm_config_create(void);
hv_return_t hv_vm_config_get_max_ipa_size(uint32_t *ipa_bit_length);
hv_return_t hv_vm_config_get_default_ipa_size(uint32_t *ipa_bit_length);
hv_return_t hv_vm_config_set_ipa_size(hv_vm_config_t config, uint32_t ipa_bit_length);
hv_return_t hv_vcpu_create(hv_vcpu_t *vcpu, hv_vcpu_exit_t **exit, hv_vcpu_config_t config);
hv_return_t hv_vcpu_destroy(hv_vcpu_t vcpu);
hv_return_t hv_vcpu_get_reg(hv_vcpu_t vcpu, hv_reg_t reg, uint64_t *value);
hv_return_t hv_vcpu_set_reg(hv_vcpu_t vcpu, hv_reg_t reg, uint64_t value);
hv_return_t hv_vcpu_get_sys_reg(hv_vcpu_t vcpu, hv_sys_reg_t reg, uint64_t *value);
hv_return_t hv_vcpu_set_sys_reg(hv_vcpu_t vcpu, hv_sys_reg_t reg, uint64_t value);
hv_return_t hv_vcpu_run(hv_vcpu_t vcpu);
hv_return_t hv_vcpus_exit(hv_vcpu_t *vcpus, uint32_t vcpu_count);
hv_return_t hv_vcpu_set_vtimer_offset(hv_vcpu_t vcpu, uint64_t vtimer_offset);
hv_return_t hv_vcpu_get_vtimer_offset(hv_vcpu_t vcpu, uint64_t *vtimer_offset);
typedef uint32_t hv_simd_fp_reg_t;
#define HV_SIMD_FP_REG_Q0 0u /* Q1..Q31 follow */
typedef uint8_t hv_simd_fp_uchar16_t __attribute__((vector_size(16)));
hv_return_t hv_vcpu_get_simd_fp_reg(hv_vcpu_t vcpu, hv_simd_fp_reg_t reg, hv_simd_fp_uchar16_t *value);
hv_return_t hv_vcpu_set_simd_fp_reg(hv_vcpu_t vcpu, hv_simd_fp_reg_t reg, hv_simd_fp_uchar16_t value);
void os_release(void *object);

/* hv_vcpu_types.h, hv_vcpu.h: the vCPU's feature registers, and an IRQ the VMM raises itself. */
typedef uint32_t hv_feature_reg_t;
#define HV_FEATURE_REG_ID_AA64PFR0_EL1 0u
hv_vcpu_config_t hv_vcpu_config_create(void);
hv_return_t hv_vcpu_config_get_feature_reg(hv_vcpu_config_t config, hv_feature_reg_t feature_reg, uint64_t *value);
typedef uint32_t hv_interrupt_type_t;
#define HV_INTERRUPT_TYPE_IRQ 0u
#define HV_INTERRUPT_TYPE_FIQ 1u
hv_return_t hv_vcpu_set_pending_interrupt(hv_vcpu_t vcpu, hv_interrupt_type_t type, bool pending);

/* hv_gic.h and hv_gic_types.h (macOS 15): an in-kernel GICv3. */
typedef struct hv_gic_config_s *hv_gic_config_t;
hv_gic_config_t hv_gic_config_create(void);
hv_return_t hv_gic_config_set_distributor_base(hv_gic_config_t config, hv_ipa_t distributor_base_address);
hv_return_t hv_gic_config_set_redistributor_base(hv_gic_config_t config, hv_ipa_t redistributor_base_address);
hv_return_t hv_gic_create(hv_gic_config_t gic_config);
#endif /* __aarch64__ */

#endif /* __APPLE__ */

/*
 * Whether this macOS has what macOS 13 added (hv_vm_config's IPA sizes):
 * the binary is built for macOS 11 and later (-mmacosx-version-min), so
 * such functions are weakly linked, absent before 13, and every call to
 * one must sit under `if (HVF_MACOS_13)` (clang's -Wunguarded-availability
 * holds a Mac build to that). Compile checks elsewhere take them as there.
 */
#ifdef __APPLE__
#define HVF_MACOS_13 __builtin_available(macOS 13.0, *)
#else
#define HVF_MACOS_13 1
#endif

/*
 * The same for macOS 15's in-kernel GIC (hv_gic_create): asked at run time,
 * and only where the SDK declares it (HVF_HAVE_GIC: the macOS 15 SDK or
 * newer; an older SDK builds a binary that says the framework has none).
 */
#if !defined(__APPLE__) || defined(__MAC_15_0)
#define HVF_HAVE_GIC 1
#endif
#ifdef __APPLE__
#define HVF_MACOS_15 __builtin_available(macOS 15.0, *)
#else
#define HVF_MACOS_15 1
#endif

/*
 * Numbers hvprobe needs that the headers do not name, or that older SDKs
 * lack (HV_ILLEGAL_GUEST_STATE is missing from the x86 SDK 11.0 hv_error.h).
 */
#ifndef HV_ILLEGAL_GUEST_STATE
#define HV_ILLEGAL_GUEST_STATE ((hv_return_t)0xfae94004)
#endif
/*
 * 0xfae94008 has two names: HV_EXISTS in the newest arm64 headers (xnu's
 * hv_kern_types.h), HV_FAULT in older ones and the bindings made from them;
 * no x86_64 header names it. hvprobe uses neither header name for it.
 */
#define HVF_EXISTS_OR_FAULT ((hv_return_t)0xfae94008)

#endif
