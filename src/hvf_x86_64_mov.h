/* SPDX-License-Identifier: MIT */
/*
 * The MOV behind an EPT violation, as Hypervisor.framework leaves it to the
 * VMM on Intel Macs (the framework does not decode the instruction), and
 * what it does to its register. Pure functions of the instruction's bytes
 * and register values, so that they are tested everywhere (tests/unit),
 * not only on a Mac.
 */
#ifndef HVP_HVF_X86_64_MOV_H
#define HVP_HVF_X86_64_MOV_H

#include <stddef.h>
#include <stdint.h>

struct hvf_mov {
	unsigned len;   /* the instruction's length; 0: none of the forms decoded */
	unsigned size;  /* bytes accessed: 1, 2, 4 or 8 */
	int store;      /* register to memory */
	unsigned reg;   /* the register operand, numbered as hvp_regs.gpr (RAX, RCX, RDX, RBX, RSP, ..., R15) */
	unsigned shift; /* 8: the register's second byte (AH, CH, DH, BH); 0: its low bytes */
};

/*
 * [66] [REX] 88/89 (store) or 8A/8B (load) with a register-indirect operand
 * (mod 00, neither SIB nor RIP-relative): the forms hvprobe's guests use.
 * Reads at most n bytes of p.
 */
struct hvf_mov hvf_x86_decode_mov(const uint8_t *p, size_t n);

/* The value a store writes, from its register's value. */
uint64_t hvf_x86_mov_stored(const struct hvf_mov *m, uint64_t reg_value);

/*
 * The register's value after a load of size bytes read as value: a 32-bit
 * load zero-extends into the whole register; a 1- or 2-byte load keeps the
 * other bytes.
 */
uint64_t hvf_x86_loaded(uint64_t old, uint64_t value, unsigned size, unsigned shift);

#endif
