/* SPDX-License-Identifier: MIT */
/*
 * The guest CPU model off the host: it reads back from a report as it was
 * written; `hvprobe diff` names what a destination lacks for a migration
 * (a feature removed, a smaller XSAVE area, a probe's yes gone, an ID
 * register field lower) and finds nothing between a report and itself;
 * `hvprobe baseline` writes a template that holds exactly the fields and
 * forms of Firecracker's documented custom CPU template format
 * (docs/cpu_templates/cpu-templates.md and schema.json in Firecracker),
 * checked by a checker of that format whose every rule is shown to refuse
 * a template that breaks it.
 */
#include <json-c/json.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "cpu_model.h"
#include "diff.h"
#include "report.h"
#include "report_read.h"
#include "tap.h"

/* An x86_64 model: AMD, with avx2 (7.0 ebx bit 5), sse4_2, an XSAVE area with AVX-512 state, ARCH_CAPABILITIES. */
static void x86_model(struct hvp_cpu_model *m)
{
	memset(m, 0, sizeof(*m));
	m->present = true;
	strcpy(m->arch, "x86_64");
	strcpy(m->source, "test");
	m->cpuid[m->n_cpuid++] = (struct hvp_model_cpuid){ 0, 0, 0, { 0xd, 0x68747541, 0x444d4163, 0x69746e65 } };
	m->cpuid[m->n_cpuid++] = (struct hvp_model_cpuid){ 1, 0, 0, { 0xa10f11, 0x800, 0x80302209 | 1u << 20, 0x078bfbff } };
	m->cpuid[m->n_cpuid++] = (struct hvp_model_cpuid){ 7, 0, 1, { 0, 0xf1bf03ab, 0x405f46, 0x10 } };
	m->cpuid[m->n_cpuid++] = (struct hvp_model_cpuid){ 0xd, 0, 1, { 0xe7, 0x980, 0x980, 0 } };
	m->msr[m->n_msrs++] = (struct hvp_model_msr){ 0x10a, 0x2000000e9 };
}

/* An arm64 model with LSE atomics (ISAR0.Atomics 2) and CSV2 1. */
static void arm64_model(struct hvp_cpu_model *m)
{
	memset(m, 0, sizeof(*m));
	m->present = true;
	strcpy(m->arch, "arm64");
	strcpy(m->source, "test");
	strcpy(m->note, "no writable masks");
	for (unsigned i = 0; i < hvp_model_n_id_regs; i++)
		m->reg[m->n_regs++] = (struct hvp_model_reg){ .enc = hvp_model_id_regs[i] };
	m->reg[0].value = UINT64_C(1) << 56 | 0x11;            /* PFR0: CSV2, EL0 and EL1 AArch64 */
	m->reg[4].value = UINT64_C(2) << 20 | UINT64_C(1) << 16; /* ISAR0: atomics 2, crc32 1 */
}

/* The report hvprobe writes with this model and one finding (cpu.model answered a). */
static char *write_report(const struct hvp_cpu_model *m, enum hvp_answer a)
{
	struct hvp_facts facts = { 0 };
	struct hvp_finding f;
	struct hvp_report r = { .tool_version = "9.9", .host = &facts, .findings = &f, .n = 1, .cpu_model = m };
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	hvp_finding_init(&f, "cpu.model", "Model?");
	hvp_finding_answer(&f, a, "test");
	hvp_facts_add(&facts, "backend", "kvm");
	hvp_facts_add(&facts, "arch", "%s", m->arch);
	hvp_report_json(out, &r);
	fclose(out);
	return buf;
}

static int read_back(const char *json, struct hvp_read_report *r)
{
	char err[512];

	if (hvp_report_read("t.json", json, strlen(json), r, err, sizeof(err)) == 0)
		return 1;
	printf("# %s\n", err);
	return 0;
}

