/* SPDX-License-Identifier: MIT */
/*
 * How many separate maps one VM takes: single pages, mapped until the API
 * refuses or the cap (--cap-maps) is reached. The guest then reads the
 * first and the last region. Only the first, the last accepted and the
 * refused call are kept as evidence; the rest are counted.
 */
#include <errno.h>
#include <stdio.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>

#include "../machine.h"
#include "../truth.h"

#define GPA_A UINT64_C(0x100000000)

static uint64_t page_value(unsigned i)
{
	return 0x6d61707300000000ull | i;
}

/* What the API itself says its limit is, where it says (KVM: KVM_CAP_NR_MEMSLOTS); 0 where it does not. */
static unsigned reported_limit(struct hvp_ctx *ctx, char *out, size_t size)
{
	struct hvp_facts facts = { 0 };
	unsigned limit = 0;
	const char *v;

	ctx->be->facts(ctx->hv, &facts);
	v = hvp_facts_get(&facts, "KVM_CAP_NR_MEMSLOTS");
	if (v && sscanf(v, "%u", &limit) == 1)
		snprintf(out, size, " (KVM_CAP_NR_MEMSLOTS says %s)", v);
	else
		snprintf(out, size, " (the API reports no limit to compare)");
	return limit;
}

static void run_max_maps(struct hvp_ctx *ctx)
{
	char said[64];
	unsigned cap = ctx->caps && ctx->caps->maps ? ctx->caps->maps : HVP_CAP_MAPS_DEFAULT;
	const uint64_t page = hvp_page_size(ctx);
	uint8_t *pool = hvp_host_mmap(ctx, (uint64_t)cap * page, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1);
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	struct hvp_status st = hvp_ok(""), refused = hvp_ok("");
	uint64_t addrs[2], got[2] = { 0, 0 };
	struct hvp_guest_result r;
	unsigned n = 0, limit;
	int decisive = -1;

	HVP_ASSERT(ctx, pool != MAP_FAILED, "mmap of the host pages: %s", strerror(errno));
	for (; n < cap; n++) {
		uint64_t gpa = GPA_A + n * page;
		/* Only the first page is written now; the last is written below, once known. */
		if (n == 0)
			memcpy(pool, &(uint64_t){ page_value(0) }, 8);
		st = ctx->be->mem_map(m->vm, pool + (uint64_t)n * page, gpa, page, HVP_PROT_RWX);
		if (st.err != HVP_OK) {
			refused = st;
			break;
		}
		if (n == 0)
			hvp_record(ctx, st, "map 1 gpa=0x%" PRIx64, gpa);
	}
	/* Maps 2..n are counted, not listed: the first and the refused one are the evidence. */
	if (refused.err != HVP_OK)
		decisive = hvp_record(ctx, refused, "map %u gpa=0x%" PRIx64 " refused", n + 1, GPA_A + n * page);
	ctx->f->evidence_omitted += n > 1 ? n - 1 : 0;
	/* Only the API's own refusal ends the search with an answer; EMFILE or an unknown error do not. */
	if (refused.err != HVP_OK && !hvp_refused_as(refused, HVP_REFUSALS))
		hvp_not_evidence(ctx, refused, "map %u", n + 1);
	if (n == 0)
		hvp_not_evidence(ctx, refused, "the first map");
	memcpy(pool + (uint64_t)(n - 1) * page, &(uint64_t){ page_value(n - 1) }, 8);
	/* Guest paging for the whole run of pages at once: the maps went around the helper. */
	HVP_ASSERT(ctx, hvp_guest_arch_map(m->sys, &m->paging, GPA_A, GPA_A, (uint64_t)n * page) == 0,
		   "no room to page %u maps", n);
	addrs[0] = GPA_A;
	addrs[1] = GPA_A + (uint64_t)(n - 1) * page;
	hvp_guest_read_list(m, 0, addrs, 2, got, &r);
	hvp_need_guest(ctx, &r, 2, "reading the first and the last map");
	hvp_guest_value(ctx, "first region", got[0]);
	hvp_guest_value(ctx, "last region", got[1]);
	ctx->f->guest_verified = true;
	HVP_ASSERT(ctx, got[0] == page_value(0) && got[1] == page_value(n - 1),
		   "the guest read 0x%" PRIx64 " and 0x%" PRIx64 " from the first and last maps, not their own values",
		   got[0], got[1]);
	hvp_decisive(ctx, decisive);
	limit = reported_limit(ctx, said, sizeof(said));
	if (refused.err != HVP_OK && limit && n + 1 != limit)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "map %u was refused with %s after %u maps (%u in all with the system memory), but "
				   "the API's own limit is %u slots%s", n + 1, ctx->be->native_name(refused.native), n,
				   n + 1, limit, said);
	else if (refused.err != HVP_OK)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "%u maps were accepted besides the VM's system memory (%u in all), map %u was refused "
				   "with %s%s; the guest read the first and the last",
				   n, n + 1, n + 1, ctx->be->native_name(refused.native), said);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED,
				   "at least %u maps besides the VM's system memory: the cap stopped the search before any "
				   "refusal (raise --cap-maps)%s; the guest read the first and the last", n, said);
}

const struct hvp_probe probe_mem_max_maps = {
	.id = "mem.max_maps",
	.question = "Does the API refuse maps beyond a limit (found by mapping single pages up to --cap-maps)?",
	.timeout_s = 60,
	.run = run_max_maps,
};
