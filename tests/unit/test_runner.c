/* SPDX-License-Identifier: MIT */
/*
 * The runner against probes that misbehave on purpose: each misbehaviour
 * becomes the right finding, the findings of the probes around it survive,
 * and no process is left behind, not even when the runner itself is killed
 * with SIGKILL. No hypervisor is needed (be = NULL).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "runner.h"
#include "tap.h"

/* Grandchildren report their pids here so the test can prove they are gone. */
static int pid_pipe[2];

/* Called by the probe with its grandchild's pid: no race with the grandchild's start. */
static void report_pid(pid_t pid)
{
	if (write(pid_pipe[1], &pid, sizeof(pid)) != sizeof(pid))
		_exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static __attribute__((noreturn)) void sleep_forever(void)
{
	for (;;)
		pause();
}

/* Forks a process that sleeps for ever, and reports its pid. */
static void spawn_sleeper(void)
{
	pid_t pid = fork();

	if (pid == 0)
		sleep_forever();
	report_pid(pid);
}

static void answer_yes(struct hvp_ctx *ctx)
{
	hvp_finding_add_evidence(ctx->f, "fake_call", 0, "OK", "fine");
	hvp_finding_answer(ctx->f, HVP_ANSWER_YES, "all good");
}

static void segfault(struct hvp_ctx *ctx)
{
	(void)ctx;
	signal(SIGSEGV, SIG_DFL); /* past a sanitizer's handler: die as a plain crash would */
	raise(SIGSEGV);
}

static void aborts(struct hvp_ctx *ctx)
{
	(void)ctx;
	abort();
}

static void exits_silently(struct hvp_ctx *ctx)
{
	(void)ctx;
	_exit(3);
}

static void spins(struct hvp_ctx *ctx)
{
	(void)ctx;
	for (;;)
		pause();
}

static void ignores_sigterm(struct hvp_ctx *ctx)
{
	signal(SIGTERM, SIG_IGN);
	spins(ctx);
}

static void forks_hanging_grandchild(struct hvp_ctx *ctx)
{
	pid_t pid = fork();

	if (pid == 0)
		for (;;)
			pause();
	report_pid(pid);
	hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "answered, leaving a grandchild behind");
}

static void grandchild_holds_pipe_and_child_hangs(struct hvp_ctx *ctx)
{
	pid_t pid = fork();

	if (pid == 0)
		for (;;)
			pause();
	report_pid(pid);
	spins(ctx);
}

static void never_answers(struct hvp_ctx *ctx)
{
	(void)ctx;
}

static void aborts_setup(struct hvp_ctx *ctx)
{
	HVP_ASSERT(ctx, 1 == 2, "the %s broke", "fixture");
}

static void interrupts_runner(struct hvp_ctx *ctx)
{
	spawn_sleeper();
	kill(getppid(), SIGINT);
	spins(ctx);
}

