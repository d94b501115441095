/* SPDX-License-Identifier: MIT */
/* The backend-independent pieces of the backend interface. */
#include "backend.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "finding.h"

void hvp_facts_add(struct hvp_facts *facts, const char *key, const char *fmt, ...)
{
	va_list ap;

	if (facts->n >= HVP_FACTS_MAX)
		return;
	struct hvp_fact *f = &facts->fact[facts->n++];
	hvp_copy_str(f->key, sizeof(f->key), key);
	va_start(ap, fmt);
	vsnprintf(f->value, sizeof(f->value), fmt, ap);
	va_end(ap);
}

const char *hvp_facts_get(const struct hvp_facts *facts, const char *key)
{
	for (unsigned i = 0; i < facts->n; i++)
		if (strcmp(facts->fact[i].key, key) == 0)
			return facts->fact[i].value;
	return NULL;
}

const char *hvp_err_name(enum hvp_err e)
{
	static const char *const names[] = {
		[HVP_OK] = "ok",
		[HVP_ERR_EXISTS] = "exists",
		[HVP_ERR_INVALID] = "invalid",
		[HVP_ERR_NOMEM] = "no resources",
		[HVP_ERR_BUSY] = "busy",
		[HVP_ERR_NODEV] = "no device",
		[HVP_ERR_DENIED] = "denied",
		[HVP_ERR_FAULT] = "bad address",
		[HVP_ERR_UNSUPPORTED] = "unsupported",
		[HVP_ERR_INTERRUPTED] = "interrupted",
		[HVP_ERR_IO] = "unusable",
		[HVP_ERR_OTHER] = "other",
		[HVP_ERR_GENERIC] = "refused",
		[HVP_ERR_RLIMIT] = "process limit",
	};
	if ((unsigned)e >= sizeof(names) / sizeof(names[0]))
		return "invalid";
	return names[e];
}

const char *hvp_exit_kind_name(enum hvp_exit_kind k)
{
	static const char *const names[] = {
		[HVP_EXIT_IO] = "io",
		[HVP_EXIT_MMIO] = "mmio",
		[HVP_EXIT_HLT] = "hlt",
		[HVP_EXIT_HYPERCALL] = "hypercall",
		[HVP_EXIT_SHUTDOWN] = "shutdown",
		[HVP_EXIT_INTERRUPTED] = "interrupted",
		[HVP_EXIT_INTERNAL_ERROR] = "internal error",
		[HVP_EXIT_MSR] = "msr",
		[HVP_EXIT_UNKNOWN] = "unknown",
		[HVP_EXIT_DIRTY_RING_FULL] = "dirty ring full",
	};
	if ((unsigned)k >= sizeof(names) / sizeof(names[0]))
		return "invalid";
	return names[k];
}
