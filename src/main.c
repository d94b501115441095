/* SPDX-License-Identifier: MIT */
/*
 * hvprobe: parse the command line, pick the backend, run the selected
 * probes through the runner, judge each finding against the contract and
 * hand the findings to a report. Results travel as data; the exit status
 * only summarizes them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "baseline.h"
#include "builtin_contract.h"
#include "cli.h"
#include "contract.h"
#include "cpu_model.h"
#include "diff.h"
#include "matrix.h"
#include "output.h"
#include "probe.h"
#include "report_read.h"
#include "report.h"
#include "runner.h"

#ifndef HVP_VERSION
#define HVP_VERSION "0.0.0-dev"
#endif

enum { EXIT_OK = 0, EXIT_DEVIATES = 1, EXIT_USAGE = 2, EXIT_NO_HYPERVISOR = 3, EXIT_INTERRUPTED = 130 };

/*
 * The seed's programs, kept as names of this binary so that the seed
 * document's commands still work: each runs the probes that answer its question.
 */
static const struct seed_alias {
	const char *name;
	const char *patterns[4];
} seed_aliases[] = {
	{ "test_two_vms_in_main_thread",
	  { "vm.sequential_in_one_thread", "vm.two_in_one_thread", "vm.destroy_after_refused_create" } },
	{ "test_two_vms_in_two_threads", { "vm.two_in_two_threads" } },
	{ "test_two_vms_in_two_processes", { "vm.two_in_two_processes" } },
	{ "test_two_mmap", { "mem.two_maps" } },
};

static int usage_error(const char *msg)
{
	fprintf(stderr, "hvprobe: %s\nTry 'hvprobe --help' for more information.\n", msg);
	return EXIT_USAGE;
}

static const struct seed_alias *seed_alias(const char *argv0)
{
	char *copy = strdup(argv0);
	const char *base = copy ? basename(copy) : argv0;
	const struct seed_alias *found = NULL;

	for (unsigned i = 0; i < sizeof(seed_aliases) / sizeof(seed_aliases[0]); i++)
		if (strcmp(base, seed_aliases[i].name) == 0)
			found = &seed_aliases[i];
	free(copy);
	return found;
}

/* Whether a command takes this probe: run takes questions, bench benchmarks, list both. */
static int takes(const struct hvp_cli *c, const struct hvp_probe *p)
{
	if (c->cmd == HVP_CMD_LIST)
		return 1;
	return (c->cmd == HVP_CMD_BENCH) == (p->kind == HVP_PROBE_BENCH);
}

/* Selects the probes matching any pattern (all if none); returns the count or -1. */
static int select_probes(const struct hvp_cli *c, const struct hvp_probe **out)
{
	unsigned n = 0;

	for (unsigned p = 0; p < c->n_patterns; p++) {
		int matched = 0;
		for (unsigned i = 0; i < hvp_n_probes; i++)
			matched |= takes(c, hvp_probes[i]) && fnmatch(c->patterns[p], hvp_probes[i]->id, 0) == 0;
		if (!matched) {
			char msg[256];
			snprintf(msg, sizeof(msg), "no %s matches '%s' (see 'hvprobe list'%s)",
				 c->cmd == HVP_CMD_BENCH ? "benchmark" : "probe", c->patterns[p],
				 c->cmd == HVP_CMD_RUN ? "; benchmarks run with 'hvprobe bench'" : "");
			usage_error(msg);
			return -1;
		}
	}
	/*
	 * Benchmarks come with the probes that say whether guest code at each
	 * ring runs natively here, since that decides how their figures read.
	 */
	for (unsigned i = 0; c->cmd == HVP_CMD_BENCH && i < hvp_n_probes; i++)
		if (strncmp(hvp_probes[i]->id, "exec.native_cpl", 15) == 0)
			out[n++] = hvp_probes[i];
	for (unsigned i = 0; i < hvp_n_probes; i++) {
		int take = c->n_patterns == 0;
		if (!takes(c, hvp_probes[i]))
			continue;
		for (unsigned p = 0; !take && p < c->n_patterns; p++)
			take = fnmatch(c->patterns[p], hvp_probes[i]->id, 0) == 0;
		if (take)
			out[n++] = hvp_probes[i];
	}
	return (int)n;
}

