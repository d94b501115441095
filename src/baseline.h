/* SPDX-License-Identifier: MIT */
/*
 * `hvprobe baseline`: the guest CPU model common to several hosts, from
 * their reports, written as a Firecracker custom CPU template (Firecracker's
 * docs/cpu_templates/cpu-templates.md and schema.json): every feature
 * that some host offers and another does not is cleared, everything else
 * left as each host has it ("x"). x86_64: cpuid_modifiers (leaf, subleaf,
 * flags, modifiers of register and a 32-character bitmap "0b[01x]{32}") and
 * msr_modifiers (addr, a 64-character bitmap); arm64: reg_modifiers (addr,
 * the KVM ONE_REG id, and a bitmap of the register's 64 bits, the form the
 * documentation calls contracted, whose missing high characters are x), an
 * ID register field set to the lowest value any host has.
 */
#ifndef HVP_BASELINE_H
#define HVP_BASELINE_H

#include <stddef.h>
#include <stdio.h>

#include "report_read.h"

/*
 * Writes the template for the n reports named names. Returns 0, or -1 with
 * the reason in err (a report without a CPU model, different architectures
 * or CPU vendors). note gets what the user must know about applying it
 * ("" when nothing).
 */
int hvp_baseline_write(FILE *out, const struct hvp_read_report *r, const char *const *names, unsigned n,
		       char *err, size_t err_size, char *note, size_t note_size);

#endif
