/* SPDX-License-Identifier: MIT */
/*
 * A finding: one probe's answer, with everything that proves it.
 *
 * A finding is plain data of fixed size so that a probe child can fill it
 * without allocating and the runner can carry it across a pipe (wire.c).
 * Capacities are generous for one question; a probe that makes more calls
 * than fit keeps the first ones and counts the rest (evidence_omitted).
 */
#ifndef HVP_FINDING_H
#define HVP_FINDING_H

#include <stdbool.h>
#include <stdint.h>

#define HVP_ID_MAX 64
#define HVP_TEXT_MAX 256
#define HVP_CALL_MAX 48
#define HVP_ERRNAME_MAX 32
#define HVP_DETAIL_MAX 96
#define HVP_EVIDENCE_MAX 48
#define HVP_GUEST_MAX 32

enum hvp_answer {
	HVP_ANSWER_NONE = 0, /* not answered yet: a probe that returns so is a bug */
	HVP_ANSWER_YES,
	HVP_ANSWER_NO,
	HVP_ANSWER_CRASHED,
	HVP_ANSWER_HUNG,
	HVP_ANSWER_SKIPPED,
};

enum hvp_verdict {
	HVP_VERDICT_UNDOCUMENTED = 0,
	HVP_VERDICT_AS_DOCUMENTED,
	HVP_VERDICT_DEVIATES,
	HVP_VERDICT_NOT_CHECKED, /* the probe was skipped: nothing to hold against */
};

/* One API call a probe made, and its native result. */
struct hvp_evidence {
	char call[HVP_CALL_MAX];       /* native call name: "KVM_CREATE_VM" */
	int64_t result;                /* 0 on success, else the native code */
	char errname[HVP_ERRNAME_MAX]; /* "OK", "EEXIST", "HV_BUSY" */
	char detail[HVP_DETAIL_MAX];   /* arguments worth knowing: "gpa=0x1000" */
};

/* One value a guest program reported, with what it means. */
struct hvp_guest_value {
	char label[HVP_CALL_MAX];
	uint64_t value;
};

#define HVP_SAMPLES_MAX 256

/*
 * A benchmark's measurement: each sample is one timed batch of
 * ops_per_sample operations, stored as the cost of one operation in unit.
 */
struct hvp_bench {
	bool present;
	char unit[8];            /* "ns" */
	char per[48];            /* what one operation is: "exit round trip", "page" */
	char ring[16];           /* "guest ring 0", "guest ring 3", "host" */
	char pinned[16];         /* "cpu 1", or "no" */
	double tsc_khz;          /* > 0 when the guest timed itself with its TSC */
	uint64_t ops_per_sample;
	unsigned n;
	double sample[HVP_SAMPLES_MAX];
	double min, median, p90, p99, max, mean, cv; /* cv: stddev / mean */
	double harness_ratio;    /* raw baseline only: hvprobe's loop / the raw loop, interleaved */
};

struct hvp_finding {
	char id[HVP_ID_MAX];
	char question[HVP_TEXT_MAX];
	enum hvp_answer answer;
	char reason[HVP_TEXT_MAX];  /* the answer in a sentence, or why skipped/crashed */
	enum hvp_verdict verdict;   /* filled by the contract, never by a probe */
	char expected[16];          /* contract's expected answer, "" if none */
	char citation[HVP_TEXT_MAX];
	int decisive;               /* index into evidence, -1: none */
	unsigned n_evidence;
	unsigned evidence_omitted;
	struct hvp_evidence evidence[HVP_EVIDENCE_MAX];
	unsigned n_guest;
	struct hvp_guest_value guest[HVP_GUEST_MAX];
	bool guest_verified;        /* a guest really ran and its reports prove the answer */
	int64_t elapsed_ns;
	struct hvp_bench bench;     /* benchmarks only */
};

const char *hvp_answer_name(enum hvp_answer a);
/* Parses "yes", "no", ...; returns HVP_ANSWER_NONE for anything else. */
enum hvp_answer hvp_answer_parse(const char *s);
const char *hvp_verdict_name(enum hvp_verdict v);
/* Parses "as documented", ...; returns 0, or -1 for anything else. */
int hvp_verdict_parse(const char *s, enum hvp_verdict *out);

void hvp_finding_init(struct hvp_finding *f, const char *id, const char *question);

/* Appends one call; returns its index (or -1 once the evidence is full). */
int hvp_finding_add_evidence(struct hvp_finding *f, const char *call, int64_t result,
			     const char *errname, const char *detail);
void hvp_finding_add_guest(struct hvp_finding *f, const char *label, uint64_t value);

/* Sets the answer with a printf-style sentence saying why. */
void hvp_finding_answer(struct hvp_finding *f, enum hvp_answer a, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Copies src into a fixed field, cutting at the field's size. */
void hvp_copy_str(char *dst, unsigned size, const char *src);

#endif
