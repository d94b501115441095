/* SPDX-License-Identifier: MIT */
/*
 * VMs and fork(). KVM ties a VM to the address space that created it: its
 * ioctls "must be issued from the same process". What a forked child can
 * do with its parent's VM, whether it can make its own, and what happens to
 * guest memory that fork() turned copy-on-write, are answered here with
 * guests running on each side. A child's calls are recorded into shared
 * memory and merged into the finding; its answer counts only if it finished
 * and exited cleanly (hvp_child_failure). "No" to using a VM from another
 * process is the refusal the API gives a process that did not create the
 * VM (KVM: EIO); any other failure is stated as what it is.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../machine.h"

#ifndef SOCK_CLOEXEC
#define SOCK_CLOEXEC 0 /* macOS: the descriptors do not outlive the probe's child anyway */
#endif
#include "../probe_child.h"

#define GPA_R UINT64_C(0x10000000)
#define VALUE_BEFORE UINT64_C(0x0f0f0f0f00000001)
#define VALUE_CHILD UINT64_C(0xc41dc41d00000002)
#define VALUE_PARENT UINT64_C(0x9a4e479a00000003)
#define VALUE_GUEST UINT64_C(0x6e576e5700000004)

/*
 * The refusal a process gets for a VM it did not create: the object is
 * unusable here (KVM: EIO, "must be issued from the same process"), this
 * process has no such VM (HVF: HV_NO_DEVICE, "no VM or vCPU was
 * available"), or it is not allowed.
 */
#define FOREIGN_REFUSAL (HVP_CLASS(HVP_ERR_IO) | HVP_CLASS(HVP_ERR_NODEV) | HVP_CLASS(HVP_ERR_DENIED))
/* And for a forked child's own VM, also a VM that would be a second one. */
#define CHILD_VM_REFUSAL (FOREIGN_REFUSAL | HVP_CLASS(HVP_ERR_BUSY) | HVP_CLASS(HVP_ERR_EXISTS))

/* Runs report_args on a new vCPU of m; a guest that does not report v ends the probe as crashed. */
static void run_guest(struct hvp_machine *m, unsigned id, uint64_t v, const char *what)
{
	uint64_t arg[4] = { v, v, 0, 0 };
	struct hvp_vcpu *vcpu = hvp_vcpu_start(m, id, &hvp_prog_report_args, arg);
	struct hvp_guest_result r;

	hvp_guest_run(m, vcpu, &r);
	hvp_vcpu_destroy(m, vcpu);
	hvp_guest_require(m->ctx, &r, arg, 2, what);
}

/*
 * In a process that did not create m's VM: makes and runs a vCPU, noting
 * each refusal in c. Returns 1 if the guest reported v.
 */
static int guest_in_foreign_vm(struct hvp_machine *m, struct hvp_child_report *c, uint64_t v)
{
	uint64_t arg[4] = { v, v, 0, 0 };
	struct hvp_guest_result r;
	struct hvp_vcpu *vcpu;
	struct hvp_status st = hvp_vcpu_start_try(m, 0, &hvp_prog_report_args, arg, &vcpu);

	hvp_child_note(c, st, FOREIGN_REFUSAL);
	if (st.err != HVP_OK)
		return 0;
	hvp_guest_run(m, vcpu, &r);
	hvp_child_note(c, r.st, FOREIGN_REFUSAL);
	hvp_vcpu_destroy(m, vcpu);
	return hvp_guest_reported(&r, arg, 2);
}

/*
 * The answer from a process that used a VM it did not create: "yes" if its
 * guest ran, "no" if the API refused it as a process not the VM's own,
 * crashed for anything else.
 */
static void answer_foreign_use(struct hvp_ctx *ctx, const struct hvp_child_report *c, int base, const char *who,
			       const char *yes)
{
	if (c->ran) {
		ctx->f->guest_verified = true;
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "%s", yes);
		return;
	}
	HVP_ASSERT(ctx, c->refused, "the %s's calls returned OK, but its guest did not report", who);
	HVP_ASSERT(ctx, c->first_unasked.err == HVP_OK,
		   "the %s's %s failed with %s (%s), which is not the refusal a process gets for a VM it did not create",
		   who, c->first_unasked.call, hvp_native(ctx, c->first_unasked), hvp_err_name(c->first_unasked.err));
	hvp_decisive(ctx, base + c->first_failure.evidence);
	hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the %s could not use a VM it did not create: %s was refused with %s, "
			   "and every call refused it the same way", who, c->first_failure.call,
			   hvp_native(ctx, c->first_failure));
}