static void test_round_trip(struct tap *t)
{
	struct hvp_cpu_model a, b;
	struct hvp_read_report r;
	char *json;

	x86_model(&a);
	json = write_report(&a, HVP_ANSWER_YES);
	ok(t, strstr(json, "\"cpu_model\":{\"arch\":\"x86_64\"") && strstr(json, "\"avx2\"") &&
		      strstr(json, "\"size_max\":2432") && strstr(json, "\"zmm_hi256\""),
	   "the report's host block holds the model with its named features and XSAVE state");
	if (ok(t, read_back(json, &r) && r.cpu_model, "an x86_64 model reads back")) {
		ok(t, r.cpu_model->n_cpuid == a.n_cpuid && !memcmp(r.cpu_model->cpuid, a.cpuid, sizeof(a.cpuid[0]) * a.n_cpuid) &&
			      r.cpu_model->n_msrs == 1 && r.cpu_model->msr[0].value == a.msr[0].value,
		   "every CPUID entry (flags included) and MSR comes back as it was");
		hvp_report_read_free(&r);
	}
	free(json);
	arm64_model(&b);
	json = write_report(&b, HVP_ANSWER_YES);
	ok(t, strstr(json, "\"lse\"") && strstr(json, "\"csv2\"") && strstr(json, "ID_AA64ISAR0_EL1"),
	   "an arm64 model names its features and registers");
	if (ok(t, read_back(json, &r) && r.cpu_model, "an arm64 model reads back")) {
		ok(t, r.cpu_model->n_regs == b.n_regs && r.cpu_model->reg[4].value == b.reg[4].value &&
			      !r.cpu_model->has_writable, "its ID registers come back, without writable masks it did not have");
		hvp_report_read_free(&r);
	}
	free(json);
}

static void test_model_refusals(struct tap *t)
{
	struct hvp_cpu_model a;
	struct hvp_read_report r;
	char *json, *p, err[512];

	x86_model(&a);
	json = write_report(&a, HVP_ANSWER_YES);
	p = strstr(json, "\"leaf\":\"0x7\"");
	memcpy(p, "\"leaf\":\"zz7\"", 12);
	ok(t, hvp_report_read("bad.json", json, strlen(json), &r, err, sizeof(err)) != 0 &&
		      strstr(err, "bad.json: .host.cpu_model.cpuid[2]: member \"leaf\" is \"zz7\", not a hex number"),
	   "a CPUID leaf that is no hex number is refused with its place: %s", err);
	free(json);
	a.n_cpuid = 0;
	json = write_report(&a, HVP_ANSWER_YES);
	ok(t, hvp_report_read("empty.json", json, strlen(json), &r, err, sizeof(err)) != 0 &&
		      strstr(err, ".host.cpu_model: member \"cpuid\" is empty"),
	   "an x86_64 model with no CPUID leaves is refused, not read as offering nothing: %s", err);
	free(json);
	arm64_model(&a);
	a.n_regs = 0;
	json = write_report(&a, HVP_ANSWER_YES);
	ok(t, strstr(json, "\"id_registers\":[]") && !strstr(json, "\"cpuid\""),
	   "an arm64 model is written as ID registers even with none");
	ok(t, hvp_report_read("empty.json", json, strlen(json), &r, err, sizeof(err)) != 0 &&
		      strstr(err, ".host.cpu_model: member \"id_registers\" is empty"),
	   "and refused when read back, naming why: %s", err);
	free(json);
}

/* diff's migration verdict from a to b, with what b lacks in one line. */
static enum hvp_migration_verdict migrate(const char *a, const char *b, char *lacks, size_t size)
{
	struct hvp_read_report ra, rb;
	struct hvp_diff d;
	enum hvp_migration_verdict v = HVP_MIGRATION_UNKNOWN;

	lacks[0] = '\0';
	if (!read_back(a, &ra))
		return v;
	if (read_back(b, &rb)) {
		if (hvp_diff_compute(&ra, "a.json", &rb, "b.json", &d) == 0) {
			v = d.migration.verdict;
			for (unsigned i = 0; i < d.migration.n; i++)
				snprintf(lacks + strlen(lacks), size - strlen(lacks), "%s: %s; ", d.migration.item[i].kind,
					 d.migration.item[i].what);
			if (d.migration.reason[0])
				snprintf(lacks + strlen(lacks), size - strlen(lacks), "reason: %s", d.migration.reason);
			hvp_diff_free(&d);
		}
		hvp_report_read_free(&rb);
	}
	hvp_report_read_free(&ra);
	return v;
}

