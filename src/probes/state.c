/* SPDX-License-Identifier: MIT */
/*
 * Snapshots: can a VMM save a vCPU's whole state and the guest memory, and
 * have another process restore both into a new VM and resume the guest as
 * if nothing happened (Firecracker's snapshots, live migration)?
 *
 * The restoring process is forked before the saving VM exists, so it never
 * shares that VM's descriptors or memory; the snapshot reaches it as bytes
 * over a socket (the backend's opaque blob, then the guest memory), and the
 * saving VM is destroyed before the last byte is sent. The guest itself
 * decides what survived (state_check, guest_state.h): it loads every class
 * of state it can reach, dumps it, pauses for the save, and after the
 * restore dumps and compares again. On x86 its local APIC is one of those
 * classes where the API has an in-kernel one (KVM: KVM_CAP_IRQCHIP): both
 * VMs get the irqchip before their vCPU, and the guest loads the APIC's
 * registers, its timer, an interrupt left pending and CR8.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../bench.h"
#include "../guest_state.h"
#include "../machine.h"
#include "../probe_child.h"
#include "../truth.h"
#include "guest_proof.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* macOS: SO_NOSIGPIPE is not needed, the probe's child ignores nothing else */
#endif

#define SNAPSHOT_MAGIC UINT64_C(0x485650534e415031) /* "HVPSNAP1" */
#define TSC_SLACK 1.10 /* the guest's TSC may run a little fast beside the rate the API states */
#define TSC_SLACK_CYCLES 1e6 /* and the host's clock be read a little late */

/* The values state_check loads (guest_state.h): distinctive, and legal where they must be. */
static const uint64_t gpr_values[13] = {
	0x1111111111111111, 0x2222222222222222, 0x3333333333333333, 0x4444444444444444, 0x5555555555555555,
	0x6666666666666666, 0x7777777777777777, 0x8888888888888888, 0x9999999999999999, 0xaaaaaaaaaaaaaaaa,
	0xbbbbbbbbbbbbbbbb, 0xcccccccccccccccc, 0xdddddddddddddddd,
};
/* MSRs any x86_64 guest may write: segment bases, SYSCALL and SYSENTER targets. */
static const uint64_t msr_values[][2] = {
	{ 0xc0000100, 0x00007f0000100000 }, /* FS_BASE */
	{ 0xc0000101, 0x00007f0000200000 }, /* GS_BASE */
	{ 0xc0000102, 0x00007f0000300000 }, /* KERNEL_GS_BASE */
	{ 0xc0000081, 0x0023001000000000 }, /* STAR */
	{ 0xc0000082, 0xffffffff81000000 }, /* LSTAR */
	{ 0xc0000083, 0xffffffff81000100 }, /* CSTAR */
	{ 0xc0000084, 0x0000000000047700 }, /* SFMASK */
	{ 0x174, 0x10 },                    /* SYSENTER_CS */
	{ 0x175, 0x0000000000400000 },      /* SYSENTER_ESP: 32 bits, all AMD's CPUs keep */
	{ 0x176, 0x0000000000500000 },      /* SYSENTER_EIP */
};
#define N_MSRS (sizeof(msr_values) / sizeof(msr_values[0]))

/*
 * The local APIC registers state_check writes after CR8, in order
 * ({offset, value}, xAPIC mode; Intel SDM Vol. 3A, 11.4-11.6 and 11.8):
 * each value one the APIC keeps as written. The spurious vector register first, since a
 * software-disabled APIC masks every LVT write; every LVT entry masked
 * with a vector of its own, so that none interrupts; a self-IPI, which
 * stays pending in the IRR while interrupts are off; the timer's initial
 * count last, since writing it starts the one-shot count.
 */
