/* SPDX-License-Identifier: MIT */
/*
 * The guest CPU model written out: the JSON object of a report's host
 * block (docs/report-schema.json, host.cpu_model) and the text of
 * `hvprobe info --cpu`. 64-bit values are hex strings, as everywhere in
 * hvprobe's JSON.
 */
#include <inttypes.h>
#include <string.h>

#include "cpu_model.h"
#include "report.h"

static void json_features(FILE *out, const struct hvp_cpu_model *m)
{
	unsigned n, k = 0;
	const struct hvp_feature *t = hvp_model_features(m->arch, &n);

	fputs("\"features\":[", out);
	for (unsigned i = 0; i < n; i++)
		if (hvp_model_has(m, &t[i]))
			fprintf(out, "%s\"%s\"", k++ ? "," : "", t[i].name);
	fputs("]", out);
}

static void json_xsave(FILE *out, const struct hvp_cpu_model *m)
{
	struct hvp_xsave x;
	unsigned k = 0;

	hvp_model_xsave(m, &x);
	if (!x.present)
		return;
	fprintf(out, ",\"xsave\":{\"components\":\"0x%" PRIx64 "\",\"size_max\":%" PRIu32 ",\"names\":[", x.components,
		x.size_max);
	for (unsigned i = 0; i < 64; i++)
		if (x.components >> i & 1 && hvp_xsave_component(i))
			fprintf(out, "%s\"%s\"", k++ ? "," : "", hvp_xsave_component(i));
	fputs("]}", out);
}

static void json_cpuid(FILE *out, const struct hvp_cpu_model *m)
{
	fputs(",\"cpuid\":[", out);
	for (unsigned i = 0; i < m->n_cpuid; i++) {
		const struct hvp_model_cpuid *e = &m->cpuid[i];
		fprintf(out, "%s{\"leaf\":\"0x%" PRIx32 "\",\"subleaf\":\"0x%" PRIx32 "\",\"flags\":%" PRIu32
			",\"eax\":\"0x%" PRIx32 "\",\"ebx\":\"0x%" PRIx32 "\",\"ecx\":\"0x%" PRIx32 "\",\"edx\":\"0x%" PRIx32 "\"}",
			i ? "," : "", e->leaf, e->subleaf, e->flags, e->reg[0], e->reg[1], e->reg[2], e->reg[3]);
	}
	fputs("],\"msrs\":[", out);
	for (unsigned i = 0; i < m->n_msrs; i++)
		fprintf(out, "%s{\"index\":\"0x%" PRIx32 "\",\"value\":\"0x%" PRIx64 "\"}", i ? "," : "", m->msr[i].index,
			m->msr[i].value);
	fputs("]", out);
}

static void json_regs(FILE *out, const struct hvp_cpu_model *m)
{
	fputs(",\"id_registers\":[", out);
	for (unsigned i = 0; i < m->n_regs; i++) {
		const struct hvp_model_reg *r = &m->reg[i];
		const char *name = hvp_model_reg_name(r->enc);
		fprintf(out, "%s{\"name\":", i ? "," : "");
		hvp_json_string(out, name ? name : "");
		fprintf(out, ",\"encoding\":\"0x%04x\",\"value\":\"0x%" PRIx64 "\"", r->enc, r->value);
		if (m->has_writable)
			fprintf(out, ",\"writable\":\"0x%" PRIx64 "\"", r->writable);
		fputc('}', out);
	}
	fputs("]", out);
}

void hvp_model_json(FILE *out, const struct hvp_cpu_model *m)
{
	fputs("{\"arch\":", out);
	hvp_json_string(out, m->arch);
	fputs(",\"source\":", out);
	hvp_json_string(out, m->source);
	fputs(",\"note\":", out);
	hvp_json_string(out, m->note);
	fputc(',', out);
	json_features(out, m);
	if (strcmp(m->arch, "arm64") == 0) /* by its architecture: an arm64 model is ID registers, however many */
		json_regs(out, m);
	else {
		json_xsave(out, m);
		json_cpuid(out, m);
	}
	fputc('}', out);
}

/* The features the model offers (or lacks), wrapped. */
static void text_feature_names(FILE *out, const struct hvp_cpu_model *m, bool offered, const char *title)
{
	unsigned n, col = 0;
	const struct hvp_feature *t = hvp_model_features(m->arch, &n);

	fputs(title, out);
	for (unsigned i = 0; i < n; i++) {
		if (hvp_model_has(m, &t[i]) != offered)
			continue;
		if (col == 0 || col > 90) {
			fputs("\n ", out);
			col = 1;
		}
		fprintf(out, " %s", t[i].name);
		col += (unsigned)strlen(t[i].name) + 1;
	}
	fputc('\n', out);
}

static void text_x86(FILE *out, const struct hvp_cpu_model *m)
{
	struct hvp_xsave x;

	hvp_model_xsave(m, &x);
	if (x.present) {
		fprintf(out, "xsave: components 0x%" PRIx64 " (", x.components);
		for (unsigned i = 0, k = 0; i < 64; i++)
			if (x.components >> i & 1)
				fprintf(out, "%s%s", k++ ? " " : "", hvp_xsave_component(i) ? hvp_xsave_component(i) : "?");
		fprintf(out, "), largest area %" PRIu32 " bytes\n", x.size_max);
	}
	fprintf(out, "cpuid (%u entries):\n", m->n_cpuid);
	for (unsigned i = 0; i < m->n_cpuid; i++) {
		const struct hvp_model_cpuid *e = &m->cpuid[i];
		fprintf(out, "  0x%08" PRIx32 ".%-2" PRIu32 " eax=%08" PRIx32 " ebx=%08" PRIx32 " ecx=%08" PRIx32
			" edx=%08" PRIx32 "%s\n", e->leaf, e->subleaf, e->reg[0], e->reg[1], e->reg[2], e->reg[3],
			e->flags & 1 ? " (subleaf matters)" : "");
	}
	fprintf(out, "feature MSRs (%u):\n", m->n_msrs);
	for (unsigned i = 0; i < m->n_msrs; i++)
		fprintf(out, "  0x%08" PRIx32 " = 0x%016" PRIx64 "\n", m->msr[i].index, m->msr[i].value);
}

static void text_arm64(FILE *out, const struct hvp_cpu_model *m)
{
	fputs("ID registers:\n", out);
	for (unsigned i = 0; i < m->n_regs; i++) {
		const char *name = hvp_model_reg_name(m->reg[i].enc);
		fprintf(out, "  %-18s = 0x%016" PRIx64, name ? name : "?", m->reg[i].value);
		if (m->has_writable)
			fprintf(out, "  writable 0x%016" PRIx64, m->reg[i].writable);
		fputc('\n', out);
	}
}

void hvp_model_text(FILE *out, const struct hvp_cpu_model *m)
{
	fprintf(out, "guest CPU model (%s), from %s\n", m->arch, m->source);
	if (m->note[0])
		fprintf(out, "note: %s\n", m->note);
	text_feature_names(out, m, true, "features offered:");
	text_feature_names(out, m, false, "not offered (of those hvprobe names):");
	if (strcmp(m->arch, "arm64") == 0)
		text_arm64(out, m);
	else
		text_x86(out, m);
}
