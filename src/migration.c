/* SPDX-License-Identifier: MIT */
#include "migration.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "cpu_model.h"
#include "report.h"

/*
 * The probes whose yes a VMM builds on: the CPU model applied as set, the
 * guest's clock, memory features a VMM uses for live migration and backing
 * (dirty log, read-only slots, shared and memfd memory), kicks, and arm64's
 * MMIO without a syndrome. Not how fast guest code runs (exec.native_*): a
 * guest runs either way.
 */
static const char *const vmm_probes[] = {
	"cpu.model", "cpu.cpuid_applied_cpl0", "cpu.cpuid_applied_cpl3", "cpu.msr_applied", "time.tsc_rate",
	"time.tsc_offset", "mem.dirty_log", "mem.readonly",
	"mem.backing_shared", "mem.backing_memfd", "mem.backing_hugepages", "vcpu.kick", "arm64.nisv",
	"fork.fd_passed",
};

__attribute__((format(printf, 3, 4)))
static void add(struct hvp_migration *m, const char *kind, const char *fmt, ...)
{
	va_list ap;

	if (m->n == HVP_MIGRATION_ITEMS_MAX) {
		m->omitted++;
		return;
	}
	m->item[m->n].kind = kind;
	va_start(ap, fmt);
	vsnprintf(m->item[m->n].what, sizeof(m->item[m->n].what), fmt, ap);
	va_end(ap);
	m->n++;
}

/* Something the destination's report cannot tell, for the reason of an unknown verdict. */
__attribute__((format(printf, 2, 3)))
static void undecided(struct hvp_migration *m, const char *fmt, ...)
{
	size_t len = strlen(m->undecided);
	va_list ap;

	if (len + 3 >= sizeof(m->undecided))
		return;
	if (len)
		len += (size_t)snprintf(m->undecided + len, sizeof(m->undecided) - len, ", ");
	va_start(ap, fmt);
	vsnprintf(m->undecided + len, sizeof(m->undecided) - len, fmt, ap);
	va_end(ap);
}

static const char *const reg_names[4] = { "eax", "ebx", "ecx", "edx" };

/* XSAVE state: every component the source offers, and an area at least as large. */
static void xsave_shortfalls(const struct hvp_cpu_model *a, const struct hvp_cpu_model *b, struct hvp_migration *m)
{
	struct hvp_xsave xa, xb;
	uint64_t lacking;

	hvp_model_xsave(a, &xa);
	hvp_model_xsave(b, &xb);
	if (!xa.present)
		return;
	lacking = xa.components & ~xb.components;
	for (unsigned i = 0; i < 64; i++)
		if (lacking >> i & 1)
			add(m, "xsave", "XSAVE state component %u (%s)", i,
			    hvp_xsave_component(i) ? hvp_xsave_component(i) : "unnamed");
	if (xa.size_max > xb.size_max)
		add(m, "xsave", "XSAVE area: %" PRIu32 " bytes on the source, %" PRIu32 " on the destination", xa.size_max,
		    xb.size_max);
}

/* IA32_ARCH_CAPABILITIES: bits that say the CPU is not affected by a flaw, which a guest then stops mitigating. */
#define MSR_ARCH_CAPABILITIES 0x10a

static void msr_shortfalls(const struct hvp_cpu_model *a, const struct hvp_cpu_model *b, struct hvp_migration *m)
{
	/* No feature MSRs at all, with the note why (cpu_model.h): the destination's API did not say, not "none". */
	if (a->n_msrs && !b->n_msrs && b->note[0]) {
		undecided(m, "its feature MSRs (its model could not read them)");
		return;
	}
	for (unsigned i = 0; i < a->n_msrs; i++) {
		const struct hvp_model_msr *x = &a->msr[i], *y = hvp_model_msr_find(b, x->index);
		if (!y)
			add(m, "msr", "feature MSR 0x%" PRIx32 " (the destination does not offer it)", x->index);
		else if (x->index == MSR_ARCH_CAPABILITIES && (x->value & ~y->value))
			add(m, "msr", "IA32_ARCH_CAPABILITIES (MSR 0x10a) bits 0x%" PRIx64, x->value & ~y->value);
	}
}

