/* SPDX-License-Identifier: MIT */
#ifndef HVP_BUILTIN_CONTRACT_H
#define HVP_BUILTIN_CONTRACT_H

#include <stddef.h>

/* The built-in contract text for a backend ("kvm"), or NULL if none. */
const char *hvp_builtin_contract(const char *backend, size_t *len);

/* What an architecture's contract changes of the backend's (contracts/kvm-arm64.ini), or NULL. */
const char *hvp_builtin_contract_overlay(const char *backend, const char *arch, size_t *len);

#endif
