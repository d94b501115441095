/* SPDX-License-Identifier: MIT */
/*
 * Where guest memory may be mapped: how many regions, side by side,
 * overlapping, aliased, misaligned, empty, and how high. Every "works" is a
 * guest reading the region's own known value; every "refused" keeps the
 * native error and checks, through the guest, that the earlier map still
 * works afterwards.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../machine.h"
#include "../truth.h"

#define SPAN_2M UINT64_C(0x200000)
#define BASE_GPA UINT64_C(0x10000000)
#define MANY_MAPS 64

/* A value that names its region: readable in a hex dump. */
static uint64_t region_value(unsigned i)
{
	return 0x6d656d0000000000ull | ((uint64_t)i << 16) | 0xbeef;
}

/*
 * A map the API should refuse: accepted is "no"; refused with one of the
 * classes the question means (classes) is "yes"; anything else is not an
 * answer (an alignment refusal is no proof of an overlap refusal).
 */
static void answer_refusal(struct hvp_ctx *ctx, struct hvp_status st, unsigned classes, const char *what)
{
	ctx->f->guest_verified = false;
	hvp_decisive(ctx, st.evidence);
	if (st.err == HVP_OK)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "%s was accepted (%s: OK)", what, st.call);
	else if (hvp_refused_as(st, classes))
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "%s was refused: %s %s", what, st.call,
				   ctx->be->native_name(st.native));
	else
		hvp_not_evidence(ctx, st, "%s", what);
}

/* Refusal classes: an overlap is an existing object; a bad alignment or size an invalid argument. */
#define OVERLAP_REFUSALS (HVP_CLASS(HVP_ERR_EXISTS) | HVP_CLASS(HVP_ERR_BUSY) | HVP_CLASS(HVP_ERR_GENERIC))
#define ARGUMENT_REFUSALS (HVP_CLASS(HVP_ERR_INVALID) | HVP_CLASS(HVP_ERR_GENERIC))

/* A map the question needs was refused: a refusal of the API is "no"; any other failure ends the probe. */
static void answer_map_refused(struct hvp_ctx *ctx, struct hvp_status st, const char *what)
{
	hvp_decisive(ctx, st.evidence);
	if (!hvp_refused_as(st, HVP_REFUSALS))
		hvp_not_evidence(ctx, st, "%s", what);
	hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "%s was refused: %s %s", what, st.call,
			   ctx->be->native_name(st.native));
}

static void run_many_maps(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	uint64_t addrs[MANY_MAPS], got[MANY_MAPS];
	struct hvp_guest_result r;
	unsigned mapped = 0, n, right = 0;
	struct hvp_status st = hvp_ok("");

	for (unsigned i = 0; i < MANY_MAPS; i++) {
		uint64_t *mem = hvp_guest_memory(ctx, hvp_page_size(ctx));
		mem[0] = region_value(i);
		addrs[i] = BASE_GPA + i * SPAN_2M;
		st = hvp_map_try(m, mem, addrs[i], hvp_page_size(ctx), HVP_PROT_RWX);
		if (st.err != HVP_OK)
			break;
		mapped++;
	}
	if (mapped < MANY_MAPS) {
		char what[32];
		snprintf(what, sizeof(what), "map %u of %d", mapped + 1, MANY_MAPS);
		answer_map_refused(ctx, st, what);
		return;
	}
	n = hvp_guest_read_list(m, 0, addrs, MANY_MAPS, got, &r);
	hvp_need_guest(ctx, &r, MANY_MAPS, "reading every region");
	for (unsigned i = 0; i < n; i++)
		right += got[i] == region_value(i);
	hvp_guest_value(ctx, "first region", got[0]);
	hvp_guest_value(ctx, "last region", got[MANY_MAPS - 1]);
	ctx->f->guest_verified = true;
	if (right == MANY_MAPS)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "%d regions mapped; the guest read each one's own value", MANY_MAPS);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "%d regions mapped, but the guest read only %u of %d values right",
				   MANY_MAPS, right, MANY_MAPS);
}

const struct hvp_probe probe_mem_many_maps = {
	.id = "mem.many_maps",
	.question = "Can one VM map 64 disjoint regions, each read correctly by its guest?",
	.timeout_s = 20,
	.run = run_many_maps,
};

