/* SPDX-License-Identifier: MIT */
/*
 * Guest memory over time: unmapped, moved, replaced, read-only, never
 * mapped, or pulled from under the guest by the host. The guest's own
 * accesses show what it sees; where an access leaves the guest, this file
 * plays the VMM: it answers the read or absorbs the write and lets the
 * guest go on, as a device model would.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../machine.h"
#include "../truth.h"

#define GPA_A UINT64_C(0x10000000)
#define GPA_B UINT64_C(0x30000000)
#define VALUE_X UINT64_C(0x0123456789abcdef)
#define VALUE_Y UINT64_C(0xfedcba9876543210)
#define VALUE_W UINT64_C(0x5707e0000000d00d)
#define EMULATED_READ UINT64_C(0x3e3e3e3e3e3e3e3e)

/* What the guest did beyond its reports while the VMM emulated its accesses. */
struct emulation {
	unsigned mmio_reads, mmio_writes;
	uint64_t read_addr, write_addr, write_value;
	uint32_t write_size;
};

/*
 * Runs the program to its end, answering every MMIO read with
 * EMULATED_READ and absorbing every MMIO write; stops at anything else.
 */
static void run_emulating(struct hvp_machine *m, struct hvp_vcpu *vcpu, struct hvp_guest_result *all,
			  struct emulation *em)
{
	struct hvp_guest_result r;
	unsigned rounds = 0;

	memset(em, 0, sizeof(*em));
	memset(all, 0, sizeof(*all));
	hvp_guest_run(m, vcpu, &r);
	for (;;) {
		for (unsigned i = 0; i < r.n && all->n < HVP_GUEST_REPORTS_MAX; i++)
			all->value[all->n++] = r.value[i];
		all->last = r.last;
		all->st = r.st;
		all->done = r.done;
		all->done_status = r.done_status;
		if (r.done || r.failed || r.st.err != HVP_OK || r.last.kind != HVP_EXIT_MMIO || ++rounds > 16)
			return;
		if (r.last.write) {
			em->mmio_writes++;
			em->write_addr = r.last.addr;
			em->write_value = r.last.value;
			em->write_size = r.last.size;
		} else {
			em->mmio_reads++;
			em->read_addr = r.last.addr;
		}
		hvp_guest_resume(m, vcpu, &r, EMULATED_READ);
	}
}

/*
 * A run that did not end in the program's final report decides only if it
 * stopped at the guest's access itself (an exit the API chose instead of
 * mmio: that is the answer "no"); a failed run call, or a stop before the
 * access (no reports where some were due), is not evidence.
 */
static int stopped_at_access(struct hvp_ctx *ctx, const struct hvp_guest_result *r, unsigned reports,
			     uint64_t gpa, const char *what)
{
	if (hvp_guest_ok(r) && r->n >= reports && r->st.err == HVP_OK)
		return 0;
	if (r->st.err == HVP_OK && !r->failed &&
	    (r->last.kind == HVP_EXIT_INTERNAL_ERROR || r->last.kind == HVP_EXIT_SHUTDOWN ||
	     r->last.kind == HVP_EXIT_UNKNOWN || (r->last.kind == HVP_EXIT_MMIO && r->last.addr == gpa)))
		return 1;
	hvp_need_guest(ctx, r, reports, what);
	return 0;
}

/* One page (of hvp_page_size) of host memory holding v. */
static uint64_t *page_with(struct hvp_ctx *ctx, uint64_t v)
{
	uint64_t *p = hvp_guest_memory(ctx, hvp_page_size(ctx));
	p[0] = v;
	return p;
}

/* The guest reads one u64 at addr; returns 1 if it read want. */
static int guest_reads(struct hvp_machine *m, unsigned vcpu_id, uint64_t addr, uint64_t want, const char *label)
{
	struct hvp_guest_result r;
	uint64_t got = 0;

	hvp_guest_read_list(m, vcpu_id, &addr, 1, &got, &r);
	hvp_need_guest(m->ctx, &r, 1, label);
	hvp_guest_value(m->ctx, label, got);
	return got == want;
}

