/* SPDX-License-Identifier: MIT */
#include "builtin_contract.h"

#include <string.h>

/* contracts.S: the contract of the backend this build has, and its architecture's overlay. */
extern const char hvp_contract_base_start[], hvp_contract_base_end[];
#if defined(__aarch64__)
extern const char hvp_contract_overlay_start[], hvp_contract_overlay_end[];
#endif

#ifdef __APPLE__
#define BUILT_IN "hvf"
#else
#define BUILT_IN "kvm"
#endif

const char *hvp_builtin_contract(const char *backend, size_t *len)
{
	if (strcmp(backend, BUILT_IN) == 0) {
		*len = (size_t)(hvp_contract_base_end - hvp_contract_base_start);
		return hvp_contract_base_start;
	}
	*len = 0;
	return NULL;
}

const char *hvp_builtin_contract_overlay(const char *backend, const char *arch, size_t *len)
{
#if defined(__aarch64__)
	if (strcmp(backend, BUILT_IN) == 0 && strcmp(arch, "arm64") == 0) {
		*len = (size_t)(hvp_contract_overlay_end - hvp_contract_overlay_start);
		return hvp_contract_overlay_start;
	}
#endif
	(void)backend;
	(void)arch;
	*len = 0;
	return NULL;
}
