/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "wire.h"

#define NS_PER_S INT64_C(1000000000)

/*
 * How long a probe's process group may take to go after SIGKILL. Only a
 * process stuck in the kernel (an ioctl that does not return) or kept by a
 * parent outside the group takes longer; the runner then says so in the
 * finding and goes on rather than wait for ever.
 */
#define REAP_S 3

/*
 * The runner's only global state: the self-pipe that turns SIGCHLD, SIGINT
 * and SIGTERM into something poll() can wait for, and the stop signal.
 */
static int wake_pipe[2] = { -1, -1 };
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	int saved = errno;
	char c = 0;

	if (sig == SIGINT || sig == SIGTERM)
		stop_signal = sig;
	if (write(wake_pipe[1], &c, 1) < 0) {
		/* The pipe is full: poll() will wake up anyway. */
	}
	errno = saved;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* A poll() timeout towards deadline, at most cap_ms: no int overflow, however far the deadline. */
static int poll_ms(int64_t deadline, int cap_ms)
{
	int64_t left_ms = (deadline - now_ns()) / 1000000 + 1;

	return left_ms < 0 ? 0 : left_ms < cap_ms ? (int)left_ms : cap_ms;
}

static void drain_wake_pipe(void)
{
	char junk[64];

	while (read(wake_pipe[0], junk, sizeof(junk)) > 0)
		;
}

/*
 * Sleeps until a signal (SIGCHLD included) or 10 ms: processes that are not
 * our children end without a SIGCHLD to us, so their end is polled for.
 */
static void nap(int64_t deadline)
{
	struct pollfd pfd = { wake_pipe[0], POLLIN, 0 };

	if (poll(&pfd, 1, poll_ms(deadline, 10)) > 0)
		drain_wake_pipe();
}

static void set_cloexec(int fd)
{
	fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* Reaps pid within the deadline; 1 if it is gone (reaped here or by someone else). */
static int reap_within(pid_t pid, int *status, int64_t deadline)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid || (r < 0 && errno == ECHILD))
			return 1;
		if (now_ns() >= deadline)
			return 0;
		nap(deadline);
	}
}

/*
 * The guardian: a process forked once per run that kills the running
 * probe's group when hvprobe ends, however it ends; no handler of
 * hvprobe's own runs on SIGKILL. hvprobe tells it each probe's pgid when
 * the probe starts, and the pgid negated once hvprobe has killed that group
 * itself, over a pipe whose write end no other process keeps: end of file
 * means hvprobe is gone, and the group last named dies with it. The runner
 * runs one probe at a time, so one pgid is all there is to remember.
 */
struct guard {
	pid_t pid; /* -1: none could be started, and probes run unguarded */
	int fd;    /* the write end */
	int keep;  /* hvprobe's own read end: a guardian that died never makes a write raise SIGPIPE */
};

