/* SPDX-License-Identifier: MIT */
/* The contract parser, the verdicts it gives, and the shipped contract itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin_contract.h"
#include "contract.h"
#include "output.h"
#include "probe.h"
#include "tap.h"

static int parse(const char *text, struct hvp_contract *c, char *err)
{
	return hvp_contract_parse(c, "test", text, strlen(text), err, 256);
}

static int refused(struct tap *t, const char *text, const char *want, const char *what)
{
	struct hvp_contract c;
	char err[256] = "";
	int r = parse(text, &c, err);

	return ok(t, r == -1 && strstr(err, want), "%s is refused: %s", what, err);
}


/* An architecture's file replaces the entries it names and adds its own. */
static void test_overlay(struct tap *t)
{
	const char *base = "[a]\nexpected = yes\ncitation = base\n[b]\nexpected = no\ncitation = base\n";
	const char *over = "[b]\nexpected = yes\ncitation = arm\n[c]\nexpected = undocumented\ncitation = arm\n";
	struct hvp_contract c;
	char err[128] = "";
	const struct hvp_contract_entry *a, *b, *cc;

	ok(t, hvp_contract_parse(&c, "base", base, strlen(base), err, sizeof(err)) == 0 &&
		      hvp_contract_overlay(&c, "arm", over, strlen(over), err, sizeof(err)) == 0,
	   "an overlay parses onto a contract (%s)", err);
	a = hvp_contract_find(&c, "a");
	b = hvp_contract_find(&c, "b");
	cc = hvp_contract_find(&c, "c");
	ok(t, c.n == 3 && a && strcmp(a->citation, "base") == 0 && b && b->expected == HVP_ANSWER_YES &&
		      strcmp(b->citation, "arm") == 0 && cc && cc->silent,
	   "the overlay's entries replace the base's and add to them; the rest stay");
	hvp_contract_free(&c);
}

/*
 * A shipped contract (the backend's file, with the architecture's overlay)
 * names only real probes and has an entry for every question the backend
 * is asked on that architecture: a citation even where the document is
 * silent.
 */
static void shipped_contract(struct tap *t, const char *backend, const char *base, const char *arch,
			     const char *overlay)
{
	struct hvp_contract c;
	char err[256] = "";
	size_t len = 0, olen = 0;
	char *text = NULL, *over = NULL; /* the files, read from the repository's top directory */

	if (hvp_read_file(base, HVP_CONTRACT_FILE_MAX, &text, &len) ||
	    (overlay && hvp_read_file(overlay, HVP_CONTRACT_FILE_MAX, &over, &olen)))
		printf("# cannot read %s or %s\n", base, overlay ? overlay : "-");
	int all_known = 1, all_entered = 1;

	ok(t, text && hvp_contract_parse(&c, backend, text, len, err, sizeof(err)) == 0 &&
		      (!overlay || (over && hvp_contract_overlay(&c, arch, over, olen, err, sizeof(err)) == 0)),
	   "the shipped %s contract for %s parses (%s)", backend, arch, err);
	free(text);
	free(over);
	for (unsigned i = 0; i < c.n; i++) {
		int known = 0;
		for (unsigned k = 0; k < hvp_n_probes; k++)
			known |= strcmp(hvp_probes[k]->id, c.entries[i].id) == 0;
		if (!known)
			printf("# contract entry [%s] names no probe\n", c.entries[i].id);
		all_known &= known;
	}
	ok(t, all_known, "every entry of the %s contract for %s names a registered probe", backend, arch);
	for (unsigned k = 0; k < hvp_n_probes; k++) {
		const struct hvp_probe *p = hvp_probes[k];
		if (p->kind == HVP_PROBE_BENCH || (p->arch && strcmp(p->arch, arch) != 0))
			continue; /* measurements, and questions about another architecture */
		if (!hvp_contract_find(&c, p->id))
			printf("# probe %s has no %s contract entry for %s\n", p->id, backend, arch);
		all_entered &= hvp_contract_find(&c, p->id) != NULL;
	}
	ok(t, all_entered, "every question %s on %s is asked has a contract entry", backend, arch);
	hvp_contract_free(&c);
}

