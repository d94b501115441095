/* SPDX-License-Identifier: MIT */
/*
 * Guest programs for x86_64, run in 64-bit long mode at ring 0 with
 * identity paging. They are data to the host (copied into guest memory by
 * the probes), so they live in .rodata; every one is position-independent.
 * Ring-0 guest code may be emulated instruction by instruction (PVM), so
 * programs stay a handful of instructions. They run with RFLAGS.IF set
 * (interrupts on), loop_hlt excepted: hvp_guest_arch_regs says why.
 */
#include "asm.h"
#include "guest_abi.h"

/*
 * The numbers the macros without named parameters use, as assembler
 * symbols: for Apple targets, LLVM reads $0..$9 in the body of such a macro
 * as its positional arguments, so a literal `$32` or `$0x0a00` there loses
 * its first digit.
 */
	.set report_port, HVP_PORT_REPORT
	.set done_port, HVP_PORT_DONE
	.set tsc_high_shift, 32

/* Reports %rax; keeps every other register. */
.macro REPORT
	push %rdx
	mov $report_port, %dx
	out %eax, %dx
	pop %rdx
.endm

.macro DONE
	xor %eax, %eax
	mov $done_port, %dx
	out %eax, %dx
	hlt
.endm

/*
 * Reports the ring this code runs at, as the CPU holds it: the CS
 * selector, whose RPL is the current privilege level (readable at any
 * ring). The zero extension is explicit: older CPUs left the upper half of
 * a 32-bit destination undefined.
 */
.macro RING
	mov %cs, %eax
	movzwl %ax, %eax
	REPORT
.endm

.macro RING_DONE
	RING
	DONE
.endm

	RODATA
	.p2align 4

/* report(rdi), report(rsi); done */
PROGRAM report_args
	mov %rdi, %rax
	REPORT
	mov %rsi, %rax
	REPORT
	DONE
END_PROGRAM report_args

/* report(*(u64 *)rdi), report(*(u64 *)rsi); done */
PROGRAM load2
	mov (%rdi), %rax
	REPORT
	mov (%rsi), %rax
	REPORT
	DONE
END_PROGRAM load2

/* report(*(u64 *)rdi); *(u64 *)rdi = rsi; report(*(u64 *)rdi); done */
PROGRAM load_store
	mov (%rdi), %rax
	REPORT
	mov %rsi, (%rdi)
	mov (%rdi), %rax
	REPORT
	DONE
END_PROGRAM load_store

/* spin until *(u64 *)rdi != 0, then report it; done. Bounded by the host's kick. */
PROGRAM wait_flag
1:	mov (%rdi), %rax
	test %rax, %rax
	jz 1b
	REPORT
	DONE
END_PROGRAM wait_flag

/* for i < rsi: report(*(u64 *)((u64 *)rdi)[i]); done. rdi holds guest addresses. */
PROGRAM load_list
	mov %rdi, %r8
	mov %rsi, %r9
1:	test %r9, %r9
	jz 2f
	mov (%r8), %r10
	mov (%r10), %rax
	REPORT
	add $8, %r8
	dec %r9
	jmp 1b
2:	DONE
END_PROGRAM load_list

/* for i < rsi: *(u64 *)(rdi + i * rdx) = i + 1; done */
PROGRAM store_pages
	xor %ecx, %ecx
1:	cmp %rsi, %rcx
	jae 2f
	lea 1(%rcx), %rax
	mov %rax, (%rdi)
	add %rdx, %rdi
	inc %rcx
	jmp 1b
2:	DONE
END_PROGRAM store_pages

/*
 * *(u64 *)rsi = rdx (the host sees it without any call), then spin until
 * *(u64 *)rdi != 0 (written by the host without any call), report it; done
 */
PROGRAM handshake
	mov %rdx, (%rsi)
1:	mov (%rdi), %rax
	test %rax, %rax
	jz 1b
	REPORT
	DONE
END_PROGRAM handshake

/* lock incq (rdi); spin until *(u64 *)rdi >= rsi; report it; done: all rsi vCPUs were in together */
PROGRAM rendezvous
	lock incq (%rdi)
1:	mov (%rdi), %rax
	cmp %rsi, %rax
	jb 1b
	REPORT
	DONE