static void test_migration(struct tap *t)
{
	struct hvp_cpu_model a, b;
	char *ja, *jb, *jc, lacks[2048];

	x86_model(&a);
	b = a;
	b.cpuid[2].reg[1] &= ~(1u << 5);   /* no avx2 */
	b.cpuid[3].reg[0] &= ~(1u << 6);   /* no zmm_hi256 state */
	b.cpuid[3].reg[2] = 0x340;         /* a smaller XSAVE area */
	ja = write_report(&a, HVP_ANSWER_YES);
	jb = write_report(&b, HVP_ANSWER_NO);
	ok(t, migrate(ja, ja, lacks, sizeof(lacks)) == HVP_MIGRATION_COMPATIBLE && !lacks[0],
	   "a report and itself: compatible, nothing lacking");
	ok(t, migrate(ja, jb, lacks, sizeof(lacks)) == HVP_MIGRATION_INCOMPATIBLE, "a feature removed: incompatible");
	ok(t, strstr(lacks, "feature: avx2;") != NULL, "it names the feature the destination lacks: %s", lacks);
	ok(t, strstr(lacks, "xsave: XSAVE state component 6 (zmm_hi256)") != NULL, "and the XSAVE state component");
	ok(t, strstr(lacks, "xsave: XSAVE area: 2432 bytes on the source, 832 on the destination") != NULL,
	   "and the larger XSAVE area");
	ok(t, strstr(lacks, "probe: cpu.model: yes on the source, no on the destination") != NULL,
	   "and the probe answer a VMM relies on");
	ok(t, migrate(jb, ja, lacks, sizeof(lacks)) == HVP_MIGRATION_COMPATIBLE,
	   "the other way, to the host that offers more: compatible (%s)", lacks);
	free(jb);
	jb = write_report(&a, HVP_ANSWER_CRASHED);
	ok(t, migrate(ja, jb, lacks, sizeof(lacks)) == HVP_MIGRATION_UNKNOWN &&
		      strstr(lacks, "reason: nothing the destination's report shows is lacking, but it cannot tell of "
			     "cpu.model (crashed)"),
	   "a probe that crashed on the destination, nothing else lacking: unknown, not incompatible: %s", lacks);
	free(jb);
	b = a;
	b.cpuid[2].reg[1] &= ~(1u << 5);
	jb = write_report(&b, HVP_ANSWER_CRASHED);
	ok(t, migrate(ja, jb, lacks, sizeof(lacks)) == HVP_MIGRATION_INCOMPATIBLE && strstr(lacks, "feature: avx2;") &&
		      !strstr(lacks, "probe:"),
	   "with a feature lacking too: incompatible by the feature alone (%s)", lacks);
	free(jb);
	b = a;
	b.n_msrs = 0;
	strcpy(b.note, "no feature MSRs: KVM_CAP_GET_MSR_FEATURES is absent");
	jb = write_report(&b, HVP_ANSWER_YES);
	ok(t, migrate(ja, jb, lacks, sizeof(lacks)) == HVP_MIGRATION_UNKNOWN && strstr(lacks, "its feature MSRs") &&
		      !strstr(lacks, "msr:"),
	   "a destination whose model could not read its feature MSRs: unknown, not lacking them: %s", lacks);
	free(jb);
	b = a;
	b.msr[0].value &= ~UINT64_C(0x20);
	jb = write_report(&b, HVP_ANSWER_YES);
	ok(t, migrate(ja, jb, lacks, sizeof(lacks)) == HVP_MIGRATION_INCOMPATIBLE &&
		      strstr(lacks, "IA32_ARCH_CAPABILITIES (MSR 0x10a) bits 0x20"), "an ARCH_CAPABILITIES bit lacking is named: %s",
	   lacks);
	arm64_model(&b);
	jc = write_report(&b, HVP_ANSWER_YES);
	ok(t, migrate(ja, jc, lacks, sizeof(lacks)) == HVP_MIGRATION_INCOMPATIBLE && strstr(lacks, "x86_64") &&
		      strstr(lacks, "arm64"), "across architectures: incompatible, saying so");
	free(jb);
	free(ja);
	arm64_model(&a);
	b.reg[4].value = UINT64_C(1) << 16; /* no atomics */
	ja = write_report(&a, HVP_ANSWER_YES);
	jb = write_report(&b, HVP_ANSWER_YES);
	ok(t, migrate(ja, jb, lacks, sizeof(lacks)) == HVP_MIGRATION_INCOMPATIBLE &&
		      strstr(lacks, "feature: lse: ID_AA64ISAR0_EL1[23:20] is 2 on the source, 0 on the destination"),
	   "arm64: a lower ID register field is named with its feature: %s", lacks);
	free(ja);
	free(jb);
	free(jc);
	/* Fields whose values are no scale: a higher value there is not more. */
	arm64_model(&a);
	b = a;
	a.reg[7].value = 0;                    /* MMFR0.TGran4_2 0: stage 2 as stage 1 says */
	b.reg[7].value = UINT64_C(1) << 40;    /* 1: 4 KiB granules not supported at stage 2 */
	ja = write_report(&a, HVP_ANSWER_YES);
	jb = write_report(&b, HVP_ANSWER_YES);
	ok(t, migrate(ja, jb, lacks, sizeof(lacks)) == HVP_MIGRATION_INCOMPATIBLE &&
		      strstr(lacks, "ID_AA64MMFR0_EL1[43:40] is 0 on the source, 1 on the destination"),
	   "arm64: TGran4_2 0 to 1 (supported as stage 1 to not supported) is no upgrade: %s", lacks);
	free(ja);
	free(jb);
	a.reg[7].value = b.reg[7].value = 0;
	a.reg[3].value = UINT64_C(1) << 8;     /* DFR0.PMUVer 1: PMUv3 */
	b.reg[3].value = UINT64_C(0xf) << 8;   /* 0xf: an implementation's own PMU */
	ja = write_report(&a, HVP_ANSWER_YES);
	jb = write_report(&b, HVP_ANSWER_YES);
	ok(t, migrate(ja, jb, lacks, sizeof(lacks)) == HVP_MIGRATION_INCOMPATIBLE &&
		      strstr(lacks, "ID_AA64DFR0_EL1[11:8] is 1 on the source, 15 on the destination"),
	   "arm64: PMUVer 0xf is no newer PMU than PMUv3: %s", lacks);
	free(jb);
	jb = write_report(&a, HVP_ANSWER_YES);
	ok(t, migrate(ja, jb, lacks, sizeof(lacks)) == HVP_MIGRATION_COMPATIBLE, "arm64: the same values are compatible");
	free(ja);
	free(jb);
	ja = strdup("{\"schema_version\":1,\"tool\":{\"name\":\"hvprobe\",\"version\":\"1\"},\"findings\":[]}");
	ok(t, migrate(ja, ja, lacks, sizeof(lacks)) == HVP_MIGRATION_UNKNOWN, "reports without a model: unknown");
	free(ja);
}