/* Fills its group (a sleeping grandchild, an orphan whose parent has exited) and waits to be killed. */
static void leaves_a_family(struct hvp_ctx *ctx)
{
	pid_t pid;

	report_pid(getpid());
	spawn_sleeper();
	pid = fork();
	if (pid == 0) {
		spawn_sleeper();
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	spins(ctx);
}

/*
 * Keeps its group alive past SIGKILL with no process surviving it: a
 * grandchild leaves the group, its own child joins the group (and so dies
 * with it) but stays the zombie of a parent that never reaps it.
 */
static void keeps_its_group_alive(struct hvp_ctx *ctx)
{
	pid_t group = getpid(), pid;
	int sync[2];
	char c[2];

	HVP_ASSERT(ctx, pipe(sync) == 0, "pipe: %s", strerror(errno));
	if (fork() == 0) {
		setpgid(0, 0);
		report_pid(getpid());
		pid = fork();
		if (pid == 0 && setpgid(0, group) == 0 && write(sync[1], "j", 1) == 1)
			sleep_forever();
		if (pid <= 0)
			_exit(1);
		report_pid(pid);
		if (write(sync[1], "r", 1) == 1)
			sleep_forever();
		_exit(1);
	}
	HVP_ASSERT(ctx, read(sync[0], c, 1) == 1 && read(sync[0], c + 1, 1) == 1, "the grandchildren did not start");
	hvp_finding_answer(ctx->f, HVP_ANSWER_NO, "answered, its group kept alive");
}

#define P(name_, fn_, t_) { .id = name_, .question = "q " name_, .timeout_s = t_, .run = fn_ }
static const struct hvp_probe p_yes = P("t.yes", answer_yes, 5);
static const struct hvp_probe p_segv = P("t.segv", segfault, 5);
static const struct hvp_probe p_abort = P("t.abort", aborts, 5);
static const struct hvp_probe p_exit = P("t.exit", exits_silently, 5);
static const struct hvp_probe p_spin = P("t.spin", spins, 1);
static const struct hvp_probe p_term = P("t.sigterm", ignores_sigterm, 1);
static const struct hvp_probe p_gchild = P("t.grandchild", forks_hanging_grandchild, 5);
static const struct hvp_probe p_gchild_hang = P("t.grandchild_hang", grandchild_holds_pipe_and_child_hangs, 1);
static const struct hvp_probe p_none = P("t.none", never_answers, 5);
static const struct hvp_probe p_assert = P("t.assert", aborts_setup, 5);
static const struct hvp_probe p_int = P("t.interrupt", interrupts_runner, 5);
static const struct hvp_probe p_family = P("t.family", leaves_a_family, 30);
static const struct hvp_probe p_kept = P("t.kept_group", keeps_its_group_alive, 5);

static int gone(pid_t pid)
{
	return kill(pid, 0) == -1 && errno == ESRCH;
}

static int all_grandchildren_gone(unsigned *count)
{
	pid_t pid;
	int all = 1;

	*count = 0;
	while (read(pid_pipe[0], &pid, sizeof(pid)) == sizeof(pid)) {
		(*count)++;
		all &= gone(pid);
	}
	return all;
}

/* Reads n pids from the probes, waiting for them at most seconds; returns how many came. */
static unsigned read_pids(pid_t *pids, unsigned n, double seconds)
{
	double deadline = now_s() + seconds;
	unsigned got = 0;

	while (got < n && now_s() < deadline) {
		struct pollfd pfd = { pid_pipe[0], POLLIN, 0 };

		poll(&pfd, 1, 100);
		while (got < n && read(pid_pipe[0], &pids[got], sizeof(pid_t)) == sizeof(pid_t))
			got++;
	}
	return got;
}

/* Reaps what comes back to us and waits, at most seconds, until none of pids exists. */
static int all_gone_within(const pid_t *pids, unsigned n, double seconds)
{
	double deadline = now_s() + seconds;

	for (;;) {
		int all = 1;

		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		for (unsigned i = 0; i < n; i++)
			all &= gone(pids[i]);
		if (all || now_s() >= deadline)
			return all;
		usleep(10000);
	}
}

/* Waits, at most seconds, until no child of ours is left, not even a zombie. */
static int no_child_within(double seconds)
{
	double deadline = now_s() + seconds;

	for (;;) {
		pid_t r = waitpid(-1, NULL, WNOHANG);

		if (r < 0 && errno == ECHILD)
			return 1;
		if (r == 0 && now_s() >= deadline)
			return 0;
		if (r == 0)
			usleep(10000);
	}
}

/* A test that failed leaves nothing behind either. */
static void kill_all(const pid_t *pids, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	all_gone_within(pids, n, 5);
}

/* Runs one probe as hvprobe would, in a process the test can SIGKILL mid-run. */
static pid_t run_elsewhere(const struct hvp_probe *p)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct hvp_run_opts o = { 0 };
		struct hvp_finding f;
		int interrupted;

		hvp_run_probes(&p, 1, &o, &f, &interrupted);
		_exit(0);
	}
	return pid;
}

/* A group that outlives SIGKILL costs the runner a bounded wait and is told in the finding. */
static void test_kept_group(struct tap *t)
{
	const struct hvp_probe *list[] = { &p_kept };
	struct hvp_run_opts o = { 0 };
	struct hvp_finding f;
	pid_t pids[2];
	unsigned got, n_pids;
	int interrupted, all_gone;
	double t0 = now_s(), took;

	got = hvp_run_probes(list, 1, &o, &f, &interrupted);
	took = now_s() - t0;
	ok(t, got == 1 && f.answer == HVP_ANSWER_NO && strstr(f.reason, "answered") && strstr(f.reason, "still had members") &&
		      f.n_evidence == 0,
	   "a group alive after SIGKILL is told in the reason, not as evidence, and the answer stands: %s", f.reason);
	ok(t, took < 10, "the runner waits for such a group a bounded time (%.1f s)", took);
	n_pids = read_pids(pids, 2, 5);
	if (n_pids > 0)
		kill(pids[0], SIGKILL); /* the grandchild outside the group: it alone kept the group */
	all_gone = all_gone_within(pids, n_pids, 5);
	ok(t, n_pids == 2 && all_gone, "its member goes with the process that kept it (%u checked)", n_pids);
	if (!all_gone)
		kill_all(pids, n_pids);
}

/* `kill -9` of hvprobe mid-run: none of the probe's processes outlives it. */
static void test_runner_killed(struct tap *t)
{
	pid_t runner = run_elsewhere(&p_family), family[3];
	unsigned n = read_pids(family, 3, 5);
	int all_gone;

	ok(t, n == 3, "the probe started, with a grandchild and an orphan in its group (%u processes)", n);
	kill(runner, SIGKILL);
	waitpid(runner, NULL, 0);
	all_gone = all_gone_within(family, n, 5);
	ok(t, n == 3 && all_gone, "SIGKILL of the runner mid-run leaves none of the probe's processes behind");
	if (!all_gone)
		kill_all(family, n);
	ok(t, no_child_within(5), "nor any process of the runner's own, not even a zombie");
}

