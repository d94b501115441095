/* SPDX-License-Identifier: MIT */
/*
 * The JSON report reader, on json-c (which keeps 64-bit integers exact).
 * Every field is checked for its type and range before use; the first
 * problem ends the read with its place named.
 */
#include "report_read.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_model_read.h"
#include "output.h"
#include "report.h"
#include "stats.h"

#define READ_FILE_MAX (64u << 20)
#define FINDINGS_MAX 4096
#define NESTING_MAX 16 /* a report nests 4 deep; anything deeper is not one */

static void fail(char *err, size_t size, const char *name, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void fail(char *err, size_t size, const char *name, const char *path, const char *fmt, ...)
{
	int n = snprintf(err, size, "%s: %s: ", name, path[0] ? path : "top level");
	va_list ap;

	if (n < 0 || (size_t)n >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, size - (size_t)n, fmt, ap);
	va_end(ap);
}

#ifdef HVP_HAVE_JSONC
#include <json-c/json.h>

/* What the walk over one file needs to name places in its messages. */
struct reader {
	const char *name;
	char *err;
	size_t err_size;
};

static const char *type_name(json_object *o)
{
	return o ? json_type_to_name(json_object_get_type(o)) : "null";
}

/* The member key of object o as the type wanted; NULL (message given) when absent or of another type. */
static json_object *member(struct reader *rd, json_object *o, const char *path, const char *key, json_type want,
			   bool required)
{
	json_object *v = NULL;
	char where[160];

	snprintf(where, sizeof(where), "%s.%s", path, key);
	if (!json_object_object_get_ex(o, key, &v)) {
		if (required)
			fail(rd->err, rd->err_size, rd->name, where, "missing");
		return NULL;
	}
	if (want == json_type_double && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
		return v;
	if (!json_object_is_type(v, want)) {
		fail(rd->err, rd->err_size, rd->name, where, "expected %s, got %s", json_type_to_name(want), type_name(v));
		return NULL;
	}
	return v;
}

/* Copies a JSON string into a fixed field; refuses embedded NULs and values that do not fit. */
static int copy_string(struct reader *rd, json_object *v, const char *path, char *dst, size_t size)
{
	const char *s = json_object_get_string(v);
	size_t len = (size_t)json_object_get_string_len(v);

	if (strlen(s) != len) {
		fail(rd->err, rd->err_size, rd->name, path, "the string contains a NUL character");
		return -1;
	}
	if (len >= size) {
		fail(rd->err, rd->err_size, rd->name, path, "the string is %zu bytes long, at most %zu fit", len, size - 1);
		return -1;
	}
	memcpy(dst, s, len + 1);
	return 0;
}

static int string_member(struct reader *rd, json_object *o, const char *path, const char *key, char *dst,
			 size_t size, bool required)
{
	json_object *v = member(rd, o, path, key, json_type_string, required);
	char where[160];

	if (!v)
		return required || rd->err[0] ? -1 : 0;
	snprintf(where, sizeof(where), "%s.%s", path, key);
	return copy_string(rd, v, where, dst, size);
}

static int valid_id(const char *id)
{
	if (!id[0])
		return 0;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return 0;
	return 1;
}

static int number(struct reader *rd, json_object *v, const char *path, double *out)
{
	double d = json_object_get_double(v);

	if (!isfinite(d) || d < 0) {
		fail(rd->err, rd->err_size, rd->name, path, "expected a finite number >= 0");
		return -1;
	}
	*out = d;
	return 0;
}

/* The samples' robust spread: 1.4826 x the median absolute deviation, which estimates sigma. */
static int read_spread(struct reader *rd, json_object *bench, const char *path, struct hvp_read_finding *f)
{
	json_object *s = member(rd, bench, path, "samples_ns", json_type_array, false);
	double *x, cv = 0, mean = 0;
	size_t n;
	char where[128];

	if (!s) {
		json_object *v;
		if (rd->err[0])
			return -1;
		/* Without samples: the standard deviation from cv and mean, where they are given. */
		if ((v = member(rd, bench, path, "cv", json_type_double, false)) && number(rd, v, path, &cv))
			return -1;
		if ((v = member(rd, bench, path, "mean_ns", json_type_double, false)) && number(rd, v, path, &mean))
			return -1;
		f->spread_ns = cv * mean;
		return rd->err[0] ? -1 : 0;
	}
	n = json_object_array_length(s);
	if (n > HVP_READ_SAMPLES_MAX) {
		snprintf(where, sizeof(where), "%s.samples_ns", path);
		fail(rd->err, rd->err_size, rd->name, where, "%zu samples, at most %d", n, HVP_READ_SAMPLES_MAX);
		return -1;
	}
	x = calloc(n ? n : 1, sizeof(*x));
	if (!x) {
		fail(rd->err, rd->err_size, rd->name, path, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(s, i);
		snprintf(where, sizeof(where), "%s.samples_ns[%zu]", path, i);
		if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int)) {
			fail(rd->err, rd->err_size, rd->name, where, "expected a number, got %s", type_name(v));
			free(x);
			return -1;
		}
		if (number(rd, v, where, &x[i])) {
			free(x);
			return -1;
		}
	}
	f->samples = (unsigned)n;
	f->spread_ns = n ? 1.4826 * hvp_stats_mad(x, n) : 0;
	free(x);
	return 0;
}

static int read_bench(struct reader *rd, json_object *bench, const char *path, struct hvp_read_finding *f)
{
	json_object *median = member(rd, bench, path, "median_ns", json_type_double, true);
	char where[128];

	if (!median)
		return -1;
	snprintf(where, sizeof(where), "%s.median_ns", path);
	if (number(rd, median, where, &f->median_ns))
		return -1;
	if (string_member(rd, bench, path, "ring", f->ring, sizeof(f->ring), false))
		return -1;
	f->bench = true;
	return read_spread(rd, bench, path, f);
}

static int read_finding(struct reader *rd, json_object *o, const char *path, struct hvp_read_finding *f)
{
	char answer[16], verdict[16];
	json_object *bench;
	char where[96];

	if (!json_object_is_type(o, json_type_object)) {
		fail(rd->err, rd->err_size, rd->name, path, "expected an object, got %s", type_name(o));
		return -1;
	}
	if (string_member(rd, o, path, "id", f->id, sizeof(f->id), true) ||
	    string_member(rd, o, path, "answer", answer, sizeof(answer), true) ||
	    string_member(rd, o, path, "verdict", verdict, sizeof(verdict), true) ||
	    string_member(rd, o, path, "reason", f->reason, sizeof(f->reason), true))
		return -1;
	snprintf(where, sizeof(where), "%s.id", path);
	if (!valid_id(f->id)) {
		fail(rd->err, rd->err_size, rd->name, where, "\"%s\" is not a probe id (lowercase letters, digits, '.', '_', '-')", f->id);
		return -1;
	}
	f->answer = hvp_answer_parse(answer);
	snprintf(where, sizeof(where), "%s.answer", path);
	if (f->answer == HVP_ANSWER_NONE) {
		fail(rd->err, rd->err_size, rd->name, where, "\"%s\" is not an answer (yes, no, crashed, hung, skipped)", answer);
		return -1;
	}
	snprintf(where, sizeof(where), "%s.verdict", path);
	if (hvp_verdict_parse(verdict, &f->verdict)) {
		fail(rd->err, rd->err_size, rd->name, where,
		     "\"%s\" is not a verdict (as documented, deviates, undocumented, not checked)", verdict);
		return -1;
	}
	bench = member(rd, o, path, "bench", json_type_object, false);
	if (!bench)
		return rd->err[0] ? -1 : 0;
	snprintf(where, sizeof(where), "%s.bench", path);
	return read_bench(rd, bench, where, f);
}

static int read_findings(struct reader *rd, json_object *arr, struct hvp_read_report *out)
{
	size_t n = json_object_array_length(arr);
	char path[48];

	if (n > FINDINGS_MAX) {
		fail(rd->err, rd->err_size, rd->name, ".findings", "%zu findings, at most %d", n, FINDINGS_MAX);
		return -1;
	}
	out->findings = calloc(n ? n : 1, sizeof(*out->findings));
	if (!out->findings) {
		fail(rd->err, rd->err_size, rd->name, ".findings", "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), ".findings[%zu]", i);
		if (read_finding(rd, json_object_array_get_idx(arr, i), path, &out->findings[i]))
			return -1;
		for (size_t j = 0; j < i; j++)
			if (strcmp(out->findings[j].id, out->findings[i].id) == 0) {
				fail(rd->err, rd->err_size, rd->name, path, "probe \"%s\" appears twice (first at .findings[%zu])",
				     out->findings[i].id, j);
				return -1;
			}
		out->n = (unsigned)i + 1;
	}
	return 0;
}

/* host.cpu_model, where the report has one. */
static int read_cpu_model(struct reader *rd, json_object *host, struct hvp_read_report *out)
{
	json_object *o = member(rd, host, ".host", "cpu_model", json_type_object, false);
	char msg[256];

	if (!o)
		return rd->err[0] ? -1 : 0;
	if (!(out->cpu_model = calloc(1, sizeof(*out->cpu_model)))) {
		fail(rd->err, rd->err_size, rd->name, ".host.cpu_model", "out of memory");
		return -1;
	}
	if (hvp_model_read(o, ".host.cpu_model", out->cpu_model, msg, sizeof(msg)) == 0)
		return 0;
	snprintf(rd->err, rd->err_size, "%s: %s", rd->name, msg);
	return -1;
}

static int read_root(struct reader *rd, json_object *root, struct hvp_read_report *out)
{
	json_object *v, *tool, *host, *findings;
	char name[16];

	if (!json_object_is_type(root, json_type_object)) {
		fail(rd->err, rd->err_size, rd->name, "", "expected an object, got %s: not an hvprobe JSON report",
		     type_name(root));
		return -1;
	}
	if (!(v = member(rd, root, "", "schema_version", json_type_int, true)))
		return -1;
	if (json_object_get_int64(v) > 1) {
		fail(rd->err, rd->err_size, rd->name, ".schema_version",
		     "%" PRId64 ": a newer hvprobe wrote this (this one reads schema 1); upgrade hvprobe to read it",
		     (int64_t)json_object_get_int64(v));
		return -1;
	}
	if (json_object_get_int64(v) != 1) {
		fail(rd->err, rd->err_size, rd->name, ".schema_version",
		     "%" PRId64 " is not a schema this hvprobe reads (1); use the hvprobe that wrote it",
		     (int64_t)json_object_get_int64(v));
		return -1;
	}
	if (!(tool = member(rd, root, "", "tool", json_type_object, true)) ||
	    string_member(rd, tool, ".tool", "name", name, sizeof(name), true) ||
	    string_member(rd, tool, ".tool", "version", out->version, sizeof(out->version), true))
		return -1;
	if (strcmp(name, "hvprobe") != 0) {
		fail(rd->err, rd->err_size, rd->name, ".tool.name", "\"%s\" did not write this: not an hvprobe report", name);
		return -1;
	}
	if ((host = member(rd, root, "", "host", json_type_object, false)) &&
	    (string_member(rd, host, ".host", "backend", out->backend, sizeof(out->backend), false) ||
	     string_member(rd, host, ".host", "arch", out->arch, sizeof(out->arch), false) ||
	     string_member(rd, host, ".host", "kernel", out->kernel, sizeof(out->kernel), false)))
		return -1;
	if (rd->err[0] || (host && read_cpu_model(rd, host, out)))
		return -1;
	if ((v = member(rd, root, "", "interrupted", json_type_boolean, false)))
		out->interrupted = json_object_get_boolean(v);
	if (rd->err[0] || !(findings = member(rd, root, "", "findings", json_type_array, true)))
		return -1;
	return read_findings(rd, findings, out);
}

/* "byte 120 (line 3, column 7)": where in the text a syntax error is. */
static void text_place(const char *data, size_t offset, char *buf, size_t size)
{
	unsigned line = 1, col = 1;

	for (size_t i = 0; i < offset; i++, col++)
		if (data[i] == '\n') {
			line++;
			col = 0;
		}
	snprintf(buf, size, "byte %zu (line %u, column %u)", offset, line, col);
}

static json_object *parse(struct reader *rd, const char *data, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(NESTING_MAX);
	const char *nul = memchr(data, '\0', len);
	json_object *root;
	enum json_tokener_error e;
	char place[64];
	size_t end;

	if (!tok) {
		fail(rd->err, rd->err_size, rd->name, "", "out of memory");
		return NULL;
	}
	if (nul) {
		text_place(data, (size_t)(nul - data), place, sizeof(place));
		fail(rd->err, rd->err_size, rd->name, place, "a NUL byte: not a JSON text");
		json_tokener_free(tok);
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, data, (int)len);
	e = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (!root) {
		text_place(data, e == json_tokener_continue ? len : end, place, sizeof(place));
		fail(rd->err, rd->err_size, rd->name, place, "%s",
		     e == json_tokener_continue ? "the JSON text ends early (truncated?)" : json_tokener_error_desc(e));
	} else {
		while (end < len && (data[end] == ' ' || data[end] == '\n' || data[end] == '\t' || data[end] == '\r'))
			end++;
		if (end < len) {
			text_place(data, end, place, sizeof(place));
			fail(rd->err, rd->err_size, rd->name, place, "more text after the JSON value");
			json_object_put(root);
			root = NULL;
		}
	}
	json_tokener_free(tok);
	return root;
}

/* A report's text, at most READ_FILE_MAX bytes, parsed; NULL with the message given. */
static json_object *parse_report(struct reader *rd, const char *data, size_t len)
{
	if (len > READ_FILE_MAX) {
		fail(rd->err, rd->err_size, rd->name, "", "%zu bytes, more than a report can be (%u)", len, READ_FILE_MAX);
		return NULL;
	}
	return parse(rd, data, len);
}

int hvp_report_read(const char *name, const char *data, size_t len, struct hvp_read_report *out, char *err,
		    size_t err_size)
{
	struct reader rd = { name, err, err_size };
	json_object *root;
	int rc;

	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	if (!(root = parse_report(&rd, data, len)))
		return -1;
	rc = read_root(&rd, root, out);
	json_object_put(root);
	if (rc)
		hvp_report_read_free(out);
	return rc;
}

bool hvp_report_read_available(void)
{
	return true;
}

/*
 * The whole run, for `hvprobe report`: read_root checks what diff reads
 * (schema, tool, ids, answers, verdicts, benchmarks); then every other field
 * the JSON writer writes is read into the findings the writers take, so that
 * writing it again as JSON gives back the same report.
 */

/* An integer member within [min, max]. */
static int int_member(struct reader *rd, json_object *o, const char *path, const char *key, int64_t min, int64_t max,
		      int64_t *out)
{
	json_object *v = member(rd, o, path, key, json_type_int, true);
	char where[160];

	if (!v)
		return -1;
	*out = json_object_get_int64(v);
	snprintf(where, sizeof(where), "%s.%s", path, key);
	if (*out < min || *out > max) {
		fail(rd->err, rd->err_size, rd->name, where, "%" PRId64 " is out of range (%" PRId64 " to %" PRId64 ")",
		     *out, min, max);
		return -1;
	}
	return 0;
}

/* A number member >= 0; absent is 0 unless required. */
static int number_member(struct reader *rd, json_object *o, const char *path, const char *key, bool required,
			 double *out)
{
	json_object *v = member(rd, o, path, key, json_type_double, required);
	char where[160];

	*out = 0;
	if (!v)
		return required || rd->err[0] ? -1 : 0;
	snprintf(where, sizeof(where), "%s.%s", path, key);
	return number(rd, v, where, out);
}

/* The array member key, at most max long. */
static json_object *array_member(struct reader *rd, json_object *o, const char *path, const char *key, size_t max)
{
	json_object *a = member(rd, o, path, key, json_type_array, true);
	char where[160];

	if (a && json_object_array_length(a) > max) {
		snprintf(where, sizeof(where), "%s.%s", path, key);
		fail(rd->err, rd->err_size, rd->name, where, "%zu entries, at most %zu fit", json_object_array_length(a), max);
		return NULL;
	}
	return a;
}

/* Element i of array a, which must be an object. */
static json_object *object_at(struct reader *rd, json_object *a, size_t i, char *where, size_t size, const char *path)
{
	json_object *o = json_object_array_get_idx(a, i);

	snprintf(where, size, "%s[%zu]", path, i);
	if (!json_object_is_type(o, json_type_object)) {
		fail(rd->err, rd->err_size, rd->name, where, "expected an object, got %s", type_name(o));
		return NULL;
	}
	return o;
}

static int load_evidence(struct reader *rd, json_object *o, const char *path, struct hvp_finding *f)
{
	char base[96], where[128];
	json_object *a, *e;
	int64_t n;

	snprintf(base, sizeof(base), "%s.evidence", path);
	if (!(a = array_member(rd, o, path, "evidence", HVP_EVIDENCE_MAX)))
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct hvp_evidence *ev = &f->evidence[i];
		if (!(e = object_at(rd, a, i, where, sizeof(where), base)) ||
		    string_member(rd, e, where, "call", ev->call, sizeof(ev->call), true) ||
		    int_member(rd, e, where, "result", INT64_MIN, INT64_MAX, &ev->result) ||
		    string_member(rd, e, where, "errno", ev->errname, sizeof(ev->errname), true) ||
		    string_member(rd, e, where, "detail", ev->detail, sizeof(ev->detail), true))
			return -1;
		f->n_evidence = (unsigned)i + 1;
	}
	if (int_member(rd, o, path, "evidence_omitted", 0, UINT32_MAX, &n))
		return -1;
	f->evidence_omitted = (unsigned)n;
	if (int_member(rd, o, path, "decisive", -1, (int64_t)f->n_evidence - 1, &n))
		return -1;
	f->decisive = (int)n;
	return 0;
}

/* A guest value: the writer's "0x..." hex string, all 64 bits exact. */
static int guest_value(struct reader *rd, const char *hex, const char *where, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(hex, &end, 16);
	if (strncmp(hex, "0x", 2) != 0 || !hex[2] || *end || errno) {
		fail(rd->err, rd->err_size, rd->name, where, "\"%s\" is not a 64-bit hex value (0x...)", hex);
		return -1;
	}
	return 0;
}

static int load_guest(struct reader *rd, json_object *o, const char *path, struct hvp_finding *f)
{
	char base[96], where[128], hex[24], vpath[144];
	json_object *a, *g;

	snprintf(base, sizeof(base), "%s.guest", path);
	if (!(a = array_member(rd, o, path, "guest", HVP_GUEST_MAX)))
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct hvp_guest_value *gv = &f->guest[i];
		if (!(g = object_at(rd, a, i, where, sizeof(where), base)) ||
		    string_member(rd, g, where, "label", gv->label, sizeof(gv->label), true) ||
		    string_member(rd, g, where, "value", hex, sizeof(hex), true))
			return -1;
		snprintf(vpath, sizeof(vpath), "%s.value", where);
		if (guest_value(rd, hex, vpath, &gv->value))
			return -1;
		f->n_guest = (unsigned)i + 1;
	}
	return 0;
}