/* --- Firecracker's custom CPU template format, as documented --- */

static int matches(const char *s, const char *pattern)
{
	regex_t re;
	int r;

	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB))
		return 0;
	r = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return r;
}

/* Object o has exactly the keys named (a NULL-ended list), each of the JSON type given. */
static int exact_keys(json_object *o, const char *const *keys, const json_type *types, char *why, size_t size)
{
	unsigned n = 0;

	if (!json_object_is_type(o, json_type_object))
		return snprintf(why, size, "not an object"), 0;
	for (; keys[n]; n++) {
		json_object *v;
		if (!json_object_object_get_ex(o, keys[n], &v) || !json_object_is_type(v, types[n]))
			return snprintf(why, size, "\"%s\" missing or not a %s", keys[n], json_type_to_name(types[n])), 0;
	}
	if ((unsigned)json_object_object_length(o) != n)
		return snprintf(why, size, "a member the format does not document"), 0;
	return 1;
}

/* A string containing an integer, as the format's leaf, subleaf and addr are ("0x1"). */
#define INTEGER_STRING "^(0x[0-9a-fA-F]+|[0-9]+)$"

static int each(json_object *a, int (*check)(json_object *, char *, size_t), char *why, size_t size)
{
	for (size_t i = 0; i < json_object_array_length(a); i++)
		if (!check(json_object_array_get_idx(a, i), why, size))
			return 0;
	return 1;
}

static int register_modifier(json_object *o, char *why, size_t size)
{
	static const char *const keys[] = { "register", "bitmap", NULL };
	static const json_type types[] = { json_type_string, json_type_string };

	if (!exact_keys(o, keys, types, why, size))
		return 0;
	if (!matches(json_object_get_string(json_object_object_get(o, "register")), "^(eax|ebx|ecx|edx)$"))
		return snprintf(why, size, "register is not eax, ebx, ecx or edx"), 0;
	if (!matches(json_object_get_string(json_object_object_get(o, "bitmap")), "^0b[01x]{32}$"))
		return snprintf(why, size, "a CPUID bitmap is not 0b[01x]{32}"), 0;
	return 1;
}