static void x86_shortfalls(const struct hvp_cpu_model *a, const struct hvp_cpu_model *b, struct hvp_migration *m)
{
	for (unsigned w = 0; w < hvp_n_feature_words; w++) {
		const struct hvp_feature_word *fw = &hvp_feature_words[w];
		uint32_t lacking = hvp_model_word(a, fw) & ~hvp_model_word(b, fw);
		if (fw->leaf == 0xd && fw->subleaf == 0)
			continue; /* the XSAVE components, named below */
		for (unsigned bit = 0; bit < 32; bit++) {
			const struct hvp_feature *f;
			if (!(lacking >> bit & 1))
				continue;
			if ((f = hvp_model_feature_at(fw->leaf, fw->subleaf, fw->reg, bit)))
				add(m, "feature", "%s", f->name);
			else
				add(m, "feature", "CPUID 0x%" PRIx32 ".%" PRIu32 " %s bit %u", fw->leaf, fw->subleaf,
				    reg_names[fw->reg], bit);
		}
	}
	xsave_shortfalls(a, b, m);
	msr_shortfalls(a, b, m);
}

/* The named features a field's values va > vb separate, "lse sha512", or "" when none has a name. */
static void field_names(uint16_t enc, unsigned shift, int va, int vb, char *buf, size_t size)
{
	unsigned n;
	const struct hvp_feature *t = hvp_model_features("arm64", &n);
	size_t len = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < n && len < size; i++)
		if (t[i].sysreg == enc && (t[i].shift == shift || (t[i].or_shift && t[i].or_shift == shift)) &&
		    t[i].min <= va && t[i].min > vb)
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? " " : "", t[i].name);
}

/* Every 4-bit field of every ID register: the destination's at least the source's (the same, where values are no scale). */
static void arm64_shortfalls(const struct hvp_cpu_model *a, const struct hvp_cpu_model *b, struct hvp_migration *m)
{
	for (unsigned i = 0; i < a->n_regs; i++) {
		const struct hvp_model_reg *x = &a->reg[i], *y = hvp_model_reg_find(b, x->enc);
		const char *name = hvp_model_reg_name(x->enc);
		if (!y) {
			add(m, "feature", "%s (the destination's model has no such register)", name ? name : "ID register");
			continue;
		}
		for (unsigned shift = 0; shift < 64; shift += 4) {
			bool sg = hvp_model_field_signed(x->enc, shift);
			int va = hvp_model_field(x->value, shift, sg), vb = hvp_model_field(y->value, shift, sg);
			char names[64];
			if (hvp_model_field_unordered(x->enc, shift, va, vb) ? va == vb : va <= vb)
				continue;
			field_names(x->enc, shift, va, vb, names, sizeof(names));
			add(m, "feature", "%s%s%s[%u:%u] is %d on the source, %d on the destination", names,
			    names[0] ? ": " : "", name ? name : "?", shift + 3, shift, va, vb);
		}
	}
}

static const struct hvp_read_finding *finding(const struct hvp_read_report *r, const char *id)
{
	for (unsigned i = 0; i < r->n; i++)
		if (strcmp(r->findings[i].id, id) == 0)
			return &r->findings[i];
	return NULL;
}

/*
 * A yes on the source the destination answered no or skipped (its reason
 * says what it lacks) is a shortfall. One the destination crashed on, hung
 * on or did not run says nothing of the host: it is undecided instead.
 */
