/* SPDX-License-Identifier: MIT */
#include "diff.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static const struct hvp_read_finding *find(const struct hvp_read_report *r, const char *id)
{
	for (unsigned i = 0; i < r->n; i++)
		if (strcmp(r->findings[i].id, id) == 0)
			return &r->findings[i];
	return NULL;
}

bool hvp_diff_bench_moved(const struct hvp_read_finding *a, const struct hvp_read_finding *b, double *noise)
{
	*noise = sqrt(a->spread_ns * a->spread_ns + b->spread_ns * b->spread_ns);
	return fabs(b->median_ns - a->median_ns) > HVP_DIFF_NOISE_FACTOR * *noise;
}

static bool measured(const struct hvp_read_finding *f)
{
	return f->bench && f->answer == HVP_ANSWER_YES;
}

static void compare(const struct hvp_read_finding *a, const struct hvp_read_finding *b, struct hvp_change *c,
		    struct hvp_diff *d)
{
	*c = (struct hvp_change){ .kind = HVP_CHANGE_CHANGED, .old = a, .new = b };
	c->answer = a->answer != b->answer;
	c->verdict = a->verdict != b->verdict;
	if (measured(a) && measured(b)) {
		c->bench = hvp_diff_bench_moved(a, b, &c->noise_ns);
		d->bench_within_noise += !c->bench && a->median_ns != b->median_ns;
	}
}

int hvp_diff_compute(const struct hvp_read_report *old, const char *old_name, const struct hvp_read_report *new,
		     const char *new_name, struct hvp_diff *out)
{
	memset(out, 0, sizeof(*out));
	*out = (struct hvp_diff){ .old = old, .new = new, .old_name = old_name, .new_name = new_name };
	out->changes = calloc((size_t)old->n + new->n + 1, sizeof(*out->changes));
	if (!out->changes)
		return -1;
	/* In the new report's order, then what only the old one had. */
	for (unsigned i = 0; i < new->n; i++) {
		const struct hvp_read_finding *b = &new->findings[i], *a = find(old, b->id);
		struct hvp_change *c = &out->changes[out->n];
		if (!a) {
			*c = (struct hvp_change){ .kind = HVP_CHANGE_ADDED, .new = b };
			out->n++;
			continue;
		}
		compare(a, b, c, out);
		if (c->answer || c->verdict || c->bench)
			out->n++;
		else
			out->same++;
	}
	for (unsigned i = 0; i < old->n; i++)
		if (!find(new, old->findings[i].id))
			out->changes[out->n++] = (struct hvp_change){ .kind = HVP_CHANGE_MISSING, .old = &old->findings[i] };
	hvp_migration_compute(old, new, &out->migration);
	return 0;
}

void hvp_diff_free(struct hvp_diff *d)
{
	free(d->changes);
	d->changes = NULL;
	d->n = 0;
}

/* "yes (as documented)", or the median for a benchmark whose figure moved. */
static void side(char *buf, size_t size, const struct hvp_read_finding *f, bool as_bench)
{
	if (!f)
		snprintf(buf, size, "-");
	else if (as_bench)
		hvp_format_ns(buf, size, f->median_ns);
	else
		snprintf(buf, size, "%s (%s)", hvp_answer_name(f->answer), hvp_verdict_name(f->verdict));
}

static const char *change_word(const struct hvp_change *c)
{
	if (c->kind == HVP_CHANGE_ADDED)
		return "added";
	if (c->kind == HVP_CHANGE_MISSING)
		return "missing";
	if (c->answer)
		return "answer";
	return c->verdict ? "verdict" : "bench";
}

static void describe(FILE *out, const struct hvp_read_report *r, const char *name)
{
	fprintf(out, "%s (hvprobe %s%s%s%s%s%s%s)", name, r->version, r->backend[0] ? ", " : "", r->backend,
		r->arch[0] ? " " : "", r->arch, r->kernel[0] ? ", " : "", r->kernel);
}

