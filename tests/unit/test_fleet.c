/* SPDX-License-Identifier: MIT */
/*
 * Saved runs read back whole (`hvprobe report`): every format written from
 * a run read back is the one written from the run itself, JSON byte for
 * byte; bad and newer reports are refused with the place named. The matrix
 * of many runs (`hvprobe matrix`) in every form, and the Node Feature
 * Discovery file (`--format nfd`), which labels only what was proven.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu_model.h"
#include "matrix.h"
#include "report.h"
#include "report_read.h"
#include "stats.h"
#include "tap.h"

struct run_in {
	struct hvp_facts facts;
	struct hvp_finding f[6];
	unsigned n;
	struct hvp_report r;
};

static void question(struct hvp_finding *f, const char *id, enum hvp_answer a, enum hvp_verdict v, bool guest)
{
	hvp_finding_init(f, id, "Does it \"work\"?\tA question with a tab.");
	hvp_finding_answer(f, a, "because of %s", id);
	f->verdict = v;
	f->guest_verified = guest;
	f->elapsed_ns = 123456789;
	if (v != HVP_VERDICT_UNDOCUMENTED && v != HVP_VERDICT_NOT_CHECKED) {
		hvp_copy_str(f->expected, sizeof(f->expected), "yes");
		hvp_copy_str(f->citation, sizeof(f->citation), "api.rst 4.1 <KVM_CREATE_VM> & friends");
	}
}

/* A run with every kind of field a finding has: evidence, 64-bit guest values, a benchmark with its TSC. */
static void make_run(struct run_in *in, const char *arch, enum hvp_answer two_maps)
{
	struct hvp_finding *f = in->f;

	memset(in, 0, sizeof(*in));
	hvp_facts_add(&in->facts, "arch", "%s", arch);
	hvp_facts_add(&in->facts, "backend", "kvm");
	hvp_facts_add(&in->facts, "kernel", "Linux 6.1 %s", arch);
	hvp_facts_add(&in->facts, "hostname", "node-%s", arch);
	hvp_facts_add(&in->facts, "host_hypervisor", "yes (CPUID signature \"KVMKVMKVM\")");
	question(&f[0], "exec.vendor", HVP_ANSWER_YES, HVP_VERDICT_UNDOCUMENTED, true);
	question(&f[1], "mem.two_maps", two_maps, HVP_VERDICT_AS_DOCUMENTED, two_maps == HVP_ANSWER_YES);
	hvp_finding_add_evidence(&f[1], "KVM_SET_USER_MEMORY_REGION", 0, "OK", "slot=0 gpa=0x0");
	f[1].decisive = hvp_finding_add_evidence(&f[1], "KVM_RUN", -17, "EEXIST", "second \"run\"\n");
	f[1].evidence_omitted = 3;
	hvp_finding_add_guest(&f[1], "read at 0x1000", 0xfedcba9876543210ull);
	hvp_finding_add_guest(&f[1], "zero", 0);
	question(&f[2], "mem.readonly", HVP_ANSWER_NO, HVP_VERDICT_DEVIATES, false);
	question(&f[3], "arm64.nisv", HVP_ANSWER_SKIPPED, HVP_VERDICT_NOT_CHECKED, false);
	hvp_finding_init(&f[4], "bench.exit.pio_out", "Cost of an exit?");
	hvp_finding_answer(&f[4], HVP_ANSWER_YES, "measured");
	f[4].verdict = HVP_VERDICT_NOT_CHECKED;
	f[4].bench = (struct hvp_bench){ .present = true, .per = "exit round trip", .ring = "guest ring 0",
					 .pinned = "cpu 1", .tsc_khz = 2994000, .ops_per_sample = 1000, .n = 30,
					 .harness_ratio = 1.0123 };
	for (unsigned i = 0; i < 30; i++)
		f[4].bench.sample[i] = 1000.125 + 3.5 * (double)(i % 7);
	hvp_bench_summarize(&f[4].bench);
	in->n = 5;
	in->r = (struct hvp_report){ .tool_version = "0.1.0", .host = &in->facts, .findings = f, .n = in->n,
				     .elapsed_ns = 987654321, .unix_time = 1700000000 };
}

