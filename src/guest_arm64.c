/* SPDX-License-Identifier: MIT */
/*
 * arm64 guest setup: programs run at EL1 (or EL0) with the MMU on, through
 * identity stage-1 tables built in the system region over every range a
 * probe maps, as x86_64 pages its guests. With the MMU off every data
 * access would be Device-nGnRnE: exclusives (rendezvous) are then
 * IMPLEMENTATION DEFINED, unaligned accesses fault, and what the host wrote
 * through its caches need not be what the guest reads. Here the guest's
 * memory is Normal write-back, inner shareable, as the host's is.
 *
 * Tables: 4 KiB granule, 48-bit addresses (TTBR0_EL1 only), 2 MiB blocks
 * over the 2 MiB-aligned hull of each range a probe maps (whatever the
 * host's page: stage 1 is the guest's own), except two blocks set up once:
 * the system region, in 4 KiB pages so that its code can be executable at
 * EL1 and EL0 (memory EL0 may write never is, at EL1) while its data and
 * stacks are writable; and the report page's block, Device-nGnRnE, mapped
 * at stage 1 but never at stage 2, so that every store there is a data
 * abort with a valid syndrome that exits to the VMM.
 */
#include <string.h>

#include "guest.h"

#define PAGE_4K 0x1000ull
#define BLOCK_2M (2ull << 20)
/* The widest address a 4 KiB granule translates to (FEAT_LPA2 aside): input and output. */
#define IDENTITY_LIMIT (1ull << 48)
#define TABLE_ENTRIES 512
#define TTBR0 HVP_SYS_PML4 /* the top-level table: the page x86_64 roots its paging at */

/* Stage-1 descriptors (VMSAv8-64, 4 KiB granule). */
#define DESC_VALID (1ull << 0)
#define DESC_TABLE (1ull << 1)           /* levels 0-2: a next-level table (clear: a block) */
#define DESC_PAGE (1ull << 1)            /* level 3: a page */
#define DESC_ATTR(i) ((uint64_t)(i) << 2) /* AttrIndx: the MAIR_EL1 byte */
#define DESC_EL0 (1ull << 6)             /* AP[1]: EL0 may access */
#define DESC_RO (1ull << 7)              /* AP[2]: read-only */
#define DESC_INNER_SHAREABLE (3ull << 8)
#define DESC_AF (1ull << 10)             /* accessed: no Access flag fault on first use */
#define DESC_PXN (1ull << 53)
#define DESC_UXN (1ull << 54)
#define DESC_ADDR 0x0000fffffffff000ull

#define ATTR_NORMAL 0 /* MAIR_EL1 attribute indexes */
#define ATTR_DEVICE 1
#define NORMAL (DESC_VALID | DESC_ATTR(ATTR_NORMAL) | DESC_EL0 | DESC_INNER_SHAREABLE | DESC_AF)
#define RAM (NORMAL | DESC_PXN | DESC_UXN)          /* read, write; never executed */
#define CODE (NORMAL | DESC_PAGE | DESC_RO)         /* read and execute, at EL1 and EL0 */
#define TABLES ((NORMAL & ~DESC_EL0) | DESC_PAGE | DESC_RO | DESC_PXN | DESC_UXN) /* read at EL1 only */
#define DEVICE (DESC_VALID | DESC_ATTR(ATTR_DEVICE) | DESC_EL0 | DESC_AF | DESC_PXN | DESC_UXN)
#define REPORT_BLOCK ((HVP_MMIO_BASE & ~(BLOCK_2M - 1)) | DEVICE)

/* MAIR_EL1: attribute 0 Normal, inner and outer write-back, read- and write-allocate; 1 Device-nGnRnE. */
#define MAIR_VALUE (0xffull << (8 * ATTR_NORMAL) | 0x00ull << (8 * ATTR_DEVICE))
/*
 * TCR_EL1: TTBR0 walks 48-bit addresses (T0SZ 16) in 4 KiB granules (TG0
 * 0), from write-back inner-shareable tables (IRGN0, ORGN0 1; SH0 3);
 * TTBR1 walks are off (EPD1; T1SZ and TG1 as TTBR0's, so that no field
 * holds a reserved value); IPS 48 bits, which a backend narrows to the
 * vCPU's PARange.
 */
#define TCR_VALUE (16ull | 1ull << 8 | 1ull << 10 | 3ull << 12 | 0ull << 14 | 16ull << 16 | 1ull << 23 | \
		   2ull << 30 | 5ull << 32)