/* Reads one whole pid_t; 0 at end of file (or on an error, which means the same here). */
static int read_pid(int fd, pid_t *v)
{
	size_t got = 0;

	while (got < sizeof(*v)) {
		ssize_t r = read(fd, (char *)v + got, sizeof(*v) - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0;
		got += (size_t)r;
	}
	return 1;
}

static __attribute__((noreturn)) void guardian_main(int fd)
{
	/* hvprobe handles these and then ends; the guardian's work starts when it has. */
	static const int ignored[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE };
	pid_t live = 0, v;

	for (unsigned i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		signal(ignored[i], SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	while (read_pid(fd, &v)) {
		if (v > 0)
			live = v;
		else if (v == -live)
			live = 0;
	}
	if (live > 0)
		kill(-live, SIGKILL);
	_exit(0);
}

static void guard_start(struct guard *g)
{
	int fds[2];

	*g = (struct guard){ -1, -1, -1 };
	if (pipe(fds) < 0)
		return;
	set_cloexec(fds[0]);
	set_cloexec(fds[1]);
	fcntl(fds[1], F_SETFL, O_NONBLOCK); /* a guardian that stopped reading never stalls the run */
	g->pid = fork();
	if (g->pid == 0) {
		/* Out of hvprobe's group: neither Ctrl-C nor a SIGKILL to that group reaches it. */
		setpgid(0, 0);
		close(fds[1]);
		close(wake_pipe[0]);
		close(wake_pipe[1]);
		guardian_main(fds[0]);
	}
	if (g->pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return;
	}
	setpgid(g->pid, g->pid);
	g->fd = fds[1];
	g->keep = fds[0];
}

static void guard_tell(const struct guard *g, pid_t v)
{
	if (g->fd >= 0 && write(g->fd, &v, sizeof(v)) < 0) {
		/* The guardian is gone: the probe runs unguarded, as it would without one. */
	}
}

/* Closing the pipe is the guardian's end of file: with no group left to kill, it exits. */
static void guard_stop(struct guard *g)
{
	int status;

	if (g->pid < 0)
		return;
	close(g->fd);
	close(g->keep);
	if (!reap_within(g->pid, &status, now_ns() + REAP_S * NS_PER_S)) {
		kill(g->pid, SIGKILL);
		reap_within(g->pid, &status, now_ns() + REAP_S * NS_PER_S);
	}
}

int hvp_finding_send(int fd, const struct hvp_finding *f)
{
	char *buf = malloc(HVP_WIRE_MAX);
	long len = buf ? hvp_wire_encode(f, buf, HVP_WIRE_MAX) : -1;
	long off = 0;

	while (len > 0 && off < len) {
		ssize_t w = write(fd, buf + off, (size_t)(len - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += w;
	}
	free(buf);
	return len > 0 && off == len ? 0 : -1;
}

static void child_main(const struct hvp_probe *p, const struct hvp_run_opts *o, int fd)
{
	struct hvp_finding *f = calloc(1, sizeof(*f));
	struct hvp_open_opts open = o->open;
	struct hvp_ctx ctx = { .probe = p, .be = o->be, .open = &open, .caps = &o->caps,
			       .bench = &o->bench, .f = f, .result_fd = fd };
	int64_t t0;

	if (!f)
		_exit(70);
	pthread_mutex_init(&ctx.lock, NULL);
	hvp_finding_init(f, p->id, p->question);
	t0 = now_ns();
	open.checked = true; /* hvprobe's own process opened the API before it forked this one */
	if (o->be) {
		struct hvp_status st = o->be->open(&open, &ctx.hv);
		if (st.err != HVP_OK) {
			hvp_finding_add_evidence(f, st.call, st.native, o->be->native_name(st.native), "");
			hvp_finding_answer(f, HVP_ANSWER_SKIPPED, "the hypervisor API could not be opened: %s",
					   o->be->open_advice(&open, st));
		}
	}
	if (f->answer == HVP_ANSWER_NONE && p->arch && o->be && strcmp(p->arch, o->be->arch) != 0)
		hvp_finding_answer(f, HVP_ANSWER_SKIPPED, "not applicable: the question is about %s, and this host is %s",
				   p->arch, o->be->arch);
	if (f->answer == HVP_ANSWER_NONE)
		p->run(&ctx);
	if (f->answer == HVP_ANSWER_NONE)
		hvp_finding_answer(f, HVP_ANSWER_CRASHED, "the probe returned without an answer (a bug in hvprobe)");
	f->elapsed_ns = now_ns() - t0;
	if (ctx.hv)
		o->be->close(ctx.hv);
	_exit(hvp_finding_send(fd, f) == 0 ? 0 : 71);
}

/* The child's first steps: a group of its own, default signals, none of the runner's descriptors. */
static void child_setup(const struct guard *g, pid_t parent)
{
	setpgid(0, 0);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	close(wake_pipe[0]);
	close(wake_pipe[1]);
	if (g->pid > 0) {
		close(g->fd);
		close(g->keep);
	}
#ifdef PR_SET_PDEATHSIG
	/* Behind the guardian, a second line: should there be none, the child still dies with hvprobe. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
#else
	(void)parent;
#endif
}

/* Waits for the runner's go, sent once the guardian knows the child's group. */
static void await_go(int fd)
{
	char go;
	ssize_t r;

	while ((r = read(fd, &go, 1)) < 0 && errno == EINTR)
		;
	if (r != 1)
		_exit(0); /* hvprobe died before it could name this group to the guardian: end with it */
	close(fd);
}

/* "SIGSEGV": the name users search for. glibc knows all; elsewhere the ones a probe dies of. */
static const char *signal_name(int sig)
{
	static char buf[16];
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
	const char *abbrev = sigabbrev_np(sig);
	if (abbrev) {
		snprintf(buf, sizeof(buf), "SIG%s", abbrev);
		return buf;
	}
#else
	switch (sig) {
	case SIGSEGV: return "SIGSEGV";
	case SIGBUS: return "SIGBUS";
	case SIGABRT: return "SIGABRT";
	case SIGILL: return "SIGILL";
	case SIGFPE: return "SIGFPE";
	case SIGKILL: return "SIGKILL";
	case SIGTERM: return "SIGTERM";
	case SIGSYS: return "SIGSYS";
	}
#endif
	snprintf(buf, sizeof(buf), "signal %d", sig);
	return buf;
}

struct child {
	pid_t pid; /* also the pgid of the probe's group */
	int fd;
	char *buf;
	size_t len;
	int eof, ended, reaped, status;
	int stragglers; /* the group was not gone REAP_S after SIGKILL */
};

/*
 * Forks the probe's child and lets it start once the guardian knows its
 * group. Returns the pid, or -1 with errno set and nothing left open.
 */
static pid_t start_child(const struct hvp_probe *p, const struct hvp_run_opts *o, const struct guard *g,
			 int *result_fd)
{
	int fds[2], go[2], saved;
	pid_t parent = getpid(), pid;

	if (pipe(fds) < 0)
		return -1;
	if (pipe(go) < 0) {
		saved = errno;
		close(fds[0]);
		close(fds[1]);
		errno = saved;
		return -1;
	}
	set_cloexec(go[0]);
	set_cloexec(go[1]);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		close(go[1]);
		child_setup(g, parent);
		await_go(go[0]);
		child_main(p, o, fds[1]);
	}
	saved = errno;
	close(fds[1]);
	if (pid > 0) {
		setpgid(pid, pid); /* both sides set it: no window where a kill misses */
		guard_tell(g, pid);
		/* go[0] is still open here, so a child that died already costs no SIGPIPE. */
		if (write(go[1], "g", 1) != 1) {
			/* The child is gone already: its exit status tells how. */
		}
	}
	close(go[0]);
	close(go[1]);
	if (pid < 0)
		close(fds[0]);
	else
		*result_fd = fds[0];
	errno = saved;
	return pid;
}

/* Reads what the pipe holds; a finding larger than the wire allows ends the reading. */
static void drain(struct child *c)
{
	while (!c->eof && c->len < HVP_WIRE_MAX) {
		ssize_t r = read(c->fd, c->buf + c->len, HVP_WIRE_MAX - c->len);
		if (r > 0)
			c->len += (size_t)r;
		else if (r == 0)
			c->eof = 1;
		else
			break; /* EAGAIN: nothing more now */
	}
	if (c->len >= HVP_WIRE_MAX)
		c->eof = 1;
}

/*
 * Whether the child has ended. It is left a zombie, so its pid stays its
 * group's and cannot be reused until kill_group is done with the group.
 */
static int child_ended(struct child *c)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (!c->ended && waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == c->pid)
		c->ended = 1;
	return c->ended;
}

/* Reaps what of the group is ours: the child, and grandchildren reparented to us (a subreaper on Linux). */
static void reap_group(struct child *c)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-c->pid, &status, WNOHANG)) > 0)
		if (pid == c->pid) {
			c->status = status;
			c->reaped = 1;
		}
	/* A child that moved to another group is still ours to reap. */
	if (!c->reaped && waitpid(c->pid, &c->status, WNOHANG) == c->pid)
		c->reaped = 1;
}