END_PROGRAM rendezvous

/* rax = rdi; VMCALL (Intel) or VMMCALL (AMD); report rax; done */
PROGRAM hypercall_vmcall
	mov %rdi, %rax
	vmcall
	REPORT
	DONE
END_PROGRAM hypercall_vmcall

PROGRAM hypercall_vmmcall
	mov %rdi, %rax
	vmmcall
	REPORT
	DONE
END_PROGRAM hypercall_vmmcall

/*
 * Benchmark loops: one exit per iteration, forever; the host re-enters at
 * once and counts. rdi is the port or the address.
 */
PROGRAM loop_pio_out
	mov %rdi, %rdx
1:	out %al, (%dx)
	jmp 1b
END_PROGRAM loop_pio_out

PROGRAM loop_pio_in
	mov %rdi, %rdx
1:	in (%dx), %al
	jmp 1b
END_PROGRAM loop_pio_in

PROGRAM loop_mmio_write
1:	mov %al, (%rdi)
	jmp 1b
END_PROGRAM loop_mmio_write

PROGRAM loop_mmio_read
1:	mov (%rdi), %al
	jmp 1b
END_PROGRAM loop_mmio_read

/*
 * Starts with interrupts off (guest_x86_64.c: HVP_PROGRAM_INTERRUPTS_OFF):
 * the question is whether HLT, which then nothing in the guest can end,
 * exits to the VMM. Every other program runs with them on.
 */
PROGRAM loop_hlt
1:	hlt
	jmp 1b
END_PROGRAM loop_hlt

/* rax = TSC, ordered after earlier instructions */
.macro TSC_NOW
	lfence
	rdtsc
	shl $tsc_high_shift, %rdx
	or %rdx, %rax
.endm

/*
 * Exits the kernel handles, timed by the guest: rdi iterations, then report
 * the TSC cycles they took; end (DONE, or RING_DONE to report the ring
 * too). rsi is the hypercall number or the MSR.
 */
.macro TIMED_LOOP name, last, body:vararg
PROGRAM \name
	mov %rdi, %r9
	mov %rsi, %r10
	TSC_NOW
	mov %rax, %r8
1:	\body
	dec %r9
	jnz 1b
	TSC_NOW
	sub %r8, %rax
	REPORT
	\last
END_PROGRAM \name
.endm

.macro CPUID_BODY
	xor %eax, %eax
	xor %ecx, %ecx
	cpuid
.endm
.macro VMCALL_BODY
	mov %r10, %rax
	vmcall
.endm
.macro VMMCALL_BODY
	mov %r10, %rax
	vmmcall
.endm
.macro RDMSR_BODY
	mov %r10, %rcx
	rdmsr
.endm

/* Eight dependent adds: plain ALU work, the same block hvprobe times on the host (exec.c). */
.macro ALU_BODY
	add %r10, %rax
	add %r10, %rax
	add %r10, %rax
	add %r10, %rax
	add %r10, %rax
	add %r10, %rax
	add %r10, %rax
	add %r10, %rax
.endm

TIMED_LOOP timed_cpuid, DONE, CPUID_BODY
TIMED_LOOP timed_vmcall, DONE, VMCALL_BODY
TIMED_LOOP timed_vmmcall, DONE, VMMCALL_BODY
TIMED_LOOP timed_rdmsr, DONE, RDMSR_BODY
/* The question is how code runs at a ring: the program proves which ring it ran at. */
TIMED_LOOP timed_alu, RING_DONE, ALU_BODY

/*
 * What the CPU the guest sees says: CPUID leaf rdi, subleaf rsi; report
 * eax, ebx, ecx, edx, then the ring it ran at; done. Runs at any ring
 * (CPUID is not privileged), and the answer depends on which.
 */
PROGRAM cpuid_report
	mov %edi, %eax
	mov %esi, %ecx
	cpuid
	mov %rbx, %r8
	mov %rcx, %r9
	mov %rdx, %r10
	REPORT
	mov %r8, %rax
	REPORT
	mov %r9, %rax
	REPORT
	mov %r10, %rax
	REPORT
	RING_DONE
END_PROGRAM cpuid_report