/* Waits for the child, merges what it recorded, and requires that it finished; returns its evidence's base. */
static int collect_child(struct hvp_ctx *ctx, pid_t pid, const struct hvp_child_report *c, const char *who)
{
	int status = hvp_child_wait(pid), base = hvp_child_merge(ctx, c, who);
	char why[HVP_TEXT_MAX];
	const char *failure = hvp_child_failure(c, status, why, sizeof(why));

	HVP_ASSERT(ctx, !failure, "the %s did not finish, so it answered nothing: %s", who, failure);
	return base;
}

/*
 * The child: its parent's vCPU and VM, each call noted. A run of the
 * parent's vCPU that the API allows must show the parent's guest reporting
 * what it was given, or the child proves nothing.
 */
static void use_parents_vm(struct hvp_ctx *ctx, struct hvp_child_report *c, struct hvp_machine *m,
			   struct hvp_vcpu *before)
{
	struct hvp_ctx cc = hvp_child_ctx(ctx, c);
	struct hvp_machine mc = *m;
	uint64_t *page = hvp_guest_memory(&cc, hvp_page_size(ctx));
	uint64_t parents[2] = { VALUE_PARENT, VALUE_PARENT };
	struct hvp_guest_result r;
	struct hvp_regs regs;
	struct hvp_status st;
	char how[128];

	mc.ctx = &cc;
	snprintf(mc.label, sizeof(mc.label), "parent's vcpu");
	hvp_guest_run(&mc, before, &r);
	hvp_child_note(c, r.st, FOREIGN_REFUSAL);
	HVP_ASSERT(&cc, r.st.err != HVP_OK || hvp_guest_reported(&r, parents, 2),
		   "the parent's vCPU ran in the child, but its guest did not report what it was given: %s",
		   hvp_guest_how(&cc, &r, how, sizeof(how)));
	st = ctx->be->regs_get(before, &regs);
	st.evidence = hvp_record(&cc, st, "register read of the parent's vcpu 1");
	hvp_child_note(c, st, FOREIGN_REFUSAL);
	hvp_copy_str(mc.label, sizeof(mc.label), m->label);
	hvp_child_note(c, hvp_map_try(&mc, page, GPA_R, hvp_page_size(ctx), HVP_PROT_RWX), FOREIGN_REFUSAL);
	c->ran = guest_in_foreign_vm(&mc, c, VALUE_CHILD);
	hvp_child_exit(c);
}

static void run_vm_used_in_child(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "parent's VM");
	struct hvp_child_report *c = hvp_child_report_new(ctx);
	uint64_t arg[4] = { VALUE_PARENT, VALUE_PARENT, 0, 0 };
	struct hvp_vcpu *before = hvp_vcpu_start(m, 1, &hvp_prog_report_args, arg); /* made before the fork */
	pid_t pid;
	int base;

	pid = fork();
	HVP_ASSERT(ctx, pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0)
		use_parents_vm(ctx, c, m, before);
	base = collect_child(ctx, pid, c, "child");
	answer_foreign_use(ctx, c, base, "child", "the child used its parent's VM: it mapped memory and ran a guest");
	hvp_child_report_free(c);
}

const struct hvp_probe probe_fork_vm_used_in_child = {
	.id = "fork.vm_used_in_child",
	.question = "Can a forked child use its parent's VM: run its vCPU, read its registers, map memory, make and run a vCPU?",
	.timeout_s = 10,
	.run = run_vm_used_in_child,
};

/* The child: its own hypervisor handle, as a VMM would open it, and its own VM. */
static void own_vm_in_child(struct hvp_ctx *ctx, struct hvp_child_report *c)
{
	struct hvp_ctx cc = hvp_child_ctx(ctx, c);
	struct hvp_machine *mc;
	struct hvp_status st = ctx->be->open(ctx->open, &cc.hv);

	HVP_ASSERT(&cc, st.err == HVP_OK, "opening the API: %s %s", st.call, hvp_native(ctx, st));
	c->create = hvp_machine_create_try(&cc, "child's VM", &mc);
	if (c->create.err == HVP_OK) {
		run_guest(mc, 0, VALUE_CHILD, "the child's guest");
		c->ran = 1;
	}
	hvp_child_exit(c);
}