struct probe_list {
	const struct hvp_probe **probes;
	int n;
};

static int write_list_text(FILE *out, const void *arg)
{
	const struct probe_list *l = arg;

	for (int i = 0; i < l->n; i++)
		fprintf(out, "%-36s %-6s %s\n", l->probes[i]->id,
			l->probes[i]->kind == HVP_PROBE_BENCH ? "bench" : "probe", l->probes[i]->question);
	return ferror(out) ? -1 : 0;
}

static int write_list_json(FILE *out, const void *arg)
{
	const struct probe_list *l = arg;

	fputc('[', out);
	for (int i = 0; i < l->n; i++) {
		fputs(i ? ",\n{\"id\":" : "\n{\"id\":", out);
		hvp_json_string(out, l->probes[i]->id);
		fputs(",\"question\":", out);
		hvp_json_string(out, l->probes[i]->question);
		fprintf(out, ",\"kind\":\"%s\",\"timeout_s\":%u}",
			l->probes[i]->kind == HVP_PROBE_BENCH ? "bench" : "probe", l->probes[i]->timeout_s);
	}
	fputs("\n]\n", out);
	return ferror(out) ? -1 : 0;
}

/* Commands other than run report in text or JSON; TAP is for test results only. */
static int check_text_or_json(const struct hvp_cli *c, const char *cmd)
{
	char msg[128];

	if (strcmp(c->format, "text") == 0 || strcmp(c->format, "json") == 0)
		return 0;
	snprintf(msg, sizeof(msg), "'%s' writes text or json, not %s", cmd, c->format);
	return usage_error(msg);
}

/* A report and how to write it, as one argument for hvp_write_output. */
struct report_job {
	int (*write)(FILE *out, const struct hvp_report *r);
	const struct hvp_report *r;
};

static int write_job(FILE *out, const void *arg)
{
	const struct report_job *job = arg;

	return job->write(out, job->r);
}

struct diff_job {
	int (*write)(FILE *out, const struct hvp_diff *d);
	const struct hvp_diff *d;
};

static int write_diff_job(FILE *out, const void *arg)
{
	const struct diff_job *job = arg;

	return job->write(out, job->d);
}

static int write_text(FILE *out, const void *arg)
{
	fputs(arg, out);
	return ferror(out) ? -1 : 0;
}

static int report_failed(const struct hvp_cli *c)
{
	fprintf(stderr, "hvprobe: cannot write %s: %s\n", c->output ? c->output : "the report", strerror(errno));
	return EXIT_DEVIATES;
}

static int cmd_list(const struct hvp_cli *c)
{
	const struct hvp_probe *sel[hvp_n_probes ? hvp_n_probes : 1];
	struct probe_list l = { sel, select_probes(c, sel) };
	int json = strcmp(c->format, "json") == 0;

	if (l.n < 0 || check_text_or_json(c, "list"))
		return EXIT_USAGE;
	if (hvp_write_output(c->output, json ? write_list_json : write_list_text, &l))
		return report_failed(c);
	return EXIT_OK;
}

/*
 * A page asked for (--page-size) must be one the API's maps take: a
 * multiple of its own. The host facts then say what the probes mapped in.
 */
static int check_page_size(const struct hvp_backend *be, struct hvp_hv *hv, const struct hvp_open_opts *oo,
			   struct hvp_facts *facts)
{
	unsigned long long api = be->page_size(hv), asked = oo->page_size;
	char msg[160];

	if (!asked)
		return EXIT_OK;
	if (asked % api) {
		snprintf(msg, sizeof(msg), "--page-size=%llu is not a multiple of the %s API's own page (%llu bytes)", asked,
			 be->name, api);
		return usage_error(msg);
	}
	hvp_facts_add(facts, "probe_page_size", "%llu (--page-size; the API's own: %llu)", asked, api);
	return EXIT_OK;
}

/* The host's name, so that reports from many hosts (hvprobe matrix) say which is which. */
static void host_name_fact(struct hvp_facts *facts)
{
	char name[256];

	/* "(none)" is Linux's name for a host that was never given one. */
	if (gethostname(name, sizeof(name)) == 0 && memchr(name, '\0', sizeof(name)) && name[0] &&
	    strcmp(name, "(none)") != 0)
		hvp_facts_add(facts, "hostname", "%s", name);
}