static int cpuid_modifier(json_object *o, char *why, size_t size)
{
	static const char *const keys[] = { "leaf", "subleaf", "flags", "modifiers", NULL };
	static const json_type types[] = { json_type_string, json_type_string, json_type_int, json_type_array };

	if (!exact_keys(o, keys, types, why, size))
		return 0;
	if (!matches(json_object_get_string(json_object_object_get(o, "leaf")), INTEGER_STRING) ||
	    !matches(json_object_get_string(json_object_object_get(o, "subleaf")), INTEGER_STRING))
		return snprintf(why, size, "leaf or subleaf is not a string containing an integer"), 0;
	return each(json_object_object_get(o, "modifiers"), register_modifier, why, size);
}

static int addr_bitmap(json_object *o, const char *bitmap_re, char *why, size_t size)
{
	static const char *const keys[] = { "addr", "bitmap", NULL };
	static const json_type types[] = { json_type_string, json_type_string };

	if (!exact_keys(o, keys, types, why, size))
		return 0;
	if (!matches(json_object_get_string(json_object_object_get(o, "addr")), INTEGER_STRING))
		return snprintf(why, size, "addr is not a string containing an integer"), 0;
	if (!matches(json_object_get_string(json_object_object_get(o, "bitmap")), bitmap_re))
		return snprintf(why, size, "bitmap is not %s", bitmap_re), 0;
	return 1;
}

static int msr_modifier(json_object *o, char *why, size_t size)
{
	return addr_bitmap(o, "^0b[01x]{64}$", why, size);
}

/* ARM registers: up to 128 bits; a shorter (contracted) bitmap has its missing high characters x. */
static int reg_modifier(json_object *o, char *why, size_t size)
{
	return addr_bitmap(o, "^0b[01x]{1,128}$", why, size);
}

/* The template as the format documents it for arch: its members and nothing else. */
static int firecracker_template(const char *text, const char *arch, char *why, size_t size)
{
	static const char *const x86_keys[] = { "cpuid_modifiers", "msr_modifiers", NULL };
	static const json_type x86_types[] = { json_type_array, json_type_array };
	static const char *const arm_keys[] = { "reg_modifiers", NULL };
	static const json_type arm_types[] = { json_type_array };
	json_object *o = json_tokener_parse(text);
	int good;

	if (!o)
		return snprintf(why, size, "not JSON"), 0;
	if (strcmp(arch, "x86_64") == 0)
		good = exact_keys(o, x86_keys, x86_types, why, size) &&
		       each(json_object_object_get(o, "cpuid_modifiers"), cpuid_modifier, why, size) &&
		       each(json_object_object_get(o, "msr_modifiers"), msr_modifier, why, size);
	else
		good = exact_keys(o, arm_keys, arm_types, why, size) &&
		       each(json_object_object_get(o, "reg_modifiers"), reg_modifier, why, size);
	json_object_put(o);
	return good;
}

