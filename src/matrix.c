/* SPDX-License-Identifier: MIT */
#include "matrix.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "report.h"

/* The run's hostname, else its file's name without directory and ".json". */
static void host_name(struct hvp_matrix_host *h)
{
	const char *hostname = hvp_facts_get(&h->run->host, "hostname");
	const char *base = strrchr(h->file, '/');
	size_t len;

	if (hostname && hostname[0]) {
		hvp_copy_str(h->name, sizeof(h->name), hostname);
	} else {
		base = base ? base + 1 : h->file;
		len = strlen(base);
		if (len > 5 && strcmp(base + len - 5, ".json") == 0)
			len -= 5;
		snprintf(h->name, sizeof(h->name), "%.*s", (int)len, base);
	}
	/* A column's name is one line of text in every form. */
	for (char *p = h->name; *p; p++)
		if (iscntrl((unsigned char)*p))
			*p = '?';
}

static unsigned topic_rank(const char *id)
{
	const char *topic = hvp_topic_of(id);
	unsigned k = 0;

	while (hvp_topic(k) && strcmp(hvp_topic(k), topic) != 0)
		k++;
	return k;
}

static struct hvp_matrix_row *find_row(struct hvp_matrix *m, const char *id)
{
	for (unsigned i = 0; i < m->n_rows; i++)
		if (strcmp(m->rows[i].id, id) == 0)
			return &m->rows[i];
	return NULL;
}

/* Rows grouped by topic, in the order the runs list them within it (a stable insertion sort). */
static void sort_rows(struct hvp_matrix *m)
{
	for (unsigned i = 1; i < m->n_rows; i++) {
		struct hvp_matrix_row row = m->rows[i];
		unsigned rank = topic_rank(row.id), j = i;
		for (; j > 0 && topic_rank(m->rows[j - 1].id) > rank; j--)
			m->rows[j] = m->rows[j - 1];
		m->rows[j] = row;
	}
}

static bool measured(const struct hvp_matrix_cell *c)
{
	return c->f && c->head->bench && c->f->answer == HVP_ANSWER_YES;
}

static bool row_differs(const struct hvp_matrix *m, const struct hvp_matrix_row *row)
{
	const struct hvp_matrix_cell *first = &row->cells[0];
	double noise;

	for (unsigned h = 1; h < m->n_hosts; h++) {
		const struct hvp_matrix_cell *c = &row->cells[h];
		if (!c->f != !first->f || (c->f && c->f->answer != first->f->answer))
			return true;
		if (measured(first) && measured(c) && hvp_diff_bench_moved(first->head, c->head, &noise))
			return true;
	}
	return false;
}

static void add_cells(struct hvp_matrix *m, unsigned h)
{
	const struct hvp_run *run = m->hosts[h].run;

	for (unsigned i = 0; i < run->n; i++) {
		struct hvp_matrix_row *row = find_row(m, run->findings[i].id);
		if (!row) {
			row = &m->rows[m->n_rows];
			*row = (struct hvp_matrix_row){ .id = run->findings[i].id, .question = run->findings[i].question,
							.cells = &m->cells[(size_t)m->n_rows * m->n_hosts] };
			m->n_rows++;
		}
		row->cells[h] = (struct hvp_matrix_cell){ &run->findings[i], &run->head.findings[i] };
	}
}

int hvp_matrix_compute(const struct hvp_run *runs, const char *const *files, unsigned n, struct hvp_matrix *out)
{
	size_t total = 0;

	memset(out, 0, sizeof(*out));
	for (unsigned h = 0; h < n; h++)
		total += runs[h].n;
	out->n_hosts = n;
	out->hosts = calloc(n ? n : 1, sizeof(*out->hosts));
	out->rows = calloc(total ? total : 1, sizeof(*out->rows));
	out->cells = calloc(total * n + 1, sizeof(*out->cells));
	if (!out->hosts || !out->rows || !out->cells) {
		hvp_matrix_free(out);
		return -1;
	}
	for (unsigned h = 0; h < n; h++) {
		out->hosts[h] = (struct hvp_matrix_host){ .file = files[h], .run = &runs[h] };
		host_name(&out->hosts[h]);
		add_cells(out, h);
	}
	sort_rows(out);
	for (unsigned i = 0; i < out->n_rows; i++) {
		out->rows[i].topic = hvp_topic_of(out->rows[i].id);
		out->rows[i].differs = row_differs(out, &out->rows[i]);
		out->n_differ += out->rows[i].differs;
	}
	return 0;
}