/* report(RDMSR(rdi)) as edx:eax; done. Ring 0. */
PROGRAM rdmsr_report
	mov %edi, %ecx
	rdmsr
	shl $32, %rdx
	or %rdx, %rax
	REPORT
	DONE
END_PROGRAM rdmsr_report

/*
 * Two TSC readings with a pause between them in which the host keeps the
 * time: report(TSC); pause; report(TSC); done.
 */
PROGRAM tsc_pair
	TSC_NOW
	REPORT
	mov $HVP_PORT_PAUSE, %dx
	out %eax, %dx
	TSC_NOW
	REPORT
	DONE
END_PROGRAM tsc_pair

/*
 * 16-bit real mode, entered with CS:IP at the program and every other
 * segment 0: report the u32 at 0x9000:0 (physical HVP_SYS_DATA, reachable
 * only through real-mode segment arithmetic), then CR0 (PE clear proves the
 * mode); done. The 0x66 prefixes make the port writes 32 bits wide.
 */
	.code16
PROGRAM real_mode16
	mov $(HVP_SYS_DATA >> 4), %ax
	mov %ax, %ds
	movl %ds:0, %eax
	mov $HVP_PORT_REPORT, %dx
	outl %eax, %dx
	movl %cr0, %eax
	outl %eax, %dx
	xorl %eax, %eax
	mov $HVP_PORT_DONE, %dx
	outl %eax, %dx
	hlt
END_PROGRAM real_mode16
	.code64

/*
 * Interrupts. rdi: the block (guest_abi.h, HVP_IRQ_*), kept in r15 for the
 * handler, with the local APIC's base in r14. The program builds an IDT
 * whose gate i is stub i, sets up what the flags ask (local APIC, IOAPIC
 * pin, timer, self-IPI), pauses if asked, then waits with HLT until
 * HVP_IRQ_WANT interrupts came (STI's shadow covers the HLT, so none comes
 * between the check and the HLT; the handler steps over a HLT it
 * interrupted; a kick bounds the wait), and reports the
 * vectors taken; done. An exception is a failed check, HVP_FAIL_EXCEPTION
 * | its vector.
 */
	.set apic_base, HVP_X86_APIC_GPA
	.set ioapic_base, HVP_X86_IOAPIC_GPA
	.set pause_port, HVP_PORT_PAUSE
	.set fail_port, HVP_PORT_FAIL
	.set gate_bits, 0x00008e0000080000 /* present, DPL 0, 64-bit interrupt gate; selector 0x08 */

PROGRAM irq_wait
	cli
	mov %rdi, %r15
	movq $0, HVP_IRQ_COUNT(%r15)
	lea 21f(%rip), %rsi             /* the stubs */
	mov $HVP_SYS_IDT, %edi
	mov $256, %ecx
1:	mov %rsi, %rax
	movzwl %ax, %eax
	mov %rsi, %rdx
	shr $16, %rdx
	movzwl %dx, %edx
	shl $48, %rdx
	or %rdx, %rax
	movabs $gate_bits, %rdx
	or %rdx, %rax
	mov %rax, (%rdi)
	mov %rsi, %rax
	shr $32, %rax
	mov %rax, 8(%rdi)
	add $16, %rdi
	add $16, %rsi
	dec %ecx
	jnz 1b
	sub $16, %rsp
	movw $0xfff, (%rsp)
	movq $HVP_SYS_IDT, 2(%rsp)
	lidt (%rsp)
	add $16, %rsp
	mov $apic_base, %r14d
	mov HVP_IRQ_FLAGS(%r15), %rbx
	test $HVP_IRQF_LAPIC, %bl
	jz 2f
	movl $0x1ff, 0xf0(%r14)       /* spurious vector register: enabled, vector 0xff */
	movl $0, 0x80(%r14)           /* task priority 0: every vector */
2:	test $HVP_IRQF_IOAPIC, %bl
	jz 3f
	mov $ioapic_base, %r13d
	mov HVP_IRQ_PIN(%r15), %eax
	lea 0x10(%rax,%rax), %eax     /* the pin's redirection entry, low half */
	movl %eax, (%r13)
	mov HVP_IRQ_VECTOR(%r15), %edx
	or HVP_IRQ_RTE(%r15), %edx
	movl %edx, 0x10(%r13)
	inc %eax
	movl %eax, (%r13)
	movl $0, 0x10(%r13)           /* high half: destination APIC 0 */
