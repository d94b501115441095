/* SPDX-License-Identifier: MIT */
/* The contract files, built into the binary so that it runs on its own. */
#ifdef __APPLE__
#define SYM(x) _##x
#else
#define SYM(x) x
#endif
	.section .rodata
	.globl SYM(hvp_contract_kvm_start), SYM(hvp_contract_kvm_end)
SYM(hvp_contract_kvm_start):
	.incbin "contracts/kvm.ini"
SYM(hvp_contract_kvm_end):
	.byte 0
#if defined(__aarch64__)
	.globl SYM(hvp_contract_kvm_arm64_start), SYM(hvp_contract_kvm_arm64_end)
SYM(hvp_contract_kvm_arm64_start):
	.incbin "contracts/kvm-arm64.ini"
SYM(hvp_contract_kvm_arm64_end):
	.byte 0
#endif
#ifndef __APPLE__
	.section .note.GNU-stack, "", @progbits
#endif