static const uint32_t lapic_values[][2] = {
	{ 0xf0, 0x1ef },       /* SVR: enabled, spurious vector 0xef */
	{ 0x80, 0x5c },        /* TPR, which CR8's write before made 0xb0 */
	{ 0xd0, 0x5a000000 },  /* LDR: logical ID 0x5a */
	{ 0xe0, 0x0fffffff },  /* DFR: the cluster model */
	{ 0x330, 0x10033 },    /* LVT thermal: masked, vector 0x33 */
	{ 0x340, 0x10034 },    /* LVT performance counter: masked, vector 0x34 */
	{ 0x350, 0x1a035 },    /* LVT LINT0: masked, level, active low, vector 0x35 */
	{ 0x360, 0x10436 },    /* LVT LINT1: masked, NMI */
	{ 0x370, 0x10037 },    /* LVT error: masked, vector 0x37 */
	{ 0x320, 0x10032 },    /* LVT timer: masked, one-shot, vector 0x32 */
	{ 0x3e0, 0xa },        /* timer divide by 128 */
	{ 0x310, 0x3c000000 }, /* ICR high: destination 0x3c */
	{ 0x300, 0x400e3 },    /* ICR: fixed vector 0xe3 to itself, left pending */
	{ 0x380, 0xfedcba98 }, /* initial count: about 9 minutes at KVM's 1 GHz APIC bus, divided by 128 */
};
#define N_LAPIC (sizeof(lapic_values) / sizeof(lapic_values[0]))
#define LAPIC_CR8 0xb /* the TPR's priority class, written first */

_Static_assert(N_LAPIC <= HVP_SV_LAPIC_MAX, "state_check dumps at most HVP_SV_LAPIC_MAX APIC registers");

/* Flags of the snapshot's header: what the restoring VM must have before its vCPU. */
#define SNAP_SVE 1
#define SNAP_LAPIC 2

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* arm64: system registers any EL1 guest may write (guest_state.h, HVP_SVA_SYS), and the virtual timer. */
static const uint64_t sys_values_arm64[10] = {
	0x00007f0000100000, 0x00007f0000200000, 0xffff800000300000, 0x1234, 0x00007f00deadb000,
	0x00007f00cafe0000, 0, 0x00007f0000400000, 0xffff800000500000, 0x3c5,
};

static void stage_values_arm64(uint8_t *sys, bool sve)
{
	uint8_t *v = sys + HVP_STATE_VALUES;

	for (unsigned n = 1; n <= 30; n++)
		if (n != 9)
			put64(v + HVP_SVA_GPR + 8 * n, 0x0101010101010101 * (n % 15 + 1) + n);
	put64(v + HVP_SVA_NZCV, 0xa0000000);          /* N and C */
	for (unsigned i = 0; i < 10; i++)
		put64(v + HVP_SVA_SYS + 8 * i, sys_values_arm64[i]);
	put64(v + HVP_SVA_CNTV_CTL, 3);               /* enabled, masked */
	put64(v + HVP_SVA_CNTV_CVAL, 0x7fffffffffff0000); /* far beyond any counter value */
	put64(v + HVP_SVA_FPCR, 0x00c00000);          /* round toward zero */
	put64(v + HVP_SVA_FPSR, 0x08000000);          /* QC */
	for (unsigned i = 0; i < 512; i++)
		v[HVP_SVA_V + i] = (uint8_t)(i * 7 + 0x5a);
	put64(v + HVP_SVA_SVE, sve);
	for (unsigned i = 0; sve && i < HVP_SVE_MAX_BYTES; i++)
		sys[HVP_SVE_VALUES + i] = (uint8_t)(i * 13 + 0xa5);
}

/* x86: the local APIC registers and CR8 (none: the guest leaves both alone). */
static void stage_lapic(uint8_t *v, bool lapic)
{
	put64(v + HVP_SV_LAPIC_N, lapic ? N_LAPIC : 0);
	put64(v + HVP_SV_CR8, LAPIC_CR8);
	for (unsigned i = 0; lapic && i < N_LAPIC; i++)
		memcpy(v + HVP_SV_LAPIC + 8 * i, lapic_values[i], 8);
}