static int load_samples(struct reader *rd, json_object *bench, const char *path, struct hvp_bench *b)
{
	json_object *a = array_member(rd, bench, path, "samples_ns", HVP_SAMPLES_MAX);
	char where[144];
	int64_t n;

	if (!a || int_member(rd, bench, path, "samples", 0, HVP_SAMPLES_MAX, &n))
		return -1;
	if ((size_t)n != json_object_array_length(a)) {
		snprintf(where, sizeof(where), "%s.samples", path);
		fail(rd->err, rd->err_size, rd->name, where, "says %" PRId64 " samples, samples_ns has %zu", n,
		     json_object_array_length(a));
		return -1;
	}
	for (size_t i = 0; i < (size_t)n; i++) {
		json_object *v = json_object_array_get_idx(a, i);
		snprintf(where, sizeof(where), "%s.samples_ns[%zu]", path, i);
		if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int)) {
			fail(rd->err, rd->err_size, rd->name, where, "expected a number, got %s", type_name(v));
			return -1;
		}
		if (number(rd, v, where, &b->sample[i]))
			return -1;
	}
	b->n = (unsigned)n;
	return 0;
}

static int load_bench(struct reader *rd, json_object *bench, const char *path, struct hvp_bench *b)
{
	const struct { const char *key; double *v; bool required; } stat[] = {
		{ "min_ns", &b->min, true },       { "median_ns", &b->median, true },
		{ "p90_ns", &b->p90, true },       { "p99_ns", &b->p99, true },
		{ "max_ns", &b->max, true },       { "mean_ns", &b->mean, true },
		{ "cv", &b->cv, true },            { "tsc_khz", &b->tsc_khz, false },
		{ "harness_ratio", &b->harness_ratio, false },
	};
	int64_t ops;

	b->present = true;
	snprintf(b->unit, sizeof(b->unit), "ns");
	if (string_member(rd, bench, path, "per", b->per, sizeof(b->per), true) ||
	    string_member(rd, bench, path, "ring", b->ring, sizeof(b->ring), true) ||
	    string_member(rd, bench, path, "pinned", b->pinned, sizeof(b->pinned), true) ||
	    int_member(rd, bench, path, "ops_per_sample", 0, INT64_MAX, &ops))
		return -1;
	b->ops_per_sample = (uint64_t)ops;
	for (unsigned i = 0; i < sizeof(stat) / sizeof(stat[0]); i++)
		if (number_member(rd, bench, path, stat[i].key, stat[i].required, stat[i].v))
			return -1;
	/* Whole kHz, as the writer gives it: the *_cycles figures written again are then those read. */
	b->tsc_khz = round(b->tsc_khz);
	return load_samples(rd, bench, path, b);
}