3:	test $HVP_IRQF_TIMER, %bl
	jz 4f
	movl $0xb, 0x3e0(%r14)        /* divide by 1 */
	mov HVP_IRQ_VECTOR(%r15), %eax
	movl %eax, 0x320(%r14)        /* LVT timer: one-shot, unmasked */
	mov HVP_IRQ_TIMER(%r15), %eax
	movl %eax, 0x380(%r14)        /* the initial count starts it */
4:	test $HVP_IRQF_SELF_IPI, %bl
	jz 5f
	mov HVP_IRQ_VECTOR(%r15), %eax
	or $0x40000, %eax             /* fixed, destination shorthand self */
	movl %eax, 0x300(%r14)
5:	test $HVP_IRQF_PAUSE, %bl
	jz 6f
	mov $pause_port, %dx
	out %eax, %dx
6:	cli
	mov HVP_IRQ_COUNT(%r15), %rax
	cmp HVP_IRQ_WANT(%r15), %rax
	jae 7f
	sti
22:	hlt
	jmp 6b
7:	xor %ecx, %ecx
8:	cmp HVP_IRQ_COUNT(%r15), %rcx
	jae 9f
	cmp $HVP_IRQ_LOG_MAX, %rcx
	jae 9f
	mov HVP_IRQ_LOG(%r15,%rcx,8), %rax
	REPORT
	inc %rcx
	jmp 8b
9:	DONE

/*
 * Stub i: push i; jump to the handler (20). 16 bytes each, written out so
 * that every assembler makes the same bytes; numeric labels, so that no
 * object format keeps a relocation for them.
 */
21:
	.set vec, 0
	.rept 256
	.byte 0x68
	.long vec
	.byte 0xe9
	.long 20f - (. + 4)
	.byte 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc
	.set vec, vec + 1
	.endr

20:	/* the handler: the vector is on the stack, above the registers it saves */
	push %rax
	push %rcx
	push %rdx
	mov 24(%rsp), %rcx
	cmp $32, %rcx
	jb 3f
	/*
	 * Taken at the wait's HLT itself, inside STI's shadow (an emulator that
	 * loses the shadow across an exit; what KVM inside QEMU's emulated SVM
	 * appeared to do once): return past it, or the guest halts with its
	 * interrupt already taken. On hardware the interrupt comes after the HLT.
	 */
	lea 22b(%rip), %rax
	cmp %rax, 32(%rsp)
	jne 23f
	incq 32(%rsp)
23:	TSC_NOW
	mov %rax, HVP_IRQ_TSC(%r15)
	mov HVP_IRQ_COUNT(%r15), %rax
	cmp $HVP_IRQ_LOG_MAX, %rax
	jae 1f
	mov %rcx, HVP_IRQ_LOG(%r15,%rax,8)
1:	inc %rax
	mov %rax, HVP_IRQ_COUNT(%r15)
	testq $HVP_IRQF_EOI, HVP_IRQ_FLAGS(%r15)
	jz 2f
	movl $0, 0xb0(%r14)           /* end of interrupt */
2:	pop %rdx
	pop %rcx
	pop %rax
	add $8, %rsp
	iretq
3:	mov %rcx, %rax
	or $HVP_FAIL_EXCEPTION, %rax
	mov $fail_port, %dx
	out %eax, %dx
	cli
4:	hlt
	jmp 4b
END_PROGRAM irq_wait

/*
 * Doorbells. doorbell_pio: rsi times, out edx to port rdi, then ecx too
 * when it is not 0; report the writes of edx made; done. doorbell_mmio:
 * rsi times, a 4-byte store of edx at rdi, and with rcx 1 also 1-, 2- and
 * 8-byte stores of it before, with rcx above 1 a 4-byte store of ecx after
 * (uncounted); report the stores of edx made; done.
 */
PROGRAM doorbell_pio
	mov %rdx, %r10
	mov %rcx, %r11
	xor %r9d, %r9d
1:	cmp %rsi, %r9
	jae 3f
	mov %rdi, %rdx
	mov %r10, %rax
	out %eax, %dx
	inc %r9
	test %r11, %r11
	jz 1b
	mov %r11, %rax
	out %eax, %dx
	jmp 1b