/* Stages the values state_check loads, in the saving VM's system region. */
static void stage_values(const struct hvp_ctx *ctx, uint8_t *sys, bool sve, bool lapic)
{
	uint8_t *v = sys + HVP_STATE_VALUES;
	uint16_t idt_limit = 0x0fff;

	if (!strcmp(ctx->be->arch, "arm64")) {
		stage_values_arm64(sys, sve);
		return;
	}
	stage_lapic(v, lapic);

	for (unsigned i = 0; i < 13; i++)
		put64(v + HVP_SV_GPR + 8 * i, gpr_values[i]);
	put64(v + HVP_SV_FLAGS, 0xcd7);               /* CF PF AF ZF SF DF OF, and bit 1; IF and TF clear */
	put64(v + HVP_SV_CR2, 0x00007f00deadb000);
	memcpy(v + HVP_SV_IDT, &idt_limit, 2);
	put64(v + HVP_SV_IDT + 2, 0x00007f0012340000);
	put64(v + HVP_SV_FCW, 0x0e7f);                /* double precision, round toward zero, all masked */
	put64(v + HVP_SV_MXCSR, 0x7f80);              /* round toward zero, all masked */
	put64(v + HVP_SV_X87, 0x400921fb54442d18);    /* pi */
	for (unsigned i = 0; i < 4; i++)
		put64(v + HVP_SV_DR + 8 * i, 0x00007f0000001000 + 0x100 * i);
	put64(v + HVP_SV_DR + 32, 0x700);             /* LE, GE and the reserved bit 10: nothing enabled */
	put64(v + HVP_SV_NMSR, N_MSRS);
	for (unsigned i = 0; i < N_MSRS; i++) {
		put64(v + HVP_SV_MSR + 16 * i, msr_values[i][0]);
		put64(v + HVP_SV_MSR + 16 * i + 8, msr_values[i][1]);
	}
	for (unsigned i = 0; i < 512; i++) /* XMM0-15 and the upper halves of YMM0-15 */
		v[HVP_SV_XMM + i] = (uint8_t)(i * 7 + 0x5a);
}

/* What the restoring process did, in memory it shares with the probe. */
struct restored {
	struct hvp_status restore;      /* the restore call */
	struct hvp_guest_result r;      /* the resumed run */
};

/* What a round trip found, for the questions to answer from. */
struct trip {
	uint64_t xcr0, tsc_before;
	int64_t vcpu_made_ns, first_run_start_ns, first_run_end_ns;
	uint64_t khz;                   /* the guest's TSC rate, when asked for */
	bool no_avx;                    /* the guest leaves AVX alone (HVP_STATE_NO_AVX) */
	bool sve;                       /* arm64: the vCPUs have SVE, which the guest loads and checks */
	char no_sve[64];                /* arm64: why not, where they have not */
	bool lapic;                     /* x86: both VMs have an in-kernel local APIC, which the guest loads and checks */
	char no_lapic[96];              /* x86: why not, where they have not */
	bool avx_faulted;               /* a first try with AVX ended in a fault of the guest's (a shutdown) */
	size_t blob_len;
	unsigned n_classes;
	struct hvp_state_class classes[HVP_STATE_CLASSES_MAX];
	const struct restored *res;
	int base;                       /* the restoring process's first evidence in the finding */
};