static void run_child_own_vm(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "parent's VM");
	struct hvp_child_report *c = hvp_child_report_new(ctx);
	struct hvp_status st;
	pid_t pid;
	int base;

	run_guest(m, 0, VALUE_PARENT, "the parent's guest before fork");
	pid = fork();
	HVP_ASSERT(ctx, pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0)
		own_vm_in_child(ctx, c);
	run_guest(m, 1, VALUE_PARENT, "the parent's guest after fork");
	base = collect_child(ctx, pid, c, "child");
	st = c->create;
	if (st.err != HVP_OK) {
		HVP_ASSERT(ctx, hvp_refused_as(st, CHILD_VM_REFUSAL), "the child's VM failed with %s %s (%s), which is not "
			   "a refusal of a VM to a forked child", st.call, hvp_native(ctx, st), hvp_err_name(st.err));
		hvp_decisive(ctx, base + st.evidence);
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the child's own VM was refused: %s %s", st.call, hvp_native(ctx, st));
	} else {
		ctx->f->guest_verified = true;
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "after fork the child created and ran its own VM while the parent ran its VM's guest again");
	}
	hvp_child_report_free(c);
}

const struct hvp_probe probe_fork_child_own_vm = {
	.id = "fork.child_own_vm",
	.question = "After fork, can the child create and run its own VM while the parent keeps running its own?",
	.timeout_s = 10,
	.run = run_child_own_vm,
};

/* Reads the region's first two words with a guest; anything short of both values ends the probe as crashed. */
static void guest_reads(struct hvp_machine *m, unsigned vcpu_id, uint64_t got[2], const char *when)
{
	uint64_t addrs[2] = { GPA_R, GPA_R + 8 };
	struct hvp_guest_result r;
	char how[128];

	HVP_ASSERT(m->ctx, hvp_guest_read_list(m, vcpu_id, addrs, 2, got, &r) == 2,
		   "the guest did not read the region %s: %s", when, hvp_guest_how(m->ctx, &r, how, sizeof(how)));
}

/*
 * Guest memory across fork: the guest reads the region before the fork (so
 * the hypervisor has it mapped), the child writes word 0, the parent's host
 * writes word 1, then the parent's guest reads both and writes word 2. The
 * answer is the guest's reads: each word must read as one of the values
 * ever written there, or the reports prove nothing.
 */
static void guest_memory_after_fork(struct hvp_ctx *ctx, int shared)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "parent's VM");
	uint64_t *mem = hvp_host_mmap(ctx, hvp_page_size(ctx), (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1);
	uint64_t got[2] = { 0, 0 }, arg[4] = { GPA_R + 16, VALUE_GUEST, 0, 0 };
	struct hvp_guest_result r;
	struct hvp_vcpu *vcpu;
	bool child_seen, parent_seen, host_sees_guest;
	int status;
	pid_t pid;

	HVP_ASSERT(ctx, mem != MAP_FAILED, "mmap: %s", strerror(errno));
	mem[0] = mem[1] = mem[2] = VALUE_BEFORE;
	hvp_map(m, mem, GPA_R, hvp_page_size(ctx), HVP_PROT_RWX);
	guest_reads(m, 0, got, "before the fork"); /* the page is in the guest's mapping before the fork */
	HVP_ASSERT(ctx, got[0] == VALUE_BEFORE && got[1] == VALUE_BEFORE,
		   "before the fork the guest read 0x%" PRIx64 " and 0x%" PRIx64 ", not what the host wrote", got[0], got[1]);
	pid = fork();
	HVP_ASSERT(ctx, pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		mem[0] = VALUE_CHILD;
		_exit(0);
	}
	status = hvp_child_wait(pid);
	HVP_ASSERT(ctx, status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		   "the child that writes did not exit cleanly (wait status 0x%x)", (unsigned)status);
	mem[1] = VALUE_PARENT;
	guest_reads(m, 1, got, "after the fork");
	hvp_guest_value(ctx, "guest read of the child's word", got[0]);
	hvp_guest_value(ctx, "guest read of the parent's word", got[1]);
	HVP_ASSERT(ctx, (got[0] == VALUE_BEFORE || got[0] == VALUE_CHILD) && (got[1] == VALUE_BEFORE || got[1] == VALUE_PARENT),
		   "the guest read 0x%" PRIx64 " and 0x%" PRIx64 ", values never written there: its reports prove nothing",
		   got[0], got[1]);
	vcpu = hvp_vcpu_start(m, 2, &hvp_prog_load_store, arg);
	hvp_guest_run(m, vcpu, &r);
	hvp_vcpu_destroy(m, vcpu);
	hvp_guest_require(ctx, &r, (uint64_t[2]){ VALUE_BEFORE, VALUE_GUEST }, 2, "the guest's store");
	host_sees_guest = mem[2] == VALUE_GUEST;
	child_seen = got[0] == VALUE_CHILD;
	parent_seen = got[1] == VALUE_PARENT;
	ctx->f->guest_verified = true;
	if (shared ? child_seen && parent_seen && host_sees_guest : !child_seen && parent_seen && host_sees_guest)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "after fork the parent's guest saw %sthe parent's host write, and the parent's host saw the "
				   "guest's write", shared ? "the child's write and " : "not the child's write but ");
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "after fork (%s memory) the parent's guest saw the child's write: %s, the parent's: %s; "
				   "the parent's host saw the guest's: %s", shared ? "MAP_SHARED" : "MAP_PRIVATE",
				   child_seen ? "yes" : "no", parent_seen ? "yes" : "no", host_sees_guest ? "yes" : "no");
}