/*
 * The guest CPU model the API offers, for the report's host block; where
 * it cannot be read, a fact says why.
 */
static void read_cpu_model(const struct hvp_backend *be, struct hvp_hv *hv, struct hvp_facts *facts,
			   struct hvp_cpu_model *model)
{
	struct hvp_status st;

	if (!model)
		return;
	if (!be->cpu_model) {
		hvp_facts_add(facts, "cpu_model_error", "the %s backend cannot read a guest CPU model", be->name);
		return;
	}
	st = be->cpu_model(hv, model);
	if (st.err != HVP_OK) {
		model->present = false;
		hvp_facts_add(facts, "cpu_model_error", "%s failed with %s", st.call, be->native_name(st.native));
	}
}

/*
 * Opens the backend once to prove it is usable, to read the host facts and
 * the guest CPU model (model, unless NULL) and to check --page-size.
 */
static int open_backend(const struct hvp_backend *be, const struct hvp_open_opts *oo, struct hvp_facts *facts,
			struct hvp_cpu_model *model)
{
	struct hvp_hv *hv;
	struct hvp_status st = be->open(oo, &hv);
	int rc;

	if (st.err != HVP_OK && strcmp(be->name, "kvm") == 0) {
		fprintf(stderr, "hvprobe: cannot use %s at %s: %s failed with %s (%s)\nhvprobe: %s\n", be->name,
			oo->kvm_device, st.call, be->native_name(st.native), strerror((int)st.native),
			be->open_advice(oo, st));
		return EXIT_NO_HYPERVISOR;
	}
	if (st.err != HVP_OK) { /* the native code is not an errno */
		fprintf(stderr, "hvprobe: cannot use %s: %s failed with %s\nhvprobe: %s\n", be->name, st.call,
			be->native_name(st.native), be->open_advice(oo, st));
		return EXIT_NO_HYPERVISOR;
	}
	hvp_facts_add(facts, "arch", "%s", be->arch);
	be->facts(hv, facts);
	read_cpu_model(be, hv, facts, model);
	host_name_fact(facts);
	rc = check_page_size(be, hv, oo, facts);
	be->close(hv);
	return rc;
}