static char *render(int (*write)(FILE *, const struct hvp_report *), const struct hvp_report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	if (write(out, r))
		fputs("(the writer failed)", out);
	fclose(out);
	return buf;
}

/* Where two outputs part, as TAP comments. */
static void print_difference(const char *a, const char *b)
{
	size_t i = 0;

	while (a[i] && a[i] == b[i])
		i++;
	i = i > 40 ? i - 40 : 0;
	printf("# from the run:   %.80s\n# from the saved: %.80s\n", a + i, b + i);
}

/* An output a check failed on, as TAP comments. */
static void show(const char *s)
{
	for (const char *p = s; *p;) {
		size_t n = strcspn(p, "\n");
		printf("# %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

static int load(const char *json, struct hvp_run *run, char *err, size_t size)
{
	return hvp_run_read("run.json", json, strlen(json), run, err, size);
}

static void test_round_trip(struct tap *t)
{
	static const char *const formats[] = { "json", "text", "tap", "markdown", "junit", "prometheus", "html", "nfd" };
	struct run_in in;
	struct hvp_run run;
	struct hvp_report back;
	char err[512], *json;

	make_run(&in, "x86_64", HVP_ANSWER_YES);
	in.r.interrupted = 2;
	json = render(hvp_report_json, &in.r);
	if (!ok(t, load(json, &run, err, sizeof(err)) == 0, "a report hvprobe wrote reads back whole: %s", err)) {
		free(json);
		return;
	}
	hvp_run_report(&run, &back);
	ok(t, run.n == 5 && back.unix_time == 1700000000 && back.elapsed_ns == 987654321 && back.interrupted &&
		      strcmp(back.tool_version, "0.1.0") == 0 && run.host.n == 5,
	   "with the run's time, duration, interruption, version and host facts");
	ok(t, run.findings[1].guest[0].value == 0xfedcba9876543210ull && run.findings[1].decisive == 1 &&
		      run.findings[1].evidence[1].result == -17 && run.findings[1].evidence_omitted == 3,
	   "64-bit guest values, evidence and its decisive call are exact");
	for (unsigned i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		const struct hvp_report_format *fmt = hvp_report_format(formats[i]);
		char *a = render(fmt->write, &in.r), *b = render(fmt->write, &back);
		if (!ok(t, a[0] && strcmp(a, b) == 0, "-f %s from the saved run is what the run itself wrote (%zu bytes)",
			formats[i], strlen(a)))
			print_difference(a, b);
		free(a);
		free(b);
	}
	hvp_run_free(&run);
	free(json);

	/* A report that does not say when it ran: Prometheus gets no time rather than 1970. */
	in.r.unix_time = 0;
	json = render(hvp_report_prometheus, &in.r);
	ok(t, strstr(json, "hvprobe_probe_answer{") && !strstr(json, "hvprobe_last_run_timestamp_seconds"),
	   "-f prometheus of a run without its time leaves the timestamp out");
	free(json);
}

/* The message for json with from replaced by to, or "" when it was accepted. */
static const char *refusal(const char *json, const char *from, const char *to)
{
	static char err[512];
	const char *at = strstr(json, from);
	struct hvp_run run;
	char *bad;

	if (!at)
		return "(the text to change is not in the report)";
	if (asprintf(&bad, "%.*s%s%s", (int)(at - json), json, to, at + strlen(from)) < 0)
		return "(out of memory)";
	err[0] = '\0';
	if (load(bad, &run, err, sizeof(err)) == 0) {
		hvp_run_free(&run);
		err[0] = '\0';
	}
	free(bad);
	return err;
}

static void test_refusals(struct tap *t)
{
	static const struct {
		const char *from, *to, *says, *what;
	} bad[] = {
		{ "\"schema_version\":1", "\"schema_version\":7", ".schema_version: 7: a newer hvprobe wrote this",
		  "a newer schema" },
		{ "\"arch\":\"x86_64\"", "\"arch\":[1]", ".host.arch: expected string, got array", "a host fact not a string" },
		{ "\"question\":", "\"q\":", ".findings[0].question: missing", "a finding without its question" },
		{ "\"value\":\"0xfedcba9876543210\"", "\"value\":\"12\"", ".findings[1].guest[0].value: \"12\" is not a 64-bit hex",
		  "a guest value not in hex" },
		{ "\"value\":\"0xfedcba9876543210\"", "\"value\":\"0x1fedcba9876543210\"", "is not a 64-bit hex",
		  "a guest value wider than 64 bits" },
		{ "\"decisive\":1", "\"decisive\":2", ".findings[1].decisive: 2 is out of range (-1 to 1)",
		  "a decisive call past the evidence" },
		{ "\"samples\":30", "\"samples\":31", ".findings[4].bench.samples: says 31 samples, samples_ns has 30",
		  "a sample count that is not the samples'" },
		{ "\"guest_verified\":true", "\"guest_verified\":1", ".findings[0].guest_verified: expected boolean",
		  "a flag of the wrong type" },
		{ "\"summary\":", "\"summery\":", ".summary: missing", "a report without its summary" },
		{ "\"expected\":null", "\"expected\":7", ".findings[0].expected: expected string, got int",
		  "an expected answer that is neither a string nor null" },
	};
	struct run_in in;
	char *json;

	make_run(&in, "x86_64", HVP_ANSWER_YES);
	json = render(hvp_report_json, &in.r);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *err = refusal(json, bad[i].from, bad[i].to);
		ok(t, strncmp(err, "run.json: ", 10) == 0 && strstr(err, bad[i].says) != NULL, "%s is refused: %s",
		   bad[i].what, err);
	}
	free(json);
}

static void test_files(struct tap *t)
{
	char dir[] = "/tmp/fleet-unit-XXXXXX", path[96], err[512];
	struct hvp_run run;
	FILE *f;

	if (!mkdtemp(dir))
		return;
	snprintf(path, sizeof(path), "%s/missing.json", dir);
	ok(t, hvp_run_read_file(path, &run, err, sizeof(err)) == -1 && strstr(err, "missing.json: cannot read: No such file"),
	   "a missing file is named with its cause: %s", err);
	ok(t, hvp_run_read_file(dir, &run, err, sizeof(err)) == -1 && strstr(err, "is a directory"),
	   "a directory is refused: %s", err);
	snprintf(path, sizeof(path), "%s/text.json", dir);
	if ((f = fopen(path, "w"))) {
		fputs("PASS 66 probes\n", f);
		fclose(f);
	}
	ok(t, hvp_run_read_file(path, &run, err, sizeof(err)) == -1 && strstr(err, "text.json: byte 0 (line 1, column 1)"),
	   "a file that is not JSON is refused with the place: %s", err);
	unlink(path);
	rmdir(dir);
}

static char *matrix_text(const struct hvp_matrix *m, int (*write)(FILE *, const struct hvp_matrix *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	write(out, m);
	fclose(out);
	return buf;
}

/* Two runs of hosts that differ in mem.two_maps, and a third that lacks a probe. */
static int three_runs(struct hvp_run runs[3])
{
	struct run_in in;
	char err[512];
	int rc = 0;

	for (unsigned i = 0; i < 3; i++) {
		make_run(&in, i == 1 ? "arm64" : "x86_64", i == 1 ? HVP_ANSWER_NO : HVP_ANSWER_YES);
		in.facts.n = i == 2 ? 3 : in.facts.n; /* no hostname: the column is the file's name */
		if (i == 1)
			hvp_copy_str(in.facts.fact[3].value, sizeof(in.facts.fact[3].value), "node-arm64\n");
		in.r.n = i == 2 ? 4 : 5;
		char *json = render(hvp_report_json, &in.r);
		if (load(json, &runs[i], err, sizeof(err)))
			rc = -1, printf("# %s\n", err);
		free(json);
	}
	return rc;
}

static void test_matrix(struct tap *t)
{
	const char *const files[] = { "a.json", "b.json", "runs/third.json" };
	struct hvp_run runs[3];
	struct hvp_matrix m;
	char *s;

	if (!ok(t, three_runs(runs) == 0 && hvp_matrix_compute(runs, files, 3, &m) == 0, "a matrix of three runs"))
		return;
	ok(t, m.n_hosts == 3 && m.n_rows == 5 && strcmp(m.hosts[0].name, "node-x86_64") == 0 &&
		      strcmp(m.hosts[2].name, "third") == 0,
	   "three hosts, named by their hostname or their file (%s, %s)", m.hosts[0].name, m.hosts[2].name);
	ok(t, strcmp(m.rows[0].id, "exec.vendor") == 0 && strcmp(m.rows[4].id, "bench.exit.pio_out") == 0 &&
		      strcmp(m.rows[3].id, "arm64.nisv") == 0,
	   "rows by topic: how the host runs guests first, costs last");
	ok(t, !m.rows[0].differs && m.rows[1].differs && !m.rows[2].differs && m.rows[4].differs && m.n_differ == 2,
	   "the rows that differ are marked: an answer, a benchmark missing from one run (%u)", m.n_differ);

	s = matrix_text(&m, hvp_matrix_text);
	if (!ok(t, strstr(s, "3 hosts, 5 probes, 2 differ") && strstr(s, "  B  node-arm64?: kvm arm64, Linux 6.1 arm64") &&
		      strstr(s, "* mem.two_maps") && strstr(s, "* mem.two_maps                          yes      no       yes\n") && strstr(s, "no!") &&
		      strstr(s, "1.01 us  1.01 us  -") && !strstr(s, " \n"),
	   "text: hosts by letter, marks, answers, '!' deviates, medians, '-' absent, no trailing blanks"))
		show(s);
	free(s);
	s = matrix_text(&m, hvp_matrix_markdown);
	ok(t, strstr(s, "| probe | node-x86\\_64 | node-arm64? | third | differs |") &&
		      strstr(s, "| `mem.two_maps` | **yes** | **no** | **yes** | ≠ |") && strstr(s, "## Memory") &&
		      strstr(s, "| `exec.vendor` | yes | yes | yes | |"),
	   "markdown: a table per topic, host names escaped, differing rows bold and marked");
	free(s);
	s = matrix_text(&m, hvp_matrix_html);
	ok(t, strstr(s, "<tr class=\"differs\"><td title=\"Does it &quot;work&quot;?") &&
		      strstr(s, "<td class=\"deviates\" title=\"because of mem.readonly\">no!</td>") &&
		      strstr(s, "<td class=\"absent\">-</td>") && strstr(s, "</table>") && strstr(s, "</html>"),
	   "html: rows with their class, reasons as tooltips, escaped, the page closed");
	free(s);
	s = matrix_text(&m, hvp_matrix_json);
	ok(t, strstr(s, "{\"matrix_version\":1,\"hosts\":[\n{\"file\":\"a.json\",\"name\":\"node-x86_64\",\"backend\":\"kvm\","
			"\"arch\":\"x86_64\",\"kernel\":\"Linux 6.1 x86_64\",\"tool_version\":\"0.1.0\",\"interrupted\":false}") &&
		      strstr(s, "\"summary\":{\"probes\":5,\"differ\":2}") &&
		      strstr(s, "\"id\":\"mem.two_maps\"") && strstr(s, "\"differs\":true,\"cells\":[{\"answer\":\"yes\"") &&
		      strstr(s, "\"median_ns\":1010.625},null]"),
	   "json: hosts, summary, cells with answers, verdicts, medians and null for absent");
	free(s);
	hvp_matrix_free(&m);
	ok(t, hvp_matrix_format("markdown") == hvp_matrix_markdown && hvp_matrix_format("tap") == NULL,
	   "matrix formats: text, markdown, html, json only");
	for (unsigned i = 0; i < 3; i++)
		hvp_run_free(&runs[i]);
}

static bool has_line(const char *s, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = s; (p = strstr(p, line)); p += n)
		if ((p == s || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

static void test_nfd(struct tap *t)
{
	struct run_in in;
	char *s;

	/* A model offering sse4_2 (leaf 1 ecx bit 20) and avx2 (leaf 7 ebx bit 5), not avx512f (bit 16). */
	struct hvp_cpu_model model = { .present = true, .arch = "x86_64", .n_cpuid = 2,
				       .cpuid = { { .leaf = 1, .reg = { [HVP_ECX] = 1u << 20 } },
						  { .leaf = 7, .flags = 1, .reg = { [HVP_EBX] = 1u << 5 } } } };

	make_run(&in, "x86_64", HVP_ANSWER_YES);
	hvp_copy_str(in.f[1].id, sizeof(in.f[1].id), "cpu.model");
	in.r.cpu_model = &model;
	s = render(hvp_report_nfd, &in.r);
	ok(t, strncmp(s, "# Node Feature Discovery labels from hvprobe 0.1.0 (kvm x86_64)", 60) == 0 &&
		      has_line(s, "# +expiry-time=2023-11-15T22:13:20Z"),
	   "a comment naming the run, and the expiry directive a day after it ended");
	ok(t, has_line(s, "hvprobe.feature.node.kubernetes.io/kvm=true") &&
		      has_line(s, "hvprobe.feature.node.kubernetes.io/nested=true") &&
		      has_line(s, "hvprobe.feature.node.kubernetes.io/hardware-virtualization=true"),
	   "the backend where guests ran, nested (this host a guest), a capability answered yes");
	ok(t, has_line(s, "hvprobe.feature.node.kubernetes.io/cpu-avx2=true") &&
		      has_line(s, "hvprobe.feature.node.kubernetes.io/cpu-sse4_2=true") && !strstr(s, "cpu-avx512f"),
	   "the features of the CPU model cpu.model proved, and none the model lacks");
	ok(t, !strstr(s, "readonly-memory") && !strstr(s, "arm64-nisv") && !strstr(s, "=false"),
	   "nothing for a probe that answered no or was skipped, and never a false label");
	free(s);

	in.r.tool_version = "9\nhvprobe.feature.node.kubernetes.io/forged=true";
	s = render(hvp_report_nfd, &in.r);
	ok(t, !has_line(s, "hvprobe.feature.node.kubernetes.io/forged=true") && strstr(s, "hvprobe 9?hvprobe.feature"),
	   "a line break in a report's text cannot forge a label");
	free(s);
	in.r.tool_version = "0.1.0";

	in.f[1].answer = HVP_ANSWER_CRASHED;
	in.f[0].guest_verified = in.f[1].guest_verified = false;
	in.r.unix_time = 0;
	s = render(hvp_report_nfd, &in.r);
	if (!ok(t, !strstr(s, "cpu-") && !strstr(s, "/kvm=") && !strstr(s, "nested") && !strstr(s, "+expiry-time") &&
		      has_line(s, "hvprobe.feature.node.kubernetes.io/hardware-virtualization=true"),
	   "no CPU labels when cpu.model did not answer yes, no backend or nested label when no guest reported, "
	   "no expiry when the report does not say when it ran"))
		show(s);
	free(s);
}

int main(void)
{
	struct tap t;

	TAP_PLAN_LATER(&t);
	if (!hvp_report_read_available()) {
		printf("1..0 # SKIP this build has no json-c, so it cannot read reports back\n");
		return 0;
	}
	test_round_trip(&t);
	test_refusals(&t);
	test_files(&t);
	test_matrix(&t);
	test_nfd(&t);
	return tap_done(&t);
}
