/* SPDX-License-Identifier: MIT */
/*
 * Decoding the MOV behind an EPT violation (see hvf_x86_64_mov.h). The
 * encodings are the Intel SDM's: a REX prefix is 0100WRXB, and a byte
 * register numbered 4-7 is AH, CH, DH or BH only when no REX prefix is
 * present (with one it is SPL, BPL, SIL or DIL).
 */
#include "hvf_x86_64_mov.h"

#define PREFIX_OPSIZE 0x66
#define REX_W 0x8
#define REX_R 0x4
#define MODRM_RM_SIB 4
#define MODRM_RM_DISP32 5 /* RIP-relative in 64-bit mode */

static int is_rex(uint8_t b)
{
	return (b & 0xf0) == 0x40;
}

struct hvf_mov hvf_x86_decode_mov(const uint8_t *p, size_t n)
{
	struct hvf_mov m = { 0 };
	unsigned i = 0, rex = 0, opsize = 4, op, modrm;

	if (i < n && p[i] == PREFIX_OPSIZE) {
		opsize = 2;
		i++;
	}
	if (i < n && is_rex(p[i]))
		rex = p[i++];
	if (i + 2 > n)
		return m;
	op = p[i];
	modrm = p[i + 1];
	if (op < 0x88 || op > 0x8b || (modrm & 0xc0) != 0 || (modrm & 7) == MODRM_RM_SIB ||
	    (modrm & 7) == MODRM_RM_DISP32)
		return m;
	m.len = i + 2;
	m.store = op <= 0x89;
	m.size = (op & 1) ? ((rex & REX_W) ? 8 : opsize) : 1;
	m.reg = ((modrm >> 3) & 7) | ((rex & REX_R) ? 8 : 0);
	if (m.size == 1 && !rex && m.reg >= 4) {
		m.reg -= 4;
		m.shift = 8;
	}
	return m;
}

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

uint64_t hvf_x86_mov_stored(const struct hvf_mov *m, uint64_t reg_value)
{
	return (reg_value >> m->shift) & size_mask(m->size);
}

uint64_t hvf_x86_loaded(uint64_t old, uint64_t value, unsigned size, unsigned shift)
{
	uint64_t mask = size_mask(size) << shift;

	if (size == 4)
		return value & 0xffffffffull;
	return (old & ~mask) | ((value << shift) & mask);
}
