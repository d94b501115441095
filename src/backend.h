/* SPDX-License-Identifier: MIT */
/*
 * The backend interface: one host hypervisor API behind a small ops table
 * (in the spirit of bhyve's vmm_ops and Redis' ae_* backends).
 *
 * Handles are opaque and passed everywhere, even where the host API has
 * none (Hypervisor.framework has one implicit VM per process): the backend
 * turns a broken rule into a recorded status, never into hidden state.
 * Nothing KVM-specific (file descriptors, memslot numbers) crosses this
 * line; the KVM backend manages its slots itself.
 *
 * A destroyed handle stays valid until the backend is closed: calls on it
 * reach the host API with the dead native object and return whatever the
 * API answers, so that probes can ask what happens without hvprobe itself
 * touching freed memory.
 *
 * Every call returns a struct hvp_status: a portable error class, the native
 * code (errno, hv_return_t) and the native call's name, because the native
 * code is the data a user searches for. Backends never abort on an error.
 */
#ifndef HVP_BACKEND_H
#define HVP_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hvp_err {
	HVP_OK = 0,
	HVP_ERR_EXISTS,      /* overlapping or duplicate object */
	HVP_ERR_INVALID,     /* bad argument: alignment, size, range */
	HVP_ERR_NOMEM,       /* out of memory or of a resource such as slots */
	HVP_ERR_BUSY,
	HVP_ERR_NODEV,       /* no hypervisor device or support */
	HVP_ERR_DENIED,      /* permission or entitlement */
	HVP_ERR_FAULT,       /* bad host address */
	HVP_ERR_UNSUPPORTED, /* the API has no such operation or feature */
	HVP_ERR_INTERRUPTED,
	HVP_ERR_IO,          /* the object is unusable (KVM: EIO after fork, dead VM) */
	HVP_ERR_OTHER,       /* a native code this backend does not classify: never an answer */
	HVP_ERR_GENERIC,     /* the API refused without saying why (HVF: HV_ERROR) */
	/*
	 * A limit of the host process, not of the API (KVM: EMFILE, ENFILE, each
	 * VM and vCPU being a file descriptor): a search for the API's own
	 * limit that meets it has not found the API's limit.
	 */
	HVP_ERR_RLIMIT,
};

struct hvp_status {
	enum hvp_err err;
	int64_t native;   /* errno for KVM, hv_return_t for HVF; 0 on success */
	const char *call; /* "KVM_CREATE_VM", "hv_vm_map": a string literal */
	int evidence;     /* where the machine layer recorded it in the finding; backends leave it 0 */
	/*
	 * The backend answered itself and no call reached the host API (a
	 * second close of a descriptor whose number may already be another
	 * file's; a slot table of its own that is full): never evidence, and
	 * never the API's refusal.
	 */
	bool unmade;
};

enum hvp_prot {
	HVP_PROT_READ = 1,
	HVP_PROT_WRITE = 2,
	HVP_PROT_EXEC = 4,
	HVP_PROT_RWX = 7,
};

enum hvp_exit_kind {
	HVP_EXIT_IO,
	HVP_EXIT_MMIO,
	HVP_EXIT_HLT,
	HVP_EXIT_HYPERCALL,
	HVP_EXIT_SHUTDOWN,
	HVP_EXIT_INTERRUPTED,
	HVP_EXIT_INTERNAL_ERROR, /* includes a failed VM entry */
	HVP_EXIT_MSR,            /* x86: an MSR access the VMM handles (addr: the MSR's index) */
	HVP_EXIT_UNKNOWN,
	HVP_EXIT_DIRTY_RING_FULL, /* a vCPU's dirty ring is full: harvest and reset before running it again */
};

/*
 * The portable exit record. For a read (io in, mmio read) the caller stores
 * the data the guest should receive in value before the next run.
 */
struct hvp_exit {
	enum hvp_exit_kind kind;
	uint64_t addr;          /* port (io) or guest-physical address (mmio) */
	uint32_t size;          /* bytes; 0 for an access the hardware could not describe (arm64 NISV) */
	bool write;             /* direction: guest writes (out, store) */
	uint64_t value;         /* data written by the guest, or to return to it */
	uint64_t native_reason; /* KVM exit_reason, VMX exit reason, ESR */
	uint64_t native_detail; /* suberror, qualification, ... */
};