static int load_contract(const struct hvp_cli *c, const struct hvp_backend *be, struct hvp_contract *contract)
{
	char err[256], *text = NULL;
	const char *src;
	size_t len = 0;
	int rc;

	if (c->contract_file) {
		if (hvp_read_file(c->contract_file, HVP_CONTRACT_FILE_MAX, &text, &len)) {
			fprintf(stderr, "hvprobe: cannot read contract %s: %s\n", c->contract_file, strerror(errno));
			return EXIT_USAGE;
		}
		src = text;
	} else {
		src = hvp_builtin_contract(be->name, &len);
	}
	rc = src ? hvp_contract_parse(contract, c->contract_file ? c->contract_file : be->name, src, len, err,
				      sizeof(err))
		 : (memset(contract, 0, sizeof(*contract)), 0);
	if (rc == 0 && !c->contract_file && (src = hvp_builtin_contract_overlay(be->name, be->arch, &len)))
		rc = hvp_contract_overlay(contract, be->arch, src, len, err, sizeof(err));
	free(text);
	if (rc) {
		fprintf(stderr, "hvprobe: contract %s: %s\n", c->contract_file ? c->contract_file : "(built-in)", err);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static void progress(void *arg, const struct hvp_finding *f, unsigned i, unsigned n)
{
	(void)arg;
	fprintf(stderr, "\r\033[K[%u/%u] %s: %s", i + 1, n, f->id, hvp_answer_name(f->answer));
	if (i + 1 == n)
		fputs("\r\033[K", stderr);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int write_report(const struct hvp_cli *c, struct hvp_report *r)
{
	const struct hvp_report_format *fmt = hvp_report_format(c->format);

	if (!r->tool_version) /* a report read back keeps the version that wrote it */
		r->tool_version = HVP_VERSION;
	r->verbose = c->verbose;
	r->color = c->color == HVP_COLOR_ALWAYS ||
		   (c->color == HVP_COLOR_AUTO && !c->output && isatty(STDOUT_FILENO) && !getenv("NO_COLOR"));
	struct report_job job = { fmt->write, r };
	return hvp_write_output(c->output, write_job, &job) ? report_failed(c) : 0;
}

static int cmd_run(const struct hvp_cli *c, const struct hvp_backend *be)
{
	const struct hvp_probe *sel[hvp_n_probes ? hvp_n_probes : 1];
	struct hvp_run_opts ro = { .be = be, .open = { .kvm_device = c->kvm_device, .page_size = c->page_size },
				   .timeout_s = c->timeout_s,
				   .caps = { .maps = c->cap_maps, .vms = c->cap_vms, .vcpus = c->cap_vcpus },
				   .bench = { .samples = c->samples, .duration_s = c->duration_s, .pin_cpu = c->pin_cpu } };
	struct hvp_finding *findings;
	struct hvp_contract contract;
	struct hvp_facts facts = { 0 };
	struct hvp_cpu_model *model = calloc(1, sizeof(*model));
	struct hvp_report r = { .host = &facts, .cpu_model = model };
	struct hvp_tally t;
	int n = select_probes(c, sel), rc, interrupted;
	int64_t t0 = now_ns();

	if (n < 0 || !model) {
		free(model);
		return n < 0 ? EXIT_USAGE : usage_error("out of memory");
	}
	if ((rc = load_contract(c, be, &contract)) != EXIT_OK) {
		free(model);
		return rc;
	}
	if ((rc = open_backend(be, &ro.open, &facts, model)) != EXIT_OK) {
		hvp_contract_free(&contract);
		free(model);
		return rc;
	}
	findings = calloc((size_t)n + 1, sizeof(*findings));
	if (!findings) {
		hvp_contract_free(&contract);
		free(model);
		return usage_error("out of memory");
	}
	if (isatty(STDERR_FILENO))
		ro.progress = progress;
	if (c->cmd == HVP_CMD_BENCH && isatty(STDERR_FILENO))
		fprintf(stderr, "measuring %d benchmarks, about %.0f s each at most...\n", n, c->duration_s * 1.5);
	r.n = hvp_run_probes(sel, (unsigned)n, &ro, findings, &interrupted);
	for (unsigned i = 0; i < r.n; i++)
		hvp_contract_judge(&contract, &findings[i]);
	r.findings = findings;
	r.interrupted = interrupted;
	r.elapsed_ns = now_ns() - t0;
	r.unix_time = (int64_t)time(NULL);
	rc = write_report(c, &r) ? EXIT_DEVIATES : EXIT_OK; /* the message is out; 1 says the run failed */
	hvp_tally(&r, &t);
	if (t.failing)
		rc = EXIT_DEVIATES;
	if (interrupted)
		rc = EXIT_INTERRUPTED;
	free(findings);
	free(model);
	hvp_contract_free(&contract);
	return rc;
}

/* info --cpu in text: the guest CPU model alone, or why there is none. */
static int write_model_text(FILE *out, const void *arg)
{
	const struct hvp_report *r = arg;
	const char *why = hvp_facts_get(r->host, "cpu_model_error");

	if (r->cpu_model->present)
		hvp_model_text(out, r->cpu_model);
	else
		fprintf(out, "guest CPU model: not read (%s)\n", why ? why : "unknown");
	return ferror(out) ? -1 : 0;
}

static int cmd_info(const struct hvp_cli *c, const struct hvp_backend *be)
{
	struct hvp_open_opts oo = { .kvm_device = c->kvm_device, .page_size = c->page_size };
	struct hvp_facts facts = { 0 };
	struct hvp_cpu_model *model = calloc(1, sizeof(*model));
	struct hvp_run_opts ro = { .be = be, .open = oo, .timeout_s = c->timeout_s };
	const struct hvp_probe *vendor[1] = { hvp_probe_find("exec.vendor") };
	struct hvp_finding f;
	int rc, interrupted = 0;

	if (check_text_or_json(c, "info") || !model) {
		free(model);
		return model ? EXIT_USAGE : usage_error("out of memory");
	}
	if ((rc = open_backend(be, &oo, &facts, model)) != EXIT_OK) {
		free(model);
		return rc;
	}
	/* Judge by running guests at each ring, never by CPU flags alone. */
	if (!c->cpu && vendor[0] && hvp_run_probes(vendor, 1, &ro, &f, &interrupted) == 1) {
		hvp_facts_add(&facts, "guest_runs", "%s", f.guest_verified ? "yes (timed guests ran at ring 0 and 3)" : "no");
		hvp_facts_add(&facts, "virtualization", "%s%s", f.guest_verified ? "" : "not measured: ", f.reason);
	}
	struct hvp_report r = { .host = &facts, .tool_version = HVP_VERSION, .cpu_model = model };
	int json = strcmp(c->format, "json") == 0;
	struct report_job job = { json ? hvp_report_json : hvp_report_facts, &r };
	rc = c->cpu && !json ? hvp_write_output(c->output, write_model_text, &r) : hvp_write_output(c->output, write_job, &job);
	bool model_missing = c->cpu && !model->present;
	free(model);
	if (rc)
		return report_failed(c);
	if (interrupted)
		return EXIT_INTERRUPTED;
	/* info --cpu printed why; the model asked for is not there to use. */
	return model_missing ? EXIT_DEVIATES : EXIT_OK;
}

/* Exit 0: the template is written; 2: a report cannot be read or the reports have no common model. */
static int cmd_baseline(const struct hvp_cli *c)
{
	struct hvp_read_report *r = calloc(c->n_patterns, sizeof(*r));
	char err[512], note[400];
	unsigned n = 0;
	int rc = EXIT_USAGE;
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;

	if (!r)
		return usage_error("out of memory");
	/* The template is JSON, whatever the default text format says; any other format is a mistake. */
	if (strcmp(c->format, "text") != 0 && strcmp(c->format, "json") != 0) {
		free(r);
		snprintf(err, sizeof(err), "'baseline' writes a Firecracker CPU template, which is JSON, not %s", c->format);
		return usage_error(err);
	}
	for (; n < c->n_patterns; n++)
		if (hvp_report_read_file(c->patterns[n], &r[n], err, sizeof(err))) {
			fprintf(stderr, "hvprobe: %s\n", err);
			goto out;
		}
	if (!(mem = open_memstream(&buf, &len))) {
		fprintf(stderr, "hvprobe: baseline: cannot hold the template in memory: %s\n", strerror(errno));
		goto out;
	}
	if (hvp_baseline_write(mem, r, c->patterns, n, err, sizeof(err), note, sizeof(note))) {
		fclose(mem);
		fprintf(stderr, "hvprobe: baseline: %s\n", err);
		goto out;
	}
	fclose(mem);
	if (note[0])
		fprintf(stderr, "hvprobe: baseline: note: %s\n", note);
	rc = hvp_write_output(c->output, write_text, buf) ? report_failed(c) : EXIT_OK;
out:
	for (unsigned k = 0; k < n; k++)
		hvp_report_read_free(&r[k]);
	free(r);
	free(buf);
	return rc;
}

/* Exit 0: nothing changed; 1: something did; 2: a report could not be read. */
static int cmd_diff(const struct hvp_cli *c)
{
	struct hvp_read_report old, new;
	struct hvp_diff d;
	char err[512];
	int json = strcmp(c->format, "json") == 0, rc;

	if (check_text_or_json(c, "diff"))
		return EXIT_USAGE;
	if (hvp_report_read_file(c->patterns[0], &old, err, sizeof(err))) {
		fprintf(stderr, "hvprobe: %s\n", err);
		return EXIT_USAGE;
	}
	if (hvp_report_read_file(c->patterns[1], &new, err, sizeof(err))) {
		fprintf(stderr, "hvprobe: %s\n", err);
		hvp_report_read_free(&old);
		return EXIT_USAGE;
	}
	if (hvp_diff_compute(&old, c->patterns[0], &new, c->patterns[1], &d)) {
		fprintf(stderr, "hvprobe: out of memory\n");
		rc = EXIT_USAGE;
	} else {
		struct diff_job job = { json ? hvp_diff_json : hvp_diff_text, &d };
		rc = hvp_write_output(c->output, write_diff_job, &job) ? report_failed(c)
		     : d.n || d.migration.verdict == HVP_MIGRATION_INCOMPATIBLE ? EXIT_DEVIATES : EXIT_OK;
	}
	hvp_diff_free(&d);
	hvp_report_read_free(&old);
	hvp_report_read_free(&new);
	return rc;
}

/* A saved run in any format, with no hypervisor. Exit 0: written; 1: could not be written; 2: not readable. */
static int cmd_report(const struct hvp_cli *c)
{
	struct hvp_run run;
	struct hvp_report r;
	char err[512];
	int rc;

	if (hvp_run_read_file(c->patterns[0], &run, err, sizeof(err))) {
		fprintf(stderr, "hvprobe: %s\n", err);
		return EXIT_USAGE;
	}
	hvp_run_report(&run, &r);
	rc = write_report(c, &r) ? EXIT_DEVIATES : EXIT_OK;
	hvp_run_free(&run);
	return rc;
}

struct matrix_job {
	int (*write)(FILE *out, const struct hvp_matrix *m);
	const struct hvp_matrix *m;
};

static int write_matrix_job(FILE *out, const void *arg)
{
	const struct matrix_job *job = arg;

	return job->write(out, job->m);
}

/* Reads every report, then writes the matrix. Exit 0: the same everywhere; 1: answers differ; 2: unreadable. */
static int cmd_matrix(const struct hvp_cli *c)
{
	int (*write)(FILE *, const struct hvp_matrix *) = hvp_matrix_format(c->format);
	struct hvp_run *runs = calloc(c->n_patterns, sizeof(*runs));
	struct hvp_matrix m = { 0 };
	unsigned n = 0;
	char err[512];
	int rc = EXIT_USAGE;

	if (!write) {
		free(runs);
		snprintf(err, sizeof(err), "'matrix' writes text, markdown, html or json, not %s", c->format);
		return usage_error(err);
	}
	if (!runs)
		return usage_error("out of memory");
	for (; n < c->n_patterns; n++)
		if (hvp_run_read_file(c->patterns[n], &runs[n], err, sizeof(err))) {
			fprintf(stderr, "hvprobe: %s\n", err);
			goto out;
		}
	if (hvp_matrix_compute(runs, c->patterns, n, &m)) {
		fprintf(stderr, "hvprobe: out of memory\n");
		goto out;
	}
	struct matrix_job job = { write, &m };
	rc = hvp_write_output(c->output, write_matrix_job, &job) ? report_failed(c) : m.n_differ ? EXIT_DEVIATES : EXIT_OK;
	hvp_matrix_free(&m);
out:
	while (n-- > 0)
		hvp_run_free(&runs[n]);
	free(runs);
	return rc;
}

int main(int argc, char **argv)
{
	const struct seed_alias *alias = seed_alias(argv[0]);
	const struct hvp_backend *be = hvp_host_backend();
	char err[256];
	struct hvp_cli c;

	if (hvp_cli_parse(argc, argv, &c, err, sizeof(err)))
		return usage_error(err);
	if (alias && (c.cmd == HVP_CMD_RUN || c.cmd == HVP_CMD_LIST) && c.n_patterns == 0)
		for (unsigned i = 0; i < 4 && alias->patterns[i]; i++)
			c.patterns[c.n_patterns++] = alias->patterns[i];
	switch (c.cmd) {
	case HVP_CMD_HELP:
		hvp_cli_usage(stdout);
		return EXIT_OK;
	case HVP_CMD_VERSION:
		printf("hvprobe %s\n", HVP_VERSION);
		return EXIT_OK;
	case HVP_CMD_LIST:
		return cmd_list(&c);
	case HVP_CMD_DIFF:
		return cmd_diff(&c);
	case HVP_CMD_BASELINE:
		return cmd_baseline(&c);
	case HVP_CMD_REPORT:
		return cmd_report(&c);
	case HVP_CMD_MATRIX:
		return cmd_matrix(&c);
	case HVP_CMD_INFO:
	case HVP_CMD_RUN:
	case HVP_CMD_BENCH:
		if (!be) {
			fprintf(stderr, "hvprobe: this build has no backend for this operating system and architecture\n");
			return EXIT_NO_HYPERVISOR;
		}
		return c.cmd == HVP_CMD_INFO ? cmd_info(&c, be) : cmd_run(&c, be);
	}
	return EXIT_USAGE;
}