int hvp_diff_text(FILE *out, const struct hvp_diff *d)
{
	char a[48], b[48];

	fputs("hvprobe diff: ", out);
	describe(out, d->old, d->old_name);
	fputs("\n          to: ", out);
	describe(out, d->new, d->new_name);
	fputs("\n", out);
	if (d->n)
		fprintf(out, "%-8s  %-36s  %-24s  %s\n", "CHANGE", "PROBE", "OLD", "NEW");
	for (unsigned i = 0; i < d->n; i++) {
		const struct hvp_change *c = &d->changes[i];
		bool as_bench = c->kind == HVP_CHANGE_CHANGED && !c->answer && !c->verdict && c->bench;
		const char *id = c->new ? c->new->id : c->old->id;
		side(a, sizeof(a), c->old, as_bench);
		side(b, sizeof(b), c->new, as_bench);
		fprintf(out, "%-8s  %-36s  %-24s  %s", change_word(c), id, a, b);
		if (c->bench && c->old->median_ns > 0) {
			char noise[32];
			hvp_format_ns(noise, sizeof(noise), c->noise_ns);
			fprintf(out, "  (%+.1f%%; %.1fx the runs' combined spread of %s)",
				100 * (c->new->median_ns / c->old->median_ns - 1),
				c->noise_ns > 0 ? fabs(c->new->median_ns - c->old->median_ns) / c->noise_ns : INFINITY, noise);
		}
		fputc('\n', out);
	}
	if (d->n)
		fprintf(out, "%u change%s; %u finding%s the same", d->n, d->n == 1 ? "" : "s", d->same,
			d->same == 1 ? "" : "s");
	else
		fprintf(out, "no changes: %u finding%s the same", d->same, d->same == 1 ? "" : "s");
	if (d->bench_within_noise)
		fprintf(out, " (%u benchmark medians differ within their noise)", d->bench_within_noise);
	fputs(d->old->interrupted || d->new->interrupted ? "; note: a run was interrupted, so probes may be missing\n"
							  : "\n", out);
	hvp_migration_text(out, &d->migration, d->old_name, d->new_name);
	return ferror(out) ? -1 : 0;
}

static void json_report(FILE *out, const char *key, const char *file, const struct hvp_read_report *r)
{
	const char *const fields[][2] = { { "file", file },         { "version", r->version },
					  { "backend", r->backend }, { "arch", r->arch }, { "kernel", r->kernel } };

	fprintf(out, "\"%s\":{", key);
	for (unsigned i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		fprintf(out, "%s\"%s\":", i ? "," : "", fields[i][0]);
		hvp_json_string(out, fields[i][1]);
	}
	fprintf(out, ",\"interrupted\":%s,\"findings\":%u}", r->interrupted ? "true" : "false", r->n);
}

static void json_pair(FILE *out, const char *key, const char *a, const char *b)
{
	fprintf(out, ",\"%s\":{\"old\":", key);
	hvp_json_string(out, a);
	fputs(",\"new\":", out);
	hvp_json_string(out, b);
	fputc('}', out);
}

static void json_change(FILE *out, const struct hvp_change *c)
{
	static const char *const kinds[] = { "changed", "added", "missing" };
	const struct hvp_read_finding *a = c->old, *b = c->new;

	fputs("{\"id\":", out);
	hvp_json_string(out, b ? b->id : a->id);
	fprintf(out, ",\"change\":\"%s\"", kinds[c->kind]);
	json_pair(out, "answer", a ? hvp_answer_name(a->answer) : "", b ? hvp_answer_name(b->answer) : "");
	json_pair(out, "verdict", a ? hvp_verdict_name(a->verdict) : "", b ? hvp_verdict_name(b->verdict) : "");
	fprintf(out, ",\"answer_changed\":%s,\"verdict_changed\":%s", c->answer ? "true" : "false",
		c->verdict ? "true" : "false");
	if (a && b && measured(a) && measured(b))
		fprintf(out, ",\"bench\":{\"old_median_ns\":%.3f,\"new_median_ns\":%.3f,\"noise_ns\":%.3f,\"moved\":%s}",
			a->median_ns, b->median_ns, c->noise_ns, c->bench ? "true" : "false");
	fputc('}', out);
}

int hvp_diff_json(FILE *out, const struct hvp_diff *d)
{
	fputs("{\"schema_version\":1,", out);
	json_report(out, "old", d->old_name, d->old);
	fputc(',', out);
	json_report(out, "new", d->new_name, d->new);
	fprintf(out, ",\"changed\":%s,\"same\":%u,\"bench_within_noise\":%u,\"noise_factor\":%.1f,",
		d->n ? "true" : "false", d->same, d->bench_within_noise, HVP_DIFF_NOISE_FACTOR);
	hvp_migration_json(out, &d->migration);
	fputs(",\"changes\":[", out);
	for (unsigned i = 0; i < d->n; i++) {
		fputs(i ? ",\n" : "\n", out);
		json_change(out, &d->changes[i]);
	}
	fputs("\n]}\n", out);
	return ferror(out) ? -1 : 0;
}
