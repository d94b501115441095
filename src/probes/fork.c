/* SPDX-License-Identifier: MIT */
/*
 * VMs and fork(). KVM ties a VM to the address space that created it: its
 * ioctls "must be issued from the same process". What a forked child can
 * do with its parent's VM, whether it can make its own, and what happens to
 * guest memory that fork() turned copy-on-write, are answered here with
 * guests running on each side. A child's calls are recorded into shared
 * memory and merged into the finding.
 */
#include <errno.h>
#include <inttypes.h>
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

/* Runs report_args on a new vCPU of m; returns 1 if the guest reported v. */
static int guest_reports(struct hvp_machine *m, unsigned id, uint64_t v, struct hvp_status *failure)
{
	uint64_t arg[4] = { v, v, 0, 0 };
	struct hvp_guest_result r;
	struct hvp_vcpu *vcpu;
	struct hvp_status st = hvp_vcpu_start_try(m, id, &hvp_prog_report_args, arg, &vcpu);

	if (st.err != HVP_OK) {
		if (failure->err == HVP_OK) /* keep the first failure: it is the one that matters */
			*failure = st;
		return 0;
	}
	hvp_guest_run(m, vcpu, &r);
	if (r.st.err != HVP_OK && failure->err == HVP_OK)
		*failure = r.st;
	hvp_vcpu_destroy(m, vcpu);
	return hvp_guest_ok(&r) && r.n == 2 && r.value[0] == v;
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
	if (pid == 0) {
		struct hvp_ctx cc = hvp_child_ctx(ctx, c);
		struct hvp_machine mc = *m;
		uint64_t *page = hvp_guest_memory(&cc, 0x1000);
		struct hvp_exit x = { 0 };
		struct hvp_regs regs;
		struct hvp_status st;

		/* The parent's vCPU, from the child: run and register read. */
		st = ctx->be->vcpu_run(before, &x);
		hvp_record(&cc, st, "run of the parent's vcpu 1");
		if (st.err != HVP_OK)
			c->first_failure = st;
		st = ctx->be->regs_get(before, &regs);
		hvp_record(&cc, st, "register read of the parent's vcpu 1");
		if (st.err != HVP_OK && c->first_failure.err == HVP_OK)
			c->first_failure = st;
		mc.ctx = &cc;
		st = hvp_map_try(&mc, page, GPA_R, 0x1000, HVP_PROT_RWX);
		if (st.err != HVP_OK && c->first_failure.err == HVP_OK)
			c->first_failure = st;
		c->ran = guest_reports(&mc, 0, VALUE_CHILD, &c->first_failure);
		_exit(0);
	}
	hvp_child_wait(pid);
	base = hvp_child_merge(ctx, c, "child");
	for (unsigned i = 0; i < c->f.n_evidence; i++)
		if (c->f.evidence[i].result != 0) {
			hvp_decisive(ctx, base + (int)i); /* the child's first refused call */
			break;
		}
	ctx->f->guest_verified = c->ran;
	if (c->ran)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "the child used its parent's VM: it mapped memory and ran a guest");
	else if (c->first_failure.err != HVP_OK)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the child could not use its parent's VM: %s failed with %s",
				   c->first_failure.call, ctx->be->native_name(c->first_failure.native));
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the child's calls returned OK, but no guest ran");
	hvp_child_report_free(c);
}

const struct hvp_probe probe_fork_vm_used_in_child = {
	.id = "fork.vm_used_in_child",
	.question = "Can a forked child use its parent's VM: run its vCPU, read its registers, map memory, make and run a vCPU?",
	.timeout_s = 10,
	.run = run_vm_used_in_child,
};

static void run_child_own_vm(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "parent's VM");
	struct hvp_child_report *c = hvp_child_report_new(ctx);
	struct hvp_status failure = hvp_ok("");
	int parent_before = guest_reports(m, 0, VALUE_PARENT, &failure), parent_after, status;
	pid_t pid;

	pid = fork();
	HVP_ASSERT(ctx, pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		struct hvp_ctx cc = hvp_child_ctx(ctx, c);
		struct hvp_machine *mc;
		struct hvp_status st;

		/* The parent's hypervisor handle came along; a child opens its own as a VMM would. */
		if ((st = ctx->be->open(ctx->open, &cc.hv)).err != HVP_OK) {
			c->first_failure = st;
			_exit(0);
		}
		st = hvp_machine_create_try(&cc, "child's VM", &mc);
		if (st.err != HVP_OK)
			c->first_failure = st;
		else
			c->ran = guest_reports(mc, 0, VALUE_CHILD, &c->first_failure);
		_exit(0);
	}
	parent_after = guest_reports(m, 1, VALUE_PARENT, &failure);
	status = hvp_child_wait(pid);
	hvp_child_merge(ctx, c, "child");
	ctx->f->guest_verified = c->ran && parent_before && parent_after;
	if (ctx->f->guest_verified)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES,
				   "after fork the child created and ran its own VM while the parent ran its VM's guest again");
	else if (!c->ran)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the child's own VM did not run (%s %s, exit status %d)",
				   c->first_failure.call ? c->first_failure.call : "-",
				   ctx->be->native_name(c->first_failure.native), status);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the child's VM ran, but the parent's guest did not run %s fork",
				   parent_before ? "after" : "before");
	hvp_child_report_free(c);
}