static void run_adjacent_maps(struct hvp_ctx *ctx)
{
	const uint64_t size = 16 * hvp_page_size(ctx), boundary = BASE_GPA + size;
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	uint8_t *a = hvp_guest_memory(ctx, size), *b = hvp_guest_memory(ctx, size);
	uint64_t addr = boundary - 4, got = 0, want = 0xb0b0b0b0a0a0a0a0ull;
	struct hvp_guest_result r;
	struct hvp_status st;

	memset(a + size - 4, 0xa0, 4);
	memset(b, 0xb0, 4);
	hvp_map(m, a, BASE_GPA, size, HVP_PROT_RWX);
	st = hvp_map_try(m, b, boundary, size, HVP_PROT_RWX);
	hvp_decisive(ctx, st.evidence);
	if (st.err != HVP_OK) {
		answer_map_refused(ctx, st, "the adjacent map");
		return;
	}
	/* One 8-byte load at boundary - 4: four bytes from each region. */
	hvp_guest_read_list(m, 0, &addr, 1, &got, &r);
	hvp_need_guest(ctx, &r, 1, "the load across the boundary");
	hvp_guest_value(ctx, "8 bytes across the boundary", got);
	ctx->f->guest_verified = true;
	if (got == want)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "two regions back to back; one guest load across the boundary read 0x%" PRIx64
				   " (low half from the first, high half from the second)", got);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "both maps were accepted, but the load across the boundary gave 0x%" PRIx64
				   " (%s exit), not 0x%" PRIx64, got, hvp_exit_kind_name(r.last.kind), want);
}

const struct hvp_probe probe_mem_adjacent_maps = {
	.id = "mem.adjacent_maps",
	.question = "Can two regions be mapped back to back, with one guest access spanning both?",
	.timeout_s = 10,
	.run = run_adjacent_maps,
};

/*
 * Maps a first region of four pages, tries an overlapping second, then
 * proves the first still works. The second is whole pages at a page-aligned
 * address (pages of hvp_page_size), so that a refusal can only be for the
 * overlap, never for its alignment.
 */
static void overlap(struct hvp_ctx *ctx, uint64_t gpa2, uint64_t size2, const char *what)
{
	const uint64_t size1 = 4 * hvp_page_size(ctx);
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	uint64_t *first = hvp_guest_memory(ctx, size1), *second = hvp_guest_memory(ctx, size2);
	uint64_t addr = BASE_GPA, got = 0;
	struct hvp_guest_result r;
	struct hvp_status st;

	first[0] = region_value(1);
	second[0] = region_value(2);
	hvp_map(m, first, BASE_GPA, size1, HVP_PROT_RWX);
	st = hvp_map_try(m, second, gpa2, size2, HVP_PROT_RWX);
	answer_refusal(ctx, st, OVERLAP_REFUSALS, what);
	hvp_guest_read_list(m, 0, &addr, 1, &got, &r);
	/* After a refusal, the first region still working is part of the answer. */
	if (st.err != HVP_OK)
		hvp_need_guest(ctx, &r, 1, "reading the first region after the refusal");
	if (hvp_guest_ok(&r) && r.n == 1)
		hvp_guest_value(ctx, "first region after the second map", got);
	if (st.err != HVP_OK && got != region_value(1))
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "the overlapping map was refused (%s), but the first region no longer reads back (0x%" PRIx64 ")",
				   ctx->be->native_name(st.native), got);
	else if (st.err != HVP_OK) {
		ctx->f->guest_verified = true;
		snprintf(ctx->f->reason + strlen(ctx->f->reason), sizeof(ctx->f->reason) - strlen(ctx->f->reason),
			 "; the guest still reads the first region");
	} else if (hvp_guest_ok(&r) && r.n == 1 && got == region_value(2)) {
		snprintf(ctx->f->reason + strlen(ctx->f->reason), sizeof(ctx->f->reason) - strlen(ctx->f->reason),
			 "; the guest now reads the second region at the first's address");
	}
}

static void run_overlap_partial(struct hvp_ctx *ctx)
{
	uint64_t page = hvp_page_size(ctx);

	overlap(ctx, BASE_GPA + 2 * page, 4 * page, "a map overlapping the last half of an existing one");
}

static void run_overlap_identical(struct hvp_ctx *ctx)
{
	overlap(ctx, BASE_GPA, 4 * hvp_page_size(ctx), "a second map of exactly the same range");
}

static void run_overlap_contained(struct hvp_ctx *ctx)
{
	uint64_t page = hvp_page_size(ctx);

	overlap(ctx, BASE_GPA + page, page, "a map inside an existing one");
}

