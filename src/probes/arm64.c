/* SPDX-License-Identifier: MIT */
/*
 * Where the arm64 API differs from x86's: a VM's guest-physical width is
 * chosen when it is created, a vCPU must be initialized before it runs, and
 * an access whose syndrome does not describe it cannot be emulated.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../machine.h"
#include "../truth.h"

#define VALUE UINT64_C(0xa64a64a600000001)
#define NISV_GPA UINT64_C(0x0a100000) /* never mapped, near the report page */

/*
 * A guest in vm reads the page the VMM mapped at gpa (outside the machine
 * helpers, so paged for the guest here); returns 1 when it read VALUE. A
 * guest that reports nothing ends the probe: it proves nothing.
 */
static int guest_reads_at(struct hvp_ctx *ctx, struct hvp_vm *vm, uint64_t gpa)
{
	struct hvp_machine m = { .ctx = ctx, .vm = vm };
	uint64_t got = 0, page = hvp_page_size(ctx), addr = gpa;
	struct hvp_guest_result r;

	snprintf(m.label, sizeof(m.label), "VM wide");
	m.sys = hvp_guest_memory(ctx, HVP_SYS_SIZE);
	hvp_guest_arch_init(m.sys, &m.paging);
	hvp_map(&m, m.sys, HVP_SYS_GPA, HVP_SYS_SIZE, HVP_PROT_RWX);
	if (gpa + page - 1 < hvp_guest_arch_identity_limit())
		hvp_page(&m, gpa, page);
	else
		addr = hvp_window(&m, gpa, page);
	hvp_guest_read_list(&m, 0, &addr, 1, &got, &r);
	hvp_need_guest(ctx, &r, 1, "the guest's read of the last page inside");
	hvp_guest_value(ctx, "read of the last page inside", got);
	return got == VALUE;
}

/* What says no to an address or width past the limit: a bad argument, or an address beyond what the VM has. */
#define WIDTH_REFUSALS                                                                          \
	(HVP_CLASS(HVP_ERR_INVALID) | HVP_CLASS(HVP_ERR_FAULT) | HVP_CLASS(HVP_ERR_UNSUPPORTED) | \
	 HVP_CLASS(HVP_ERR_GENERIC))

/*
 * Asks for a VM one bit wider than offered, with no other VM alive: HVF
 * allows one VM per process, so a VM still alive would have it refused as
 * busy, which says nothing of the width. A refusal of another kind than
 * WIDTH_REFUSALS is not the answer either.
 */
static struct hvp_status wider_vm(struct hvp_ctx *ctx, unsigned bits)
{
	struct hvp_vm *wider;
	struct hvp_status st = ctx->be->vm_create_sized(ctx->hv, bits, &wider);

	hvp_record(ctx, st, "IPA size %u bits (one more than offered)", bits);
	if (st.err == HVP_OK)
		hvp_record(ctx, ctx->be->vm_destroy(wider), "IPA size %u bits", bits);
	else if (!hvp_refused_as(st, WIDTH_REFUSALS))
		hvp_not_evidence(ctx, st, "the %u-bit VM", bits);
	return st;
}

