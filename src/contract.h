/* SPDX-License-Identifier: MIT */
/*
 * A contract: what a backend's documentation says each probe's answer is,
 * with the citation. It is data (contracts/<backend>.ini, built into the
 * binary and replaceable with --contract FILE) so that a person can read and
 * correct it without touching a probe:
 *
 *   # comment
 *   [vm.two_in_one_thread]
 *   expected = yes
 *   citation = Documentation/virt/kvm/api.rst, 4.2 KVM_CREATE_VM
 *   says = one process may hold several VM file descriptors
 *
 * "expected = undocumented" records that the cited document was read and
 * is silent on the question: the verdict stays "undocumented", and the
 * citation says where one looked.
 */
#ifndef HVP_CONTRACT_H
#define HVP_CONTRACT_H

#define HVP_CONTRACT_FILE_MAX (1u << 20) /* a contract is a few dozen kilobytes */

#include <stdbool.h>
#include <stddef.h>

#include "finding.h"

struct hvp_contract_entry {
	char id[HVP_ID_MAX];
	enum hvp_answer expected; /* HVP_ANSWER_NONE when silent */
	bool silent;              /* the document says nothing on this */
	char citation[HVP_TEXT_MAX];
	char says[HVP_TEXT_MAX];
};

struct hvp_contract {
	char name[32];
	unsigned n;
	struct hvp_contract_entry *entries;
};

/*
 * Parses len bytes of contract text. Returns 0, or -1 with a message naming
 * the line in err (err_size bytes). Every entry needs expected and citation.
 */
int hvp_contract_parse(struct hvp_contract *c, const char *name, const char *text, size_t len,
		       char *err, size_t err_size);
void hvp_contract_free(struct hvp_contract *c);

/*
 * Lays a second contract over c: each of its entries replaces c's entry for
 * the same probe, or is added. An architecture's file (kvm-arm64.ini) says
 * only where it differs from the backend's (kvm.ini).
 */
int hvp_contract_overlay(struct hvp_contract *c, const char *name, const char *text, size_t len, char *err,
			 size_t err_size);

const struct hvp_contract_entry *hvp_contract_find(const struct hvp_contract *c, const char *id);

/* Fills f->verdict, f->expected and f->citation from the contract (c may be NULL). */
void hvp_contract_judge(const struct hvp_contract *c, struct hvp_finding *f);

/* True when the finding should fail the run: a deviation from the contract. */
int hvp_finding_fails_run(const struct hvp_finding *f);

#endif
