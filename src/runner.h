/* SPDX-License-Identifier: MIT */
/*
 * The runner: each probe in a fresh child process, forked before any VM or
 * thread exists, in its own process group, with a deadline. The finding
 * comes back over a pipe (wire.h); a child that dies by a signal, exits
 * without a finding or passes its deadline becomes a finding itself, and
 * the run goes on. On SIGINT/SIGTERM the current child's group is killed
 * and the findings so far are kept. No process of a probe's group outlives
 * the probe, nor hvprobe: a guardian process kills the running probe's group
 * when hvprobe ends, by SIGKILL too (a process that leaves the group, as
 * setsid() does, is beyond its reach). After SIGKILL the runner waits a few
 * seconds at most for the group to go, and a group that stays is told in
 * the finding's reason.
 */
#ifndef HVP_RUNNER_H
#define HVP_RUNNER_H

#include <stdbool.h>

#include "backend.h"
#include "finding.h"
#include "probe.h"

struct hvp_run_opts {
	const struct hvp_backend *be;  /* NULL: probes get no hypervisor (runner tests) */
	struct hvp_open_opts open;
	unsigned timeout_s;            /* 0: each probe's own default */
	struct hvp_caps caps;
	struct hvp_bench_opts bench;
	/* Called in the parent after each finding, e.g. for progress; may be NULL. */
	void (*progress)(void *arg, const struct hvp_finding *f, unsigned i, unsigned n);
	void *progress_arg;
};

/*
 * Runs n probes into out[0..n). Returns the number of findings written: n,
 * or fewer when a SIGINT/SIGTERM stopped the run (*interrupted is then set
 * to the signal number; the probe that was running is reported as skipped).
 */
unsigned hvp_run_probes(const struct hvp_probe *const *probes, unsigned n, const struct hvp_run_opts *o,
			struct hvp_finding *out, int *interrupted);

/* Writes a finding to fd (the child's end of the pipe); returns 0 or -1. */
int hvp_finding_send(int fd, const struct hvp_finding *f);

#endif
