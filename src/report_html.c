/* SPDX-License-Identifier: MIT */
/*
 * One self-contained HTML page a person opens in a browser: the host, the
 * findings table by topic (how this host runs guests first), filterable by
 * text and verdict, each row's evidence folded under it, and for every
 * benchmark an inline SVG plot of its samples. No network, no external
 * script; the markup is also well-formed XML, so that XML tools read it.
 */
#include <inttypes.h>
#include <string.h>

#include "contract.h"
#include "report.h"

#define PLOT_W 420
#define PLOT_H 64
#define PLOT_PAD 10

static const char style[] =
	"body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1b1b1b}"
	"table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:4px 8px;"
	"text-align:left;vertical-align:top}th{background:#f3f3f3}code{font-size:13px}"
	".as-documented td.v{color:#1a7f37}.deviates td.v,.crashed td.a,.hung td.a{color:#c62828;font-weight:600}"
	".undocumented td.v{color:#8a6d00}.not-checked td.v{color:#666}"
	"h2{margin-top:1.6em}details{margin-top:4px}summary{cursor:pointer;color:#555}"
	"#filters{margin:1em 0}#filters input{width:24em}svg{background:#fafafa}";

/*
 * Filters rows by text and verdict; the URL fragment (#q=mem.&v=deviates)
 * presets both, so a filtered view can be linked. Written without '<' and
 * '&' so that the page stays well-formed XML.
 */
static const char script[] =
	"function hvpFilter(){var q=document.getElementById('q').value.toLowerCase();"
	"var v=document.getElementById('v').value;var shown=0;"
	"document.querySelectorAll('tr.finding').forEach(function(r){"
	"var ok=r.textContent.toLowerCase().indexOf(q)!==-1;"
	"if(v){if(!r.classList.contains(v)){ok=false;}}"
	"r.style.display=ok?'':'none';if(ok){shown++;}});"
	"document.getElementById('shown').textContent=shown;}"
	"function hvpPreset(){var h=new URLSearchParams(location.hash.slice(1));"
	"if(h.get('q')){document.getElementById('q').value=h.get('q');}"
	"if(h.get('v')){document.getElementById('v').value=h.get('v');}hvpFilter();}"
	"window.addEventListener('DOMContentLoaded',hvpPreset);";

/* "as documented" -> "as-documented": a class name. */
static void class_name(FILE *out, const char *s)
{
	for (; *s; s++)
		fputc(*s == ' ' ? '-' : *s, out);
}

static void write_host(FILE *out, const struct hvp_report *r)
{
	const char *backend = r->host ? hvp_facts_get(r->host, "backend") : NULL;
	struct hvp_tally t;

	hvp_tally(r, &t);
	fputs("<h1>What ", out);
	hvp_xml_text(out, backend ? backend : "the hypervisor API");
	fputs(" allows on this host</h1>\n<p>Written by hvprobe ", out);
	hvp_xml_text(out, r->tool_version);
	fprintf(out, ". %u findings: %u as documented, %u deviate, %u undocumented, %u not checked%s.</p>\n", r->n,
		t.as_documented, t.deviates, t.undocumented, t.not_checked,
		r->interrupted ? "; the run was interrupted, later probes are missing" : "");
	fputs("<details><summary>Host</summary><table>\n", out);
	for (unsigned i = 0; r->host && i < r->host->n; i++) {
		fputs("<tr><th>", out);
		hvp_xml_text(out, r->host->fact[i].key);
		fputs("</th><td>", out);
		hvp_xml_text(out, r->host->fact[i].value);
		fputs("</td></tr>\n", out);
	}
	fputs("</table></details>\n", out);
}

static void write_evidence(FILE *out, const struct hvp_finding *f)
{
	if (f->n_evidence == 0 && f->n_guest == 0)
		return;
	fputs("<details><summary>evidence</summary><ol>", out);
	for (unsigned i = 0; i < f->n_evidence; i++) {
		const struct hvp_evidence *e = &f->evidence[i];
		fputs((int)i == f->decisive ? "<li><strong><code>" : "<li><code>", out);
		hvp_xml_text(out, e->call);
		fputs("</code> ", out);
		hvp_xml_text(out, e->errname);
		fputs(" ", out);
		hvp_xml_text(out, e->detail);
		fputs((int)i == f->decisive ? " (decisive)</strong></li>" : "</li>", out);
	}
	fputs("</ol>", out);
	for (unsigned i = 0; i < f->n_guest; i++) {
		fputs("guest: ", out);
		hvp_xml_text(out, f->guest[i].label);
		fprintf(out, " = <code>0x%" PRIx64 "</code><br/>", f->guest[i].value);
	}
	fputs("</details>", out);
}

/*
 * The samples as dots on a time axis (jittered vertically so that equal
 * values stay visible), with the median as a line and p99 dashed.
 */