static void probe_shortfalls(const struct hvp_read_report *from, const struct hvp_read_report *to,
			     struct hvp_migration *m)
{
	for (unsigned i = 0; i < sizeof(vmm_probes) / sizeof(vmm_probes[0]); i++) {
		const struct hvp_read_finding *a = finding(from, vmm_probes[i]), *b = finding(to, vmm_probes[i]);
		if (!a || a->answer != HVP_ANSWER_YES || (b && b->answer == HVP_ANSWER_YES))
			continue;
		if (b && (b->answer == HVP_ANSWER_NO || b->answer == HVP_ANSWER_SKIPPED))
			add(m, "probe", "%s: yes on the source, %s on the destination", vmm_probes[i],
			    hvp_answer_name(b->answer));
		else
			undecided(m, "%s (%s)", vmm_probes[i], b ? hvp_answer_name(b->answer) : "not run");
	}
}

void hvp_migration_compute(const struct hvp_read_report *from, const struct hvp_read_report *to,
			   struct hvp_migration *out)
{
	const struct hvp_cpu_model *a = from->cpu_model, *b = to->cpu_model;

	memset(out, 0, sizeof(*out));
	if (!a || !b) {
		snprintf(out->reason, sizeof(out->reason), "the %s report has no guest CPU model (host.cpu_model): "
			 "write it again with this hvprobe", !a ? "source" : "destination");
		return;
	}
	if (strcmp(a->arch, b->arch) != 0) {
		add(out, "arch", "the source is %s, the destination %s", a->arch, b->arch);
		out->verdict = HVP_MIGRATION_INCOMPATIBLE;
		return;
	}
	if (strcmp(a->arch, "arm64") == 0)
		arm64_shortfalls(a, b, out);
	else
		x86_shortfalls(a, b, out);
	probe_shortfalls(from, to, out);
	if (out->n || out->omitted)
		out->verdict = HVP_MIGRATION_INCOMPATIBLE;
	else if (out->undecided[0])
		snprintf(out->reason, sizeof(out->reason), "nothing the destination's report shows is lacking, but it "
			 "cannot tell of %s (a probe that did not answer may when run again)", out->undecided);
	else
		out->verdict = HVP_MIGRATION_COMPATIBLE;
}

const char *hvp_migration_verdict_name(enum hvp_migration_verdict v)
{
	switch (v) {
	case HVP_MIGRATION_COMPATIBLE: return "compatible";
	case HVP_MIGRATION_INCOMPATIBLE: return "incompatible";
	default: return "unknown";
	}
}

void hvp_migration_text(FILE *out, const struct hvp_migration *m, const char *from, const char *to)
{
	fprintf(out, "migration %s -> %s: %s", from, to, hvp_migration_verdict_name(m->verdict));
	if (m->verdict == HVP_MIGRATION_UNKNOWN)
		fprintf(out, " (%s)\n", m->reason);
	else if (m->verdict == HVP_MIGRATION_COMPATIBLE)
		fputs(" (a guest given the source's full CPU model can run on the destination)\n", out);
	else
		fprintf(out, " (the destination lacks %u thing%s the source offers)\n", m->n + m->omitted,
			m->n + m->omitted == 1 ? "" : "s");
	for (unsigned i = 0; i < m->n; i++)
		fprintf(out, "  lacks %-8s %s\n", m->item[i].kind, m->item[i].what);
	if (m->omitted)
		fprintf(out, "  and %u more\n", m->omitted);
}

void hvp_migration_json(FILE *out, const struct hvp_migration *m)
{
	fprintf(out, "\"migration\":{\"verdict\":\"%s\",\"reason\":", hvp_migration_verdict_name(m->verdict));
	hvp_json_string(out, m->reason);
	fprintf(out, ",\"omitted\":%u,\"lacking\":[", m->omitted);
	for (unsigned i = 0; i < m->n; i++) {
		fprintf(out, "%s{\"kind\":\"%s\",\"what\":", i ? "," : "", m->item[i].kind);
		hvp_json_string(out, m->item[i].what);
		fputc('}', out);
	}
	fputs("]}", out);
}