static int group_gone(const struct child *c)
{
	return c->reaped && kill(-c->pid, 0) < 0 && errno == ESRCH;
}

/* Kills the probe's whole process group and waits, REAP_S at most, until none of it is left. */
static void kill_group(struct child *c, const struct guard *g)
{
	int64_t deadline = now_ns() + REAP_S * NS_PER_S;

	kill(-c->pid, SIGKILL);
	kill(c->pid, SIGKILL); /* in case it left its group: still our unreaped child, never a stranger */
	guard_tell(g, -c->pid); /* the group is doomed: nothing is left for the guardian to do */
	for (reap_group(c); !group_gone(c); reap_group(c)) {
		if (now_ns() >= deadline) {
			c->stragglers = 1;
			return;
		}
		nap(deadline);
	}
}

/* Waits for the child to finish or the deadline; returns 1 on a hang, 2 on a stop signal. */
static int wait_child(struct child *c, int64_t deadline)
{
	while (!(child_ended(c) && c->eof)) {
		struct pollfd pfd[2] = { { c->fd, POLLIN, 0 }, { wake_pipe[0], POLLIN, 0 } };

		if (stop_signal)
			return 2;
		if (now_ns() >= deadline)
			return 1;
		if (poll(pfd, 2, poll_ms(deadline, 1000)) < 0 && errno != EINTR)
			return 1;
		if (pfd[1].revents & POLLIN)
			drain_wake_pipe();
		drain(c);
		/* The child is gone; a grandchild may still hold the pipe open: take what is there. */
		if (child_ended(c) && !c->eof) {
			drain(c);
			c->eof = 1;
		}
	}
	return 0;
}