/* The template baseline writes for reports a and b (NULL on a refusal, err then says why). */
static char *baseline(const char *a, const char *b, char *err, size_t size)
{
	struct hvp_read_report r[2];
	const char *names[2] = { "a.json", "b.json" };
	char *buf = NULL, note[512];
	size_t len = 0;
	FILE *out;
	int rc;

	if (!read_back(a, &r[0]))
		return NULL;
	if (!read_back(b, &r[1])) {
		hvp_report_read_free(&r[0]);
		return NULL;
	}
	out = open_memstream(&buf, &len);
	rc = hvp_baseline_write(out, r, names, 2, err, size, note, sizeof(note));
	fclose(out);
	hvp_report_read_free(&r[0]);
	hvp_report_read_free(&r[1]);
	if (rc) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void test_checker_refuses(struct tap *t)
{
	static const struct {
		const char *arch, *json, *what;
	} bad[] = {
		{ "x86_64", "{\"cpuid_modifiers\":[]}", "msr_modifiers missing" },
		{ "x86_64", "{\"cpuid_modifiers\":[],\"msr_modifiers\":[],\"extra\":1}", "an undocumented member" },
		{ "x86_64", "{\"cpuid_modifiers\":[{\"leaf\":\"0x7\",\"subleaf\":\"0x0\",\"flags\":\"1\",\"modifiers\":[]}],"
			    "\"msr_modifiers\":[]}", "flags as a string" },
		{ "x86_64", "{\"cpuid_modifiers\":[{\"leaf\":7,\"subleaf\":\"0x0\",\"flags\":1,\"modifiers\":[]}],"
			    "\"msr_modifiers\":[]}", "a leaf as a number" },
		{ "x86_64", "{\"cpuid_modifiers\":[{\"leaf\":\"seven\",\"subleaf\":\"0x0\",\"flags\":1,\"modifiers\":[]}],"
			    "\"msr_modifiers\":[]}", "a leaf that holds no integer" },
		{ "x86_64", "{\"cpuid_modifiers\":[{\"leaf\":\"0x7\",\"subleaf\":\"0x0\",\"flags\":1,\"modifiers\":"
			    "[{\"register\":\"rax\",\"bitmap\":\"0bxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}]}],\"msr_modifiers\":[]}",
		  "a register that is not eax..edx" },
		{ "x86_64", "{\"cpuid_modifiers\":[{\"leaf\":\"0x7\",\"subleaf\":\"0x0\",\"flags\":1,\"modifiers\":"
			    "[{\"register\":\"ebx\",\"bitmap\":\"0bxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}]}],\"msr_modifiers\":[]}",
		  "a CPUID bitmap of 31 bits" },
		{ "x86_64", "{\"cpuid_modifiers\":[{\"leaf\":\"0x7\",\"subleaf\":\"0x0\",\"flags\":1,\"modifiers\":"
			    "[{\"register\":\"ebx\",\"bitmap\":\"0bxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx2\"}]}],\"msr_modifiers\":[]}",
		  "a bitmap character other than 0, 1, x" },
		{ "x86_64", "{\"cpuid_modifiers\":[],\"msr_modifiers\":[{\"addr\":\"0x10a\",\"bitmap\":\"0b0\"}]}",
		  "an MSR bitmap that is not 64 bits" },
		{ "x86_64", "{\"cpuid_modifiers\":[],\"msr_modifiers\":[{\"addr\":\"0x10a\"}]}", "an MSR without bitmap" },
		{ "arm64", "{\"reg_modifiers\":[{\"addr\":\"0x603000000013c020\",\"bitmap\":\"0x0\"}]}",
		  "a register bitmap not in 0b form" },
		{ "arm64", "{\"cpuid_modifiers\":[],\"reg_modifiers\":[]}", "an x86 member in an aarch64 template" },
		{ "arm64", "not json", "text that is not JSON" },
	};
	char why[160];

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		ok(t, !firecracker_template(bad[i].json, bad[i].arch, why, sizeof(why)),
		   "the format checker refuses %s (%s)", bad[i].what, why);
	}
}