/*
 * SCTLR_EL1: M (MMU on), C and I (data and instruction caches), SA and SA0
 * (stack alignment checks), nTWI and nTWE (EL0's WFI and WFE not trapped to
 * EL1), SPAN (PSTATE.PAN left alone on exceptions: the vectors store to the
 * report page, which EL0 may access), and the bits that are RES1 in
 * ARMv8.0 (EOS, TSCXT, EIS, nTLSMD, LSMAOE): every exception entry and
 * return is context synchronizing, as there. A (alignment), WXN and the
 * endianness bits are 0.
 */
#define SCTLR_VALUE (1ull << 0 | 1ull << 2 | 1ull << 3 | 1ull << 4 | 1ull << 11 | 1ull << 12 | 1ull << 16 | \
		     1ull << 18 | 1ull << 20 | 1ull << 22 | 1ull << 23 | 1ull << 28 | 1ull << 29)

#define PSTATE_DAIF (0xfull << 6) /* debug, SError, IRQ and FIQ masked */
#define PSTATE_EL1H 0x5ull
#define PSTATE_EL0T 0x0ull
#define PSTATE_MODE 0xfull
#define CURRENT_EL_MASK 0xcull  /* CurrentEL and SPSR_EL1.M[3:2]: the exception level */
#define ESR_EC_SVC64 0x15u
#define ESR_ISS_IMM16 0xffffu

extern const uint8_t hvp_code_vectors_start[], hvp_code_vectors_end[];

HVP_PROGRAM(report_args);
HVP_PROGRAM(load2);
HVP_PROGRAM(load_store);
HVP_PROGRAM(wait_flag);
HVP_PROGRAM(load_list);
HVP_PROGRAM(store_pages);
HVP_PROGRAM(handshake);
HVP_PROGRAM(rendezvous);
HVP_PROGRAM(hypercall_hvc);
HVP_PROGRAM(loop_mmio_write);
HVP_PROGRAM(loop_mmio_read);
HVP_PROGRAM(loop_hlt);
HVP_PROGRAM(timed_hvc);
HVP_PROGRAM(timed_alu);
HVP_PROGRAM(tsc_pair);
HVP_PROGRAM(store_writeback);
HVP_PROGRAM(idregs_report);
HVP_NO_PROGRAM(hypercall_vmcall);
HVP_NO_PROGRAM(hypercall_vmmcall);
HVP_NO_PROGRAM(loop_pio_out);
HVP_NO_PROGRAM(loop_pio_in);
HVP_NO_PROGRAM(timed_cpuid);
HVP_NO_PROGRAM(timed_vmcall);
HVP_NO_PROGRAM(timed_vmmcall);
HVP_NO_PROGRAM(timed_rdmsr);
HVP_NO_PROGRAM(cpuid_report);
HVP_NO_PROGRAM(rdmsr_report);
HVP_NO_PROGRAM(real_mode16);
HVP_PROGRAM(irq_wait);
HVP_NO_PROGRAM(doorbell_pio);
HVP_PROGRAM(doorbell_mmio);
HVP_PROGRAM(state_check);

static uint64_t *table_at(uint8_t *sys, uint64_t gpa)
{
	return (uint64_t *)(sys + gpa - HVP_SYS_GPA);
}

/*
 * A new entry is stored last and whole, released after what it points at:
 * a vCPU running on another thread may walk the tables at any time.
 */
static void entry_set(uint64_t *entry, uint64_t value)
{
	__atomic_store_n(entry, value, __ATOMIC_RELEASE);
}

/* The next-level table that entry points at, made from the pool if there is none; NULL when the pool is used up. */
static uint64_t *next_table(uint8_t *sys, struct hvp_guest_paging *pg, uint64_t *entry)
{
	uint64_t gpa;

	if (!(*entry & DESC_VALID)) {
		if (pg->pages_used == HVP_SYS_PT_POOL_PAGES)
			return NULL;
		gpa = HVP_SYS_PT_POOL + PAGE_4K * pg->pages_used++;
		memset(table_at(sys, gpa), 0, PAGE_4K);
		entry_set(entry, gpa | DESC_VALID | DESC_TABLE);
	}
	return table_at(sys, *entry & DESC_ADDR);
}

/* The level-2 entry (2 MiB) that translates va, its tables made as needed; NULL when the pool is used up. */
static uint64_t *block_entry(uint8_t *sys, struct hvp_guest_paging *pg, uint64_t va)
{
	uint64_t *l1 = next_table(sys, pg, &table_at(sys, TTBR0)[(va >> 39) % TABLE_ENTRIES]);
	uint64_t *l2 = l1 ? next_table(sys, pg, &l1[(va >> 30) % TABLE_ENTRIES]) : NULL;

	return l2 ? &l2[(va >> 21) % TABLE_ENTRIES] : NULL;
}