/* The guest runs load_store at addr while this file emulates what exits. */
static void guest_load_store(struct hvp_machine *m, unsigned vcpu_id, uint64_t addr, uint64_t v,
			     struct hvp_guest_result *r, struct emulation *em)
{
	uint64_t arg[4] = { addr, v, 0, 0 };
	struct hvp_vcpu *vcpu = hvp_vcpu_start(m, vcpu_id, &hvp_prog_load_store, arg);

	run_emulating(m, vcpu, r, em);
	hvp_vcpu_destroy(m, vcpu);
}

static void run_unmapped_access(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	const uint64_t hole = GPA_A + 0x100000; /* paged for the guest, never mapped */
	struct hvp_guest_result r;
	struct emulation em;

	hvp_map(m, page_with(ctx, VALUE_X), GPA_A, hvp_page_size(ctx), HVP_PROT_RWX);
	guest_load_store(m, 0, hole, VALUE_W, &r, &em);
	if (!stopped_at_access(ctx, &r, 2, hole, "the accesses to the never-mapped address")) {
		hvp_guest_value(ctx, "read of the never-mapped address", r.value[0]);
		ctx->f->guest_verified = true;
	}
	if (ctx->f->guest_verified && r.value[0] == EMULATED_READ && em.read_addr == hole && em.write_addr == hole &&
	    em.write_value == VALUE_W)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "a read and a write at never-mapped 0x%" PRIx64 " each exited as mmio with that address "
				   "(the write with its value); the guest went on with the VMM's answer", hole);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "the access to never-mapped 0x%" PRIx64 " ended in a %s exit (addr 0x%" PRIx64 ", %u mmio reads, %u writes)",
				   hole, hvp_exit_kind_name(r.last.kind), r.last.addr, em.mmio_reads, em.mmio_writes);
}

const struct hvp_probe probe_mem_unmapped_access = {
	.id = "mem.unmapped_access",
	.question = "Does a guest access to a never-mapped address exit to the VMM as MMIO with that address?",
	.timeout_s = 10,
	.run = run_unmapped_access,
};

static void run_unmap_then_access(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	uint64_t *mem = page_with(ctx, VALUE_X);
	struct hvp_guest_result r;
	struct emulation em;
	int before;

	hvp_map(m, mem, GPA_A, hvp_page_size(ctx), HVP_PROT_RWX);
	struct hvp_status st;

	before = guest_reads(m, 0, GPA_A, VALUE_X, "read before unmap");
	st = hvp_unmap_try(m, GPA_A, hvp_page_size(ctx));
	hvp_need_ok(ctx, st, "the unmap");
	hvp_decisive(ctx, st.evidence);
	guest_load_store(m, 1, GPA_A, VALUE_W, &r, &em);
	ctx->f->guest_verified = !stopped_at_access(ctx, &r, 2, GPA_A, "the accesses after the unmap");
	hvp_guest_value(ctx, "host memory after the guest's write", mem[0]);
	if (before && ctx->f->guest_verified && em.read_addr == GPA_A && em.write_addr == GPA_A && mem[0] == VALUE_X)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "after unmap, the guest's read and write at 0x%" PRIx64 " exited as mmio, and the host "
				   "memory kept its value", GPA_A);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "after unmap: %u mmio reads, %u mmio writes, last exit %s, host memory 0x%" PRIx64
				   " (was 0x%" PRIx64 ")", em.mmio_reads, em.mmio_writes, hvp_exit_kind_name(r.last.kind),
				   mem[0], VALUE_X);
}

const struct hvp_probe probe_mem_unmap_then_access = {
	.id = "mem.unmap_then_access",
	.question = "After an unmap, do the guest's accesses there exit as MMIO while the host memory stays untouched?",
	.timeout_s = 10,
	.run = run_unmap_then_access,
};

