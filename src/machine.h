/* SPDX-License-Identifier: MIT */
/*
 * A machine: a VM with the system region mapped and identity paging ready,
 * plus helpers that probes use to map memory, start vCPUs on guest
 * programs and run them until their final report. Every backend call made
 * here is recorded in the probe's finding.
 *
 * Each helper has a _try form returning the status for probes that ask
 * whether a call works; the plain form asserts (hvp_probe_abort), for
 * setup that must work for the question to be asked at all. hvprobe's own
 * failures (guest page tables, host memory) always end the probe as
 * crashed: they are never evidence of an API call.
 */
#ifndef HVP_MACHINE_H
#define HVP_MACHINE_H

#include <stdbool.h>
#include <pthread.h>
#include <stdint.h>

#include "guest.h"
#include "probe.h"

#define HVP_GUEST_REPORTS_MAX 128

struct hvp_machine {
	struct hvp_ctx *ctx;
	struct hvp_vm *vm;
	uint8_t *sys;              /* host memory of the system region */
	struct hvp_guest_paging paging;
	unsigned code_used;        /* bytes of HVP_SYS_CODE in use */
	const struct hvp_program *loaded[8];
	uint64_t loaded_at[8];
	unsigned n_loaded;
	char label[16];            /* "VM A": names the machine in evidence */
};

/* What a guest program did in one hvp_guest_run. */
struct hvp_guest_result {
	unsigned n;                /* reports */
	uint64_t value[HVP_GUEST_REPORTS_MAX];
	bool done;                 /* the program made its final report */
	uint64_t done_status;
	bool failed;               /* the program reported a failed check */
	struct hvp_exit last;      /* the exit that ended the run */
	struct hvp_status st;      /* the last run call's status */
	unsigned exits;
	int64_t returned_ns;       /* CLOCK_MONOTONIC when the last run call returned */
};

/*
 * Returns the create's status: a refused create leaves *out NULL. Once the
 * VM exists, mapping its system memory is setup: a failure there ends the
 * probe as crashed, never passing for the create's answer.
 */
struct hvp_status hvp_machine_create_try(struct hvp_ctx *ctx, const char *label, struct hvp_machine **out);
struct hvp_machine *hvp_machine_create(struct hvp_ctx *ctx, const char *label);
struct hvp_status hvp_machine_destroy_try(struct hvp_machine *m);
void hvp_machine_destroy(struct hvp_machine *m);

/*
 * Maps host memory at gpa and identity-pages it for guest code where paging
 * reaches. The status is the map call's; no room in hvprobe's own page
 * tables ends the probe as crashed.
 */
struct hvp_status hvp_map_try(struct hvp_machine *m, void *host, uint64_t gpa, uint64_t size, unsigned prot);
void hvp_map(struct hvp_machine *m, void *host, uint64_t gpa, uint64_t size, unsigned prot);

struct hvp_status hvp_unmap_try(struct hvp_machine *m, uint64_t gpa, uint64_t size);
void hvp_unmap(struct hvp_machine *m, uint64_t gpa, uint64_t size);

/* Identity-pages a range the guest may touch that is not mapped: where MMIO exits happen. */
void hvp_page(struct hvp_machine *m, uint64_t gpa, uint64_t size);

/*
 * A guest-virtual address through which guest code reaches gpa when gpa is
 * beyond identity paging (past 2^47 on x86_64); one window at a time.
 */
uint64_t hvp_window(struct hvp_machine *m, uint64_t gpa, uint64_t size);

/* Creates vCPU id and points it at prog with up to four arguments. */
struct hvp_status hvp_vcpu_start_try(struct hvp_machine *m, unsigned id, const struct hvp_program *prog,
				     const uint64_t arg[4], struct hvp_vcpu **out);
struct hvp_vcpu *hvp_vcpu_start(struct hvp_machine *m, unsigned id, const struct hvp_program *prog,
				const uint64_t arg[4]);
/*
 * The same at a privilege level: 0, or 3 (user mode, IOPL 3 so that reports
 * work), or HVP_REAL_MODE (x86: 16-bit real mode, for real-mode programs).
 */
#define HVP_REAL_MODE 16
struct hvp_status hvp_vcpu_start_ring_try(struct hvp_machine *m, unsigned id, const struct hvp_program *prog,
					  const uint64_t arg[4], unsigned ring, struct hvp_vcpu **out);
/* Puts a vCPU created without the helpers into the guest mode, at prog. */
struct hvp_status hvp_vcpu_boot_try(struct hvp_machine *m, struct hvp_vcpu *vcpu, unsigned id,
				    const struct hvp_program *prog, const uint64_t arg[4], unsigned ring);
/*
 * Points a vCPU that ran before at a program again, with new arguments, by
 * setting its registers only (not recorded: benchmarks do it per batch).
 */
struct hvp_status hvp_vcpu_rerun_try(struct hvp_machine *m, struct hvp_vcpu *vcpu, unsigned id,
				     const struct hvp_program *prog, const uint64_t arg[4], unsigned ring);
/* Destroys a vCPU the probe is done with; a failure ends the probe as crashed. */
void hvp_vcpu_destroy(struct hvp_machine *m, struct hvp_vcpu *vcpu);

/*
 * Runs the vCPU until the program's final report, a failed check, or an
 * exit the guest ABI does not expect (recorded in res->last). Records one
 * evidence line for the whole run.
 */