/* What read_finding did not read: the question, the citation, the evidence, the guest's values. */
static int load_finding(struct reader *rd, json_object *o, const char *path, const struct hvp_read_finding *head,
			struct hvp_finding *f)
{
	json_object *v;
	char where[96];
	int64_t elapsed;

	hvp_finding_init(f, head->id, "");
	f->answer = head->answer;
	f->verdict = head->verdict;
	memcpy(f->reason, head->reason, sizeof(f->reason));
	if (string_member(rd, o, path, "question", f->question, sizeof(f->question), true) ||
	    string_member(rd, o, path, "citation", f->citation, sizeof(f->citation), true))
		return -1;
	if (!json_object_object_get_ex(o, "expected", &v)) {
		snprintf(where, sizeof(where), "%s.expected", path);
		fail(rd->err, rd->err_size, rd->name, where, "missing");
		return -1;
	}
	if (v && string_member(rd, o, path, "expected", f->expected, sizeof(f->expected), true))
		return -1;
	if (load_evidence(rd, o, path, f) || load_guest(rd, o, path, f) ||
	    !(v = member(rd, o, path, "guest_verified", json_type_boolean, true)))
		return -1;
	f->guest_verified = json_object_get_boolean(v);
	if (int_member(rd, o, path, "elapsed_ns", INT64_MIN, INT64_MAX, &elapsed))
		return -1;
	f->elapsed_ns = elapsed;
	if (!(v = member(rd, o, path, "bench", json_type_object, false)))
		return rd->err[0] ? -1 : 0;
	snprintf(where, sizeof(where), "%s.bench", path);
	return load_bench(rd, v, where, &f->bench);
}

