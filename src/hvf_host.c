/* SPDX-License-Identifier: MIT */
/*
 * Opening Hypervisor.framework: whether this Mac offers it (sysctl
 * kern.hv_support), whether this binary may use it (the entitlement), and
 * whether a VM can be made at all (a trial VM: a Mac that is itself a
 * virtual machine, as GitHub's hosted runners are, may offer the framework
 * and still refuse every VM). hvprobe's own process asks each once; the
 * probe children it forks open without asking again
 * (hvp_open_opts.checked), since the entitlement is read through
 * Security.framework and CoreFoundation, which a forked child must not use
 * without exec.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef __APPLE__
#include <Security/Security.h>
#include <sys/sysctl.h>
#endif

#include "hvf_internal.h"

#define ENTITLEMENT "com.apple.security.hypervisor"
#define TRIAL_CALL "hv_vm_create (a trial VM)"
#define TRIAL_WAIT_MS 10000
#define ENTITLEMENT_NOT_ASKED (-2) /* a forked child's open: its parent's open asked */

int hvf_sysctl_int(const char *name)
{
#ifdef __APPLE__
	int v = 0;
	size_t n = sizeof(v);
	return sysctlbyname(name, &v, &n, NULL, 0) == 0 ? v : -1;
#else
	(void)name;
	return -1;
#endif
}

/*
 * Whether this binary carries the entitlement every Hypervisor.framework
 * process needs (Apple: com.apple.security.hypervisor): 1, 0, or -1 when it
 * cannot be told.
 */
static int entitled(void)
{
#ifdef __APPLE__
	SecTaskRef task = SecTaskCreateFromSelf(kCFAllocatorDefault);
	CFTypeRef v = task ? SecTaskCopyValueForEntitlement(task, CFSTR(ENTITLEMENT), NULL) : NULL;
	int yes = v && CFGetTypeID(v) == CFBooleanGetTypeID() && CFBooleanGetValue((CFBooleanRef)v);

	if (v)
		CFRelease(v);
	if (task)
		CFRelease(task);
	return task ? yes : -1;
#else
	return -1;
#endif
}

/* The trial's child: makes a VM, destroys it, and writes what hv_vm_create returned. */
static __attribute__((noreturn)) void trial_child(int fd)
{
	struct hvp_vm vm = { 0 };
	struct hvp_status st = hvf_arch_vm_create(&vm, 0);
	hv_return_t r = (hv_return_t)(uint32_t)st.native;

	if (st.err == HVP_OK)
		hv_vm_destroy();
	_exit(write(fd, &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1);
}

/* The trial child's answer; HV_SUCCESS when it gives none in time (it is then killed). */
static hv_return_t trial_answer(pid_t pid, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	hv_return_t r = HV_SUCCESS;
	int n;

	while ((n = poll(&p, 1, TRIAL_WAIT_MS)) < 0 && errno == EINTR)
		;
	if (n != 1 || read(fd, &r, sizeof(r)) != (ssize_t)sizeof(r)) {
		r = HV_SUCCESS;
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return r;
}

/*
 * What a trial VM's hv_vm_create returns. The VM is made in a child of its
 * own, so that this process, whose children run the probes, never holds
 * one. HV_SUCCESS where that cannot be told (no child could be made, or it
 * died without answering): the probes then meet what happens and record
 * it themselves.
 */
static hv_return_t trial_vm(void)
{
	int fd[2];
	hv_return_t r = HV_SUCCESS;
	pid_t pid;

	if (pipe(fd) != 0)
		return r;
	pid = fork();
	if (pid == 0) {
		close(fd[0]);
		trial_child(fd[1]);
	}
	close(fd[1]);
	if (pid > 0)
		r = trial_answer(pid, fd[0]);
	close(fd[0]);
	return r;
}

struct hvp_status hvf_open(const struct hvp_open_opts *opts, struct hvp_hv **out)
{
	int entitlement = ENTITLEMENT_NOT_ASKED;
	hv_return_t trial;

	*out = NULL;
	if (!opts->checked) {
		/* Missing, as on Apple silicon VMs without nested virtualization, is as unsupported as 0. */
		if (hvf_sysctl_int("kern.hv_support") != 1)
			return hvf_status("sysctl kern.hv_support", HV_UNSUPPORTED);
		if ((entitlement = entitled()) == 0)
			return hvf_status("entitlement " ENTITLEMENT, HV_DENIED);
		if ((trial = trial_vm()) != HV_SUCCESS)
			return hvf_status(TRIAL_CALL, trial);
	}
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return hvf_status("calloc", HV_NO_RESOURCES);
	(*out)->entitled = entitlement;
	return hvp_ok("hv_support");
}

void hvf_close(struct hvp_hv *hv)
{
	free(hv); /* vCPU and VM handles live until the process ends: probes run in children */
}

static const char *trial_advice(void)
{
	if (hvf_sysctl_int("kern.hv_vmm_present") == 1)
		return "this Mac is itself a virtual machine (sysctl kern.hv_vmm_present is 1) whose hypervisor "
		       "lets it make no VM of its own (no nested virtualization, as on GitHub's hosted macOS "
		       "runners): a trial hv_vm_create was refused";
	return "Hypervisor.framework refused to make a VM (a trial hv_vm_create), although sysctl "
	       "kern.hv_support is 1: the code says why";
}

const char *hvf_open_advice(const struct hvp_open_opts *opts, struct hvp_status st)
{
	(void)opts;
	if (st.call && strcmp(st.call, TRIAL_CALL) == 0)
		return trial_advice();
	if (st.err == HVP_ERR_DENIED)
		return "this binary lacks the " ENTITLEMENT " entitlement: sign it with "
		       "codesign --sign - --entitlements hvprobe.entitlements --force hvprobe (make does)";
	if (st.err == HVP_ERR_UNSUPPORTED && hvf_sysctl_int("kern.hv_support") < 0)
		return "this Mac offers no Hypervisor.framework: sysctl kern.hv_support is missing (a virtual "
		       "machine without nested virtualization, such as GitHub's Apple silicon runners)";
	if (st.err == HVP_ERR_UNSUPPORTED)
		return "this Mac offers no Hypervisor.framework: sysctl kern.hv_support is not 1 (a Mac without VT-x "
		       "with EPT, or a virtual machine without nested virtualization)";
	return "Hypervisor.framework could not be used";
}

static const char *entitlement_fact(int entitlement)
{
	switch (entitlement) {
	case 1: return "yes (" ENTITLEMENT ")";
	case 0: return "no";
	case ENTITLEMENT_NOT_ASKED: return "not asked again in a forked child";
	default: return "unknown";
	}
}

void hvf_host_facts(const struct hvp_hv *hv, struct hvp_facts *out)
{
	int support = hvf_sysctl_int("kern.hv_support"), vmm = hvf_sysctl_int("kern.hv_vmm_present");

	if (support < 0)
		hvp_facts_add(out, "kern.hv_support", "missing");
	else
		hvp_facts_add(out, "kern.hv_support", "%d", support);
	if (vmm < 0)
		hvp_facts_add(out, "kern.hv_vmm_present", "missing");
	else
		hvp_facts_add(out, "kern.hv_vmm_present", "%d%s", vmm, vmm ? " (this Mac is a virtual machine)" : "");
	hvp_facts_add(out, "entitlement", "%s", entitlement_fact(hv->entitled));
}
