/* SPDX-License-Identifier: MIT */
/*
 * Guest memory maps. The seed concluded that a second hv_vm_map() always
 * fails; every VMM maps many regions, so the question is asked here with two
 * disjoint, aligned regions, each holding its own value, which the guest
 * must read back through the maps.
 */
#include <inttypes.h>
#include <string.h>

#include "../machine.h"
#include "../truth.h"

#define REGION_PAGES 16
#define GPA_A UINT64_C(0x10000000)
#define GPA_B UINT64_C(0x20000000)
#define VALUE_A UINT64_C(0x5eed00000000a001)
#define VALUE_B UINT64_C(0x5eed00000000b002)

static void run_two_maps(struct hvp_ctx *ctx)
{
	const uint64_t size = REGION_PAGES * hvp_page_size(ctx);
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	uint64_t *a = hvp_guest_memory(ctx, size);
	uint64_t *b = hvp_guest_memory(ctx, size);
	uint64_t arg[4] = { GPA_A, GPA_B, 0, 0 };
	struct hvp_guest_result r;
	struct hvp_status st;
	struct hvp_vcpu *vcpu;

	a[0] = VALUE_A;
	b[0] = VALUE_B;
	hvp_map(m, a, GPA_A, size, HVP_PROT_RWX);
	st = hvp_map_try(m, b, GPA_B, size, HVP_PROT_RWX);
	hvp_decisive(ctx, st.evidence);
	if (hvp_refused_as(st, HVP_REFUSALS)) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the second map was refused: %s %s", st.call,
				   ctx->be->native_name(st.native));
		hvp_machine_destroy(m);
		return;
	}
	hvp_need_ok(ctx, st, "the second map");
	vcpu = hvp_vcpu_start(m, 0, &hvp_prog_load2, arg);
	hvp_guest_run(m, vcpu, &r);
	hvp_need_guest(ctx, &r, 2, "reading both regions");
	hvp_vcpu_destroy(m, vcpu);
	hvp_machine_destroy(m);
	hvp_guest_value(ctx, "read at region A", r.value[0]);
	hvp_guest_value(ctx, "read at region B", r.value[1]);
	/* The guest's two reports decide; a value other than the region's own is a "no". */
	ctx->f->guest_verified = true;
	if (r.value[0] == VALUE_A && r.value[1] == VALUE_B)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "both maps were accepted and the guest read 0x%" PRIx64 " from A and 0x%" PRIx64 " from B",
				   r.value[0], r.value[1]);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "both maps were accepted, but the guest read 0x%" PRIx64 " from A and 0x%" PRIx64
				   " from B, not the regions' own values", r.value[0], r.value[1]);
}

const struct hvp_probe probe_mem_two_maps = {
	.id = "mem.two_maps",
	.question = "Can one VM map two disjoint memory regions and its guest read each one?",
	.timeout_s = 10,
	.run = run_two_maps,
};
