/* SPDX-License-Identifier: MIT */
/*
 * What the assembly files share (.S only): symbol names and the read-only
 * section in each object format, a guest program's start and end labels
 * (guest_<arch>.c names them in struct hvp_program), and the note that the
 * stack is not executable.
 */
#ifndef HVP_ASM_H
#define HVP_ASM_H

#ifdef __APPLE__
#define SYM(x) _##x
#define RODATA .const
#define NOTE_GNU_STACK
#else
#define SYM(x) x
#define RODATA .section .rodata
#define NOTE_GNU_STACK .section .note.GNU-stack, "", @progbits
#endif

.macro PROGRAM name
	.globl SYM(hvp_code_\name\()_start), SYM(hvp_code_\name\()_end)
	.p2align 2
SYM(hvp_code_\name\()_start):
.endm

.macro END_PROGRAM name
SYM(hvp_code_\name\()_end):
.endm

#endif