void hvp_guest_run(struct hvp_machine *m, struct hvp_vcpu *vcpu, struct hvp_guest_result *res);

/*
 * Goes on after a run stopped at an exit the probe handles itself (an MMIO
 * access, say): read_value is what a read gets. Reports start again at 0.
 */
void hvp_guest_resume(struct hvp_machine *m, struct hvp_vcpu *vcpu, struct hvp_guest_result *res,
		      uint64_t read_value);

/* True when the run ended in the program's final report with status 0. */
static inline bool hvp_guest_ok(const struct hvp_guest_result *r)
{
	return r->done && r->done_status == 0;
}

/* True when the run ended in the final report after exactly the n reports want[]. */
bool hvp_guest_reported(const struct hvp_guest_result *r, const uint64_t *want, unsigned n);

/*
 * Requires the run to have ended so (hvp_guest_reported): a guest that
 * reported nothing, or other values, proves nothing, and the probe ends as
 * crashed, saying what the run did instead. what names the run.
 */
void hvp_guest_require(struct hvp_ctx *ctx, const struct hvp_guest_result *r, const uint64_t *want, unsigned n,
		       const char *what);

/* What a run did, in a few words, for a reason: "KVM_RUN failed with EINTR", "stopped by hlt exit after 0 reports". */
const char *hvp_guest_how(const struct hvp_ctx *ctx, const struct hvp_guest_result *r, char *buf, unsigned size);

/*
 * Refusal classes: a question names the classes of refusal it is about
 * (HVP_CLASS(HVP_ERR_BUSY) | HVP_CLASS(HVP_ERR_EXISTS)), and only those
 * count as its answer. Anything else (a host process limit, an error the
 * backend cannot name) is stated as what it is.
 */
#define HVP_CLASS(e) (1u << (e))

static inline bool hvp_refused_as(struct hvp_status st, unsigned classes)
{
	/* A status the backend gave itself (unmade) is no refusal of the API's. */
	return st.err != HVP_OK && !st.unmade && (classes & HVP_CLASS(st.err)) != 0;
}

/*
 * Runs load_list on a new vCPU: the guest reads a u64 at each of n guest
 * addresses (staged in the system region's data page) and reports it.
 * Returns how many values came back into values[]: n only when all did
 * and the program ended with its final report.
 */
unsigned hvp_guest_read_list(struct hvp_machine *m, unsigned vcpu_id, const uint64_t *addrs, unsigned n,
			     uint64_t *values, struct hvp_guest_result *res);

/*
 * A vCPU run on a thread of its own, for probes that act on it while it is
 * inside run (kick, signal, destroy) or run several at once. The thread runs
 * hvp_guest_run and keeps what it gave.
 */
struct hvp_guest_thread {
	struct hvp_machine *m;
	struct hvp_vcpu *vcpu;
	struct hvp_guest_result r;
	int done; /* accessed atomically */
	pthread_t tid;
};

void hvp_guest_thread_start(struct hvp_guest_thread *t);
/* Forces a vCPU out of run to end it (not a question's call): the probe ends if the kick fails. */
void hvp_kick(struct hvp_ctx *ctx, struct hvp_vcpu *vcpu);
/* Waits up to ns for the run to come back; returns 1 if it did. */
int hvp_guest_thread_wait(struct hvp_guest_thread *t, int64_t ns);
/*
 * Joins the thread if its run comes back within ns; returns 0, leaving it,
 * if not: a run that never returns must not hang the probe that asked.
 */
int hvp_guest_thread_end(struct hvp_guest_thread *t, int64_t ns);

/*
 * A new machine whose vCPU spins in the guest on its own thread until the
 * returned flag (word 0 of the page mapped at flag_gpa, which is aligned to
 * hvp_page_size) becomes non-zero,
 * then reports the flag and ends. Returns once the guest has stored its
 * marker (word 1) before spinning: the guest's own report that the vCPU is
 * inside run. No marker within a bound, or a run that ended first, ends the
 * probe as crashed: nothing is then known to be inside run.
 */
uint64_t *hvp_guest_thread_spin(struct hvp_ctx *ctx, struct hvp_guest_thread *t, uint64_t flag_gpa);

/*
 * The page hvprobe maps guest memory in: the API's own (the backend's
 * page_size), or the larger multiple of it asked for (hvp_open_opts,
 * --page-size). The host address, guest address and size of every map a
 * probe makes are multiples of it, unless misalignment is the question.
 */
uint64_t hvp_page_size(const struct hvp_ctx *ctx);

/* The API's own page: the alignment its maps need, and what one bit of its dirty log covers. */
uint64_t hvp_api_page_size(const struct hvp_ctx *ctx);

/*
 * Read-write host memory for a guest, as mmap(NULL, size, ..., flags, fd, 0)
 * gives it, but aligned to hvp_page_size, which may be larger than the
 * host's page. size is whole pages. MAP_FAILED, with errno, if none.
 */
void *hvp_host_mmap(const struct hvp_ctx *ctx, uint64_t size, int flags, int fd);

/* Anonymous zeroed host memory for a guest, aligned as hvp_host_mmap's; aborts the probe if none. */
void *hvp_guest_memory(struct hvp_ctx *ctx, uint64_t size);
void hvp_guest_memory_free(void *p, uint64_t size);

/* Identity-pages an interrupt controller's registers for the guest, uncached (never mapped: the API emulates them). */
void hvp_page_device(struct hvp_machine *m, uint64_t gpa, uint64_t size);

#endif
