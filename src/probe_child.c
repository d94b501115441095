/* SPDX-License-Identifier: MIT */
#include "probe_child.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

struct hvp_child_report *hvp_child_report_new(struct hvp_ctx *ctx)
{
	struct hvp_child_report *c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	HVP_ASSERT(ctx, c != MAP_FAILED, "mmap of a shared report: %s", strerror(errno));
	hvp_finding_init(&c->f, ctx->f->id, "");
	c->create = c->first_failure = hvp_ok("");
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
	cc.result_fd = -1; /* hvp_probe_abort then just exits */
	pthread_mutex_init(&cc.lock, NULL);
	return cc;
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

	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