/*
 * A page of the system region as the guest sees it: code read-only and
 * executable; the translation tables read-only at EL1 and out of EL0's
 * reach, so that a stray store is an exception the vectors report, not a
 * guest that translates nothing any more, its vectors included; the rest
 * (data, stacks) read-write and never executed.
 */
static uint64_t system_page(uint64_t gpa)
{
	uint64_t vectors_end = HVP_SYS_VECTORS + (uint64_t)(hvp_code_vectors_end - hvp_code_vectors_start);

	if ((gpa + PAGE_4K > HVP_SYS_VECTORS && gpa < vectors_end) ||
	    (gpa >= HVP_SYS_CODE && gpa < HVP_SYS_CODE + HVP_SYS_CODE_SIZE))
		return gpa | CODE;
	if (gpa == TTBR0 || (gpa >= HVP_SYS_PT_POOL && gpa < HVP_SYS_PT_POOL + PAGE_4K * HVP_SYS_PT_POOL_PAGES))
		return gpa | TABLES;
	return gpa | RAM | DESC_PAGE;
}

static void map_system_region(uint8_t *sys, struct hvp_guest_paging *pg)
{
	uint64_t *block = block_entry(sys, pg, HVP_SYS_GPA), *pages = block ? next_table(sys, pg, block) : NULL;

	for (unsigned i = 0; pages && i < TABLE_ENTRIES; i++)
		entry_set(&pages[i], system_page(HVP_SYS_GPA + PAGE_4K * i));
}

void hvp_guest_arch_init(uint8_t *sys, struct hvp_guest_paging *pg)
{
	size_t len = (size_t)(hvp_code_vectors_end - hvp_code_vectors_start);
	char *vectors = (char *)sys + HVP_SYS_VECTORS - HVP_SYS_GPA;
	uint64_t *report;

	memcpy(vectors, hvp_code_vectors_start, len);
	/* Fetched through the instruction cache: what the host wrote must reach it. */
	__builtin___clear_cache(vectors, vectors + len);
	memset(table_at(sys, TTBR0), 0, PAGE_4K);
	pg->pages_used = 0;
	/* Three tables from an empty pool of 256: nothing here can fail. */
	map_system_region(sys, pg);
	if ((report = block_entry(sys, pg, HVP_MMIO_BASE)))
		entry_set(report, REPORT_BLOCK);
}

uint64_t hvp_guest_arch_identity_limit(void)
{
	return IDENTITY_LIMIT;
}

/*
 * An entry already there stays: the system region's pages and the report
 * page's Device block are never replaced by a Normal block, and a live
 * block is never changed, since the guest's TLBs may hold it and nothing
 * the host does reaches them (a window onto another address at the same
 * place is refused).
 */
static int block_set(uint64_t *entry, uint64_t value)
{
	uint64_t old = *entry;

	if (!(old & DESC_VALID)) {
		entry_set(entry, value);
		return 0;
	}
	return old == value || (old & DESC_TABLE) || old == REPORT_BLOCK ? 0 : -1;
}

int hvp_guest_arch_map(uint8_t *sys, struct hvp_guest_paging *pg, uint64_t va, uint64_t gpa, uint64_t size)
{
	uint64_t first = va & ~(BLOCK_2M - 1), last = va + (size ? size - 1 : 0);
	uint64_t out = gpa & ~(BLOCK_2M - 1);

	if (last < va || last >= IDENTITY_LIMIT || ((va ^ gpa) & (BLOCK_2M - 1)) || gpa >= IDENTITY_LIMIT ||
	    last - va >= IDENTITY_LIMIT - gpa)
		return -1;
	for (uint64_t a = first; a <= last; a += BLOCK_2M, out += BLOCK_2M) {
		uint64_t *entry = block_entry(sys, pg, a);
		if (!entry || block_set(entry, out | RAM) < 0)
			return -1;
	}
	return 0;
}

const struct hvp_program *hvp_guest_arch_hypercall(const char **insn)
{
	*insn = "HVC #0";
	return &hvp_prog_hypercall_hvc;
}

const struct hvp_program *hvp_guest_arch_timed_hypercall(void)
{
	return &hvp_prog_timed_hvc;
}