static void run_guest_memory_private(struct hvp_ctx *ctx)
{
	guest_memory_after_fork(ctx, 0);
}

static void run_guest_memory_shared(struct hvp_ctx *ctx)
{
	guest_memory_after_fork(ctx, 1);
}

const struct hvp_probe probe_fork_guest_memory_private = {
	.id = "fork.guest_memory_private",
	.question = "After fork, does the parent's guest see its host's writes to MAP_PRIVATE memory but not the child's?",
	.timeout_s = 10,
	.run = run_guest_memory_private,
};

const struct hvp_probe probe_fork_guest_memory_shared = {
	.id = "fork.guest_memory_shared",
	.question = "After fork, does the parent's guest see both the child's and its host's writes to MAP_SHARED memory?",
	.timeout_s = 10,
	.run = run_guest_memory_shared,
};

/* The receiver: takes the VM from the socket and uses it, each call noted. */
static void receive_and_use(struct hvp_ctx *ctx, struct hvp_child_report *c, int sock)
{
	struct hvp_ctx cc = hvp_child_ctx(ctx, c);
	struct hvp_machine mc = { .ctx = &cc };
	struct hvp_status st = ctx->be->vm_receive(ctx->hv, sock, &mc.vm);

	hvp_record(&cc, st, "the VM received");
	HVP_ASSERT(&cc, st.err == HVP_OK, "the VM did not arrive: %s %s", st.call, hvp_native(ctx, st));
	mc.sys = hvp_guest_memory(&cc, HVP_SYS_SIZE);
	hvp_guest_arch_init(mc.sys, &mc.paging);
	snprintf(mc.label, sizeof(mc.label), "received VM");
	hvp_child_note(c, hvp_map_try(&mc, mc.sys, HVP_SYS_GPA, HVP_SYS_SIZE, HVP_PROT_RWX), FOREIGN_REFUSAL);
	c->ran = guest_in_foreign_vm(&mc, c, VALUE_CHILD);
	hvp_child_exit(c);
}

/*
 * A VM handed to a process that never shared its creator's address space:
 * the receiver is forked before the VM exists, and gets the VM over a Unix
 * socket (KVM: the descriptor with SCM_RIGHTS). The creator still runs a
 * guest in it afterwards: the VM itself is sound, so a refusal is about
 * who is calling.
 */
static void run_fd_passed(struct hvp_ctx *ctx)
{
	struct hvp_child_report *c;
	struct hvp_machine *m;
	struct hvp_status sent;
	int sv[2], base;
	pid_t pid;

	if (!ctx->be->vm_send || !ctx->be->vm_receive) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "the %s API has no way to hand a VM to another process",
				   ctx->be->name);
		return;
	}
	c = hvp_child_report_new(ctx);
	HVP_ASSERT(ctx, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair: %s", strerror(errno));
	pid = fork();
	HVP_ASSERT(ctx, pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(sv[0]);
		receive_and_use(ctx, c, sv[1]);
	}
	close(sv[1]); /* the receiver's end: if this process ends first, the receiver reads the end, not forever */
	m = hvp_machine_create(ctx, "VM");
	sent = ctx->be->vm_send(m->vm, sv[0]);
	hvp_record(ctx, sent, "VM handed to another process");
	HVP_ASSERT(ctx, sent.err == HVP_OK, "the VM could not be handed over: %s %s", sent.call, hvp_native(ctx, sent));
	base = collect_child(ctx, pid, c, "receiver");
	close(sv[0]);
	run_guest(m, 0, VALUE_PARENT, "the creator's guest after the handover");
	answer_foreign_use(ctx, c, base, "receiving process", "the receiving process mapped memory and ran a guest in the VM");
	hvp_child_report_free(c);
}

const struct hvp_probe probe_fork_fd_passed = {
	.id = "fork.fd_passed",
	.question = "Can a process that received a VM from its creator (KVM: the fd over SCM_RIGHTS) use it?",
	.timeout_s = 10,
	.run = run_fd_passed,
};