static void run_move(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	uint64_t *mem = page_with(ctx, VALUE_X);
	struct hvp_guest_result r;
	struct emulation em;
	struct hvp_status st;
	int at_a, at_b;

	hvp_map(m, mem, GPA_A, hvp_page_size(ctx), HVP_PROT_RWX);
	at_a = guest_reads(m, 0, GPA_A, VALUE_X, "read at the old address");
	hvp_unmap(m, GPA_A, hvp_page_size(ctx));
	st = hvp_map_try(m, mem, GPA_B, hvp_page_size(ctx), HVP_PROT_RWX);
	hvp_decisive(ctx, st.evidence);
	if (st.err != HVP_OK) {
		if (!hvp_refused_as(st, HVP_REFUSALS))
			hvp_not_evidence(ctx, st, "mapping the memory at its new address");
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "mapping the memory at its new address was refused: %s %s",
				   st.call, ctx->be->native_name(st.native));
		return;
	}
	at_b = guest_reads(m, 1, GPA_B, VALUE_X, "read at the new address");
	guest_load_store(m, 2, GPA_A, VALUE_W, &r, &em);
	ctx->f->guest_verified = !stopped_at_access(ctx, &r, 2, GPA_A, "the accesses at the old address");
	if (at_a && at_b && ctx->f->guest_verified && em.read_addr == GPA_A)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "the memory moved from 0x%" PRIx64 " to 0x%" PRIx64
				   " while the VM lived; the guest found it there, and the old address exits as mmio",
				   GPA_A, GPA_B);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "after the move: read at the new address %s; old address: %u mmio reads",
				   at_b ? "right" : "wrong", em.mmio_reads);
}

const struct hvp_probe probe_mem_move = {
	.id = "mem.move",
	.question = "Can host memory be moved to a new guest address while the VM lives, the old address then exiting?",
	.timeout_s = 10,
	.run = run_move,
};

static void run_remap_new_host_memory(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	struct hvp_status st;
	int first, second;

	hvp_map(m, page_with(ctx, VALUE_X), GPA_A, hvp_page_size(ctx), HVP_PROT_RWX);
	first = guest_reads(m, 0, GPA_A, VALUE_X, "read of the first memory");
	hvp_unmap(m, GPA_A, hvp_page_size(ctx));
	st = hvp_map_try(m, page_with(ctx, VALUE_Y), GPA_A, hvp_page_size(ctx), HVP_PROT_RWX);
	hvp_decisive(ctx, st.evidence);
	if (st.err != HVP_OK) {
		if (!hvp_refused_as(st, HVP_REFUSALS))
			hvp_not_evidence(ctx, st, "mapping new memory at the same address");
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "mapping new memory at the same address was refused: %s %s",
				   st.call, ctx->be->native_name(st.native));
		return;
	}
	second = guest_reads(m, 1, GPA_A, VALUE_Y, "read of the new memory");
	ctx->f->guest_verified = true; /* both reads were reported (guest_reads ends the probe otherwise) */
	if (first && second)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "after unmap and a map of other host memory at 0x%" PRIx64 ", the guest read the new contents",
				   GPA_A);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the guest did not read the new contents at 0x%" PRIx64
				   " (it may still see the old memory)", GPA_A);
}

const struct hvp_probe probe_mem_remap_new_host_memory = {
	.id = "mem.remap_new_host_memory",
	.question = "After an unmap, does other host memory mapped at the same guest address show its own contents?",
	.timeout_s = 10,
	.run = run_remap_new_host_memory,
};

