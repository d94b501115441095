/* SPDX-License-Identifier: MIT */
/*
 * The wire format that carries a finding from a probe child to the runner.
 *
 * Text, one field per line, tab-separated where a line holds several fields,
 * with '\\', '\n' and '\t' escaped; it ends with an "end" line so that a
 * child killed in the middle of writing is told apart from one that finished.
 * Only what a probe fills travels: the verdict is the runner's to compute.
 */
#ifndef HVP_WIRE_H
#define HVP_WIRE_H

#include <stddef.h>

#include "finding.h"

/* Large enough for a full finding with every field escaped at worst. */
#define HVP_WIRE_MAX (64 * 1024)

/* Encodes f into buf; returns the length, or -1 if buf is too small. */
long hvp_wire_encode(const struct hvp_finding *f, char *buf, size_t size);

/*
 * Decodes len bytes into f. Returns 0 on a complete finding, -1 when the
 * text is malformed or was cut before its "end" line; err (if given) then
 * says what was wrong.
 */
int hvp_wire_decode(const char *buf, size_t len, struct hvp_finding *f, const char **err);

#endif
