/* SPDX-License-Identifier: MIT */
/*
 * The x86_64 Hypervisor.framework backend's MMIO decoder (the MOV behind an
 * EPT violation), which runs only on Intel Macs, checked here on the bytes
 * an assembler gives for each form, and on hvprobe's own guest programs.
 */
#include <string.h>

#include "guest.h"
#include "hvf_x86_64_mov.c"
#include "tap.h"

struct form {
	const char *text; /* AT&T syntax, as the bytes disassemble */
	uint8_t bytes[8];
	unsigned n;
	struct hvf_mov want;
};

#define RAX 0
#define RCX 1
#define RBX 3
#define RSI 6
#define R8 8
#define R9 9
#define R10 10

static const struct form forms[] = {
	{ "mov (%rdi),%rax", { 0x48, 0x8b, 0x07 }, 3, { 3, 8, 0, RAX, 0 } },
	{ "mov %rsi,(%rdi)", { 0x48, 0x89, 0x37 }, 3, { 3, 8, 1, RSI, 0 } },
	{ "mov %al,(%rdi)", { 0x88, 0x07 }, 2, { 2, 1, 1, RAX, 0 } },
	{ "mov (%rdi),%al", { 0x8a, 0x07 }, 2, { 2, 1, 0, RAX, 0 } },
	{ "mov %ah,(%rdi)", { 0x88, 0x27 }, 2, { 2, 1, 1, RAX, 8 } },
	{ "mov (%rdi),%bh", { 0x8a, 0x3f }, 2, { 2, 1, 0, RBX, 8 } },
	{ "mov %ch,(%rbx)", { 0x88, 0x2b }, 2, { 2, 1, 1, RCX, 8 } },
	{ "mov %sil,(%rdi)", { 0x40, 0x88, 0x37 }, 3, { 3, 1, 1, RSI, 0 } },
	{ "mov %r8b,(%rdi)", { 0x44, 0x88, 0x07 }, 3, { 3, 1, 1, R8, 0 } },
	{ "mov (%r8),%r10", { 0x4d, 0x8b, 0x10 }, 3, { 3, 8, 0, R10, 0 } },
	{ "mov %ax,(%rdi)", { 0x66, 0x89, 0x07 }, 3, { 3, 2, 1, RAX, 0 } },
	{ "mov %r9w,(%rcx)", { 0x66, 0x44, 0x89, 0x09 }, 4, { 4, 2, 1, R9, 0 } },
	{ "mov %eax,(%rdi)", { 0x89, 0x07 }, 2, { 2, 4, 1, RAX, 0 } },
	/* Forms hvprobe does not emulate: the exit says size 0. */
	{ "mov (%rsp),%eax (SIB)", { 0x8b, 0x04, 0x24 }, 3, { 0 } },
	{ "mov 0x0(%rip),%eax", { 0x8b, 0x05, 0, 0, 0, 0 }, 6, { 0 } },
	{ "mov 0x8(%rdi),%eax", { 0x8b, 0x47, 0x08 }, 3, { 0 } },
	{ "lock incq (%rdi)", { 0xf0, 0x48, 0xff, 0x07 }, 4, { 0 } },
	{ "a REX prefix and no more", { 0x48 }, 1, { 0 } },
	{ "an opcode without its ModRM byte", { 0x48, 0x8b }, 2, { 0 } },
};

static int same(struct hvf_mov a, struct hvf_mov b)
{
	if (!a.len || !b.len)
		return a.len == b.len;
	return a.len == b.len && a.size == b.size && a.store == b.store && a.reg == b.reg && a.shift == b.shift;
}

static void decodes_forms(struct tap *t)
{
	for (unsigned i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct hvf_mov m = hvf_x86_decode_mov(forms[i].bytes, forms[i].n);
		ok(t, same(m, forms[i].want), "%s: length %u, %u bytes, %s, register %u, shift %u", forms[i].text, m.len,
		   m.size, m.store ? "store" : "load", m.reg, m.shift);
	}
}

