/* SPDX-License-Identifier: MIT */
#include "builtin_contract.h"

#include <string.h>

extern const char hvp_contract_kvm_start[], hvp_contract_kvm_end[];

const char *hvp_builtin_contract(const char *backend, size_t *len)
{
	if (strcmp(backend, "kvm") == 0) {
		*len = (size_t)(hvp_contract_kvm_end - hvp_contract_kvm_start);
		return hvp_contract_kvm_start;
	}
	*len = 0;
	return NULL;
}