int main(void)
{
	const char *good = "# comment\n\n[a.yes]\nexpected = yes\ncitation = doc, 1\nsays = it works\n"
			   "[b.no]\n  expected=no  \n citation =doc, 2\n";
	struct hvp_contract c;
	struct hvp_finding f;
	char err[256] = "";
	struct tap t;

	TAP_PLAN_LATER(&t);
	ok(&t, parse(good, &c, err) == 0 && c.n == 2, "a well-formed contract parses (%s)", err);
	ok(&t, hvp_contract_find(&c, "b.no") && hvp_contract_find(&c, "b.no")->expected == HVP_ANSWER_NO &&
		       strcmp(hvp_contract_find(&c, "b.no")->citation, "doc, 2") == 0,
	   "entries keep their answer and citation, whitespace trimmed");

	hvp_finding_init(&f, "a.yes", "q");
	hvp_finding_answer(&f, HVP_ANSWER_YES, "r");
	hvp_contract_judge(&c, &f);
	ok(&t, f.verdict == HVP_VERDICT_AS_DOCUMENTED && strcmp(f.expected, "yes") == 0 && !hvp_finding_fails_run(&f),
	   "the documented answer is 'as documented'");
	hvp_finding_answer(&f, HVP_ANSWER_NO, "r");
	hvp_contract_judge(&c, &f);
	ok(&t, f.verdict == HVP_VERDICT_DEVIATES && hvp_finding_fails_run(&f), "another answer deviates and fails the run");
	hvp_finding_answer(&f, HVP_ANSWER_SKIPPED, "r");
	hvp_contract_judge(&c, &f);
	ok(&t, f.verdict == HVP_VERDICT_NOT_CHECKED && !hvp_finding_fails_run(&f), "a skipped probe is not checked");
	hvp_finding_init(&f, "c.unknown", "q");
	hvp_finding_answer(&f, HVP_ANSWER_NO, "r");
	hvp_contract_judge(&c, &f);
	ok(&t, f.verdict == HVP_VERDICT_UNDOCUMENTED && f.expected[0] == '\0' && !hvp_finding_fails_run(&f),
	   "a probe without an entry is undocumented and does not fail the run");
	hvp_finding_answer(&f, HVP_ANSWER_CRASHED, "r");
	hvp_contract_judge(&c, &f);
	ok(&t, hvp_finding_fails_run(&f), "an undocumented crash fails the run");
	hvp_contract_free(&c);

	ok(&t, parse("[x]\nexpected = crashed\ncitation = hvf doc\n", &c, err) == 0, "'crashed' may be documented");
	hvp_finding_init(&f, "x", "q");
	hvp_finding_answer(&f, HVP_ANSWER_CRASHED, "r");
	hvp_contract_judge(&c, &f);
	ok(&t, f.verdict == HVP_VERDICT_AS_DOCUMENTED && !hvp_finding_fails_run(&f),
	   "a crash the contract expects does not fail the run");
	hvp_contract_free(&c);

	ok(&t, parse("[s]\nexpected = undocumented\ncitation = api.rst 4.35, silent\n", &c, err) == 0,
	   "an entry may record that the document is silent");
	hvp_finding_init(&f, "s", "q");
	hvp_finding_answer(&f, HVP_ANSWER_NO, "r");
	hvp_contract_judge(&c, &f);
	ok(&t, f.verdict == HVP_VERDICT_UNDOCUMENTED && f.expected[0] == '\0' && strcmp(f.citation, "api.rst 4.35, silent") == 0 &&
		       !hvp_finding_fails_run(&f),
	   "a silent entry gives 'undocumented' with the citation of where one looked");
	hvp_contract_free(&c);

	refused(&t, "[x]\ncitation = c\n", "no valid 'expected'", "an entry without expected");
	refused(&t, "[x]\nexpected = yes\n", "no 'citation'", "an entry without citation");
	refused(&t, "[x]\nexpected = perhaps\ncitation = c\n", "expected must be", "an unknown answer");
	refused(&t, "[x]\nexpected = yes\ncitation = c\ncolour = red\n", "unknown key", "an unknown key");
	refused(&t, "expected = yes\n", "outside a [probe.id]", "a key outside a section");
	refused(&t, "[x]\nexpected = yes\ncitation = c\n[x]\nexpected = yes\ncitation = c\n", "twice", "a duplicate id");
	refused(&t, "[x\n", "section header", "a broken header");
	refused(&t, "[x]\njust words\n", "key = value", "a line without '='");
	refused(&t, "[]\n", "probe id", "an empty id");

	test_overlay(&t);
	shipped_contract(&t, "kvm", "contracts/kvm.ini", "x86_64", NULL);
	shipped_contract(&t, "kvm", "contracts/kvm.ini", "arm64", "contracts/kvm-arm64.ini");
	shipped_contract(&t, "hvf", "contracts/hvf.ini", "x86_64", NULL);
	shipped_contract(&t, "hvf", "contracts/hvf.ini", "arm64", "contracts/hvf-arm64.ini");
	{
		size_t len;
		ok(&t, hvp_builtin_contract("kvm", &len) && len > 0, "the built-in contract is the KVM one on Linux");
	}
	return tap_done(&t);
}