void hvp_guest_arch_boot(struct hvp_boot *boot, uint64_t entry, const uint64_t arg[4])
{
	memset(boot, 0, sizeof(*boot));
	boot->entry = entry;
	boot->stack = HVP_SYS_STACK_TOP;
	boot->page_table = TTBR0;
	boot->mair_el1 = MAIR_VALUE;
	boot->tcr_el1 = TCR_VALUE;
	boot->sctlr_el1 = SCTLR_VALUE;
	boot->vbar_el1 = HVP_SYS_VECTORS;
	for (int i = 0; i < 4; i++)
		boot->arg[i] = arg ? arg[i] : 0;
}

void hvp_guest_arch_regs(const struct hvp_boot *boot, struct hvp_regs *regs)
{
	memset(regs, 0, sizeof(*regs));
	regs->pc = boot->entry;
	regs->sp = boot->stack;
	regs->flags = PSTATE_DAIF | (boot->ring == 3 ? PSTATE_EL0T : PSTATE_EL1H);
	for (unsigned i = 0; i < 4; i++)
		regs->gpr[i] = boot->arg[i];
}

static int ring_of_el(uint64_t el)
{
	return el == 1 ? 0 : el == 0 ? 3 : HVP_RING_OTHER;
}

/*
 * The ring report (guest_arm64.S, RING) is CurrentEL read at EL1 in the
 * lower half (nothing but a level other than EL0 in bits 3:2, which no
 * SPSR_EL1 of an EL0 caller has) below the low half of SCTLR_EL1, or from
 * EL0 the vectors' answer to SVC #HVP_SVC_LEVEL: ESR_EL1 saying so in the
 * upper half and SPSR_EL1 with mode EL0t in the lower.
 */
int hvp_guest_arch_ring(uint64_t word)
{
	uint32_t high = (uint32_t)(word >> 32), low = (uint32_t)word;

	if (low && !(low & ~CURRENT_EL_MASK)) /* CurrentEL, SCTLR_EL1 above it */
		return ring_of_el(low >> 2);
	/* ESR_EL1 above SPSR_EL1 */
	if (high >> 26 != ESR_EC_SVC64 || (high & ESR_ISS_IMM16) != HVP_SVC_LEVEL || (low & PSTATE_MODE) != PSTATE_EL0T)
		return -1;
	return 3;
}

/* timed_alu's block in the same words (guest_arm64.S, ALU_BODY and the loop). */
void hvp_guest_arch_alu_on_host(uint64_t iterations)
{
	uint64_t n = iterations, acc = 0;

	if (n == 0)
		return;
	__asm__ volatile("1:\n\t"
			 "add %0, %0, %2\n\tadd %0, %0, %2\n\tadd %0, %0, %2\n\tadd %0, %0, %2\n\t"
			 "add %0, %0, %2\n\tadd %0, %0, %2\n\tadd %0, %0, %2\n\tadd %0, %0, %2\n\t"
			 "subs %1, %1, #1\n\tb.ne 1b"
			 : "+r"(acc), "+r"(n)
			 : "r"((uint64_t)1)
			 : "cc");
}

unsigned hvp_guest_arch_arg_reg(unsigned i)
{
	return i & 3; /* x0-x3 */
}

enum hvp_guest_channel hvp_guest_arch_channel(const struct hvp_exit *x)
{
	if (x->kind != HVP_EXIT_MMIO || !x->write || x->size != 8)
		return HVP_CHANNEL_NONE;
	switch (x->addr) {
	case HVP_MMIO_REPORT: return HVP_CHANNEL_REPORT;
	case HVP_MMIO_DONE: return HVP_CHANNEL_DONE;
	case HVP_MMIO_FAIL: return HVP_CHANNEL_FAIL;
	case HVP_MMIO_PAUSE: return HVP_CHANNEL_PAUSE;
	default: return HVP_CHANNEL_NONE;
	}
}

/* Device-nGnRnE blocks, as the report page's: an interrupt controller's registers. */
int hvp_guest_arch_map_device(uint8_t *sys, struct hvp_guest_paging *pg, uint64_t va, uint64_t gpa, uint64_t size)
{
	uint64_t first = va & ~(BLOCK_2M - 1), last = va + (size ? size - 1 : 0);
	uint64_t out = gpa & ~(BLOCK_2M - 1);

	if (last < va || last >= IDENTITY_LIMIT || ((va ^ gpa) & (BLOCK_2M - 1)) || gpa >= IDENTITY_LIMIT)
		return -1;
	for (uint64_t a = first; a <= last; a += BLOCK_2M, out += BLOCK_2M) {
		uint64_t *entry = block_entry(sys, pg, a);
		if (!entry || block_set(entry, out | DEVICE) < 0)
			return -1;
	}
	return 0;
}
