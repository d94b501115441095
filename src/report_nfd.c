/* SPDX-License-Identifier: MIT */
/*
 * A Node Feature Discovery feature file (the local source's features.d
 * format): one "name=value" line per node label, '#' comment lines, and the
 * "# +expiry-time=" directive (RFC 3339) after which NFD drops the labels,
 * so that a node whose refresh stopped loses labels it no longer proves.
 *
 * Only what the run proved becomes a label: a capability whose probe
 * answered yes, the backend where a guest really ran and reported. A probe
 * that answered no, crashed, hung, was skipped or is absent gives no label
 * (never "false": absence is not proof). The labels live under
 * hvprobe.feature.node.kubernetes.io/, a sub-namespace NFD accepts without
 * configuration. README.md ("Kubernetes") lists them.
 */
#include <ctype.h>
#include <string.h>
#include <time.h>

#include "cpu_model.h"
#include "report.h"

#define NFD_NS "hvprobe.feature.node.kubernetes.io/"
/* A label outlives its run by a day: the timer in contrib/systemd refreshes it every 6 hours. */
#define NFD_TTL_S (24 * 3600)
/* Kubernetes' limit on a label's name (the part after the namespace). */
#define NFD_NAME_MAX 63

/* Capabilities: the label is set when the probe answered yes. */
static const struct {
	const char *label, *probe;
} proven[] = {
	{ "hardware-virtualization", "exec.vendor" },
	{ "native-ring0", "exec.native_cpl0" },
	{ "native-ring3", "exec.native_cpl3" },
	{ "real-mode", "exec.real_mode" },
	{ "cpuid-set", "cpu.cpuid_applied_cpl3" },
	{ "tsc-rate", "time.tsc_rate" },
	{ "tsc-set", "time.tsc_offset" },
	{ "vcpus-parallel", "vcpu.two_parallel" },
	{ "vcpu-kick", "vcpu.kick" },
	{ "vm-fd-passing", "fork.fd_passed" },
	{ "readonly-memory", "mem.readonly" },
	{ "dirty-log", "mem.dirty_log" },
	{ "memfd", "mem.backing_memfd" },
	{ "hugepages", "mem.backing_hugepages" },
	{ "arm64-nisv", "arm64.nisv" },
};

/*
 * The guest CPU model (the host block's cpu_model): its named features,
 * each labelled cpu-<name> only when the cpu.model probe answered yes, its
 * proof that the model is what a guest is given.
 */
#define CPU_MODEL_PROBE "cpu.model"

static const struct hvp_finding *find(const struct hvp_report *r, const char *id)
{
	for (unsigned i = 0; i < r->n; i++)
		if (strcmp(r->findings[i].id, id) == 0)
			return &r->findings[i];
	return NULL;
}

static bool answered_yes(const struct hvp_report *r, const char *id)
{
	const struct hvp_finding *f = find(r, id);

	return f && f->answer == HVP_ANSWER_YES;
}

/* A guest ran on this backend and its own report decided an answer. */
static bool guest_ran(const struct hvp_report *r)
{
	for (unsigned i = 0; i < r->n; i++)
		if (r->findings[i].guest_verified)
			return true;
	return false;
}

/* Whether name is a Kubernetes label name: alphanumerics, '-', '_', '.', alphanumeric at both ends. */
static bool label_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > NFD_NAME_MAX || !isalnum((unsigned char)name[0]) || !isalnum((unsigned char)name[n - 1]))
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			return false;
	return true;
}

static void label(FILE *out, const char *name)
{
	if (label_name_ok(name))
		fprintf(out, NFD_NS "%s=true\n", name);
}

/* cpu-<feature> for each feature of the model the cpu.model probe proved. */
static void cpu_labels(FILE *out, const struct hvp_report *r)
{
	const struct hvp_feature *t;
	char name[NFD_NAME_MAX + 2];
	unsigned n;

	if (!r->cpu_model || !r->cpu_model->present || !answered_yes(r, CPU_MODEL_PROBE))
		return;
	t = hvp_model_features(r->cpu_model->arch, &n);
	for (unsigned i = 0; i < n; i++) {
		if (!hvp_model_has(r->cpu_model, &t[i]))
			continue;
		snprintf(name, sizeof(name), "cpu-%s", t[i].name);
		for (char *p = name; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		label(out, name);
	}
}

/* Text inside a comment line: a line break in a report read back must not start a label line. */
static void comment_text(FILE *out, const char *s)
{
	for (; *s; s++)
		fputc(iscntrl((unsigned char)*s) ? '?' : *s, out);
}

static void header(FILE *out, const struct hvp_report *r)
{
	const char *backend = r->host ? hvp_facts_get(r->host, "backend") : NULL;
	const char *arch = r->host ? hvp_facts_get(r->host, "arch") : NULL;
	char when[32];

	fputs("# Node Feature Discovery labels from hvprobe ", out);
	comment_text(out, r->tool_version);
	fputs(" (", out);
	comment_text(out, backend ? backend : "unknown backend");
	fputc(' ', out);
	comment_text(out, arch ? arch : "unknown arch");
	fputs("): only what its guests proved.\n", out);
	if (r->unix_time <= 0) {
		fputs("# The report does not say when it ran: these labels do not expire.\n", out);
		return;
	}
	time_t expiry = (time_t)(r->unix_time + NFD_TTL_S);
	struct tm tm;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&expiry, &tm));
	fprintf(out, "# +expiry-time=%s\n", when);
}

int hvp_report_nfd(FILE *out, const struct hvp_report *r)
{
	const char *backend = r->host ? hvp_facts_get(r->host, "backend") : NULL;
	const char *nested = r->host ? hvp_facts_get(r->host, "host_hypervisor") : NULL;
	bool ran = guest_ran(r);

	header(out, r);
	if (ran && backend)
		label(out, backend);
	/* Guests ran, and the host's CPU says it is itself a guest: nested virtualization works here. */
	if (ran && nested && strncmp(nested, "yes", 3) == 0)
		label(out, "nested");
	for (unsigned i = 0; i < sizeof(proven) / sizeof(proven[0]); i++)
		if (answered_yes(r, proven[i].probe))
			label(out, proven[i].label);
	cpu_labels(out, r);
	return ferror(out) ? -1 : 0;
}