/*
 * The host block: every member a string fact, in the order written, but
 * cpu_model, the one object, which read_root has read already.
 */
static int load_host(struct reader *rd, json_object *root, struct hvp_facts *host)
{
	json_object *h = member(rd, root, "", "host", json_type_object, true);
	char where[96];

	if (!h)
		return -1;
	json_object_object_foreach(h, key, val)
	{
		struct hvp_fact *fact = &host->fact[host->n];
		if (strcmp(key, "cpu_model") == 0)
			continue;
		snprintf(where, sizeof(where), ".host.%s", key);
		if (host->n == HVP_FACTS_MAX) {
			fail(rd->err, rd->err_size, rd->name, ".host", "more than %d facts", HVP_FACTS_MAX);
			return -1;
		}
		if (!json_object_is_type(val, json_type_string)) {
			fail(rd->err, rd->err_size, rd->name, where, "expected string, got %s", type_name(val));
			return -1;
		}
		if (strlen(key) >= sizeof(fact->key)) {
			fail(rd->err, rd->err_size, rd->name, where, "the name is longer than %zu bytes", sizeof(fact->key) - 1);
			return -1;
		}
		memcpy(fact->key, key, strlen(key) + 1);
		if (copy_string(rd, val, where, fact->value, sizeof(fact->value)))
			return -1;
		host->n++;
	}
	return 0;
}