static int send_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Reads exactly n bytes; -1 on an error or an early end. */
static int recv_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;

	while (n) {
		ssize_t k = recv(fd, b, n, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

/* The restoring process: the snapshot off the socket, a new API handle, a new VM, the restore, the resumed guest. */
static void restore_elsewhere(struct hvp_ctx *ctx, struct hvp_child_report *c, struct restored *res, int sock)
{
	struct hvp_ctx cc = hvp_child_ctx(ctx, c);
	uint64_t hdr[4], end;
	struct hvp_machine *m;
	struct hvp_vcpu *vcpu;
	struct hvp_status st;
	uint8_t *blob, *mem;

	HVP_ASSERT(&cc, recv_all(sock, hdr, sizeof(hdr)) == 0 && hdr[0] == SNAPSHOT_MAGIC && hdr[2] == HVP_SYS_SIZE &&
		   hdr[1] < (64u << 20), "the snapshot's header did not arrive whole");
	blob = malloc(hdr[1]);
	mem = malloc(hdr[2]);
	HVP_ASSERT(&cc, blob && mem, "no memory for a snapshot of %" PRIu64 " bytes", hdr[1] + hdr[2]);
	HVP_ASSERT(&cc, recv_all(sock, blob, hdr[1]) == 0 && recv_all(sock, mem, hdr[2]) == 0,
		   "the snapshot did not arrive whole");
	/* The end of the stream: the saving VM is destroyed by then. */
	HVP_ASSERT(&cc, recv(sock, &end, sizeof(end), 0) == 0, "the snapshot's stream did not end after it");
	st = ctx->be->open(ctx->open, &cc.hv);
	HVP_ASSERT(&cc, st.err == HVP_OK, "opening the API: %s %s", st.call, hvp_native(ctx, st));
	m = hvp_machine_create(&cc, "new VM");
	memcpy(m->sys, mem, HVP_SYS_SIZE);
	if (hdr[3] & SNAP_LAPIC) { /* the saved vCPU had an in-kernel local APIC: so must this one, made before it */
		st = ctx->be->irq_chip_create(m->vm, HVP_IRQCHIP_X86_FULL);
		hvp_record(&cc, st, "%s: in-kernel interrupt controller", m->label);
		HVP_ASSERT(&cc, st.err == HVP_OK, "the irqchip for the vCPU to restore into: %s %s", st.call,
			   hvp_native(ctx, st));
	}
	if (hdr[3] & SNAP_SVE) { /* the saved vCPU had SVE: so must this one */
		st = ctx->be->arm64_sve_enable(m->vm);
		hvp_record(&cc, st, "%s: SVE", m->label);
		HVP_ASSERT(&cc, st.err == HVP_OK, "SVE for the vCPU to restore into: %s %s", st.call, hvp_native(ctx, st));
	}
	st = ctx->be->vcpu_create(m->vm, 0, &vcpu);
	hvp_record(&cc, st, "%s: vcpu 0 for the restore", m->label);
	HVP_ASSERT(&cc, st.err == HVP_OK, "creating the vCPU to restore into: %s %s", st.call, hvp_native(ctx, st));
	st = ctx->be->vcpu_state_restore(vcpu, blob, hdr[1]);
	st.evidence = hvp_record(&cc, st, "%s: vcpu state restored from %" PRIu64 " bytes", m->label, hdr[1]);
	res->restore = st;
	if (st.err == HVP_OK)
		hvp_guest_resume(m, vcpu, &res->r, 0);
	hvp_child_exit(c);
}

/* Saves the paused vCPU; a refusal ends the probe with "no", any other failure as not evidence. */
static void save_state(struct hvp_ctx *ctx, struct hvp_vcpu *vcpu, uint8_t **blob, struct trip *t)
{
	struct hvp_status st = ctx->be->vcpu_state_save(vcpu, blob, &t->blob_len);
	char names[HVP_DETAIL_MAX] = "";
	size_t len = 0;
	int i;

	if (st.err != HVP_OK) {
		i = hvp_record(ctx, st, "vcpu state save");
		if (!hvp_refused_as(st, HVP_REFUSALS))
			hvp_not_evidence(ctx, st, "saving the vCPU's state");
		hvp_decisive(ctx, i);
		hvp_probe_end(ctx, HVP_ANSWER_NO, "saving the vCPU's state was refused");
	}
	t->n_classes = ctx->be->vcpu_state_classes(*blob, t->blob_len, t->classes, HVP_STATE_CLASSES_MAX);
	for (unsigned k = 0; k < t->n_classes && len < sizeof(names); k++)
		len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s", k ? " " : "", t->classes[k].name);
	hvp_record(ctx, st, "%zu bytes: %s", t->blob_len, names);
	HVP_ASSERT(ctx, t->n_classes > 0, "the backend cannot read back the state it saved (%zu bytes)", t->blob_len);
}

/*
 * arm64: SVE for the saving VM's vCPU where the API offers it, so that the
 * guest loads Z, P and FFR too; why not, where it does not (a refusal of
 * the feature is no answer about snapshots: it is stated).
 */
static void sve_on(struct hvp_ctx *ctx, struct hvp_machine *m, struct trip *t)
{
	struct hvp_status st;

	if (strcmp(ctx->be->arch, "arm64"))
		return;
	if (!ctx->be->arm64_sve_enable) {
		snprintf(t->no_sve, sizeof(t->no_sve), "the API cannot enable it");
		return;
	}
	st = ctx->be->arm64_sve_enable(m->vm);
	hvp_record(ctx, st, "%s: SVE", m->label);
	t->sve = st.err == HVP_OK;
	if (!t->sve)
		snprintf(t->no_sve, sizeof(t->no_sve), "%s %s", st.call, hvp_native(ctx, st));
}

/*
 * x86: an in-kernel local APIC (KVM: the full irqchip, before the vCPU)
 * and its register page for the guest, where the API has one; why not
 * where it has none. The API's own "yes" makes a failure to create it no
 * answer about snapshots: the probe crashes there.
 */
static void lapic_on(struct hvp_ctx *ctx, struct hvp_machine *m, struct trip *t)
{
	const char *name = "the API";
	struct hvp_status st;
	int64_t v;

	if (strcmp(ctx->be->arch, "x86_64"))
		return;
	v = ctx->be->irq_feature && ctx->be->irq_chip_create ? ctx->be->irq_feature(ctx->hv, HVP_FEAT_IRQCHIP, &name) : -1;
	if (v <= 0) {
		if (v < 0)
			snprintf(t->no_lapic, sizeof(t->no_lapic), "%s has none in the kernel", name);
		else
			snprintf(t->no_lapic, sizeof(t->no_lapic), "%s is %" PRId64, name, v);
		return;
	}
	st = ctx->be->irq_chip_create(m->vm, HVP_IRQCHIP_X86_FULL);
	hvp_record(ctx, st, "%s: in-kernel interrupt controller", m->label);
	hvp_need_ok(ctx, st, "creating the in-kernel interrupt controller");
	hvp_page_device(m, HVP_X86_APIC_GPA, 0x1000);
	t->lapic = true;
}

/*
 * Runs state_check to its pause in a new VM here, saves, sends, and
 * destroys the VM. Returns 0; 1 when the guest faulted (a shutdown) before
 * its pause with AVX in use, which CPUID offered (QEMU's nested SVM does
 * so now and then): nothing was sent.
 */
static int save_and_send(struct hvp_ctx *ctx, int sock, struct trip *t, bool want_khz)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "saving VM");
	struct hvp_guest_result r;
	struct hvp_vcpu *vcpu;
	uint8_t *blob = NULL;
	uint64_t hdr[4];
	char how[128];

	sve_on(ctx, m, t);
	lapic_on(ctx, m, t);
	stage_values(ctx, m->sys, t->sve, t->lapic);
	t->vcpu_made_ns = hvp_now_ns();
	vcpu = hvp_vcpu_start(m, 0, &hvp_prog_state_check, (uint64_t[4]){ t->no_avx ? HVP_STATE_NO_AVX : 0 });
	if (want_khz && !(t->khz = hvp_guest_tsc_khz(ctx, vcpu)))
		return 0; /* answered skipped: the guest's clock cannot be read in time */
	t->first_run_start_ns = hvp_now_ns();
	hvp_guest_run(m, vcpu, &r);
	t->first_run_end_ns = r.returned_ns;
	hvp_need_ok(ctx, r.st, "the guest's run to its pause");
	if (!t->no_avx && r.n == 0 && r.last.kind == HVP_EXIT_SHUTDOWN) {
		hvp_vcpu_destroy(m, vcpu);
		hvp_machine_destroy(m);
		return 1;
	}
	HVP_ASSERT(ctx, r.n == 2 && hvp_guest_arch_channel(&r.last) == HVP_CHANNEL_PAUSE,
		   "the guest did not load its state and pause: %s", hvp_guest_how(ctx, &r, how, sizeof(how)));
	t->xcr0 = r.value[0];
	t->tsc_before = r.value[1];
	save_state(ctx, vcpu, &blob, t);
	hdr[0] = SNAPSHOT_MAGIC;
	hdr[1] = t->blob_len;
	hdr[2] = HVP_SYS_SIZE;
	hdr[3] = (t->sve ? SNAP_SVE : 0) | (t->lapic ? SNAP_LAPIC : 0);
	HVP_ASSERT(ctx, send_all(sock, hdr, sizeof(hdr)) == 0 && send_all(sock, blob, t->blob_len) == 0 &&
		   send_all(sock, m->sys, HVP_SYS_SIZE) == 0,
		   "the restoring process did not take the snapshot: %s", strerror(errno));
	free(blob);
	hvp_vcpu_destroy(m, vcpu);
	hvp_machine_destroy(m);
	return 0;
}