3:	mov %r9, %rax
	REPORT
	DONE
END_PROGRAM doorbell_pio

PROGRAM doorbell_mmio
	xor %r9d, %r9d
	xor %r8d, %r8d
1:	cmp %rsi, %r8
	jae 3f
	mov %rdx, %rax
	cmp $1, %rcx
	jne 2f
	movb %al, (%rdi)
	movw %ax, (%rdi)
	movq %rax, (%rdi)
	add $3, %r9
2:	movl %eax, (%rdi)
	inc %r9
	inc %r8
	cmp $1, %rcx
	jbe 1b
	movl %ecx, (%rdi)
	jmp 1b
3:	mov %r9, %rax
	REPORT
	DONE
END_PROGRAM doorbell_mmio

/*
 * state_check (guest_state.h): every class of state the guest reaches
 * (its local APIC too, where the host lists registers for it), loaded
 * from the host's values, dumped before and after a pause in which
 * the host saves the vCPU and a new process restores it; reports XCR0 and
 * the TSC, pauses, then reports the TSC and the mask of classes that
 * changed. Ring 0.
 */
#include "guest_state.h"

	.set sv_base, HVP_STATE_VALUES
	.set sd_before, HVP_STATE_BEFORE
	.set sd_after, HVP_STATE_AFTER
	.set pause_port, HVP_PORT_PAUSE

.macro SV_LOAD_XMM n
	movdqu sv_base + HVP_SV_XMM + 16 * \n, %xmm\n
.endm
.macro SV_LOAD_YMMH n
	vinsertf128 $1, sv_base + HVP_SV_YMMH + 16 * \n, %ymm\n, %ymm\n
.endm
.macro SD_XMM n
	movdqu %xmm\n, HVP_SD_FPU + 24 + 16 * \n(%rdi)
.endm
.macro SD_YMMH n
	vextractf128 $1, %ymm\n, HVP_SD_YMMH + 16 * \n(%rdi)
.endm
.macro SD_SEG seg, off
	mov %\seg, %eax
	movzwl %ax, %eax
	mov %rax, \off(%rdi)
.endm
.macro SD_CR cr, off
	mov %\cr, %rax
	mov %rax, \off(%rdi)
.endm
.macro SV_GPR reg, n
	mov sv_base + HVP_SV_GPR + 8 * \n, %\reg
.endm
.macro CHECK_GPR reg, n
	cmp sv_base + HVP_SV_GPR + 8 * \n, %\reg
	je 6f
	or $HVP_LOST_GPR, %edx
6:
.endm
.macro CHECK_AREA off, len, bit
	mov $(sd_before + \off), %esi
	mov $(sd_after + \off), %edi
	mov $\len, %ecx
	repe cmpsb
	je 6f
	or $\bit, %r13d
6:
.endm
.macro FOR16 m
	\m 0
	\m 1
	\m 2
	\m 3
	\m 4
	\m 5
	\m 6
	\m 7
	\m 8
	\m 9
	\m 10
	\m 11
	\m 12
	\m 13
	\m 14
	\m 15
.endm

PROGRAM state_check
	/*
	 * XSAVE and AVX where CPUID offers both and rdi does not say
	 * HVP_STATE_NO_AVX: CR4.OSXSAVE, XCR0 = x87 | SSE | AVX; r15 keeps XCR0
	 */
	mov $1, %eax
	xor %ecx, %ecx
	cpuid
	xor %r15d, %r15d
	test $HVP_STATE_NO_AVX, %edi
	jnz 2f
	bt $26, %ecx
	jnc 2f
	bt $28, %ecx
	jnc 2f
	mov %cr4, %rax
	bts $18, %rax
	mov %rax, %cr4
	xor %ecx, %ecx
	xor %edx, %edx
	mov $7, %eax
	xsetbv
	mov $7, %r15d
2:	fninit
	fldcw sv_base + HVP_SV_FCW
	fldl sv_base + HVP_SV_X87
	ldmxcsr sv_base + HVP_SV_MXCSR
	FOR16 SV_LOAD_XMM
	test $4, %r15d
	jz 3f
	FOR16 SV_LOAD_YMMH
