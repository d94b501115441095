/* SPDX-License-Identifier: MIT */
#include "probe_child.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

struct hvp_child_report *hvp_child_report_new(struct hvp_ctx *ctx)
{
	struct hvp_child_report *c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	HVP_ASSERT(ctx, c != MAP_FAILED, "mmap of a shared report: %s", strerror(errno));
	hvp_finding_init(&c->f, ctx->f->id, "");
	c->create = c->first_failure = c->first_unasked = hvp_ok("");
	return c;
}

void hvp_child_report_free(struct hvp_child_report *c)
{
	munmap(c, sizeof(*c));
}

struct hvp_ctx hvp_child_ctx(struct hvp_ctx *ctx, struct hvp_child_report *c)
{
	struct hvp_ctx cc = *ctx;

	cc.f = &c->f;
	cc.result_fd = -1; /* hvp_probe_abort then just exits, leaving its reason in c->f */
	pthread_mutex_init(&cc.lock, NULL);
	return cc;
}

void hvp_child_note(struct hvp_child_report *c, struct hvp_status st, unsigned classes)
{
	if (st.err == HVP_OK)
		return;
	if (c->refused++ == 0)
		c->first_failure = st;
	if (c->first_unasked.err == HVP_OK && !(classes & (1u << st.err)))
		c->first_unasked = st;
}

void hvp_child_exit(struct hvp_child_report *c)
{
	c->exit_ns = hvp_now_ns();
	__atomic_store_n(&c->finished, 1, __ATOMIC_RELEASE);
	_exit(0);
}

int hvp_child_merge(struct hvp_ctx *ctx, const struct hvp_child_report *c, const char *who)
{
	int base = (int)ctx->f->n_evidence;

	for (unsigned i = 0; i < c->f.n_evidence; i++) {
		const struct hvp_evidence *e = &c->f.evidence[i];
		pthread_mutex_lock(&ctx->lock);
		char detail[HVP_DETAIL_MAX];
		snprintf(detail, sizeof(detail), "%s: %s", who, e->detail);
		hvp_finding_add_evidence(ctx->f, e->call, e->result, e->errname, detail);
		pthread_mutex_unlock(&ctx->lock);
	}
	for (unsigned i = 0; i < c->f.n_guest; i++)
		hvp_guest_value(ctx, c->f.guest[i].label, c->f.guest[i].value);
	return base;
}

int hvp_child_wait(pid_t pid)
{
	int status = 0;
	pid_t r;

	while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	return r == pid ? status : -1;
}

const char *hvp_child_failure(const struct hvp_child_report *c, int wait_status, char *buf, size_t size)
{
	if (wait_status == -1)
		snprintf(buf, size, "it could not be waited for");
	else if (WIFSIGNALED(wait_status))
		snprintf(buf, size, "it was killed by signal %d (%s)", WTERMSIG(wait_status), strsignal(WTERMSIG(wait_status)));
	else if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0)
		snprintf(buf, size, "it exited with status %d", WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1);
	else if (c->f.answer == HVP_ANSWER_CRASHED)
		snprintf(buf, size, "its own setup failed: %s", c->f.reason);
	else if (!__atomic_load_n(&c->finished, __ATOMIC_ACQUIRE))
		snprintf(buf, size, "it exited before doing all it was asked");
	else
		return NULL;
	return buf;
}
