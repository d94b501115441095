/* SPDX-License-Identifier: MIT */
/*
 * The report formats: the JSON parses and follows the schema's required
 * shape, TAP is version 13 with one test per probe, SKIP and YAML where
 * they belong, and prove accepts it; the text report has its summary.
 */
#define _GNU_SOURCE
#include <json-c/json.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <string.h>
#include <unistd.h>

#include "contract.h"
#include "report.h"
#include "stats.h"
#include "tap.h"

static char *render(int (*fn)(FILE *, const struct hvp_report *), const struct hvp_report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fn(f, r);
	fclose(f);
	return buf;
}

/* Writes text to a temporary file and runs a python3 check on it; returns the check's status, -1 if none ran. */
static int python_check(const char *text, const char *program)
{
	char path[] = "/tmp/hvprobe-check-XXXXXX", cmd[1024];
	int fd = mkstemp(path), rc;
	FILE *f;

	if (fd < 0 || !(f = fdopen(fd, "w")))
		return -1;
	fputs(text, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 -c '%s' %s 2>/dev/null", program, path);
	rc = system(cmd);
	unlink(path);
	return rc;
}

static void make_findings(struct hvp_finding *f, struct hvp_contract *c)
{
	const char *contract = "[p.yes]\nexpected = yes\ncitation = api.rst \"quoted\"\n"
			       "[p.no]\nexpected = yes\ncitation = api.rst 2\n"
			       "[p.crash]\nexpected = yes\ncitation = api.rst 3\n";
	char err[128];

	hvp_contract_parse(c, "t", contract, strlen(contract), err, sizeof(err));
	hvp_finding_init(&f[0], "p.yes", "Does it \"work\"?\tTab");
	hvp_finding_answer(&f[0], HVP_ANSWER_YES, "it did\nreally");
	hvp_finding_add_evidence(&f[0], "KVM_CREATE_VM", 0, "OK", "VM A");
	hvp_finding_add_guest(&f[0], "big", 0xffffffffffffffffull);
	f[0].guest_verified = true;
	f[0].decisive = 0;
	hvp_finding_init(&f[1], "p.no", "Second # map?");
	hvp_finding_answer(&f[1], HVP_ANSWER_NO, "refused with EEXIST");
	hvp_finding_add_evidence(&f[1], "KVM_SET_USER_MEMORY_REGION", 17, "EEXIST", "gpa=0x1000");
	hvp_finding_init(&f[2], "p.skip", "Skipped?");
	hvp_finding_answer(&f[2], HVP_ANSWER_SKIPPED, "no device # here");
	hvp_finding_init(&f[3], "p.crash", "Crash?");
	hvp_finding_answer(&f[3], HVP_ANSWER_CRASHED, "died by SIGSEGV");
	for (int i = 0; i < 4; i++)
		hvp_contract_judge(c, &f[i]);
}

static int has(json_object *o, const char *key, json_type type)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, type);
}

static int check_finding_shape(json_object *f)
{
	static const char *const strings[] = { "id", "question", "answer", "reason", "verdict", "citation" };
	json_object *v;

	for (unsigned i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		if (!has(f, strings[i], json_type_string))
			return 0;
	if (!json_object_object_get_ex(f, "expected", &v) ||
	    !(json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_null)))
		return 0;
	return has(f, "evidence", json_type_array) && has(f, "guest", json_type_array) &&
	       has(f, "guest_verified", json_type_boolean) && has(f, "elapsed_ns", json_type_int);
}