const struct hvp_probe probe_fork_child_own_vm = {
	.id = "fork.child_own_vm",
	.question = "After fork, can the child create and run its own VM while the parent keeps running its own?",
	.timeout_s = 10,
	.run = run_child_own_vm,
};

/*
 * Guest memory across fork: the guest reads the region before the fork (so
 * the hypervisor has it mapped), the child writes word 0, the parent's host
 * writes word 1, then the parent's guest reads both and writes word 2.
 */
static void guest_memory_after_fork(struct hvp_ctx *ctx, int shared)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "parent's VM");
	uint64_t *mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
	uint64_t addrs[2] = { GPA_R, GPA_R + 8 }, got[2] = { 0, 0 }, arg[4] = { GPA_R + 16, VALUE_GUEST, 0, 0 };
	struct hvp_guest_result r;
	struct hvp_vcpu *vcpu;
	pid_t pid;
	int child_seen, parent_seen, host_sees_guest;

	HVP_ASSERT(ctx, mem != MAP_FAILED, "mmap: %s", strerror(errno));
	mem[0] = mem[1] = mem[2] = VALUE_BEFORE;
	hvp_map(m, mem, GPA_R, 0x1000, HVP_PROT_RWX);
	hvp_guest_read_list(m, 0, addrs, 2, got, &r); /* the page is in the guest's mapping before the fork */
	pid = fork();
	HVP_ASSERT(ctx, pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		mem[0] = VALUE_CHILD;
		_exit(0);
	}
	hvp_child_wait(pid);
	mem[1] = VALUE_PARENT;
	hvp_guest_read_list(m, 1, addrs, 2, got, &r);
	hvp_guest_value(ctx, "guest read of the child's word", got[0]);
	hvp_guest_value(ctx, "guest read of the parent's word", got[1]);
	vcpu = hvp_vcpu_start(m, 2, &hvp_prog_load_store, arg);
	hvp_guest_run(m, vcpu, &r);
	host_sees_guest = hvp_guest_ok(&r) && mem[2] == VALUE_GUEST;
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

/*
 * A VM handed to a process that never shared its creator's address space:
 * the receiver is forked before the VM exists, and gets the VM over a Unix
 * socket (KVM: the descriptor with SCM_RIGHTS).
 */
static void run_fd_passed(struct hvp_ctx *ctx)
{
	struct hvp_child_report *c = hvp_child_report_new(ctx);
	struct hvp_status sent, failure = hvp_ok("");
	struct hvp_machine *m;
	int sv[2], base, parent_ran;
	pid_t pid;

	if (!ctx->be->vm_send || !ctx->be->vm_receive) {
		hvp_finding_answer(ctx->f, HVP_ANSWER_SKIPPED, "the %s API has no way to hand a VM to another process",
				   ctx->be->name);
		hvp_child_report_free(c);
		return;
	}
	HVP_ASSERT(ctx, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair: %s", strerror(errno));
	pid = fork();
	HVP_ASSERT(ctx, pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		struct hvp_ctx cc = hvp_child_ctx(ctx, c);
		struct hvp_machine mc = { .ctx = &cc };
		struct hvp_status st = ctx->be->vm_receive(ctx->hv, sv[1], &mc.vm);

		hvp_record(&cc, st, "the VM received");
		if (st.err != HVP_OK) {
			c->first_failure = st;
			_exit(0);
		}
		mc.sys = hvp_guest_memory(&cc, HVP_SYS_SIZE);
		hvp_guest_arch_init(mc.sys, &mc.paging);
		snprintf(mc.label, sizeof(mc.label), "received VM");
		st = hvp_map_try(&mc, mc.sys, HVP_SYS_GPA, HVP_SYS_SIZE, HVP_PROT_RWX);
		if (st.err != HVP_OK)
			c->first_failure = st;
		c->ran = guest_reports(&mc, 0, VALUE_CHILD, &c->first_failure);
		_exit(0);
	}
	m = hvp_machine_create(ctx, "VM");
	sent = ctx->be->vm_send(m->vm, sv[0]);
	hvp_record(ctx, sent, "VM handed to another process");
	hvp_child_wait(pid);
	base = hvp_child_merge(ctx, c, "receiver");
	for (unsigned i = 0; i < c->f.n_evidence; i++)
		if (c->f.evidence[i].result != 0) {
			hvp_decisive(ctx, base + (int)i);
			break;
		}
	parent_ran = guest_reports(m, 0, VALUE_PARENT, &failure);
	ctx->f->guest_verified = c->ran || parent_ran;
	if (c->ran)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "the receiving process mapped memory and ran a guest in the VM");
	else if (c->first_failure.err != HVP_OK)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO,
				   "the receiving process got the VM but could not use it: %s failed with %s; the creator %s",
				   c->first_failure.call, ctx->be->native_name(c->first_failure.native),
				   parent_ran ? "still ran a guest in it" : "could not run a guest in it either");
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the receiving process's calls returned OK, but no guest ran");
	hvp_child_report_free(c);
}

const struct hvp_probe probe_fork_fd_passed = {
	.id = "fork.fd_passed",
	.question = "Can a process that received a VM from its creator (KVM: the fd over SCM_RIGHTS) use it?",
	.timeout_s = 10,
	.run = run_fd_passed,
};