static void write_plot(FILE *out, const struct hvp_bench *b)
{
	double lo = b->min, hi = b->max > b->min ? b->max : b->min + 1, w = PLOT_W - 2 * PLOT_PAD;
	char a[32], z[32];

	hvp_format_ns(a, sizeof(a), b->min);
	hvp_format_ns(z, sizeof(z), b->max);
	fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" role=\"img\">"
		     "<title>%u samples from %s to %s</title>", PLOT_W, PLOT_H, b->n, a, z);
	fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>", PLOT_PAD, PLOT_H - 16,
		PLOT_W - PLOT_PAD, PLOT_H - 16);
	for (unsigned i = 0; i < b->n && i < HVP_SAMPLES_MAX; i++)
		fprintf(out, "<circle cx=\"%.1f\" cy=\"%u\" r=\"2.5\" fill=\"#3465a4\" fill-opacity=\"0.6\"/>",
			PLOT_PAD + (b->sample[i] - lo) / (hi - lo) * w, 8 + (i * 7) % 32);
	fprintf(out, "<line x1=\"%.1f\" y1=\"4\" x2=\"%.1f\" y2=\"%d\" stroke=\"#c62828\" stroke-width=\"2\"/>",
		PLOT_PAD + (b->median - lo) / (hi - lo) * w, PLOT_PAD + (b->median - lo) / (hi - lo) * w, PLOT_H - 16);
	fprintf(out, "<line x1=\"%.1f\" y1=\"4\" x2=\"%.1f\" y2=\"%d\" stroke=\"#8a6d00\" stroke-dasharray=\"3 2\"/>",
		PLOT_PAD + (b->p99 - lo) / (hi - lo) * w, PLOT_PAD + (b->p99 - lo) / (hi - lo) * w, PLOT_H - 16);
	fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"11\">%s</text>", PLOT_PAD, PLOT_H - 3, a);
	fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">%s</text></svg>", PLOT_W - PLOT_PAD,
		PLOT_H - 3, z);
}

static void write_row(FILE *out, const struct hvp_report *r, const struct hvp_finding *f)
{
	const char *answer = hvp_answer_name(f->answer), *verdict = hvp_verdict_name(f->verdict);

	fputs("<tr class=\"finding ", out);
	class_name(out, verdict);
	fputs(" ", out);
	class_name(out, answer);
	fputs("\"><td><code>", out);
	hvp_xml_text(out, f->id);
	fprintf(out, "</code></td><td class=\"a\">%s</td><td class=\"v\">%s</td><td>", answer, verdict);
	hvp_xml_text(out, f->question);
	fputs("<br/><em>", out);
	hvp_xml_text(out, f->reason);
	fputs(f->guest_verified ? "</em> (proven by the guest)" : "</em>", out);
	if (f->citation[0]) {
		fputs("<br/>contract: ", out);
		hvp_xml_text(out, f->expected[0] ? f->expected : "silent");
		fputs(", ", out);
		hvp_xml_text(out, f->citation);
	}
	if (f->bench.present && f->answer == HVP_ANSWER_YES) {
		const char *speed = hvp_ring_speed(r, f->bench.ring);
		char med[32], p99[32];
		hvp_format_ns(med, sizeof(med), f->bench.median);
		hvp_format_ns(p99, sizeof(p99), f->bench.p99);
		fputs("<br/>", out);
		hvp_xml_text(out, f->bench.ring);
		fprintf(out, "%s%s: median %s, p99 %s per ", speed[0] ? ", " : "", speed, med, p99);
		hvp_xml_text(out, f->bench.per);
		fputs("<br/>", out);
		write_plot(out, &f->bench);
	}
	write_evidence(out, f);
	fputs("</td></tr>\n", out);
}

static void write_filters(FILE *out, const struct hvp_report *r)
{
	fprintf(out, "<div id=\"filters\"><input id=\"q\" type=\"search\" placeholder=\"filter: id, answer, words\" "
		     "oninput=\"hvpFilter()\"/> <select id=\"v\" onchange=\"hvpFilter()\"><option value=\"\">every "
		     "verdict</option><option value=\"deviates\">deviates</option><option value=\"as-documented\">as "
		     "documented</option><option value=\"undocumented\">undocumented</option><option "
		     "value=\"not-checked\">not checked</option></select> <span id=\"shown\">%u</span> shown</div>\n",
		r->n);
}

int hvp_report_html(FILE *out, const struct hvp_report *r)
{
	fputs("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\"><head><meta charset=\"utf-8\"/>"
	      "<title>hvprobe report</title>", out);
	fprintf(out, "<style>%s</style><script>%s</script></head><body>\n", style, script);
	write_host(out, r);
	write_filters(out, r);
	fputs("<table><thead><tr><th>probe</th><th>answer</th><th>verdict</th><th>question, answer, contract</th>"
	      "</tr></thead>\n", out);
	for (unsigned k = 0; hvp_topic(k); k++) {
		int shown = 0;
		for (unsigned i = 0; i < r->n; i++) {
			if (strcmp(hvp_topic_of(r->findings[i].id), hvp_topic(k)) != 0)
				continue;
			if (!shown++) {
				fputs("<tbody><tr><th colspan=\"4\"><h2>", out);
				hvp_xml_text(out, hvp_topic(k));
				fputs("</h2></th></tr>\n", out);
			}
			write_row(out, r, &r->findings[i]);
		}
		if (shown)
			fputs("</tbody>\n", out);
	}
	fputs("</table></body></html>\n", out);
	return ferror(out) ? -1 : 0;
}