static void test_json(struct tap *t, const struct hvp_report *r)
{
	char *text = render(hvp_report_json, r);
	json_object *root = json_tokener_parse(text), *v, *fs, *f0, *ev, *g;
	int shape = 1;

	if (!ok(t, root != NULL, "the JSON report parses")) {
		free(text);
		return;
	}
	ok(t, json_object_object_get_ex(root, "schema_version", &v) && json_object_get_int(v) == 1,
	   "schema_version is 1");
	ok(t, json_object_object_get_ex(root, "tool", &v) && has(v, "name", json_type_string) &&
		      has(v, "version", json_type_string),
	   "tool has name and version");
	ok(t, json_object_object_get_ex(root, "host", &v) && json_object_object_get_ex(v, "weird \"key\"", &g) &&
		      strcmp(json_object_get_string(g), "back\\slash\nnewline") == 0,
	   "host facts survive quoting");
	ok(t, json_object_object_get_ex(root, "findings", &fs) && json_object_array_length(fs) == 4,
	   "four findings");
	for (size_t i = 0; i < json_object_array_length(fs); i++)
		shape &= check_finding_shape(json_object_array_get_idx(fs, i));
	ok(t, shape, "every finding has the schema's required fields with their types");
	f0 = json_object_array_get_idx(fs, 0);
	ok(t, json_object_object_get_ex(f0, "question", &v) && strcmp(json_object_get_string(v), "Does it \"work\"?\tTab") == 0,
	   "strings with quotes and tabs round-trip");
	ok(t, json_object_object_get_ex(f0, "guest", &g) && json_object_object_get_ex(json_object_array_get_idx(g, 0), "value", &v) &&
		      strcmp(json_object_get_string(v), "0xffffffffffffffff") == 0,
	   "64-bit guest values are exact hex strings");
	ev = json_object_array_get_idx(json_object_object_get(json_object_array_get_idx(fs, 1), "evidence"), 0);
	ok(t, ev && json_object_get_int(json_object_object_get(ev, "result")) == 17 &&
		      strcmp(json_object_get_string(json_object_object_get(ev, "errno")), "EEXIST") == 0,
	   "evidence keeps the native code and its name");
	ok(t, strcmp(json_object_get_string(json_object_object_get(json_object_array_get_idx(fs, 1), "verdict")),
		     "deviates") == 0,
	   "the verdict is written");
	ok(t, json_object_is_type(json_object_object_get(json_object_array_get_idx(fs, 2), "expected"), json_type_null),
	   "expected is null without a contract entry");
	json_object_put(root);
	free(text);
}

static void test_tap(struct tap *t, const struct hvp_report *r)
{
	char *text = render(hvp_report_tap, r);
	char path[] = "/tmp/hvprobe-tap-XXXXXX", cmd[128];
	int fd;

	ok(t, strncmp(text, "TAP version 13\n1..4\n", 20) == 0, "TAP version 13 with a plan of 4");
	ok(t, strstr(text, "\nok 1 - p.yes: yes (as documented)\n") != NULL, "a documented answer is ok");
	ok(t, strstr(text, "\nnot ok 2 - p.no: no (deviates)\n  ---\n") != NULL, "a deviation is not ok with YAML");
	ok(t, strstr(text, "errno: \"EEXIST\"") != NULL, "the YAML carries the evidence");
	ok(t, strstr(text, "\nok 3 - p.skip: skipped (not checked) # SKIP no device _ here\n") != NULL,
	   "a skip uses the SKIP directive and keeps '#' out of its reason");
	ok(t, strstr(text, "\nnot ok 4 - p.crash: crashed (deviates)\n") != NULL, "a crash is not ok");

	fd = mkstemp(path);
	if (fd >= 0) {
		FILE *f = fdopen(fd, "w");
		fputs(text, f);
		fclose(f);
		snprintf(cmd, sizeof(cmd), "prove -e cat %s 2>&1 | grep -q 'Failed 2/4 subtests'", path);
		ok(t, system(cmd) == 0, "prove reads it and counts exactly the two failures");
		unlink(path);
	}
	free(text);
}

static void test_text(struct tap *t, struct hvp_report *r)
{
	char *plain = render(hvp_report_text, r), *colored;

	ok(t, strstr(plain, "4 probes in") && strstr(plain, "1 as documented, 2 deviate, 0 undocumented, 1 not checked"),
	   "the summary line counts verdicts");
	ok(t, strstr(plain, "KVM_SET_USER_MEMORY_REGION: EEXIST") != NULL, "the decisive native evidence is shown");
	ok(t, strchr(plain, '\033') == NULL, "no colour unless asked");
	ok(t, strstr(plain, "died by SIGSEGV") != NULL, "a failing finding shows its reason");
	r->color = true;
	colored = render(hvp_report_text, r);
	ok(t, strstr(colored, "\033[31m") != NULL, "colour when asked, red for failures");
	r->color = false;
	free(plain);
	free(colored);
}

static void test_markdown(struct tap *t, const struct hvp_report *r)
{
	char *md = render(hvp_report_markdown, r);
	const char *dev = strstr(md, "## Deviations"), *crash = strstr(md, "### `p.crash`");
	const char *no = strstr(md, "### `p.no`"), *other = strstr(md, "## Other questions");

	ok(t, strncmp(md, "# What kvm allows on this host", 30) == 0, "the document names the API");
	ok(t, strstr(md, "| backend | kvm |") != NULL, "the host section is a table of facts");
	ok(t, dev && no && crash && no > dev && crash > dev && other && other > no,
	   "deviations come first, before the topic sections");
	ok(t, strstr(md, "**Does it \"work\"?\tTab**") || strstr(md, "**Does it \"work\"?"), "questions are bold");
	ok(t, strstr(md, "| 1 (decisive) | `KVM_SET_USER_MEMORY_REGION` | EEXIST | gpa=0x1000 |") != NULL,
	   "evidence is a table with the decisive call marked");
	ok(t, strstr(md, "Contract: expected **yes**, api.rst 2.") != NULL, "the contract and its citation are given");
	ok(t, strstr(md, "- big: `0xffffffffffffffff`") != NULL, "guest values are listed exactly");
	free(md);
}