void hvp_matrix_free(struct hvp_matrix *m)
{
	free(m->hosts);
	free(m->rows);
	free(m->cells);
	memset(m, 0, sizeof(*m));
}

/* "yes", "no!" (deviates from its contract), a benchmark's median, or "-" for a probe the run lacks. */
static void cell_text(char *buf, size_t size, const struct hvp_matrix_cell *c)
{
	if (!c->f)
		snprintf(buf, size, "-");
	else if (measured(c))
		hvp_format_ns(buf, size, c->f->bench.median);
	else
		snprintf(buf, size, "%s%s", hvp_answer_name(c->f->answer),
			 c->f->verdict == HVP_VERDICT_DEVIATES ? "!" : "");
}

static const char *fact(const struct hvp_matrix_host *h, const char *key)
{
	const char *v = hvp_facts_get(&h->run->host, key);

	return v ? v : "";
}

static const char legend[] =
	"differs: the answers are not the same on every host (a benchmark: a median beyond three times the runs' "
	"combined spread from the first host's); '!': the answer deviates from that host's contract; '-': the probe "
	"is not in that report";

/* A text cell padded to its column's width, the last one not padded. */
static void text_cell(FILE *out, const char *s, unsigned width, bool last)
{
	fprintf(out, "  %-*s", last ? 0 : (int)width, s);
}

/* A column's letter in the text form: A..Z, then AA.. */
static void column_label(char *buf, size_t size, unsigned h)
{
	if (h < 26)
		snprintf(buf, size, "%c", 'A' + h);
	else
		snprintf(buf, size, "%c%c", 'A' + h / 26 - 1, 'A' + h % 26);
}

static void summary_line(FILE *out, const struct hvp_matrix *m)
{
	fprintf(out, "%u host%s, %u probe%s, %u differ%s", m->n_hosts, m->n_hosts == 1 ? "" : "s", m->n_rows,
		m->n_rows == 1 ? "" : "s", m->n_differ, m->n_differ == 1 ? "s" : "");
}

int hvp_matrix_text(FILE *out, const struct hvp_matrix *m)
{
	unsigned width[m->n_hosts ? m->n_hosts : 1];
	char buf[48];

	fputs("hvprobe matrix: ", out);
	summary_line(out, m);
	fputc('\n', out);
	for (unsigned h = 0; h < m->n_hosts; h++) {
		const struct hvp_matrix_host *host = &m->hosts[h];
		column_label(buf, sizeof(buf), h);
		fprintf(out, "  %-2s %s: %s %s, %s (hvprobe %s%s; %s)\n", buf, host->name, fact(host, "backend"),
			fact(host, "arch"), fact(host, "kernel"), host->run->head.version,
			host->run->head.interrupted ? ", interrupted" : "", host->file);
	}
	for (unsigned h = 0; h < m->n_hosts; h++) {
		width[h] = 3;
		for (unsigned i = 0; i < m->n_rows; i++) {
			cell_text(buf, sizeof(buf), &m->rows[i].cells[h]);
			width[h] = strlen(buf) > width[h] ? (unsigned)strlen(buf) : width[h];
		}
	}
	for (unsigned i = 0; i < m->n_rows; i++) {
		const struct hvp_matrix_row *row = &m->rows[i];
		if (i == 0 || row->topic != m->rows[i - 1].topic) {
			fprintf(out, "\n%s\n  %-36s", row->topic, "probe");
			for (unsigned h = 0; h < m->n_hosts; h++) {
				column_label(buf, sizeof(buf), h);
				text_cell(out, buf, width[h], h + 1 == m->n_hosts);
			}
			fputc('\n', out);
		}
		fprintf(out, "%c %-36s", row->differs ? '*' : ' ', row->id);
		for (unsigned h = 0; h < m->n_hosts; h++) {
			cell_text(buf, sizeof(buf), &row->cells[h]);
			text_cell(out, buf, width[h], h + 1 == m->n_hosts);
		}
		fputc('\n', out);
	}
	fprintf(out, "\n'*' %s\n", legend);
	return ferror(out) ? -1 : 0;
}