3:	mov sv_base + HVP_SV_NMSR, %r8
	mov $(sv_base + HVP_SV_MSR), %r9d
1:	test %r8, %r8
	jz 5f
	mov (%r9), %ecx
	mov 8(%r9), %eax
	mov 12(%r9), %edx
	wrmsr
	add $16, %r9
	dec %r8
	jmp 1b
5:	mov sv_base + HVP_SV_DR, %rax
	mov %rax, %dr0
	mov sv_base + HVP_SV_DR + 8, %rax
	mov %rax, %dr1
	mov sv_base + HVP_SV_DR + 16, %rax
	mov %rax, %dr2
	mov sv_base + HVP_SV_DR + 24, %rax
	mov %rax, %dr3
	mov sv_base + HVP_SV_DR + 32, %rax
	mov %rax, %dr7
	mov sv_base + HVP_SV_CR2, %rax
	mov %rax, %cr2
	lidt sv_base + HVP_SV_IDT
	/*
	 * the local APIC, where the host lists its registers: interrupts off
	 * first (the flags loaded later keep them off), so that the self-IPI
	 * stays pending (the IDT is no real one); CR8 before the registers,
	 * since QEMU 7.2's emulated SVM aborts on a CR8 write while an
	 * interrupt waits (its helper_write_crN raises it without the lock)
	 */
	mov sv_base + HVP_SV_LAPIC_N, %r8
	test %r8, %r8
	jz 8f
	cli
	mov sv_base + HVP_SV_CR8, %rax
	mov %rax, %cr8
	mov $(sv_base + HVP_SV_LAPIC), %r9d
	mov $apic_base, %r10d         /* not a displacement: 0xfee00000 would sign-extend */
1:	mov (%r9), %ecx
	mov 4(%r9), %eax
	movl %eax, (%r10,%rcx)
	add $8, %r9
	dec %r8
	jnz 1b
8:	mov $sd_before, %edi
	call 9f
	mov %r15, %rax
	REPORT
	TSC_NOW
	REPORT
	/* the general registers and flags last; RAX and RDX carry the pause */
	pushq sv_base + HVP_SV_FLAGS
	popfq
	SV_GPR rbx, 0
	SV_GPR rcx, 1
	SV_GPR rbp, 2
	SV_GPR rsi, 3
	SV_GPR rdi, 4
	SV_GPR r8, 5
	SV_GPR r9, 6
	SV_GPR r10, 7
	SV_GPR r11, 8
	SV_GPR r12, 9
	SV_GPR r13, 10
	SV_GPR r14, 11
	SV_GPR r15, 12
	mov $pause_port, %dx
	out %eax, %dx
	/* restored: the flags and the TSC first, then every register against its value */
	pushfq
	TSC_NOW
	push %rax
	xor %edx, %edx
	CHECK_GPR rbx, 0
	CHECK_GPR rcx, 1
	CHECK_GPR rbp, 2
	CHECK_GPR rsi, 3
	CHECK_GPR rdi, 4
	CHECK_GPR r8, 5
	CHECK_GPR r9, 6
	CHECK_GPR r10, 7
	CHECK_GPR r11, 8
	CHECK_GPR r12, 9
	CHECK_GPR r13, 10
	CHECK_GPR r14, 11
	CHECK_GPR r15, 12
	pop %r14
	pop %rbx
	cld
	mov %edx, %r13d
	cmp sv_base + HVP_SV_FLAGS, %rbx
	je 6f
	or $HVP_LOST_FLAGS, %r13d
6:	xor %r15d, %r15d
	mov %cr4, %rax
	bt $18, %rax
	jnc 7f
	xor %ecx, %ecx
	xgetbv
	shl $tsc_high_shift, %rdx
	or %rdx, %rax
	mov %rax, %r15