static void run_ipa_size(struct hvp_ctx *ctx)
{
	unsigned max = ctx->be->gpa_bits_max ? ctx->be->gpa_bits_max(ctx->hv) : 0;
	const uint64_t page = hvp_page_size(ctx);
	uint64_t *mem = hvp_guest_memory(ctx, page), top;
	struct hvp_vm *vm;
	struct hvp_status st, inside, outside;
	int i, read;

	if (!ctx->be->vm_create_sized || max == 0) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "the API offers no choice of guest-physical width");
		return;
	}
	top = 1ull << max;
	mem[0] = VALUE;
	st = ctx->be->vm_create_sized(ctx->hv, max, &vm);
	i = hvp_record(ctx, st, "IPA size %u bits (the largest offered)", max);
	HVP_ASSERT(ctx, st.err == HVP_OK, "a VM of the largest IPA size was refused: %s %s", st.call,
		   ctx->be->native_name(st.native));
	/* The last page below the top and the first above it: pages of hvprobe's size, so aligned for the API. */
	inside = ctx->be->mem_map(vm, mem, top - page, page, HVP_PROT_RWX);
	hvp_record(ctx, inside, "gpa=0x%" PRIx64 " (the last page inside)", top - page);
	if (inside.err != HVP_OK && !hvp_refused_as(inside, HVP_REFUSALS | HVP_CLASS(HVP_ERR_FAULT)))
		hvp_not_evidence(ctx, inside, "the map just below 2^%u", max);
	outside = ctx->be->mem_map(vm, mem, top, page, HVP_PROT_RWX);
	i = hvp_record(ctx, outside, "gpa=0x%" PRIx64 " (the first page outside)", top);
	if (outside.err != HVP_OK && !hvp_refused_as(outside, WIDTH_REFUSALS))
		hvp_not_evidence(ctx, outside, "the map at 2^%u", max);
	read = inside.err == HVP_OK && guest_reads_at(ctx, vm, top - page);
	ctx->f->guest_verified = inside.err == HVP_OK; /* the guest's read was reported, or the probe ended */
	st = ctx->be->vm_destroy(vm);
	hvp_record(ctx, st, "IPA size %u bits, before a wider one is asked for", max);
	hvp_need_ok(ctx, st, "destroying the VM before asking for a wider one");
	st = wider_vm(ctx, max + 1);
	hvp_decisive(ctx, i);
	if (read && outside.err != HVP_OK && st.err != HVP_OK)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "a VM of %u bits (the limit) ran a guest that read the page just "
				   "below 2^%u; a map at 2^%u was refused (%s) and a %u-bit VM too (%s)", max, max, max,
				   ctx->be->native_name(outside.native), max + 1, ctx->be->native_name(st.native));
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "at %u bits: the last page inside %s%s, the first outside %s, a "
				   "%u-bit VM %s", max, inside.err == HVP_OK ? "mapped" : "refused",
				   inside.err == HVP_OK && !read ? " but the guest read another value there" : "",
				   outside.err == HVP_OK ? "mapped" : "refused", max + 1, st.err == HVP_OK ? "created" : "refused");
}

const struct hvp_probe probe_arm64_ipa_size = {
	.id = "arm64.ipa_size",
	.question = "Can a VM be created with the largest IPA size offered, its last page used and the next one refused?",
	.timeout_s = 20,
	.arch = "arm64",
	.run = run_ipa_size,
};

/* Runs store_writeback into never-mapped memory; returns the run's status, the exit in *r. */
static struct hvp_status run_store_writeback(struct hvp_ctx *ctx, int to_user, struct hvp_guest_result *r)
{
	struct hvp_machine *m = hvp_machine_create(ctx, to_user ? "VM with cap" : "VM");
	uint64_t arg[4] = { NISV_GPA, VALUE, 0, 0 };
	struct hvp_vcpu *vcpu;

	if (to_user) {
		struct hvp_status st = ctx->be->arm64_nisv_to_user(m->vm);
		hvp_record(ctx, st, "%s", m->label);
		if (st.err != HVP_OK)
			return st;
	}
	vcpu = hvp_vcpu_start(m, 0, &hvp_prog_store_writeback, arg);
	hvp_guest_run(m, vcpu, r);
	return r->st;
}