static int load_summary(struct reader *rd, json_object *root, struct hvp_run *out)
{
	json_object *s = member(rd, root, "", "summary", json_type_object, true);

	if (!s || int_member(rd, s, ".summary", "elapsed_ns", INT64_MIN, INT64_MAX, &out->elapsed_ns))
		return -1;
	if (!json_object_object_get_ex(s, "ended_unix", NULL))
		return 0;
	return int_member(rd, s, ".summary", "ended_unix", 0, INT64_MAX, &out->unix_time);
}

static int load_run(struct reader *rd, json_object *root, struct hvp_run *out)
{
	json_object *findings;
	char path[48];
	int64_t signal = -1; /* interrupted, by a signal the report does not name */

	if (read_root(rd, root, &out->head) || load_host(rd, root, &out->host) || load_summary(rd, root, out))
		return -1;
	if (json_object_object_get_ex(root, "interrupted_by_signal", NULL) &&
	    int_member(rd, root, "", "interrupted_by_signal", 1, 128, &signal))
		return -1;
	out->interrupted = out->head.interrupted ? (int)signal : 0;
	findings = member(rd, root, "", "findings", json_type_array, true);
	out->findings = calloc(out->head.n ? out->head.n : 1, sizeof(*out->findings));
	if (!out->findings) {
		fail(rd->err, rd->err_size, rd->name, ".findings", "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < out->head.n; i++) {
		snprintf(path, sizeof(path), ".findings[%u]", i);
		if (load_finding(rd, json_object_array_get_idx(findings, i), path, &out->head.findings[i],
				 &out->findings[i]))
			return -1;
		out->n = i + 1;
	}
	return 0;
}

int hvp_run_read(const char *name, const char *data, size_t len, struct hvp_run *out, char *err, size_t err_size)
{
	struct reader rd = { name, err, err_size };
	json_object *root;
	int rc;

	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	if (!(root = parse_report(&rd, data, len)))
		return -1;
	rc = load_run(&rd, root, out);
	json_object_put(root);
	if (rc)
		hvp_run_free(out);
	return rc;
}

#else /* no json-c */

int hvp_report_read(const char *name, const char *data, size_t len, struct hvp_read_report *out, char *err,
		    size_t err_size)
{
	(void)data;
	(void)len;
	memset(out, 0, sizeof(*out));
	fail(err, err_size, name, "", "this hvprobe was built without json-c, so it cannot read reports; install "
				      "json-c (Debian: libjson-c-dev) and rebuild");
	return -1;
}

int hvp_run_read(const char *name, const char *data, size_t len, struct hvp_run *out, char *err, size_t err_size)
{
	memset(out, 0, sizeof(*out));
	return hvp_report_read(name, data, len, &out->head, err, err_size);
}

bool hvp_report_read_available(void)
{
	return false;
}

#endif

/* The whole file at path; 0, or -1 with the message in err. */
static int read_report_file(const char *path, char **data, size_t *len, char *err, size_t err_size)
{
	if (hvp_read_file(path, READ_FILE_MAX, data, len) == 0)
		return 0;
	if (errno == EFBIG)
		snprintf(err, err_size, "%s: larger than a report can be (%u bytes)", path, READ_FILE_MAX);
	else if (errno == EISDIR)
		snprintf(err, err_size, "%s: is a directory, not a JSON report", path);
	else
		snprintf(err, err_size, "%s: cannot read: %s", path, strerror(errno));
	return -1;
}

int hvp_report_read_file(const char *path, struct hvp_read_report *out, char *err, size_t err_size)
{
	char *data = NULL;
	size_t len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (read_report_file(path, &data, &len, err, err_size))
		return -1;
	rc = hvp_report_read(path, data, len, out, err, err_size);
	free(data);
	return rc;
}

int hvp_run_read_file(const char *path, struct hvp_run *out, char *err, size_t err_size)
{
	char *data = NULL;
	size_t len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (read_report_file(path, &data, &len, err, err_size))
		return -1;
	rc = hvp_run_read(path, data, len, out, err, err_size);
	free(data);
	return rc;
}

void hvp_run_free(struct hvp_run *run)
{
	hvp_report_read_free(&run->head);
	free(run->findings);
	run->findings = NULL;
	run->n = 0;
}

void hvp_run_report(const struct hvp_run *run, struct hvp_report *r)
{
	*r = (struct hvp_report){ .tool_version = run->head.version, .host = &run->host,
				  .cpu_model = run->head.cpu_model, .findings = run->findings,
				  .n = run->n, .interrupted = run->interrupted,
				  .elapsed_ns = run->elapsed_ns, .unix_time = run->unix_time };
}

void hvp_report_read_free(struct hvp_read_report *r)
{
	free(r->findings);
	r->findings = NULL;
	free(r->cpu_model);
	r->cpu_model = NULL;
	r->n = 0;
}