/* Register file: x86_64 uses gpr[HVP_X86_*]; arm64 uses gpr[0..30] as x0..x30. */
enum {
	HVP_X86_RAX, HVP_X86_RCX, HVP_X86_RDX, HVP_X86_RBX, HVP_X86_RSP, HVP_X86_RBP,
	HVP_X86_RSI, HVP_X86_RDI, HVP_X86_R8, HVP_X86_R9, HVP_X86_R10, HVP_X86_R11,
	HVP_X86_R12, HVP_X86_R13, HVP_X86_R14, HVP_X86_R15,
	HVP_NGPR = 31,
};

struct hvp_regs {
	uint64_t pc;
	uint64_t sp;
	uint64_t flags; /* RFLAGS, PSTATE */
	uint64_t gpr[HVP_NGPR];
};

/*
 * What the guest module hands the backend to put a vCPU into the mode the
 * guest programs run in. x86_64: 64-bit long mode at ring 0 with paging
 * rooted at page_table, the GDT at gdt; arm64: EL1 with the MMU on, its
 * translation tables rooted at page_table.
 */
struct hvp_boot {
	uint64_t entry;
	uint64_t stack;
	uint64_t page_table; /* x86_64 CR3; arm64 TTBR0_EL1 */
	uint64_t gdt;        /* x86_64 GDT base (code 0x08, data 0x10) */
	uint16_t gdt_limit;
	/*
	 * arm64: the EL1 system registers set before the register file. The
	 * backend narrows TCR_EL1.IPS to the vCPU's own physical address size
	 * (ID_AA64MMFR0_EL1.PARange, the same encoding) where that is smaller.
	 */
	uint64_t sctlr_el1, tcr_el1, mair_el1, vbar_el1;
	unsigned ring;       /* privilege level: 0, or 3 (x86_64 user mode; arm64 EL0) */
	bool real_mode;      /* x86: 16-bit real mode at entry (CS = entry >> 4); paging, GDT and ring unused */
	bool interrupts_off; /* x86: RFLAGS.IF clear at entry; set otherwise (hvp_guest_arch_regs says why) */
	uint64_t arg[4];     /* rdi, rsi, rdx, rcx / x0..x3 */
	/*
	 * The register file that starts the program (pc, stack, flags for the
	 * ring or mode, arguments), computed once by the guest module
	 * (hvp_guest_arch_regs): a backend sets the mode, then these.
	 */
	struct hvp_regs regs;
};

/* One host fact for `hvprobe info` and the report's host block. */
struct hvp_fact {
	char key[40];
	char value[160];
};

#define HVP_FACTS_MAX 48

struct hvp_facts {
	unsigned n;
	struct hvp_fact fact[HVP_FACTS_MAX];
};

