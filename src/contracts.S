/* SPDX-License-Identifier: MIT */
/*
 * The contract files, built into the binary so that it runs on its own: the
 * backend's (kvm.ini on Linux, hvf.ini on macOS) and, on arm64, the
 * architecture's overlay.
 */
#include "asm.h"

#ifdef __APPLE__
#define BASE "contracts/hvf.ini"
#define OVERLAY "contracts/hvf-arm64.ini"
#else
#define BASE "contracts/kvm.ini"
#define OVERLAY "contracts/kvm-arm64.ini"
#endif
	RODATA
	.globl SYM(hvp_contract_base_start), SYM(hvp_contract_base_end)
SYM(hvp_contract_base_start):
	.incbin BASE
SYM(hvp_contract_base_end):
	.byte 0
#if defined(__aarch64__)
	.globl SYM(hvp_contract_overlay_start), SYM(hvp_contract_overlay_end)
SYM(hvp_contract_overlay_start):
	.incbin OVERLAY
SYM(hvp_contract_overlay_end):
	.byte 0
#endif
	NOTE_GNU_STACK