/*
 * One save here and restore in a new process. Returns 0 with the restored
 * side in t->res; -1 when the question was answered on the way (skipped
 * for want of a clock rate); 1 when the guest, with AVX in use, faulted on
 * either side (a shutdown): the caller tries again without AVX.
 */
static int one_trip(struct hvp_ctx *ctx, struct trip *t, bool want_khz)
{
	struct hvp_child_report *c = hvp_child_report_new(ctx);
	struct restored *res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char why[HVP_TEXT_MAX];
	int sv[2], status, faulted;
	const char *failure;
	pid_t pid;

	HVP_ASSERT(ctx, res != MAP_FAILED, "mmap: %s", strerror(errno));
	memset(res, 0, sizeof(*res));
	HVP_ASSERT(ctx, socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair: %s", strerror(errno));
	pid = fork();
	HVP_ASSERT(ctx, pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(sv[0]);
		restore_elsewhere(ctx, c, res, sv[1]);
	}
	close(sv[1]);
	faulted = save_and_send(ctx, sv[0], t, want_khz);
	close(sv[0]); /* after the saving VM is gone: the restoring process starts on this end of the stream */
	status = hvp_child_wait(pid);
	t->base = hvp_child_merge(ctx, c, faulted ? "new process (nothing sent)" : "new process");
	failure = hvp_child_failure(c, status, why, sizeof(why));
	if (want_khz && !t->khz)
		return -1;
	if (faulted) {
		hvp_child_report_free(c);
		munmap(res, sizeof(*res));
		return 1;
	}
	HVP_ASSERT(ctx, !failure, "the restoring process did not finish, so it answered nothing: %s", failure);
	t->res = res;
	if (res->restore.err != HVP_OK) {
		if (!hvp_refused_as(res->restore, HVP_REFUSALS))
			hvp_not_evidence(ctx, res->restore, "restoring the vCPU's state in the new process");
		hvp_decisive(ctx, t->base + res->restore.evidence);
		hvp_probe_end(ctx, HVP_ANSWER_NO, "the new process could not restore the saved state: the restore was refused");
	}
	if (!t->no_avx && res->r.st.err == HVP_OK && res->r.last.kind == HVP_EXIT_SHUTDOWN) {
		hvp_child_report_free(c);
		munmap(res, sizeof(*res));
		return 1;
	}
	hvp_need_guest(ctx, &res->r, 2, "the restored guest's checks");
	HVP_ASSERT(ctx, res->r.n == 2, "the restored guest made %u reports, not 2", res->r.n);
	hvp_decisive(ctx, t->base + res->r.st.evidence);
	return 0;
}

/*
 * Saves the guest at its pause and has a new process restore it, with
 * AVX where CPUID offers it; where the guest's AVX instructions fault
 * (QEMU's nested SVM), once more without: the answer is then that run's,
 * and says that AVX was not exercised. Returns as one_trip.
 */
static int round_trip(struct hvp_ctx *ctx, struct trip *t, bool want_khz)
{
	int r;

	if (!ctx->be->vcpu_state_save || !ctx->be->vcpu_state_restore || !ctx->be->vcpu_state_classes)
		hvp_probe_end(ctx, HVP_ANSWER_SKIPPED, "this backend cannot save and restore a vCPU's state yet");
	memset(t, 0, sizeof(*t));
	t->no_avx = strcmp(ctx->be->arch, "x86_64") != 0;
	r = one_trip(ctx, t, want_khz);
	if (r == 1) {
		memset(t, 0, sizeof(*t));
		t->avx_faulted = t->no_avx = true;
		r = one_trip(ctx, t, want_khz);
	}
	HVP_ASSERT(ctx, r != 1, "the guest faulted (a shutdown) even without AVX: nothing was measured");
	return r;
}

/* "general registers, x87/SSE" for the classes set in mask. */
static void lost_names(const struct hvp_ctx *ctx, uint64_t mask, char *out, size_t size)
{
	static const char *const x86[] = { "general registers", "RFLAGS", "control, segment and descriptor registers",
					   "debug registers", "MSRs", "x87/SSE", "AVX upper halves", "XCR0",
					   "local APIC registers", "local APIC timer", "the interrupt pending in the IRR" };
	static const char *const arm64[] = { "general registers", "NZCV", "system registers", "the virtual timer",
					     "(none)", "FP/SIMD", "SVE", "(none)", "(none)", "(none)", "(none)" };
	const char *const *names = strcmp(ctx->be->arch, "arm64") ? x86 : arm64;
	size_t len = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < sizeof(x86) / sizeof(x86[0]); i++)
		if (mask & (1u << i) && len < size)
			len += (size_t)snprintf(out + len, size - len, "%s%s", len ? ", " : "", names[i]);
}