/* Markdown table text: '|' escaped, line breaks as spaces. */
static void md_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|' || *s == '\\' || *s == '*' || *s == '_' || *s == '`' || *s == '<')
			fputc('\\', out);
		fputc(*s == '\n' ? ' ' : *s, out);
	}
}

int hvp_matrix_markdown(FILE *out, const struct hvp_matrix *m)
{
	char buf[48];

	fputs("# hvprobe matrix\n\n", out);
	summary_line(out, m);
	fputs(".\n\n| host | API | kernel | hvprobe | report |\n| --- | --- | --- | --- | --- |\n", out);
	for (unsigned h = 0; h < m->n_hosts; h++) {
		const struct hvp_matrix_host *host = &m->hosts[h];
		const char *cols[] = { host->name, fact(host, "backend"), fact(host, "arch"), fact(host, "kernel"),
				       host->run->head.version, host->file };
		for (unsigned k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
			fputs(k == 0 ? "| " : k == 2 ? " " : " | ", out);
			md_text(out, cols[k]);
		}
		fputs(host->run->head.interrupted ? " (interrupted) |\n" : " |\n", out);
	}
	for (unsigned i = 0; i < m->n_rows; i++) {
		const struct hvp_matrix_row *row = &m->rows[i];
		if (i == 0 || row->topic != m->rows[i - 1].topic) {
			fprintf(out, "\n## %s\n\n| probe |", row->topic);
			for (unsigned h = 0; h < m->n_hosts; h++) {
				fputc(' ', out);
				md_text(out, m->hosts[h].name);
				fputs(" |", out);
			}
			fputs(" differs |\n| --- |", out);
			for (unsigned h = 0; h < m->n_hosts; h++)
				fputs(" --- |", out);
			fputs(" --- |\n", out);
		}
		fprintf(out, "| `%s` |", row->id);
		for (unsigned h = 0; h < m->n_hosts; h++) {
			cell_text(buf, sizeof(buf), &row->cells[h]);
			fprintf(out, row->differs ? " **%s** |" : " %s |", buf);
		}
		fputs(row->differs ? " ≠ |\n" : " |\n", out);
	}
	fprintf(out, "\n≠ %s.\n", legend);
	return ferror(out) ? -1 : 0;
}

static const char html_style[] =
	"body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1b1b1b}"
	"table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:3px 10px;text-align:left}"
	"th{background:#f3f3f3;vertical-align:bottom}tr.differs td{background:#fff4e5}tr.differs td.mark{color:#b35c00}"
	"td.crashed,td.hung,td.deviates{color:#c62828;font-weight:600}td.skipped,td.absent{color:#777}"
	"th.topic{background:#fff;font-size:1.1em;padding-top:1.2em}";

static const char html_script[] =
	"function hvpOnlyDiff(on){document.querySelectorAll('tr.same').forEach(function(r){"
	"r.style.display=on?'none':'';});}";

static void html_cell(FILE *out, const struct hvp_matrix_cell *c)
{
	char buf[48];
	const char *cls = !c->f ? "absent"
			  : c->f->verdict == HVP_VERDICT_DEVIATES ? "deviates" : hvp_answer_name(c->f->answer);

	cell_text(buf, sizeof(buf), c);
	fprintf(out, "<td class=\"%s\"", cls);
	if (c->f) {
		fputs(" title=\"", out);
		hvp_xml_text(out, c->f->reason);
		fputc('"', out);
	}
	fputc('>', out);
	hvp_xml_text(out, buf);
	fputs("</td>", out);
}

static void html_head(FILE *out, const struct hvp_matrix *m)
{
	fputs("<tr><th>probe</th>", out);
	for (unsigned h = 0; h < m->n_hosts; h++) {
		const struct hvp_matrix_host *host = &m->hosts[h];
		fputs("<th>", out);
		hvp_xml_text(out, host->name);
		fputs("<br/><small>", out);
		hvp_xml_text(out, fact(host, "backend"));
		fputc(' ', out);
		hvp_xml_text(out, fact(host, "arch"));
		fputs("<br/>", out);
		hvp_xml_text(out, fact(host, "kernel"));
		fputs("<br/>hvprobe ", out);
		hvp_xml_text(out, host->run->head.version);
		fputs(host->run->head.interrupted ? " (interrupted)</small></th>" : "</small></th>", out);
	}
	fputs("<th>differs</th></tr>\n", out);
}

int hvp_matrix_html(FILE *out, const struct hvp_matrix *m)
{
	fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
		     "<title>hvprobe matrix</title><style>%s</style><script>%s</script></head><body>\n"
		     "<h1>hvprobe matrix</h1>\n<p>",
		html_style, html_script);
	summary_line(out, m);
	fputs(". <label><input type=\"checkbox\" onchange=\"hvpOnlyDiff(this.checked)\"/> only the rows that differ"
	      "</label></p>\n<table>\n",
	      out);
	html_head(out, m);
	for (unsigned i = 0; i < m->n_rows; i++) {
		const struct hvp_matrix_row *row = &m->rows[i];
		if (i == 0 || row->topic != m->rows[i - 1].topic) {
			fprintf(out, "<tr class=\"same\"><th class=\"topic\" colspan=\"%u\">", m->n_hosts + 2);
			hvp_xml_text(out, row->topic);
			fputs("</th></tr>\n", out);
		}
		fprintf(out, "<tr class=\"%s\"><td title=\"", row->differs ? "differs" : "same");
		hvp_xml_text(out, row->question);
		fprintf(out, "\"><code>%s</code></td>", row->id);
		for (unsigned h = 0; h < m->n_hosts; h++)
			html_cell(out, &row->cells[h]);
		fprintf(out, "<td class=\"mark\">%s</td></tr>\n", row->differs ? "≠" : "");
	}
	fputs("</table>\n<p>≠ ", out);
	hvp_xml_text(out, legend);
	fputs(". A cell's tooltip is the answer's reason.</p>\n</body></html>\n", out);
	return ferror(out) ? -1 : 0;
}

static void json_host(FILE *out, const struct hvp_matrix_host *host)
{
	const char *const fields[][2] = { { "file", host->file },
					  { "name", host->name },
					  { "backend", fact(host, "backend") },
					  { "arch", fact(host, "arch") },
					  { "kernel", fact(host, "kernel") },
					  { "tool_version", host->run->head.version } };

	fputc('{', out);
	for (unsigned i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		fprintf(out, "%s\"%s\":", i ? "," : "", fields[i][0]);
		hvp_json_string(out, fields[i][1]);
	}
	fprintf(out, ",\"interrupted\":%s}", host->run->head.interrupted ? "true" : "false");
}

static void json_cell(FILE *out, const struct hvp_matrix_cell *c)
{
	if (!c->f) {
		fputs("null", out);
		return;
	}
	fprintf(out, "{\"answer\":\"%s\",\"verdict\":\"%s\"", hvp_answer_name(c->f->answer),
		hvp_verdict_name(c->f->verdict));
	if (measured(c))
		fprintf(out, ",\"median_ns\":%.3f", c->f->bench.median);
	fputc('}', out);
}

int hvp_matrix_json(FILE *out, const struct hvp_matrix *m)
{
	fprintf(out, "{\"matrix_version\":%d,\"hosts\":[", HVP_MATRIX_VERSION);
	for (unsigned h = 0; h < m->n_hosts; h++) {
		fputs(h ? ",\n" : "\n", out);
		json_host(out, &m->hosts[h]);
	}
	fprintf(out, "\n],\"summary\":{\"probes\":%u,\"differ\":%u},\"probes\":[", m->n_rows, m->n_differ);
	for (unsigned i = 0; i < m->n_rows; i++) {
		const struct hvp_matrix_row *row = &m->rows[i];
		fputs(i ? ",\n{\"id\":" : "\n{\"id\":", out);
		hvp_json_string(out, row->id);
		fputs(",\"question\":", out);
		hvp_json_string(out, row->question);
		fputs(",\"topic\":", out);
		hvp_json_string(out, row->topic);
		fprintf(out, ",\"differs\":%s,\"cells\":[", row->differs ? "true" : "false");
		for (unsigned h = 0; h < m->n_hosts; h++) {
			if (h)
				fputc(',', out);
			json_cell(out, &row->cells[h]);
		}
		fputs("]}", out);
	}
	fputs("\n]}\n", out);
	return ferror(out) ? -1 : 0;
}

int (*hvp_matrix_format(const char *name))(FILE *out, const struct hvp_matrix *m)
{
	static const struct {
		const char *name;
		int (*write)(FILE *out, const struct hvp_matrix *m);
	} formats[] = {
		{ "text", hvp_matrix_text },
		{ "markdown", hvp_matrix_markdown },
		{ "html", hvp_matrix_html },
		{ "json", hvp_matrix_json },
	};

	for (unsigned i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (strcmp(formats[i].name, name) == 0)
			return formats[i].write;
	return NULL;
}