const struct hvp_probe probe_mem_overlap_partial = {
	.id = "mem.overlap_partial",
	.question = "Is a map that partly overlaps an existing one refused, leaving the first working?",
	.timeout_s = 10,
	.run = run_overlap_partial,
};

const struct hvp_probe probe_mem_overlap_identical = {
	.id = "mem.overlap_identical",
	.question = "Is a second map of exactly the same guest range refused, leaving the first working?",
	.timeout_s = 10,
	.run = run_overlap_identical,
};

const struct hvp_probe probe_mem_overlap_contained = {
	.id = "mem.overlap_contained",
	.question = "Is a map lying inside an existing one refused, leaving the first working?",
	.timeout_s = 10,
	.run = run_overlap_contained,
};

static void run_alias(struct hvp_ctx *ctx)
{
	const uint64_t gpa_a = BASE_GPA, gpa_b = BASE_GPA + 16 * SPAN_2M, v = 0xa11a5ed0000000a5ull;
	const uint64_t page = hvp_page_size(ctx);
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	uint64_t *mem = hvp_guest_memory(ctx, page);
	uint64_t arg[4] = { gpa_a, v, 0, 0 }, got = 0;
	struct hvp_guest_result r;
	struct hvp_status st;
	struct hvp_vcpu *vcpu;

	hvp_map(m, mem, gpa_a, page, HVP_PROT_RWX);
	st = hvp_map_try(m, mem, gpa_b, page, HVP_PROT_RWX);
	hvp_decisive(ctx, st.evidence);
	if (st.err != HVP_OK) {
		answer_map_refused(ctx, st, "the second map of the same host memory");
		return;
	}
	vcpu = hvp_vcpu_start(m, 0, &hvp_prog_load_store, arg);
	hvp_guest_run(m, vcpu, &r);
	hvp_need_guest(ctx, &r, 2, "the write through the first address");
	hvp_vcpu_destroy(m, vcpu);
	hvp_guest_read_list(m, 1, &gpa_b, 1, &got, &r);
	hvp_need_guest(ctx, &r, 1, "the read through the second address");
	hvp_guest_value(ctx, "read through the second address", got);
	hvp_guest_value(ctx, "host memory", mem[0]);
	ctx->f->guest_verified = true;
	if (got == v && mem[0] == v)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "one host page mapped at 0x%" PRIx64 " and 0x%" PRIx64
				   ": the guest's write through the first was read through the second, and by the host",
				   gpa_a, gpa_b);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "both maps were accepted, but the write through the first address was not seen "
				   "(second address read 0x%" PRIx64 ", host read 0x%" PRIx64 ")", got, mem[0]);
}

const struct hvp_probe probe_mem_alias = {
	.id = "mem.alias",
	.question = "Can the same host memory be mapped at two guest addresses, with writes through one seen through the other?",
	.timeout_s = 10,
	.run = run_alias,
};

/* One map with a flaw; the answer is whether the API refuses it. */
static void refuse_one(struct hvp_ctx *ctx, size_t host_offset, uint64_t gpa, uint64_t size, const char *what)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	uint8_t *mem = hvp_guest_memory(ctx, 4 * hvp_page_size(ctx));

	answer_refusal(ctx, hvp_map_try(m, mem + host_offset, gpa, size, HVP_PROT_RWX), ARGUMENT_REFUSALS, what);
}

/*
 * How far off alignment a flawed map is: half the API's page. That is off
 * hvprobe's page too (a multiple of the API's), where half of a larger page
 * asked for (--page-size) would be whole pages of the API's, which it
 * rightly takes.
 */
static uint64_t half_page(const struct hvp_ctx *ctx)
{
	return hvp_api_page_size(ctx) / 2;
}

static void run_unaligned_guest_addr(struct hvp_ctx *ctx)
{
	char what[80];

	snprintf(what, sizeof(what), "a map at a guest address not %" PRIu64 " KiB-aligned",
		 hvp_api_page_size(ctx) >> 10);
	refuse_one(ctx, 0, BASE_GPA + half_page(ctx), hvp_page_size(ctx), what);
}

static void run_unaligned_host_addr(struct hvp_ctx *ctx)
{
	char what[80];

	snprintf(what, sizeof(what), "a map of host memory not %" PRIu64 " KiB-aligned", hvp_api_page_size(ctx) >> 10);
	refuse_one(ctx, half_page(ctx), BASE_GPA, hvp_page_size(ctx), what);
}