static void run_save_restore(struct hvp_ctx *ctx)
{
	struct trip t;
	uint64_t mask;
	char lost[256], lapic[160];

	round_trip(ctx, &t, false);
	mask = t.res->r.value[1];
	hvp_guest_value(ctx, strcmp(ctx->be->arch, "arm64") ? "XCR0 the guest set (0: no AVX)" : "SVE vector bytes (0: no SVE)",
			t.xcr0);
	hvp_guest_value(ctx, "classes the restored guest found changed", mask);
	HVP_ASSERT(ctx, (mask & ~(uint64_t)HVP_LOST_ALL) == 0,
		   "the restored guest reported 0x%" PRIx64 ", which is no mask of its checks", mask);
	ctx->f->guest_verified = true;
	if (mask == 0 && t.sve)
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "a new process restored the state (%u classes, %zu bytes) into a "
				   "new VM; the guest found x1-x30, NZCV, 10 system registers, the virtual timer, FP/SIMD and "
				   "SVE (%" PRIu64 "-byte vectors: Z, P, FFR) intact", t.n_classes, t.blob_len, t.xcr0);
	else if (mask == 0 && !strcmp(ctx->be->arch, "arm64"))
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "a new process restored the state (%u classes, %zu bytes) into a "
				   "new VM; the guest found x1-x30, NZCV, 10 system registers, the virtual timer and FP/SIMD "
				   "intact (no SVE: %s)", t.n_classes, t.blob_len, t.no_sve);
	else if (mask == 0) {
		if (t.lapic)
			snprintf(lapic, sizeof(lapic), "; and its local APIC (%zu registers, CR8, timer, IRR)", N_LAPIC);
		else
			snprintf(lapic, sizeof(lapic), " (local APIC not covered: %s)", t.no_lapic);
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "a new process restored the state (%u classes, %zu bytes) into a "
				   "new VM; the guest found its registers, flags, control, debug, %zu MSRs, x87/SSE%s intact%s",
				   t.n_classes, t.blob_len, N_MSRS,
				   t.xcr0 & 4 ? ", AVX and XCR0" : t.avx_faulted ? " (AVX faulted here: not exercised)" : " (no AVX)",
				   lapic);
	} else {
		lost_names(ctx, mask, lost, sizeof(lost));
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "after the restore in a new process the guest found changed: %s",
				   lost);
	}
}

