/* SPDX-License-Identifier: MIT */
/* Expands probes/list.h, the one place a probe is registered. */
#include "probe.h"

#include <string.h>

#define PROBE(name) extern const struct hvp_probe name;
#include "probes/list.h"
#undef PROBE

const struct hvp_probe *const hvp_probes[] = {
#define PROBE(name) &name,
#include "probes/list.h"
#undef PROBE
};

const unsigned hvp_n_probes = sizeof(hvp_probes) / sizeof(hvp_probes[0]);

const struct hvp_probe *hvp_probe_find(const char *id)
{
	for (unsigned i = 0; i < hvp_n_probes; i++)
		if (strcmp(hvp_probes[i]->id, id) == 0)
			return hvp_probes[i];
	return NULL;
}
