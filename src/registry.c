/* SPDX-License-Identifier: MIT */
/* Expands probes/list.h, the one place a probe is registered. */
#include "probe.h"

#define PROBE(name) extern const struct hvp_probe name;
#include "probes/list.h"
#undef PROBE

const struct hvp_probe *const hvp_probes[] = {
#define PROBE(name) &name,
#include "probes/list.h"
#undef PROBE
};

const unsigned hvp_n_probes = sizeof(hvp_probes) / sizeof(hvp_probes[0]);