const struct hvp_probe probe_state_save_restore = {
	.id = "state.save_restore",
	.question = "Does a guest resume intact after its vCPU state and memory are saved and restored into a new VM in a new process?",
	.timeout_s = 30,
	.run = run_save_restore,
};

static void run_tsc_across_restore(struct hvp_ctx *ctx)
{
	struct trip t;
	uint64_t after;
	double host_ms, guest_ms;

	if (round_trip(ctx, &t, true))
		return;
	after = t.res->r.value[0];
	hvp_guest_value(ctx, "guest clock before the save", t.tsc_before);
	hvp_guest_value(ctx, "guest clock after the restore", after);
	/*
	 * A new vCPU's TSC starts at 0 (KVM x86): a first reading beyond what it
	 * could have counted since is no reading. arm64's virtual counter runs
	 * from the host's boot: no bound there.
	 */
	HVP_ASSERT(ctx, !strcmp(ctx->be->arch, "arm64") || (double)t.tsc_before <= (double)(t.first_run_end_ns - t.vcpu_made_ns) / 1e6 * (double)t.khz *
		   TSC_SLACK + TSC_SLACK_CYCLES, "the guest's first TSC reading, 0x%" PRIx64 ", is more than its clock could "
		   "have counted since its vCPU was made: its reports prove nothing", t.tsc_before);
	ctx->f->guest_verified = true;
	/* The second reading came before the restored run returned; the first after the first run began. */
	host_ms = (double)(t.res->r.returned_ns - t.first_run_start_ns) / 1e6;
	guest_ms = after >= t.tsc_before ? (double)(after - t.tsc_before) / (double)t.khz : -1;
	if (after < t.tsc_before)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the guest's clock went back across the restore, from 0x%" PRIx64
				   " to 0x%" PRIx64, t.tsc_before, after);
	else if (guest_ms > host_ms * TSC_SLACK + TSC_SLACK_CYCLES / (double)t.khz)
		hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "the guest's clock jumped across the restore: %.1f ms at %" PRIu64
				   " kHz while %.1f ms passed on the host", guest_ms, t.khz, host_ms);
	else
		hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "the guest's clock went on across the save and the restore in a "
				   "new process: %.1f ms at %" PRIu64 " kHz while %.1f ms passed on the host (%s)", guest_ms,
				   t.khz, host_ms, guest_ms >= host_ms / 2 ? "the time away counted" : "from where it stopped");
}