int main(void)
{
	const struct hvp_probe *list[] = { &p_yes, &p_segv, &p_abort, &p_exit, &p_spin, &p_term,
					   &p_gchild, &p_gchild_hang, &p_none, &p_assert, &p_yes };
	const unsigned n = sizeof(list) / sizeof(list[0]);
	struct hvp_finding f[sizeof(list) / sizeof(list[0])];
	struct hvp_run_opts o = { 0 };
	unsigned got, grandchildren;
	int interrupted;
	struct tap t;

	TAP_PLAN_LATER(&t);
	if (pipe(pid_pipe) < 0 || fcntl(pid_pipe[0], F_SETFL, O_NONBLOCK) < 0 || fcntl(pid_pipe[1], F_SETFL, O_NONBLOCK) < 0)
		return 1;
#ifdef PR_SET_CHILD_SUBREAPER
	/* Orphans of the runner's processes come back here, so the test can reap them and see them gone. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
#endif
	got = hvp_run_probes(list, n, &o, f, &interrupted);
	ok(&t, got == n && !interrupted, "every probe produced a finding (%u of %u)", got, n);
	ok(&t, f[0].answer == HVP_ANSWER_YES && f[0].n_evidence == 1 && strcmp(f[0].reason, "all good") == 0 &&
		       f[0].elapsed_ns > 0,
	   "a good probe's finding comes back whole");
	ok(&t, f[1].answer == HVP_ANSWER_CRASHED && strstr(f[1].reason, "SIGSEGV"), "segfault: %s", f[1].reason);
	ok(&t, f[2].answer == HVP_ANSWER_CRASHED && strstr(f[2].reason, "SIGABRT"), "abort: %s", f[2].reason);
	ok(&t, f[3].answer == HVP_ANSWER_CRASHED && strstr(f[3].reason, "status 3 without a finding"),
	   "exit without a finding: %s", f[3].reason);
	ok(&t, f[4].answer == HVP_ANSWER_HUNG && strstr(f[4].reason, "1 s deadline"), "infinite loop: %s", f[4].reason);
	ok(&t, f[5].answer == HVP_ANSWER_HUNG, "a child ignoring SIGTERM is still ended: %s", f[5].reason);
	ok(&t, f[6].answer == HVP_ANSWER_NO, "a probe whose grandchild hangs still answers: %s", f[6].reason);
	ok(&t, f[7].answer == HVP_ANSWER_HUNG, "a hanging child with a grandchild holding the pipe is hung: %s",
	   f[7].reason);
	ok(&t, f[8].answer == HVP_ANSWER_CRASHED && strstr(f[8].reason, "without an answer"),
	   "returning without an answer is a bug, reported: %s", f[8].reason);
	ok(&t, f[9].answer == HVP_ANSWER_CRASHED && strstr(f[9].reason, "the fixture broke") &&
		       strstr(f[9].reason, "test_runner.c"),
	   "a setup assertion names where and why: %s", f[9].reason);
	ok(&t, f[10].answer == HVP_ANSWER_YES, "the probe after all that still runs");
	for (unsigned i = 0; i < n; i++)
		if (strcmp(f[i].id, list[i]->id) != 0)
			ok(&t, 0, "finding %u is %s, expected %s", i, f[i].id, list[i]->id);
	ok(&t, all_grandchildren_gone(&grandchildren) && grandchildren == 2,
	   "no grandchild outlives its probe (%u checked)", grandchildren);
	ok(&t, waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD, "no child of the runner is left, not even a zombie");

	o.timeout_s = 1;
	const struct hvp_probe *slow[] = { &p_yes, &p_gchild_hang };
	struct hvp_probe slow_default = p_gchild_hang;
	slow_default.timeout_s = 30;
	slow[1] = &slow_default;
	got = hvp_run_probes(slow, 2, &o, f, &interrupted);
	ok(&t, got == 2 && f[1].answer == HVP_ANSWER_HUNG && strstr(f[1].reason, "1 s"),
	   "--timeout overrides a probe's own deadline: %s", f[1].reason);
	ok(&t, all_grandchildren_gone(&grandchildren) && grandchildren == 1, "its grandchild went with it (%u checked)",
	   grandchildren);

	o.timeout_s = 0;
	const struct hvp_probe *stopping[] = { &p_yes, &p_int, &p_yes };
	got = hvp_run_probes(stopping, 3, &o, f, &interrupted);
	ok(&t, interrupted == SIGINT && got == 2, "SIGINT stops the run after the current probe (%u findings)", got);
	ok(&t, f[0].answer == HVP_ANSWER_YES && f[1].answer == HVP_ANSWER_SKIPPED && strstr(f[1].reason, "interrupted"),
	   "the findings so far are kept; the interrupted probe says so: %s", f[1].reason);
	ok(&t, waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD, "no child is left after an interrupt");
	ok(&t, all_grandchildren_gone(&grandchildren) && grandchildren == 1,
	   "nor the interrupted probe's grandchild (%u checked)", grandchildren);

	test_kept_group(&t);
	test_runner_killed(&t);
	return tap_done(&t);
}
