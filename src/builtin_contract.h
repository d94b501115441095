/* SPDX-License-Identifier: MIT */
#ifndef HVP_BUILTIN_CONTRACT_H
#define HVP_BUILTIN_CONTRACT_H

#include <stddef.h>

/* The built-in contract text for a backend ("kvm"), or NULL if none. */
const char *hvp_builtin_contract(const char *backend, size_t *len);

#endif
