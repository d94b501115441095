/* SPDX-License-Identifier: MIT */
#include "builtin_contract.h"

#include <string.h>

extern const char hvp_contract_kvm_start[], hvp_contract_kvm_end[];
#if defined(__aarch64__)
extern const char hvp_contract_kvm_arm64_start[], hvp_contract_kvm_arm64_end[];
#endif

const char *hvp_builtin_contract(const char *backend, size_t *len)
{
	if (strcmp(backend, "kvm") == 0) {
		*len = (size_t)(hvp_contract_kvm_end - hvp_contract_kvm_start);
		return hvp_contract_kvm_start;
	}
	*len = 0;
	return NULL;
}

const char *hvp_builtin_contract_overlay(const char *backend, const char *arch, size_t *len)
{
#if defined(__aarch64__)
	if (strcmp(backend, "kvm") == 0 && strcmp(arch, "arm64") == 0) {
		*len = (size_t)(hvp_contract_kvm_arm64_end - hvp_contract_kvm_arm64_start);
		return hvp_contract_kvm_arm64_start;
	}
#endif
	(void)backend;
	(void)arch;
	*len = 0;
	return NULL;
}