static void run_nisv(struct hvp_ctx *ctx)
{
	struct hvp_guest_result plain, opted;
	struct hvp_status st;

	if (!ctx->be->arm64_nisv_to_user) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "the API has no way to see such accesses");
		return;
	}
	run_store_writeback(ctx, 0, &plain);
	memset(&opted, 0, sizeof(opted));
	st = run_store_writeback(ctx, 1, &opted);
	if (st.err != HVP_OK && opted.exits == 0) { /* the opt-in itself was refused: no guest ran */
		hvp_need_refusal(ctx, st, HVP_CLASS(HVP_ERR_UNSUPPORTED) | HVP_CLASS(HVP_ERR_INVALID),
				 "asking for such accesses to exit");
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the API refused to send such accesses to the VMM: %s %s",
				   st.call, ctx->be->native_name(st.native));
		return;
	}
	hvp_decisive(ctx, opted.st.evidence);
	/*
	 * The guest's own store produced the exit: an exit at its address is
	 * the guest's report here, as every arm64 report is a store that exits.
	 */
	ctx->f->guest_verified = st.err == HVP_OK && opted.last.kind == HVP_EXIT_MMIO && opted.last.addr == NISV_GPA;
	if (ctx->f->guest_verified && opted.last.size == 0)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "with the capability the store exited to the VMM as NISV at "
				   "0x%" PRIx64 " (ISS 0x%" PRIx64 "); without it the run %s", opted.last.addr,
				   opted.last.native_detail,
				   plain.st.err != HVP_OK ? ctx->be->native_name(plain.st.native) : "went on");
	else if (st.err != HVP_OK && !hvp_refused_as(st, HVP_REFUSALS | HVP_CLASS(HVP_ERR_FAULT)))
		hvp_not_evidence(ctx, st, "the run with the capability");
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "with the capability the store ended in %s (%s exit, size %u, "
				   "addr 0x%" PRIx64 ")", ctx->be->native_name(st.native), hvp_exit_kind_name(opted.last.kind),
				   opted.last.size, opted.last.addr);
}

const struct hvp_probe probe_arm64_nisv = {
	.id = "arm64.nisv",
	.question = "Does a store whose syndrome cannot describe it (write-back) exit to the VMM once asked (NISV), "
		    "and what does run do without?",
	.timeout_s = 20,
	.arch = "arm64",
	.run = run_nisv,
};

static void run_vcpu_init_required(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	struct hvp_guest_result r;
	struct hvp_vcpu *vcpu;
	struct hvp_exit x;
	uint64_t arg[4] = { VALUE, 0, 0, 0 };
	struct hvp_status st = ctx->be->vcpu_create(m->vm, 0, &vcpu);
	int i;

	if (strcmp(ctx->be->name, "kvm") != 0) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "not applicable: %s vCPUs need no initialization call",
				   ctx->be->name);
		return;
	}
	hvp_record(ctx, st, "VM vcpu 0, not initialized");
	HVP_ASSERT(ctx, st.err == HVP_OK, "creating the vCPU failed");
	st = ctx->be->vcpu_run(vcpu, &x);
	i = hvp_record(ctx, st, "run before initialization");
	hvp_decisive(ctx, i);
	/* KVM refuses an uninitialized vCPU's run with ENOEXEC (an invalid state); any other failure answers nothing. */
	if (st.err != HVP_OK)
		hvp_need_refusal(ctx, st, HVP_CLASS(HVP_ERR_INVALID), "the run before initialization");
	HVP_ASSERT(ctx, hvp_vcpu_boot_try(m, vcpu, 0, &hvp_prog_report_args, arg, 0).err == HVP_OK,
		   "initializing the vCPU failed");
	hvp_guest_run(m, vcpu, &r);
	hvp_need_guest(ctx, &r, 2, "the guest after initialization");
	ctx->f->guest_verified = true;
	if (st.err != HVP_OK && r.value[0] == VALUE)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "run before initialization failed with %s; after it the guest "
				   "ran and reported", ctx->be->native_name(st.native));
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "run before initialization %s (%s exit); after it the guest %s",
				   st.err == HVP_OK ? "succeeded" : ctx->be->native_name(st.native), hvp_exit_kind_name(x.kind),
				   r.value[0] == VALUE ? "ran" : "reported another value");
}

const struct hvp_probe probe_arm64_vcpu_init_required = {
	.id = "arm64.vcpu_init_required",
	.question = "Is running a vCPU before it is initialized (KVM_ARM_VCPU_INIT) refused, and does it run after?",
	.timeout_s = 20,
	.arch = "arm64",
	.run = run_vcpu_init_required,
};