static void test_junit(struct tap *t, const struct hvp_report *r)
{
	char *xml = render(hvp_report_junit, r);

	ok(t, strstr(xml, "tests=\"4\" failures=\"1\" errors=\"1\" skipped=\"1\"") != NULL,
	   "counts: one deviation as failure, one crash as error, one skip");
	ok(t, strstr(xml, "<testcase classname=\"p\" name=\"p.no\"") && strstr(xml, "<failure type=\"deviates\""),
	   "a deviation is a failure");
	ok(t, strstr(xml, "<error type=\"crashed\" message=\"died by SIGSEGV\"/>") != NULL, "a crash is an error");
	ok(t, strstr(xml, "Does it &quot;work&quot;?") != NULL, "text is escaped");
	ok(t, strstr(xml, "<property name=\"weird &quot;key&quot;\"") != NULL, "the host facts are properties");
	if (access("/usr/bin/python3", X_OK) == 0)
		ok(t, python_check(xml, "import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); "
					"sys.exit(0 if r.tag == \"testsuites\" and "
					"len(r.findall(\"./testsuite/testcase\")) == 4 else 1)") == 0,
		   "python3's XML parser reads it: a testsuite of 4 testcases");
	free(xml);
}

/* A browser really renders the page, and its filter works (tests/e2e/html-in-chromium). */
static void html_in_chromium(struct tap *t, const char *html)
{
	char dir[] = "/tmp/hvprobe-html-XXXXXX", path[64], png[64], cmd[256];
	FILE *f;
	int rc;

	if (!mkdtemp(dir))
		return;
	snprintf(path, sizeof(path), "%s/report.html", dir);
	snprintf(png, sizeof(png), "%s/report.png", dir);
	if ((f = fopen(path, "w"))) {
		fputs(html, f);
		fclose(f);
		snprintf(cmd, sizeof(cmd), "tests/e2e/html-in-chromium %s %s p.no 1 >&2", path, png);
		rc = system(cmd);
		if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77)
			ok(t, 1, "# SKIP headless Chromium is not installed (apt-get install chromium)");
		else
			ok(t, rc == 0, "headless Chromium renders it (a PNG screenshot) and its filter leaves the one match shown");
	}
	unlink(path);
	unlink(png);
	rmdir(dir);
}

/* The HTML page: self-contained, well-formed, every finding a row, a plot for the benchmark. */
static void test_html(struct tap *t, const struct hvp_report *r)
{
	char *html = render(hvp_report_html, r);

	ok(t, strncmp(html, "<!DOCTYPE html>", 15) == 0, "an HTML5 document");
	ok(t, !strstr(html, " src=") && !strstr(html, "<link") && !strstr(html, "href="),
	   "self-contained: no external script, style or link");
	ok(t, python_check(html, "import sys, xml.etree.ElementTree as E\n"
				 "r = E.parse(sys.argv[1]).getroot()\n"
				 "ns = {\"h\": \"http://www.w3.org/1999/xhtml\", \"s\": \"http://www.w3.org/2000/svg\"}\n"
				 "rows = [tr for tr in r.iter(\"{http://www.w3.org/1999/xhtml}tr\") if \"finding\" in tr.get(\"class\", \"\")]\n"
				 "dots = list(r.iter(\"{http://www.w3.org/2000/svg}circle\"))\n"
				 "sys.exit(0 if len(rows) == 4 and len(dots) == 3 else 1)") == 0,
	   "well-formed XML to python3's parser: 4 finding rows, 3 sample dots in the benchmark's plot");
	ok(t, strstr(html, "class=\"finding deviates no\"") && strstr(html, "Does it &quot;work&quot;?"),
	   "rows carry their verdict and answer as classes for the filter; text is escaped");
	html_in_chromium(t, html);
	free(html);
}

