/* SPDX-License-Identifier: MIT */
/* The finding wire format: round trips, and refusal of cut or broken input. */
#include <string.h>

#include "tap.h"
#include "wire.h"

static void full_finding(struct hvp_finding *f)
{
	hvp_finding_init(f, "vm.two_in_one_thread", "Two VMs?\twith a tab and a\nnewline \\ backslash");
	hvp_finding_answer(f, HVP_ANSWER_NO, "refused: %s", "EEXIST\n(second line)");
	hvp_finding_add_evidence(f, "KVM_CREATE_VM", 0, "OK", "VM A");
	hvp_finding_add_evidence(f, "KVM_SET_USER_MEMORY_REGION", 17, "EEXIST", "gpa=0x1000\tsize=0x1000");
	hvp_finding_add_guest(f, "read at A", 0xa11ce0000000000aull);
	hvp_finding_add_guest(f, "all ones", ~0ull);
	f->decisive = 1;
	f->guest_verified = true;
	f->elapsed_ns = 123456789;
	f->evidence_omitted = 3;
}

static int same(const struct hvp_finding *a, const struct hvp_finding *b)
{
	if (strcmp(a->id, b->id) || strcmp(a->question, b->question) || a->answer != b->answer ||
	    strcmp(a->reason, b->reason) || a->decisive != b->decisive || a->guest_verified != b->guest_verified ||
	    a->elapsed_ns != b->elapsed_ns || a->n_evidence != b->n_evidence || a->n_guest != b->n_guest ||
	    a->evidence_omitted != b->evidence_omitted)
		return 0;
	for (unsigned i = 0; i < a->n_evidence; i++)
		if (memcmp(&a->evidence[i], &b->evidence[i], sizeof(a->evidence[i])))
			return 0;
	for (unsigned i = 0; i < a->n_guest; i++)
		if (strcmp(a->guest[i].label, b->guest[i].label) || a->guest[i].value != b->guest[i].value)
			return 0;
	return 1;
}

int main(void)
{
	static char buf[HVP_WIRE_MAX];
	struct hvp_finding f, g;
	const char *err = NULL;
	struct tap t;
	long len;

	TAP_PLAN_LATER(&t);
	full_finding(&f);
	len = hvp_wire_encode(&f, buf, sizeof(buf));
	ok(&t, len > 0, "a full finding encodes (%ld bytes)", len);
	ok(&t, hvp_wire_decode(buf, (size_t)len, &g, &err) == 0, "and decodes (%s)", err ? err : "no error");
	ok(&t, same(&f, &g), "the round trip keeps every field, tabs, newlines and backslashes included");
	ok(&t, hvp_wire_encode(&f, buf, 64) == -1, "a buffer too small is refused, not overrun");

	len = hvp_wire_encode(&f, buf, sizeof(buf));
	int cut_ok = 1;
	for (long cut = 0; cut < len; cut++)
		cut_ok &= hvp_wire_decode(buf, (size_t)cut, &g, &err) == -1;
	ok(&t, cut_ok, "every prefix of a finding is refused as cut short");

	ok(&t, hvp_wire_decode("garbage\n", 8, &g, &err) == -1 && strstr(err, "bad first line"),
	   "garbage is refused: %s", err);
	const char *bad_answer = "hvprobe-finding 1\nid x\nanswer maybe\nend\n";
	ok(&t, hvp_wire_decode(bad_answer, strlen(bad_answer), &g, &err) == -1, "an unknown answer is refused");
	const char *bad_escape = "hvprobe-finding 1\nid x\\q\nend\n";
	ok(&t, hvp_wire_decode(bad_escape, strlen(bad_escape), &g, &err) == -1, "a bad escape is refused");
	const char *bad_ev = "hvprobe-finding 1\nev 0\tonly two\nend\n";
	ok(&t, hvp_wire_decode(bad_ev, strlen(bad_ev), &g, &err) == -1, "evidence with missing fields is refused");
	const char *bad_key = "hvprobe-finding 1\nwho knows\nend\n";
	ok(&t, hvp_wire_decode(bad_key, strlen(bad_key), &g, &err) == -1, "an unknown key is refused");
	const char *minimal = "hvprobe-finding 1\nid a.b\nanswer yes\ndecisive 9\nend\n";
	ok(&t, hvp_wire_decode(minimal, strlen(minimal), &g, &err) == 0 && g.answer == HVP_ANSWER_YES &&
		       g.decisive == -1,
	   "a minimal finding decodes, and a decisive index past the evidence is dropped");

	hvp_finding_init(&f, "many", "q");
	for (int i = 0; i < HVP_EVIDENCE_MAX + 5; i++)
		hvp_finding_add_evidence(&f, "call", 0, "OK", "");
	ok(&t, f.n_evidence == HVP_EVIDENCE_MAX && f.evidence_omitted == 5,
	   "evidence past capacity is counted, not lost silently");
	return tap_done(&t);
}