const struct hvp_probe probe_state_tsc_across_restore = {
	.id = "state.tsc_across_restore",
	.question = "After a save and a restore in a new process, does the guest's TSC go on from where it was, never back nor ahead of time?",
	.timeout_s = 30,
	.arch = "x86_64",
	.run = run_tsc_across_restore,
};

const struct hvp_probe probe_state_counter_offset = {
	.id = "state.counter_offset",
	.question = "After a save and a restore in a new process, does the guest's virtual counter go on from where it was, never back nor ahead of time?",
	.timeout_s = 30,
	.arch = "arm64",
	.run = run_tsc_across_restore,
};

/* The class that carries the FPU and vector state, or NULL. */
static const struct hvp_state_class *fpu_class(const struct trip *t)
{
	for (unsigned i = 0; i < t->n_classes; i++)
		if (!strncmp(t->classes[i].name, "xsave", 5) || !strcmp(t->classes[i].name, "fpu"))
			return &t->classes[i];
	return NULL;
}

/*
 * CPUID leaf 0xD as the guest sees it: ECX is the size of the XSAVE area
 * every feature XCR0 may enable needs; the class the backend saves the
 * vector state in must hold that much.
 */
static void run_xsave_size(struct hvp_ctx *ctx)
{
	struct hvp_machine *m = hvp_machine_create(ctx, "VM");
	uint64_t arg[4] = { 0xd, 0, 0, 0 };
	struct hvp_vcpu *vcpu = hvp_vcpu_start(m, 0, &hvp_prog_cpuid_report, arg);
	const struct hvp_state_class *fpu;
	struct hvp_guest_result r;
	struct trip t = { 0 };
	uint8_t *blob = NULL;
	uint64_t area;

	if (!ctx->be->vcpu_state_save || !ctx->be->vcpu_state_classes)
		hvp_probe_end(ctx, HVP_ANSWER_SKIPPED, "this backend cannot save a vCPU's state yet");
	hvp_guest_run(m, vcpu, &r);
	hvp_need_guest(ctx, &r, 5, "reading CPUID leaf 0xD");
	area = r.value[2];
	hvp_guest_value(ctx, "CPUID 0xD.0 ECX: XSAVE area for all features", area);
	hvp_guest_value(ctx, "CPUID 0xD.0 EAX: XCR0 bits offered", r.value[0]);
	if (area == 0)
		hvp_probe_end(ctx, HVP_ANSWER_SKIPPED, "the guest's CPU offers no XSAVE (CPUID leaf 0xD is empty)");
	save_state(ctx, vcpu, &blob, &t);
	free(blob);
	fpu = fpu_class(&t);
	HVP_ASSERT(ctx, fpu, "the saved state has no class for the FPU and vector registers");
	hvp_decisive(ctx, r.st.evidence);
	ctx->f->guest_verified = true;
	hvp_finding_answer(ctx->f, fpu->size >= area ? HVP_ANSWER_YES : HVP_ANSWER_NO,
			   "the guest's XSAVE area is %" PRIu64 " bytes (XCR0 bits 0x%" PRIx64 "); the state's %s class "
			   "carries %u bytes%s", area, r.value[0], fpu->name, fpu->size,
			   area > 4096 ? " (more than struct kvm_xsave's 4096: XSAVE2 is needed)" : "");
	hvp_vcpu_destroy(m, vcpu);
	hvp_machine_destroy(m);
}

const struct hvp_probe probe_state_xsave_size = {
	.id = "state.xsave_size",
	.question = "Does the saved vCPU state carry the whole XSAVE area the guest's CPUID offers (KVM_GET_XSAVE2 where it is larger than 4 KiB)?",
	.timeout_s = 15,
	.arch = "x86_64",
	.run = run_xsave_size,
};
