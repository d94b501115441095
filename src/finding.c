/* SPDX-License-Identifier: MIT */
#include "finding.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const answer_names[] = {
	[HVP_ANSWER_NONE] = "none",
	[HVP_ANSWER_YES] = "yes",
	[HVP_ANSWER_NO] = "no",
	[HVP_ANSWER_CRASHED] = "crashed",
	[HVP_ANSWER_HUNG] = "hung",
	[HVP_ANSWER_SKIPPED] = "skipped",
};

static const char *const verdict_names[] = {
	[HVP_VERDICT_UNDOCUMENTED] = "undocumented",
	[HVP_VERDICT_AS_DOCUMENTED] = "as documented",
	[HVP_VERDICT_DEVIATES] = "deviates",
	[HVP_VERDICT_NOT_CHECKED] = "not checked",
};

const char *hvp_answer_name(enum hvp_answer a)
{
	if ((unsigned)a >= sizeof(answer_names) / sizeof(answer_names[0]))
		return "invalid";
	return answer_names[a];
}

enum hvp_answer hvp_answer_parse(const char *s)
{
	for (unsigned i = HVP_ANSWER_YES; i < sizeof(answer_names) / sizeof(answer_names[0]); i++)
		if (strcmp(s, answer_names[i]) == 0)
			return (enum hvp_answer)i;
	return HVP_ANSWER_NONE;
}

int hvp_verdict_parse(const char *s, enum hvp_verdict *out)
{
	for (unsigned i = 0; i < sizeof(verdict_names) / sizeof(verdict_names[0]); i++)
		if (strcmp(s, verdict_names[i]) == 0) {
			*out = (enum hvp_verdict)i;
			return 0;
		}
	return -1;
}

const char *hvp_verdict_name(enum hvp_verdict v)
{
	if ((unsigned)v >= sizeof(verdict_names) / sizeof(verdict_names[0]))
		return "invalid";
	return verdict_names[v];
}

void hvp_copy_str(char *dst, unsigned size, const char *src)
{
	if (size == 0)
		return;
	snprintf(dst, size, "%s", src ? src : "");
}

void hvp_finding_init(struct hvp_finding *f, const char *id, const char *question)
{
	memset(f, 0, sizeof(*f));
	hvp_copy_str(f->id, sizeof(f->id), id);
	hvp_copy_str(f->question, sizeof(f->question), question);
	f->decisive = -1;
}

int hvp_finding_add_evidence(struct hvp_finding *f, const char *call, int64_t result,
			     const char *errname, const char *detail)
{
	if (f->n_evidence >= HVP_EVIDENCE_MAX) {
		f->evidence_omitted++;
		return -1;
	}
	struct hvp_evidence *e = &f->evidence[f->n_evidence];
	hvp_copy_str(e->call, sizeof(e->call), call);
	e->result = result;
	hvp_copy_str(e->errname, sizeof(e->errname), errname);
	hvp_copy_str(e->detail, sizeof(e->detail), detail);
	return (int)f->n_evidence++;
}

void hvp_finding_add_guest(struct hvp_finding *f, const char *label, uint64_t value)
{
	if (f->n_guest >= HVP_GUEST_MAX)
		return;
	hvp_copy_str(f->guest[f->n_guest].label, sizeof(f->guest[0].label), label);
	f->guest[f->n_guest].value = value;
	f->n_guest++;
}

void hvp_finding_answer(struct hvp_finding *f, enum hvp_answer a, const char *fmt, ...)
{
	va_list ap;

	f->answer = a;
	va_start(ap, fmt);
	vsnprintf(f->reason, sizeof(f->reason), fmt, ap);
	va_end(ap);
}