static void run_readonly(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	uint64_t *mem = page_with(ctx, VALUE_X);
	struct hvp_guest_result r;
	struct emulation em;
	struct hvp_status st;

	st = hvp_map_try(m, mem, GPA_A, hvp_page_size(ctx), HVP_PROT_READ | HVP_PROT_EXEC);
	hvp_decisive(ctx, st.evidence);
	if (st.err != HVP_OK) {
		if (!hvp_refused_as(st, HVP_REFUSALS))
			hvp_not_evidence(ctx, st, "the read-only map");
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "a read-only map was refused: %s %s", st.call,
				   ctx->be->native_name(st.native));
		return;
	}
	guest_load_store(m, 0, GPA_A, VALUE_W, &r, &em);
	ctx->f->guest_verified = !stopped_at_access(ctx, &r, 2, GPA_A, "the read, write and read of the read-only page");
	if (ctx->f->guest_verified) {
		hvp_guest_value(ctx, "read before the write", r.value[0]);
		hvp_guest_value(ctx, "read after the write", r.value[1]);
	}
	hvp_guest_value(ctx, "written value seen by the VMM", em.write_value);
	if (ctx->f->guest_verified && r.value[0] == VALUE_X && r.value[1] == VALUE_X && em.mmio_writes == 1 &&
	    em.write_addr == GPA_A && em.write_value == VALUE_W && mem[0] == VALUE_X)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "the guest read the read-only page; its write exited as mmio with address 0x%" PRIx64
				   " and value 0x%" PRIx64 ", the memory stayed unchanged and the guest went on",
				   em.write_addr, em.write_value);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "read-only page: %u reports, %u mmio writes (addr 0x%" PRIx64 "), memory now 0x%" PRIx64
				   ", last exit %s", r.n, em.mmio_writes, em.write_addr, mem[0], hvp_exit_kind_name(r.last.kind));
}

const struct hvp_probe probe_mem_readonly = {
	.id = "mem.readonly",
	.question = "On a read-only map, does the guest read, its write exit with address and value, the memory stay unchanged and the guest go on?",
	.timeout_s = 10,
	.run = run_readonly,
};

static void run_host_unmapped_while_mapped(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	uint64_t *mem = page_with(ctx, VALUE_X), addr = GPA_A;
	uint64_t arg[4] = { HVP_SYS_DATA, 1, 0, 0 };
	struct hvp_guest_result r;
	struct hvp_vcpu *vcpu;

	hvp_map(m, mem, GPA_A, hvp_page_size(ctx), HVP_PROT_RWX);
	memcpy(m->sys + HVP_SYS_DATA - HVP_SYS_GPA, &addr, sizeof(addr));
	/*
	 * Everything the run needs is set up before the munmap, so that no later
	 * mmap (a vCPU's run area, say) can reuse the address the slot still names.
	 */
	vcpu = hvp_vcpu_start(m, 0, &hvp_prog_load_list, arg);
	hvp_guest_memory_free(mem, hvp_page_size(ctx));
	hvp_guest_run(m, vcpu, &r);
	hvp_vcpu_destroy(m, vcpu);
	hvp_decisive(ctx, r.st.evidence);
	ctx->f->guest_verified = false; /* the guest's access is what failed: nothing for it to prove */
	if (r.st.err != HVP_OK && !hvp_refused_as(r.st, HVP_CLASS(HVP_ERR_FAULT) | HVP_CLASS(HVP_ERR_GENERIC)))
		hvp_not_evidence(ctx, r.st, "the run with the host memory gone");
	if (r.st.err != HVP_OK)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "the guest's access to memory the host unmapped made %s fail with %s; hvprobe went on",
				   r.st.call, ctx->be->native_name(r.st.native));
	else if (stopped_at_access(ctx, &r, 1, GPA_A, "the access to memory the host unmapped"))
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "the guest's access ended in a %s exit at 0x%" PRIx64,
				   hvp_exit_kind_name(r.last.kind), r.last.addr);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "the guest read 0x%" PRIx64 " from memory the host had unmapped, with no error",
				   r.n ? r.value[0] : 0);
}

const struct hvp_probe probe_mem_host_unmapped_while_mapped = {
	.id = "mem.host_unmapped_while_mapped",
	.question = "When the host unmaps memory still mapped into the guest, does the guest's access fail cleanly?",
	.timeout_s = 10,
	.run = run_host_unmapped_while_mapped,
};