void hvp_facts_add(struct hvp_facts *facts, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *hvp_facts_get(const struct hvp_facts *facts, const char *key);

/*
 * Interrupts and I/O notification. An event notifier is a host file
 * descriptor (Linux: an eventfd, notify.h) that the API watches or signals
 * without the VMM's loop: the one host object these calls take.
 */
enum hvp_irq_chip {
	HVP_IRQCHIP_X86_FULL,  /* x86: PIC, IOAPIC and local APICs in the kernel (KVM_CREATE_IRQCHIP) */
	HVP_IRQCHIP_X86_SPLIT, /* x86: local APICs in the kernel, the IOAPIC and PIC left to the VMM */
	HVP_IRQCHIP_GICV3,     /* arm64: a GICv3, its registers where guest_abi.h says (HVP_ARM64_GIC*) */
	HVP_IRQCHIP_GICV2,
	HVP_IRQCHIP_GICV3_ITS, /* arm64: an ITS beside a GICv3 (after HVP_IRQCHIP_GICV3) */
};

/* What the API offers for interrupts and doorbells; irq_feature says how much (KVM: the capability's value). */
enum hvp_irq_feature {
	HVP_FEAT_IRQCHIP,
	HVP_FEAT_SPLIT_IRQCHIP,
	HVP_FEAT_IRQFD,
	HVP_FEAT_IRQFD_RESAMPLE,
	HVP_FEAT_IRQ_ROUTING,     /* the value: the largest routing table the API says it takes */
	HVP_FEAT_SIGNAL_MSI,
	HVP_FEAT_USER_INJECT,
	HVP_FEAT_IOEVENTFD,
	HVP_FEAT_IOEVENTFD_ANY_LENGTH,
	HVP_FEAT_COALESCED_MMIO,
};

/* One entry of an interrupt routing table: a GSI to a controller's pin, or to an MSI message. */
struct hvp_irq_route {
	uint32_t gsi;
	bool msi;
	uint32_t chip, pin;   /* !msi: the controller (KVM x86: 0, 1 the PICs, 2 the IOAPIC; arm64: 0, pin: SPI INTID - 32) */
	uint64_t msi_addr;    /* msi: the message */
	uint32_t msi_data;
	bool msi_devid_valid; /* msi: the message names its device (arm64's ITS: KVM_MSI_VALID_DEVID) */
	uint32_t msi_devid;
};

/* A doorbell: guest writes here signal a notifier instead of exiting. len 0: any length (MMIO). */
struct hvp_doorbell {
	uint64_t addr;
	uint32_t len;
	bool pio;
	bool datamatch; /* only writes of data signal; others exit as before */
	uint64_t data;
};

/* One write a coalesced zone took, as the API's ring holds it. */
struct hvp_coalesced {
	uint64_t addr;
	uint32_t len;
	uint64_t value;
};

/* One class of vCPU state a snapshot carries ("regs", "xsave2") and its size in bytes. */
struct hvp_state_class {
	char name[24];
	uint32_t size;
};

#define HVP_STATE_CLASSES_MAX 40

struct hvp_hv;   /* an open hypervisor API (KVM: the /dev/kvm fd) */
struct hvp_cpu_model;
struct hvp_vm;
struct hvp_vcpu;

struct hvp_open_opts {
	const char *kvm_device; /* default /dev/kvm */
	/*
	 * Set in the runner's probe children (and so in what they fork): the
	 * API was opened by hvprobe's own process with every check, so open
	 * repeats none, least of all those a forked child must not make (HVF:
	 * the entitlement, read through Security.framework, which is not safe
	 * after fork without exec; a trial VM).
	 */
	bool checked;
	/*
	 * The page hvprobe maps guest memory in when it is to be larger than
	 * the API's own (page_size, below), of which it is a multiple
	 * (--page-size): a host with 4 KiB pages then runs every probe as
	 * Apple silicon's 16 KiB pages make it, showing that no probe assumes
	 * 4 KiB. 0: the API's page. Backends do not read it: it travels here
	 * because it goes wherever the API is opened (machine.h,
	 * hvp_page_size).
	 */
	uint64_t page_size;
};

struct hvp_backend {
	const char *name; /* "kvm", "hvf" */
	const char *arch; /* "x86_64", "arm64" */

	struct hvp_status (*open)(const struct hvp_open_opts *opts, struct hvp_hv **out);
	void (*close)(struct hvp_hv *hv);
	/* A sentence naming the cause of an open failure and its fix. */
	const char *(*open_advice)(const struct hvp_open_opts *opts, struct hvp_status st);
	void (*facts)(struct hvp_hv *hv, struct hvp_facts *out);
	/* "EEXIST", "HV_BUSY"; "OK" for 0. Never NULL. */
	const char *(*native_name)(int64_t native);

	struct hvp_status (*vm_create)(struct hvp_hv *hv, struct hvp_vm **out);
	struct hvp_status (*vm_destroy)(struct hvp_vm *vm);

	struct hvp_status (*mem_map)(struct hvp_vm *vm, void *host, uint64_t gpa, uint64_t size,
				     unsigned prot);
	struct hvp_status (*mem_unmap)(struct hvp_vm *vm, uint64_t gpa, uint64_t size);
	struct hvp_status (*mem_protect)(struct hvp_vm *vm, uint64_t gpa, uint64_t size, unsigned prot);
	/*
	 * Dirty-page logging on a mapped region, one bit per page of the API's
	 * own size (page_size: KVM's bits are the host kernel's pages, whatever
	 * page hvprobe maps in).
	 */
	struct hvp_status (*dirty_log_enable)(struct hvp_vm *vm, uint64_t gpa, uint64_t size, bool on);
	/* Returns the pages written since the last call and clears the log. */
	struct hvp_status (*dirty_log_get)(struct hvp_vm *vm, uint64_t gpa, uint64_t size, uint64_t *bitmap);
	/* The guest-physical address width a VM offers, in bits. */
	unsigned (*gpa_bits)(struct hvp_hv *hv);
	/*
	 * The API's page: the host address, the guest address and the size of
	 * every map must be multiples of it (KVM: the host kernel's page size;
	 * HVF: the host's, vm_page_size, 16 KiB on Apple silicon, where
	 * hv_vm_map wants page-aligned addresses and "a multiple of the page
	 * size").
	 */
	uint64_t (*page_size)(struct hvp_hv *hv);

	struct hvp_status (*vcpu_create)(struct hvp_vm *vm, unsigned id, struct hvp_vcpu **out);
	/*
	 * Creates a vCPU that belongs to the calling thread itself: every later
	 * call on it is made from the calling thread (HVF: no owner thread). For
	 * questions about one thread holding several vCPUs. NULL where
	 * vcpu_create already leaves the vCPU to whichever thread calls (KVM).
	 */
	struct hvp_status (*vcpu_create_here)(struct hvp_vm *vm, unsigned id, struct hvp_vcpu **out);
	struct hvp_status (*vcpu_destroy)(struct hvp_vcpu *vcpu);
	struct hvp_status (*vcpu_boot)(struct hvp_vcpu *vcpu, const struct hvp_boot *boot);
	struct hvp_status (*vcpu_run)(struct hvp_vcpu *vcpu, struct hvp_exit *exit);
	struct hvp_status (*regs_get)(struct hvp_vcpu *vcpu, struct hvp_regs *regs);
	struct hvp_status (*regs_set)(struct hvp_vcpu *vcpu, const struct hvp_regs *regs);
	/* Forces a vCPU out of run; safe from any thread. */
	struct hvp_status (*vcpu_kick)(struct hvp_vcpu *vcpu);
	/*
	 * While on, calls on this vCPU are made from the calling thread itself,
	 * not from the thread the backend keeps for it (HVF: its owner thread), so
	 * that a probe can break the API's thread rule on purpose and record what
	 * happens. NULL where any thread may call anyway (KVM).
	 */
	void (*vcpu_direct)(struct hvp_vcpu *vcpu, bool on);
	/*
	 * Hands a VM to another process over a Unix socket, and takes one handed
	 * over (KVM: the VM's descriptor with SCM_RIGHTS). NULL where the API has
	 * no way to hand a VM over.
	 */
	struct hvp_status (*vm_send)(struct hvp_vm *vm, int sock);
	struct hvp_status (*vm_receive)(struct hvp_hv *hv, int sock, struct hvp_vm **out);
	/* The guest's TSC frequency in kHz, 0 if the API does not say. */
	uint64_t (*tsc_khz)(struct hvp_vcpu *vcpu);
	/*
	 * Benchmarks' yardstick: runs the vCPU n times with nothing but the host
	 * API's own run call and a check of the exit's kind in the loop, as a
	 * minimal hand-written VMM would, and returns the elapsed nanoseconds, or
	 * -errno. NULL where the API cannot do that.
	 */
	int64_t (*raw_run_loop)(struct hvp_vcpu *vcpu, uint64_t n);
	/* Sets the guest's TSC (arm64: virtual counter) to value now; NULL where the API cannot. */
	struct hvp_status (*tsc_set)(struct hvp_vcpu *vcpu, uint64_t value);
	/* Sets the rate the guest's TSC advances at; NULL where the API cannot. */
	struct hvp_status (*tsc_khz_set)(struct hvp_vcpu *vcpu, uint64_t khz);

	/*
	 * x86 only (NULL elsewhere, and where the API has no such call): what
	 * the VMM configures of the CPU its guest sees.
	 */
	/* Replaces (or adds) one CPUID leaf in the vCPU's table; after vcpu_boot, before the first run. */
	struct hvp_status (*x86_cpuid_set)(struct hvp_vcpu *vcpu, uint32_t leaf, uint32_t index, const uint32_t val[4]);
	struct hvp_status (*x86_msr_set)(struct hvp_vcpu *vcpu, uint32_t index, uint64_t value);
	/* From now on the guest's reads of MSR index exit to the VMM (HVP_EXIT_MSR; value: what the read gets). */
	struct hvp_status (*x86_msr_read_exits)(struct hvp_vm *vm, uint32_t index);

	/*
	 * A VM whose guest-physical address space is bits wide (arm64 KVM: the
	 * VM type's IPA size; HVF arm64: the configuration's IPA size), and the
	 * widest the API offers. NULL where the width is fixed.
	 */
	struct hvp_status (*vm_create_sized)(struct hvp_hv *hv, unsigned bits, struct hvp_vm **out);
	unsigned (*gpa_bits_max)(struct hvp_hv *hv);
	/*
	 * arm64 only: data aborts without a valid syndrome exit to the VMM
	 * (HVP_EXIT_MMIO with size 0) instead of failing the run.
	 */
	struct hvp_status (*arm64_nisv_to_user)(struct hvp_vm *vm);

	/*
	 * The guest CPU model the API offers (cpu_model.h): what a VMM starts
	 * from before it reduces it. NULL where the backend cannot say.
	 */
	struct hvp_status (*cpu_model)(struct hvp_hv *hv, struct hvp_cpu_model *out);
	/*
	 * arm64 only: a vCPU's system register by its encoding (HVP_SYSREG), as
	 * the VMM reads and sets it before the first run (ID registers: the
	 * model the vCPU's guest gets). NULL elsewhere.
	 */
	struct hvp_status (*arm64_sysreg_get)(struct hvp_vcpu *vcpu, uint16_t enc, uint64_t *value);
	struct hvp_status (*arm64_sysreg_set)(struct hvp_vcpu *vcpu, uint16_t enc, uint64_t value);
	/*
	 * Interrupts and I/O notification (NULL where the API has none). How
	 * much of each the API offers (KVM: KVM_CHECK_EXTENSION's value, 0:
	 * none; -1: the API has no such call at all), with the native name of
	 * what was asked (or of the API) in *name.
	 */
	int64_t (*irq_feature)(struct hvp_hv *hv, enum hvp_irq_feature feature, const char **name);
	/* An in-kernel interrupt controller; x86: before the first vCPU, whose local APIC it then makes. */
	struct hvp_status (*irq_chip_create)(struct hvp_vm *vm, enum hvp_irq_chip kind);
	/*
	 * Binds (assign) or unbinds a notifier to a GSI: a signal raises the
	 * line. resample_fd >= 0: a level-triggered line, lowered and
	 * resample_fd signalled when the guest ends the interrupt.
	 */
	struct hvp_status (*irqfd)(struct hvp_vm *vm, int fd, uint32_t gsi, int resample_fd, bool assign);
	/* Replaces the VM's whole interrupt routing table with n entries. */
	struct hvp_status (*gsi_routing_set)(struct hvp_vm *vm, const struct hvp_irq_route *routes, unsigned n);
	/* Delivers one MSI message now (x86: address 0xfee00000 | APIC ID << 12, data the vector). */
	struct hvp_status (*msi_signal)(struct hvp_vm *vm, uint64_t addr, uint32_t data);
	/*
	 * The VMM injects an interrupt vector itself (no in-kernel controller);
	 * it arrives at the next run. arm64 has no vector: the vCPU's IRQ line
	 * is raised (see irq_lower).
	 */
	struct hvp_status (*irq_inject)(struct hvp_vcpu *vcpu, uint32_t vector);
	/* Binds (assign) or unbinds a notifier to a doorbell: matching guest writes signal it without an exit. */
	struct hvp_status (*ioeventfd)(struct hvp_vm *vm, int fd, const struct hvp_doorbell *d, bool assign);
	/* Registers (assign) or drops a coalesced MMIO zone: writes there go to a ring, not to an exit. */
	struct hvp_status (*coalesced_zone)(struct hvp_vm *vm, uint64_t addr, uint32_t size, bool assign);
	/* Takes up to max writes from the coalesced ring (the VM's, reached through vcpu), oldest first. */
	struct hvp_status (*coalesced_read)(struct hvp_vcpu *vcpu, struct hvp_coalesced *out, unsigned max, unsigned *n);
	/*
	 * Finishes the in-kernel controller once every vCPU exists, before the
	 * first run (KVM arm64: KVM_DEV_ARM_VGIC_CTRL_INIT). NULL where nothing
	 * is needed (KVM x86).
	 */
	struct hvp_status (*irq_chip_ready)(struct hvp_vm *vm);
	/*
	 * Snapshots: the vCPU's whole state as an opaque, self-describing byte
	 * blob that a new VM of the same API, in another process, restores. The
	 * vCPU is stopped at an exit; the backend completes that exit first, so
	 * the state is the guest's own. save hands back a blob from malloc the
	 * caller frees. NULL where the API cannot.
	 */
	struct hvp_status (*vcpu_state_save)(struct hvp_vcpu *vcpu, uint8_t **blob, size_t *len);
	/* Into a vCPU made (vcpu_create) but never booted nor run, before its first run. */
	struct hvp_status (*vcpu_state_restore)(struct hvp_vcpu *vcpu, const uint8_t *blob, size_t len);
	/* The classes a blob carries, in order: returns how many (at most max); 0 for no blob of this backend's. */
	unsigned (*vcpu_state_classes)(const uint8_t *blob, size_t len, struct hvp_state_class *out, unsigned max);

	/*
	 * Dirty logging that the VMM re-arms itself (KVM:
	 * KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2): from now on reading the log
	 * (dirty_log_get) leaves it as it is, and a page stays dirty until
	 * dirty_log_clear clears it; bitmap has one bit per API page of the
	 * region [gpa, gpa + size). NULL where the API has no such mode.
	 */
	struct hvp_status (*dirty_log_manual)(struct hvp_vm *vm);
	struct hvp_status (*dirty_log_clear)(struct hvp_vm *vm, uint64_t gpa, uint64_t size, const uint64_t *bitmap);
	/*
	 * A per-vCPU ring of dirtied pages instead of the bitmap (KVM:
	 * KVM_CAP_DIRTY_LOG_RING): enabled on a VM before its first vCPU, the
	 * smallest the API takes with at least *entries entries (0: the
	 * smallest of all); *entries then gets the ring's entries, *soft the
	 * most it holds before runs stop with HVP_EXIT_DIRTY_RING_FULL (KVM
	 * reserves more where the CPU logs pages in batches: Intel's PML). harvest
	 * hands over the guest-physical addresses of the pages the ring holds
	 * (up to max) and marks them collected; reset gives the collected
	 * entries back to every vCPU's ring. NULL where the API has no ring.
	 */
	struct hvp_status (*dirty_ring_enable)(struct hvp_vm *vm, uint32_t *entries, uint32_t *soft);
	struct hvp_status (*dirty_ring_harvest)(struct hvp_vcpu *vcpu, uint64_t *gpa, unsigned max, unsigned *n);
	struct hvp_status (*dirty_ring_reset)(struct hvp_vm *vm);
	/*
	 * arm64 only: the vCPUs this VM makes from now on have SVE, at every
	 * vector length the host offers (KVM: KVM_ARM_VCPU_SVE at
	 * KVM_ARM_VCPU_INIT, then KVM_ARM_VCPU_FINALIZE). NULL where the API
	 * cannot.
	 */
	struct hvp_status (*arm64_sve_enable)(struct hvp_vm *vm);
	/*
	 * Lowers the line irq_inject raised where it stays raised until the
	 * VMM lowers it (KVM arm64: KVM_IRQ_LINE, level 0). NULL where an
	 * injection is taken once (x86's KVM_INTERRUPT; HVF, whose pending
	 * state ends with every run).
	 */
	struct hvp_status (*irq_lower)(struct hvp_vcpu *vcpu);
	/*
	 * msi_signal for a message that names its device (arm64: an MSI to an
	 * ITS's GITS_TRANSLATER, data the event; KVM: KVM_MSI_VALID_DEVID).
	 * NULL where the API has no such MSI.
	 */
	struct hvp_status (*msi_signal_devid)(struct hvp_vm *vm, uint64_t addr, uint32_t data, uint32_t devid);
};

/* The backend this build offers for the host OS and architecture, or NULL. */
const struct hvp_backend *hvp_host_backend(void);

const char *hvp_err_name(enum hvp_err e);
const char *hvp_exit_kind_name(enum hvp_exit_kind k);

static inline struct hvp_status hvp_ok(const char *call)
{
	return (struct hvp_status){ HVP_OK, 0, call, -1 };
}

#endif