static void test_baseline(struct tap *t)
{
	struct hvp_cpu_model a, b;
	char *ja, *jb, *tpl, err[512], why[160] = "";
	const char *p;

	x86_model(&a);
	b = a;
	b.cpuid[2].reg[1] &= ~(1u << 5);
	b.msr[0].value &= ~UINT64_C(0x20);
	ja = write_report(&a, HVP_ANSWER_YES);
	jb = write_report(&b, HVP_ANSWER_YES);
	tpl = baseline(ja, jb, err, sizeof(err));
	if (ok(t, tpl != NULL, "baseline of two x86_64 reports")) {
		ok(t, firecracker_template(tpl, "x86_64", why, sizeof(why)),
		   "it holds exactly the fields and forms Firecracker documents (%s)", why);
		p = strstr(tpl, "\"leaf\": \"0x7\"");
		ok(t, p && strstr(p, "\"register\": \"ebx\", \"bitmap\": \"0bxxxxxxxxxxxxxxxxxxxxxxxxxx0xxxxx\""),
		   "avx2, which one host lacks, is cleared (leaf 0x7, ebx bit 5), every other bit left as it is");
		ok(t, strstr(tpl, "\"flags\": 1") != NULL, "with KVM's flag that the subleaf matters");
		ok(t, strstr(tpl, "\"addr\": \"0x10a\", \"bitmap\": \"0b" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				  "xxxxxxxxxxxxxxxxxxxxxxxxxx0xxxxx\"") != NULL,
		   "and the ARCH_CAPABILITIES bit one host lacks");
		ok(t, !strstr(tpl, "\"leaf\": \"0x1\""), "leaves the hosts agree on are not in it");
	}
	free(tpl);
	free(jb);
	b = a;
	b.cpuid[1].reg[HVP_EDX] &= ~(1u << 26); /* sse2: leaf 0x1 edx */
	b.cpuid[2].reg[HVP_ECX] &= ~(1u << 1);  /* avx512vbmi: leaf 0x7 ecx, with leaf 0x7 ebx the same */
	jb = write_report(&b, HVP_ANSWER_YES);
	tpl = baseline(ja, jb, err, sizeof(err));
	p = tpl ? strstr(tpl, "\"leaf\": \"0x7\"") : NULL;
	ok(t, tpl && firecracker_template(tpl, "x86_64", why, sizeof(why)) && p &&
		      strstr(p, "\"register\": \"ecx\", \"bitmap\": \"0bxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0x\"") &&
		      strstr(tpl, "\"register\": \"ecx\"") > p,
	   "a leaf 0x7 word after a leaf 0x1 word and a skipped leaf 0x7 word is written under leaf 0x7, not 0x1");
	free(tpl);
	tpl = baseline(ja, ja, err, sizeof(err));
	ok(t, tpl && firecracker_template(tpl, "x86_64", why, sizeof(why)) && strstr(tpl, "\"cpuid_modifiers\": [\n  ]"),
	   "one host's model with itself: a valid template that changes nothing");
	free(tpl);
	free(jb);
	b = a;
	memcpy(&b.cpuid[0].reg[1], "Genu", 4);
	jb = write_report(&b, HVP_ANSWER_YES);
	ok(t, !baseline(ja, jb, err, sizeof(err)) && strstr(err, "do not make one vendor look like another"),
	   "two CPU vendors are refused: %s", err);
	free(ja);
	free(jb);
	arm64_model(&a);
	b = a;
	b.reg[4].value = UINT64_C(1) << 16;
	ja = write_report(&a, HVP_ANSWER_YES);
	jb = write_report(&b, HVP_ANSWER_YES);
	tpl = baseline(ja, jb, err, sizeof(err));
	if (ok(t, tpl != NULL, "baseline of two arm64 reports")) {
		ok(t, firecracker_template(tpl, "arm64", why, sizeof(why)),
		   "it holds exactly the fields and forms Firecracker documents for aarch64 (%s)", why);
		ok(t, strstr(tpl, "\"addr\": \"0x603000000013c030\", \"bitmap\": \"0b"
				  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0000xxxxxxxxxxxxxxxxxxxx\"") != NULL,
		   "ID_AA64ISAR0_EL1 (KVM id 0x603000000013c030): Atomics [23:20] set to the lowest value, 0");
	}
	free(tpl);
	free(ja);
	free(jb);
	arm64_model(&a);
	b = a;
	b.reg[7].value = UINT64_C(2) << 40; /* MMFR0.TGran4_2: 0 (as stage 1) on one host, 2 (supported) on the other */
	ja = write_report(&a, HVP_ANSWER_YES);
	jb = write_report(&b, HVP_ANSWER_YES);
	tpl = baseline(ja, jb, err, sizeof(err));
	ok(t, tpl && strstr(tpl, "\"bitmap\": \"0b"
				 "xxxxxxxxxxxxxxxxxxxx0001xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"") != NULL,
	   "a field whose values are no scale is set to 'not supported' (TGran4_2 1), not to the lowest: %s",
	   tpl ? tpl : err);
	free(tpl);
	free(ja);
	free(jb);
	ja = strdup("{\"schema_version\":1,\"tool\":{\"name\":\"hvprobe\",\"version\":\"1\"},\"findings\":[]}");
	ok(t, !baseline(ja, ja, err, sizeof(err)) && strstr(err, "a.json: the report has no guest CPU model"),
	   "a report without a model is refused, named: %s", err);
	free(ja);
}

int main(void)
{
	struct tap t;

	TAP_PLAN_LATER(&t);
	test_round_trip(&t);
	test_model_refusals(&t);
	test_migration(&t);
	test_checker_refuses(&t);
	test_baseline(&t);
	return tap_done(&t);
}