7:	mov $sd_after, %edi
	call 9f
	CHECK_AREA HVP_SD_SYS, HVP_SD_SYS_LEN, HVP_LOST_SYS
	CHECK_AREA HVP_SD_DR, HVP_SD_DR_LEN, HVP_LOST_DR
	CHECK_AREA HVP_SD_MSR, HVP_SD_MSR_LEN, HVP_LOST_MSR
	CHECK_AREA HVP_SD_FPU, HVP_SD_FPU_LEN, HVP_LOST_FPU
	CHECK_AREA HVP_SD_YMMH, HVP_SD_YMMH_LEN, HVP_LOST_AVX
	CHECK_AREA HVP_SD_XCR0, HVP_SD_XCR0_LEN, HVP_LOST_XCR0
	cmpq $0, sv_base + HVP_SV_LAPIC_N
	je 8f
	CHECK_AREA HVP_SD_LAPIC, HVP_SD_LAPIC_LEN, HVP_LOST_LAPIC
	CHECK_AREA HVP_SD_IRR, HVP_SD_IRR_LEN, HVP_LOST_PENDING
	/* the timer still counts: not 0, not above its count at the save nor its initial count */
	mov sd_after + HVP_SD_TMCCT, %eax
	test %eax, %eax
	jz 7f
	cmp sd_before + HVP_SD_TMCCT, %eax
	ja 7f
	cmp sd_after + HVP_SD_TMICT, %eax
	jbe 8f
7:	or $HVP_LOST_TIMER, %r13d
8:
	mov %r14, %rax
	REPORT
	mov %r13, %rax
	REPORT
	DONE

	/* the dump: rdi = where, r15 = XCR0 */
9:	SD_CR cr0, 0
	SD_CR cr2, 8
	SD_CR cr3, 16
	SD_CR cr4, 24
	SD_CR cr8, 32
	mov $0xc0000080, %ecx
	rdmsr
	shl $tsc_high_shift, %rdx
	or %rdx, %rax
	mov %rax, 40(%rdi)
	sgdt 48(%rdi)
	sidt 64(%rdi)
	SD_SEG cs, 80
	SD_SEG ds, 88
	SD_SEG es, 96
	SD_SEG fs, 104
	SD_SEG gs, 112
	SD_SEG ss, 120
	str %ax
	movzwl %ax, %eax
	mov %rax, 128(%rdi)
	sldt %ax
	movzwl %ax, %eax
	mov %rax, 136(%rdi)
	SD_CR dr0, HVP_SD_DR
	SD_CR dr1, HVP_SD_DR + 8
	SD_CR dr2, HVP_SD_DR + 16
	SD_CR dr3, HVP_SD_DR + 24
	SD_CR dr7, HVP_SD_DR + 32
	mov sv_base + HVP_SV_NMSR, %r8
	mov $(sv_base + HVP_SV_MSR), %r9d
	lea HVP_SD_MSR(%rdi), %r10
1:	test %r8, %r8
	jz 2f
	mov (%r9), %ecx
	rdmsr
	shl $tsc_high_shift, %rdx
	or %rdx, %rax
	mov %rax, (%r10)
	add $16, %r9
	add $8, %r10
	dec %r8
	jmp 1b
2:	fnstcw HVP_SD_FPU(%rdi)
	stmxcsr HVP_SD_FPU + 8(%rdi)
	fstl HVP_SD_FPU + 16(%rdi)
	FOR16 SD_XMM
	test $4, %r15d
	jz 3f
	FOR16 SD_YMMH
	mov %r15, HVP_SD_XCR0(%rdi)
3:	mov sv_base + HVP_SV_LAPIC_N, %r8
	test %r8, %r8
	jz 5f
	mov $(sv_base + HVP_SV_LAPIC), %r9d
	lea HVP_SD_LAPIC(%rdi), %r10
	mov $apic_base, %r11d
1:	mov (%r9), %ecx
	movl (%r11,%rcx), %eax
	mov %eax, (%r10)
	add $8, %r9
	add $4, %r10
	dec %r8
	jnz 1b
	xor %ecx, %ecx
4:	mov %ecx, %eax
	shl $4, %eax
	movl 0x200(%r11,%rax), %eax   /* IRR word ecx */
	mov %eax, HVP_SD_IRR(%rdi,%rcx,4)
	inc %ecx
	cmp $8, %ecx
	jb 4b
	movl 0x390(%r11), %eax        /* current count */
	mov %eax, HVP_SD_TMCCT(%rdi)
	movl 0x380(%r11), %eax        /* initial count */
	mov %eax, HVP_SD_TMICT(%rdi)
5:	ret
END_PROGRAM state_check

	NOTE_GNU_STACK