/* A store of a high byte register writes that byte, not the low byte of RSP..RDI. */
static void stores(struct tap *t)
{
	const uint64_t rax = 0x1122334455667788ull;
	struct hvf_mov ah = hvf_x86_decode_mov((const uint8_t[]){ 0x88, 0x27 }, 2);
	struct hvf_mov al = hvf_x86_decode_mov((const uint8_t[]){ 0x88, 0x07 }, 2);
	struct hvf_mov ax = hvf_x86_decode_mov((const uint8_t[]){ 0x66, 0x89, 0x07 }, 3);
	struct hvf_mov eax = hvf_x86_decode_mov((const uint8_t[]){ 0x89, 0x07 }, 2);
	struct hvf_mov r = hvf_x86_decode_mov((const uint8_t[]){ 0x48, 0x89, 0x07 }, 3);

	ok(t, hvf_x86_mov_stored(&ah, rax) == 0x77, "mov %%ah,(%%rdi) stores RAX's second byte");
	ok(t, hvf_x86_mov_stored(&al, rax) == 0x88, "mov %%al,(%%rdi) stores RAX's low byte");
	ok(t, hvf_x86_mov_stored(&ax, rax) == 0x7788, "mov %%ax,(%%rdi) stores two bytes");
	ok(t, hvf_x86_mov_stored(&eax, rax) == 0x55667788, "mov %%eax,(%%rdi) stores four bytes");
	ok(t, hvf_x86_mov_stored(&r, rax) == rax, "mov %%rax,(%%rdi) stores eight bytes");
}

static void loads(struct tap *t)
{
	const uint64_t old = 0x1122334455667788ull;

	ok(t, hvf_x86_loaded(old, 0xab, 1, 8) == 0x112233445566ab88ull, "a load into AH replaces the second byte only");
	ok(t, hvf_x86_loaded(old, 0xab, 1, 0) == 0x11223344556677abull, "a load into AL replaces the low byte only");
	ok(t, hvf_x86_loaded(old, 0xabcd, 2, 0) == 0x112233445566abcdull, "a load into AX keeps the upper six bytes");
	ok(t, hvf_x86_loaded(old, 0xffffffffdeadbeefull, 4, 0) == 0xdeadbeefull,
	   "a load into EAX zero-extends into RAX");
	ok(t, hvf_x86_loaded(old, 0xfedcba9876543210ull, 8, 0) == 0xfedcba9876543210ull, "a load into RAX replaces it");
}

/* The accesses of hvprobe's own MMIO programs, from the bytes the build put in them. */
static void guest_programs(struct tap *t)
{
#if defined(__x86_64__)
	const struct {
		const struct hvp_program *p;
		struct hvf_mov want;
	} progs[] = {
		{ &hvp_prog_loop_mmio_write, { 2, 1, 1, RAX, 0 } },
		{ &hvp_prog_loop_mmio_read, { 2, 1, 0, RAX, 0 } },
		{ &hvp_prog_load2, { 3, 8, 0, RAX, 0 } },
		{ &hvp_prog_load_store, { 3, 8, 0, RAX, 0 } },
	};

	for (unsigned i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		const struct hvp_program *p = progs[i].p;
		struct hvf_mov m = hvf_x86_decode_mov(p->start, (size_t)(p->end - p->start));
		ok(t, same(m, progs[i].want), "%s's first access decodes: %u bytes, %s", p->name, m.size,
		   m.store ? "store" : "load");
	}
#else
	ok(t, 1, "# SKIP hvprobe's x86_64 guest programs are not in this build");
#endif
}

int main(void)
{
	struct tap t;

	TAP_PLAN_LATER(&t);
	decodes_forms(&t);
	stores(&t);
	loads(&t);
	guest_programs(&t);
	return tap_done(&t);
}