static void test_prometheus(struct tap *t, struct hvp_report *r, struct hvp_finding *f0)
{
	char *text;

	r->unix_time = 1764100000;
	f0->bench.present = true;
	f0->bench.n = 3;
	f0->bench.sample[0] = 1000;
	f0->bench.sample[1] = 2000;
	f0->bench.sample[2] = 3000;
	strcpy(f0->bench.ring, "guest ring 0");
	hvp_bench_summarize(&f0->bench);
	text = render(hvp_report_prometheus, r);
	ok(t, strstr(text, "# TYPE hvprobe_probe_answer gauge\n") && strstr(text, "hvprobe_probe_answer{probe=\"p.no\",answer=\"no\"} 1\n"),
	   "a gauge per probe answer");
	ok(t, strstr(text, "hvprobe_probe_failing{probe=\"p.no\"} 1\n") != NULL, "a deviation is failing");
	ok(t, strstr(text, "hvprobe_last_run_timestamp_seconds 1764100000\n") != NULL, "the run's time");
	ok(t, strstr(text, "hvprobe_bench_seconds{benchmark=\"p.yes\",ring=\"guest ring 0\",quantile=\"0.5\"} 2e-06\n") &&
		      strstr(text, "hvprobe_bench_seconds_count{benchmark=\"p.yes\",ring=\"guest ring 0\"} 3\n") &&
		      strstr(text, "hvprobe_bench_seconds_sum{benchmark=\"p.yes\",ring=\"guest ring 0\"} 6e-06\n"),
	   "benchmarks are summaries in seconds");
	if (system("/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null") == 0)
		ok(t, python_check(text, "import sys\nfrom prometheus_client.parser import text_string_to_metric_families as p\n"
					 "fams = list(p(open(sys.argv[1]).read()))\nsys.exit(0 if len(fams) >= 6 else 1)") == 0,
		   "python3-prometheus-client's parser reads it");
	test_html(t, r);
	f0->bench.present = false;
	free(text);
}

/*
 * How this host runs guests leads the text and Markdown reports, and a
 * benchmark says whether its ring runs natively, from the exec findings.
 */
static void test_execution_first(struct tap *t)
{
	struct hvp_finding f[3];
	struct hvp_facts facts = { 0 };
	struct hvp_report r = { .tool_version = "test", .host = &facts, .findings = f, .n = 3 };
	char *text, *md;

	hvp_facts_add(&facts, "backend", "kvm");
	hvp_finding_init(&f[0], "vm.first", "A VM?");
	hvp_finding_answer(&f[0], HVP_ANSWER_CRASHED, "died by SIGABRT");
	hvp_finding_init(&f[1], "exec.native_cpl0", "Ring 0 native?");
	hvp_finding_answer(&f[1], HVP_ANSWER_NO, "guest ring 0: 2400 ns per instruction; emulated instruction by instruction");
	hvp_finding_init(&f[2], "bench.exit.cpuid", "CPUID cost?");
	hvp_finding_answer(&f[2], HVP_ANSWER_YES, "measured");
	f[2].bench = (struct hvp_bench){ .present = true, .unit = "ns", .per = "exit", .ring = "guest ring 0",
					 .ops_per_sample = 1, .n = 1, .median = 5000, .p99 = 5000 };
	text = render(hvp_report_text, &r);
	ok(t, strstr(text, "How this host runs guests:\n  exec.native_cpl0") != NULL &&
		      strstr(text, "How this host runs guests") < strstr(text, "BENCHMARK") &&
		      strstr(text, "How this host runs guests") < strstr(text, "PROBE "),
	   "text: how this host runs guests comes before benchmarks and probes");
	ok(t, strstr(text, "guest ring 0, emulated") != NULL, "text: the benchmark's ring is marked emulated");
	md = render(hvp_report_markdown, &r);
	ok(t, strstr(md, "## How this host runs guests") && strstr(md, "## Deviations") &&
		      strstr(md, "## How this host runs guests") < strstr(md, "## Deviations") &&
		      strstr(md, "`exec.native_cpl0`") < strstr(md, "## Deviations"),
	   "markdown: how this host runs guests comes first, ahead of the deviations, with its own");
	ok(t, strstr(md, "| guest ring 0, emulated |") != NULL, "markdown: the cost table marks the ring emulated");
	free(text);
	free(md);
}

int main(void)
{
	struct hvp_finding f[4];
	struct hvp_contract c;
	struct hvp_facts facts = { 0 };
	struct hvp_report r = { .tool_version = "test", .host = &facts, .findings = f, .n = 4 };
	struct tap t;

	TAP_PLAN_LATER(&t);
	hvp_facts_add(&facts, "backend", "kvm");
	hvp_facts_add(&facts, "weird \"key\"", "back\\slash\nnewline");
	make_findings(f, &c);
	test_json(&t, &r);
	test_tap(&t, &r);
	test_text(&t, &r);
	f[1].decisive = 0;
	test_markdown(&t, &r);
	test_junit(&t, &r);
	test_prometheus(&t, &r, &f[0]);
	test_execution_first(&t);
	hvp_contract_free(&c);
	return tap_done(&t);
}