static void finding_from_child(const struct hvp_probe *p, struct child *c, int outcome, unsigned timeout_s,
			       int64_t elapsed, struct hvp_finding *f)
{
	const char *why = NULL;

	if (outcome == 0 && hvp_wire_decode(c->buf, c->len, f, &why) == 0) {
		if (strcmp(f->id, p->id) == 0)
			return;
		why = "the finding names another probe";
	}
	hvp_finding_init(f, p->id, p->question);
	f->elapsed_ns = elapsed;
	if (outcome == 2)
		hvp_finding_answer(f, HVP_ANSWER_SKIPPED, "the run was interrupted by %s", strsignal(stop_signal));
	else if (outcome == 1)
		hvp_finding_answer(f, HVP_ANSWER_HUNG, "no answer within the %u s deadline; the probe was killed",
				   timeout_s);
	else if (WIFSIGNALED(c->status))
		hvp_finding_answer(f, HVP_ANSWER_CRASHED, "the probe process died by %s (%s)", signal_name(WTERMSIG(c->status)),
				   strsignal(WTERMSIG(c->status)));
	else if (c->len == 0)
		hvp_finding_answer(f, HVP_ANSWER_CRASHED, "the probe process exited with status %d without a finding",
				   WEXITSTATUS(c->status));
	else
		hvp_finding_answer(f, HVP_ANSWER_CRASHED, "the probe's finding was unreadable: %s", why);
}

/*
 * A group that outlived SIGKILL is the runner's news, not the API's: it is
 * told in the reason, never as evidence, and the answer stands. The note
 * matters more than the reason's tail, which gives way if both do not fit.
 */
static void note_stragglers(struct hvp_finding *f, pid_t pgid)
{
	char note[128];
	int n = snprintf(note, sizeof(note), "; %d s after SIGKILL the probe's process group (pgid %d) still had members",
			 REAP_S, (int)pgid);
	size_t at = strlen(f->reason), room = sizeof(f->reason) - (size_t)n - 1;

	memcpy(f->reason + (at < room ? at : room), note, (size_t)n + 1);
}

static void run_one(const struct hvp_probe *p, const struct hvp_run_opts *o, const struct guard *g,
		    struct hvp_finding *f)
{
	unsigned timeout_s = o->timeout_s ? o->timeout_s : p->timeout_s ? p->timeout_s : 10;
	struct child c = { 0 };
	int outcome;
	int64_t t0 = now_ns();

	c.buf = malloc(HVP_WIRE_MAX);
	c.pid = c.buf ? start_child(p, o, g, &c.fd) : -1;
	if (c.pid < 0) {
		hvp_finding_init(f, p->id, p->question);
		hvp_finding_answer(f, HVP_ANSWER_SKIPPED, "the runner could not start the probe: %s", strerror(errno));
		free(c.buf);
		return;
	}
	fcntl(c.fd, F_SETFL, O_NONBLOCK);
	outcome = wait_child(&c, t0 + (int64_t)timeout_s * NS_PER_S);
	kill_group(&c, g);
	finding_from_child(p, &c, outcome, timeout_s, now_ns() - t0, f);
	if (c.stragglers)
		note_stragglers(f, c.pid);
	close(c.fd);
	free(c.buf);
}

static void install(int sig, struct sigaction *old)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = sig == SIGCHLD ? SA_NOCLDSTOP | SA_RESTART : SA_RESTART;
	sigaction(sig, &sa, old);
}

unsigned hvp_run_probes(const struct hvp_probe *const *probes, unsigned n, const struct hvp_run_opts *o,
			struct hvp_finding *out, int *interrupted)
{
	struct sigaction old_int, old_term, old_chld;
	struct guard g;
	unsigned i;

	*interrupted = 0;
	stop_signal = 0;
	if (pipe(wake_pipe) < 0)
		return 0;
	fcntl(wake_pipe[0], F_SETFL, O_NONBLOCK);
	fcntl(wake_pipe[1], F_SETFL, O_NONBLOCK);
	set_cloexec(wake_pipe[0]);
	set_cloexec(wake_pipe[1]);
#ifdef PR_SET_CHILD_SUBREAPER
	prctl(PR_SET_CHILD_SUBREAPER, 1);
#endif
	guard_start(&g); /* before the handlers: the guardian never runs one of them */
	install(SIGINT, &old_int);
	install(SIGTERM, &old_term);
	install(SIGCHLD, &old_chld);
	for (i = 0; i < n; i++) {
		run_one(probes[i], o, &g, &out[i]);
		if (o->progress)
			o->progress(o->progress_arg, &out[i], i, n);
		if (stop_signal) {
			*interrupted = stop_signal;
			i++;
			break;
		}
	}
	guard_stop(&g);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGCHLD, &old_chld, NULL);
	close(wake_pipe[0]);
	close(wake_pipe[1]);
	wake_pipe[0] = wake_pipe[1] = -1;
	return i;
}