static void run_unaligned_size(struct hvp_ctx *ctx)
{
	char what[80];

	snprintf(what, sizeof(what), "a map whose size is not a multiple of %" PRIu64 " KiB",
		 hvp_api_page_size(ctx) >> 10);
	refuse_one(ctx, 0, BASE_GPA, hvp_page_size(ctx) + half_page(ctx), what);
}

static void run_zero_size(struct hvp_ctx *ctx)
{
	refuse_one(ctx, 0, BASE_GPA, 0, "a map of size 0");
}

const struct hvp_probe probe_mem_unaligned_guest_addr = {
	.id = "mem.unaligned_guest_addr",
	.question = "Is a map at a guest-physical address that is not page-aligned refused?",
	.timeout_s = 10,
	.run = run_unaligned_guest_addr,
};

const struct hvp_probe probe_mem_unaligned_host_addr = {
	.id = "mem.unaligned_host_addr",
	.question = "Is a map of host memory that is not page-aligned refused?",
	.timeout_s = 10,
	.run = run_unaligned_host_addr,
};

const struct hvp_probe probe_mem_unaligned_size = {
	.id = "mem.unaligned_size",
	.question = "Is a map whose size is not a multiple of the page size refused?",
	.timeout_s = 10,
	.run = run_unaligned_size,
};

const struct hvp_probe probe_mem_zero_size = {
	.id = "mem.zero_size",
	.question = "Is a map of size zero refused?",
	.timeout_s = 10,
	.run = run_zero_size,
};

/* Maps one page at gpa with a known value; returns what the guest read there (through a window if high). */
static int high_region_reads(struct hvp_machine *m, unsigned vcpu_id, uint64_t gpa, uint64_t v, const char *label)
{
	const uint64_t page = hvp_page_size(m->ctx);
	uint64_t *mem = hvp_guest_memory(m->ctx, page), got = 0, addr;
	struct hvp_guest_result r;

	struct hvp_status st;

	mem[0] = v;
	st = hvp_map_try(m, mem, gpa, page, HVP_PROT_RWX);
	if (st.err != HVP_OK) {
		if (!hvp_refused_as(st, HVP_REFUSALS))
			hvp_not_evidence(m->ctx, st, "the map %s", label);
		return -1;
	}
	addr = gpa + page - 1 < hvp_guest_arch_identity_limit() ? gpa : hvp_window(m, gpa, page);
	hvp_guest_read_list(m, vcpu_id, &addr, 1, &got, &r);
	hvp_need_guest(m->ctx, &r, 1, label);
	hvp_guest_value(m->ctx, label, got);
	return got == v;
}

static void run_high_guest_addr(struct hvp_ctx *ctx)
{
	unsigned bits = ctx->be->gpa_bits(ctx->hv);
	uint64_t top = 1ull << bits, page = hvp_page_size(ctx);
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	int above_4g = high_region_reads(m, 0, 0x100000000ull, region_value(4), "above 4 GiB");
	int below_top = high_region_reads(m, 1, top - page, region_value(5), "last page below the width");
	uint64_t *past = hvp_guest_memory(ctx, page);
	struct hvp_status st = hvp_map_try(m, past, top, page, HVP_PROT_RWX);

	hvp_decisive(ctx, st.evidence);
	if (st.err != HVP_OK && !hvp_refused_as(st, HVP_REFUSALS | HVP_CLASS(HVP_ERR_FAULT)))
		hvp_not_evidence(ctx, st, "the map past the width");
	/* Each map that was accepted had its guest read reported (or the probe ended). */
	ctx->f->guest_verified = above_4g >= 0 || below_top >= 0;
	hvp_finding_answer(ctx->f, above_4g == 1 && below_top == 1 && st.err != HVP_OK ? HVP_ANSWER_YES : HVP_ANSWER_NO,
			   "guest-physical width %u bits; a page above 4 GiB: %s; the last page below 2^%u: %s; "
			   "a page at 2^%u: %s%s%s",
			   bits, above_4g < 0 ? "map refused" : above_4g ? "guest read it" : "guest did not read it",
			   bits, below_top < 0 ? "map refused" : below_top ? "guest read it" : "guest did not read it",
			   bits, st.err != HVP_OK ? "refused with " : "accepted",
			   st.err != HVP_OK ? ctx->be->native_name(st.native) : "", "");
}

const struct hvp_probe probe_mem_high_guest_addr = {
	.id = "mem.high_guest_addr",
	.question = "Can memory be mapped above 4 GiB and up to the top of the guest-physical width, with a map past it refused?",
	.timeout_s = 10,
	.run = run_high_guest_addr,
};
