/* SPDX-License-Identifier: MIT */
/*
 * The guest CPU model's names: which CPUID bit (Intel SDM vol. 2A, CPUID;
 * AMD APM vol. 3, appendix E) or ID register field (Arm ARM, D19 "AArch64
 * System Register Descriptions") each feature is, and the queries every
 * user of a model shares.
 */
#include "cpu_model.h"

#include <string.h>

#define ECX1(n, b) { n, 0x1, 0, HVP_ECX, b, 0, 0, 0, 0, false }
#define EDX1(n, b) { n, 0x1, 0, HVP_EDX, b, 0, 0, 0, 0, false }
#define L7(n, sub, r, b) { n, 0x7, sub, r, b, 0, 0, 0, 0, false }
#define XD(n, b) { n, 0xd, 1, HVP_EAX, b, 0, 0, 0, 0, false }
#define EXT(n, leaf, r, b) { n, leaf, 0, r, b, 0, 0, 0, 0, false }

static const struct hvp_feature x86_features[] = {
	ECX1("sse3", 0), ECX1("pclmulqdq", 1), ECX1("vmx", 5), ECX1("ssse3", 9), ECX1("fma", 12),
	ECX1("cx16", 13), ECX1("pcid", 17), ECX1("sse4_1", 19), ECX1("sse4_2", 20), ECX1("x2apic", 21),
	ECX1("movbe", 22), ECX1("popcnt", 23), ECX1("tsc_deadline", 24), ECX1("aes", 25), ECX1("xsave", 26),
	ECX1("avx", 28), ECX1("f16c", 29), ECX1("rdrand", 30), ECX1("hypervisor", 31),
	EDX1("fpu", 0), EDX1("tsc", 4), EDX1("msr", 5), EDX1("pae", 6), EDX1("cx8", 8), EDX1("apic", 9),
	EDX1("sep", 11), EDX1("pge", 13), EDX1("cmov", 15), EDX1("pat", 16), EDX1("clflush", 19),
	EDX1("mmx", 23), EDX1("fxsr", 24), EDX1("sse", 25), EDX1("sse2", 26), EDX1("ht", 28),
	L7("fsgsbase", 0, HVP_EBX, 0), L7("bmi1", 0, HVP_EBX, 3), L7("hle", 0, HVP_EBX, 4),
	L7("avx2", 0, HVP_EBX, 5), L7("smep", 0, HVP_EBX, 7), L7("bmi2", 0, HVP_EBX, 8),
	L7("erms", 0, HVP_EBX, 9), L7("invpcid", 0, HVP_EBX, 10), L7("rtm", 0, HVP_EBX, 11),
	L7("mpx", 0, HVP_EBX, 14), L7("avx512f", 0, HVP_EBX, 16), L7("avx512dq", 0, HVP_EBX, 17),
	L7("rdseed", 0, HVP_EBX, 18), L7("adx", 0, HVP_EBX, 19), L7("smap", 0, HVP_EBX, 20),
	L7("avx512ifma", 0, HVP_EBX, 21), L7("clflushopt", 0, HVP_EBX, 23), L7("clwb", 0, HVP_EBX, 24),
	L7("avx512cd", 0, HVP_EBX, 28), L7("sha_ni", 0, HVP_EBX, 29), L7("avx512bw", 0, HVP_EBX, 30),
	L7("avx512vl", 0, HVP_EBX, 31),
	L7("avx512vbmi", 0, HVP_ECX, 1), L7("umip", 0, HVP_ECX, 2), L7("pku", 0, HVP_ECX, 3),
	L7("waitpkg", 0, HVP_ECX, 5), L7("avx512_vbmi2", 0, HVP_ECX, 6), L7("gfni", 0, HVP_ECX, 8),
	L7("vaes", 0, HVP_ECX, 9), L7("vpclmulqdq", 0, HVP_ECX, 10), L7("avx512_vnni", 0, HVP_ECX, 11),
	L7("avx512_bitalg", 0, HVP_ECX, 12), L7("avx512_vpopcntdq", 0, HVP_ECX, 14), L7("la57", 0, HVP_ECX, 16),
	L7("rdpid", 0, HVP_ECX, 22), L7("movdiri", 0, HVP_ECX, 27), L7("movdir64b", 0, HVP_ECX, 28),
	L7("fsrm", 0, HVP_EDX, 4), L7("avx512_vp2intersect", 0, HVP_EDX, 8), L7("md_clear", 0, HVP_EDX, 10),
	L7("serialize", 0, HVP_EDX, 14), L7("tsxldtrk", 0, HVP_EDX, 16), L7("amx_bf16", 0, HVP_EDX, 22),
	L7("avx512_fp16", 0, HVP_EDX, 23), L7("amx_tile", 0, HVP_EDX, 24), L7("amx_int8", 0, HVP_EDX, 25),
	L7("spec_ctrl", 0, HVP_EDX, 26), L7("stibp", 0, HVP_EDX, 27), L7("flush_l1d", 0, HVP_EDX, 28),
	L7("arch_capabilities", 0, HVP_EDX, 29), L7("ssbd", 0, HVP_EDX, 31),
	L7("avx_vnni", 1, HVP_EAX, 4), L7("avx512_bf16", 1, HVP_EAX, 5),
	XD("xsaveopt", 0), XD("xsavec", 1), XD("xgetbv1", 2), XD("xsaves", 3),
	EXT("lahf_lm", 0x80000001, HVP_ECX, 0), EXT("svm", 0x80000001, HVP_ECX, 2),
	EXT("abm", 0x80000001, HVP_ECX, 5), EXT("sse4a", 0x80000001, HVP_ECX, 6),
	EXT("misalignsse", 0x80000001, HVP_ECX, 7), EXT("3dnowprefetch", 0x80000001, HVP_ECX, 8),
	EXT("xop", 0x80000001, HVP_ECX, 11), EXT("fma4", 0x80000001, HVP_ECX, 16),
	EXT("tbm", 0x80000001, HVP_ECX, 21), EXT("topoext", 0x80000001, HVP_ECX, 22),
	EXT("syscall", 0x80000001, HVP_EDX, 11), EXT("nx", 0x80000001, HVP_EDX, 20),
	EXT("pdpe1gb", 0x80000001, HVP_EDX, 26), EXT("rdtscp", 0x80000001, HVP_EDX, 27),
	EXT("lm", 0x80000001, HVP_EDX, 29),
	EXT("clzero", 0x80000008, HVP_EBX, 0), EXT("wbnoinvd", 0x80000008, HVP_EBX, 9),
	EXT("amd_ibpb", 0x80000008, HVP_EBX, 12), EXT("amd_ibrs", 0x80000008, HVP_EBX, 14),
	EXT("amd_stibp", 0x80000008, HVP_EBX, 15), EXT("amd_ssbd", 0x80000008, HVP_EBX, 24),
	EXT("virt_ssbd", 0x80000008, HVP_EBX, 25),
};

#define PFR0 HVP_SYSREG(3, 0, 0, 4, 0)
#define PFR1 HVP_SYSREG(3, 0, 0, 4, 1)
#define ZFR0 HVP_SYSREG(3, 0, 0, 4, 4)
#define DFR0 HVP_SYSREG(3, 0, 0, 5, 0)
#define ISAR0 HVP_SYSREG(3, 0, 0, 6, 0)
#define ISAR1 HVP_SYSREG(3, 0, 0, 6, 1)
#define ISAR2 HVP_SYSREG(3, 0, 0, 6, 2)
#define MMFR0 HVP_SYSREG(3, 0, 0, 7, 0)
#define MMFR1 HVP_SYSREG(3, 0, 0, 7, 1)
#define MMFR2 HVP_SYSREG(3, 0, 0, 7, 2)

#define F(n, r, s, m) { n, 0, 0, 0, 0, r, s, 0, m, false }
#define FS(n, r, s, m) { n, 0, 0, 0, 0, r, s, 0, m, true }

static const struct hvp_feature arm64_features[] = {
	FS("fp", PFR0, 16, 0), FS("fphp", PFR0, 16, 1), FS("asimd", PFR0, 20, 0), FS("asimdhp", PFR0, 20, 1),
	F("el1_aarch32", PFR0, 4, 2), F("el0_aarch32", PFR0, 0, 2), F("gic_sysreg", PFR0, 24, 1),
	F("ras", PFR0, 28, 1), F("sve", PFR0, 32, 1), F("amu", PFR0, 44, 1), F("dit", PFR0, 48, 1),
	F("csv2", PFR0, 56, 1), F("csv3", PFR0, 60, 1),
	F("bti", PFR1, 0, 1), F("ssbs", PFR1, 4, 1), F("mte", PFR1, 8, 1), F("mte2", PFR1, 8, 2),
	F("sme", PFR1, 24, 1),
	F("sve2", ZFR0, 0, 1), F("sve_bf16", ZFR0, 20, 1), F("sve_i8mm", ZFR0, 44, 1),
	F("pmuv3", DFR0, 8, 1), F("spe", DFR0, 32, 1),
	F("aes", ISAR0, 4, 1), F("pmull", ISAR0, 4, 2), F("sha1", ISAR0, 8, 1), F("sha2", ISAR0, 12, 1),
	F("sha512", ISAR0, 12, 2), F("crc32", ISAR0, 16, 1), F("lse", ISAR0, 20, 2), F("rdm", ISAR0, 28, 1),
	F("sha3", ISAR0, 32, 1), F("sm3", ISAR0, 36, 1), F("sm4", ISAR0, 40, 1), F("dotprod", ISAR0, 44, 1),
	F("fhm", ISAR0, 48, 1), F("flagm", ISAR0, 52, 1), F("rng", ISAR0, 60, 1),
	F("dpb", ISAR1, 0, 1), { "pauth", 0, 0, 0, 0, ISAR1, 4, 8, 1, false }, F("jscvt", ISAR1, 12, 1),
	F("fcma", ISAR1, 16, 1), F("lrcpc", ISAR1, 20, 1), F("frintts", ISAR1, 32, 1), F("sb", ISAR1, 36, 1),
	F("bf16", ISAR1, 44, 1), F("i8mm", ISAR1, 52, 1),
	F("wfxt", ISAR2, 0, 2), F("mops", ISAR2, 16, 1),
	F("ecv", MMFR0, 60, 1), FS("tgran4", MMFR0, 28, 0), FS("tgran64", MMFR0, 24, 0), F("tgran16", MMFR0, 20, 1),
	F("hafdbs", MMFR1, 0, 1), F("vh", MMFR1, 8, 1), F("pan", MMFR1, 20, 1),
	F("uao", MMFR2, 4, 1), F("lva", MMFR2, 16, 1), F("at", MMFR2, 32, 1),
};

const uint16_t hvp_model_id_regs[] = { PFR0, PFR1, ZFR0, DFR0, ISAR0, ISAR1, ISAR2, MMFR0, MMFR1, MMFR2 };
const unsigned hvp_model_n_id_regs = sizeof(hvp_model_id_regs) / sizeof(hvp_model_id_regs[0]);

const char *hvp_model_reg_name(uint16_t enc)
{
	static const struct { uint16_t enc; const char *name; } names[] = {
		{ PFR0, "ID_AA64PFR0_EL1" },   { PFR1, "ID_AA64PFR1_EL1" },   { ZFR0, "ID_AA64ZFR0_EL1" },
		{ DFR0, "ID_AA64DFR0_EL1" },   { ISAR0, "ID_AA64ISAR0_EL1" }, { ISAR1, "ID_AA64ISAR1_EL1" },
		{ ISAR2, "ID_AA64ISAR2_EL1" }, { MMFR0, "ID_AA64MMFR0_EL1" }, { MMFR1, "ID_AA64MMFR1_EL1" },
		{ MMFR2, "ID_AA64MMFR2_EL1" },
	};

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].enc == enc)
			return names[i].name;
	return NULL;
}

/* api.rst, KVM_SET_ONE_REG: arm64 system registers are 0x6030 0000 0013 <index>. */
uint64_t hvp_model_kvm_reg_id(uint16_t enc)
{
	return UINT64_C(0x6030000000130000) | enc;
}

const struct hvp_feature *hvp_model_features(const char *arch, unsigned *n)
{
	if (strcmp(arch, "x86_64") == 0) {
		*n = sizeof(x86_features) / sizeof(x86_features[0]);
		return x86_features;
	}
	if (strcmp(arch, "arm64") == 0) {
		*n = sizeof(arm64_features) / sizeof(arm64_features[0]);
		return arm64_features;
	}
	*n = 0;
	return NULL;
}

const struct hvp_feature *hvp_model_feature(const char *arch, const char *name)
{
	unsigned n;
	const struct hvp_feature *t = hvp_model_features(arch, &n);

	for (unsigned i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return &t[i];
	return NULL;
}

const struct hvp_model_cpuid *hvp_model_cpuid_find(const struct hvp_cpu_model *m, uint32_t leaf, uint32_t subleaf)
{
	for (unsigned i = 0; i < m->n_cpuid; i++)
		if (m->cpuid[i].leaf == leaf && m->cpuid[i].subleaf == subleaf)
			return &m->cpuid[i];
	return NULL;
}

const struct hvp_model_msr *hvp_model_msr_find(const struct hvp_cpu_model *m, uint32_t index)
{
	for (unsigned i = 0; i < m->n_msrs; i++)
		if (m->msr[i].index == index)
			return &m->msr[i];
	return NULL;
}

const struct hvp_model_reg *hvp_model_reg_find(const struct hvp_cpu_model *m, uint16_t enc)
{
	for (unsigned i = 0; i < m->n_regs; i++)
		if (m->reg[i].enc == enc)
			return &m->reg[i];
	return NULL;
}

/*
 * Signed ID fields (Arm ARM D19.1.3, "Alternative ID scheme used for
 * ...": 0xf means not implemented): FP, AdvSIMD, TGran4, TGran64.
 */
bool hvp_model_field_signed(uint16_t enc, unsigned shift)
{
	return (enc == PFR0 && (shift == 16 || shift == 20)) || (enc == MMFR0 && (shift == 24 || shift == 28));
}

/*
 * Fields whose values are not a scale (Arm ARM, the ID_AA64MMFR0_EL1 and
 * ID_AA64DFR0_EL1 descriptions): TGran16_2, TGran64_2, TGran4_2 (0: as
 * the stage-1 field says, 1: not supported, 2 and up: supported) and
 * PMUVer's 0xf (a PMU of the implementation's own, not a newer one).
 */
bool hvp_model_field_unordered(uint16_t enc, unsigned shift, int a, int b)
{
	if (enc == MMFR0 && shift >= 32 && shift <= 40)
		return true;
	return enc == DFR0 && shift == 8 && (a == 0xf || b == 0xf);
}

/*
 * The value of a field that differs across hosts which every one of them
 * can give: the lowest, but for an unordered field "not there" (TGran*_2:
 * 1, not supported; PMUVer: 0, no PMU).
 */
int hvp_model_field_common(uint16_t enc, int lowest, bool unordered)
{
	if (!unordered)
		return lowest;
	return enc == MMFR0 ? 1 : 0;
}

int hvp_model_field(uint64_t value, unsigned shift, bool is_signed)
{
	int v = (int)((value >> shift) & 0xf);

	return is_signed && v >= 8 ? v - 16 : v;
}

bool hvp_model_has(const struct hvp_cpu_model *m, const struct hvp_feature *f)
{
	if (strcmp(m->arch, "arm64") == 0) {
		const struct hvp_model_reg *r = hvp_model_reg_find(m, f->sysreg);
		if (!r)
			return false;
		return hvp_model_field(r->value, f->shift, f->is_signed) >= f->min ||
		       (f->or_shift && hvp_model_field(r->value, f->or_shift, f->is_signed) >= f->min);
	}
	const struct hvp_model_cpuid *e = hvp_model_cpuid_find(m, f->leaf, f->subleaf);
	return e && (e->reg[f->reg] >> f->bit & 1);
}

#define WORD(l, s, r, m) { l, s, r, m }
const struct hvp_feature_word hvp_feature_words[] = {
	WORD(0x1, 0, HVP_ECX, ~(UINT32_C(1) << 27)), /* OSXSAVE: CR4.OSXSAVE, set by the guest */
	WORD(0x1, 0, HVP_EDX, ~UINT32_C(0)),
	WORD(0x7, 0, HVP_EBX, ~UINT32_C(0)),
	WORD(0x7, 0, HVP_ECX, ~(UINT32_C(1) << 4)),  /* OSPKE: CR4.PKE, set by the guest */
	WORD(0x7, 0, HVP_EDX, ~UINT32_C(0)),
	WORD(0x7, 1, HVP_EAX, ~UINT32_C(0)),
	WORD(0xd, 0, HVP_EAX, ~UINT32_C(0)),         /* XCR0 components, low half */
	WORD(0xd, 0, HVP_EDX, ~UINT32_C(0)),         /* and high half */
	WORD(0xd, 1, HVP_EAX, ~UINT32_C(0)),
	WORD(0x80000001, 0, HVP_ECX, ~UINT32_C(0)),
	WORD(0x80000001, 0, HVP_EDX, ~UINT32_C(0)),
	WORD(0x80000008, 0, HVP_EBX, ~UINT32_C(0)),
};
const unsigned hvp_n_feature_words = sizeof(hvp_feature_words) / sizeof(hvp_feature_words[0]);

uint32_t hvp_model_word(const struct hvp_cpu_model *m, const struct hvp_feature_word *w)
{
	const struct hvp_model_cpuid *e = hvp_model_cpuid_find(m, w->leaf, w->subleaf);

	return e ? e->reg[w->reg] & w->mask : 0;
}

const struct hvp_feature *hvp_model_feature_at(uint32_t leaf, uint32_t subleaf, unsigned reg, unsigned bit)
{
	for (unsigned i = 0; i < sizeof(x86_features) / sizeof(x86_features[0]); i++) {
		const struct hvp_feature *f = &x86_features[i];
		if (f->leaf == leaf && f->subleaf == subleaf && f->reg == reg && f->bit == bit)
			return f;
	}
	return NULL;
}

const char *hvp_xsave_component(unsigned i)
{
	/* Intel SDM vol. 1, 13.1 "XSAVE-supported features and state-component bitmaps". */
	static const char *const names[] = { "x87", "sse", "avx", "bndregs", "bndcsr", "opmask", "zmm_hi256",
					     "hi16_zmm", "pt", "pkru", "pasid", "cet_u", "cet_s", "hdc", "uintr",
					     "lbr", "hwp", "xtilecfg", "xtiledata", "apx" };

	return i < sizeof(names) / sizeof(names[0]) ? names[i] : NULL;
}

/* Leaf 0xD subleaf 0: EDX:EAX the XCR0 bits offered, ECX the largest area all of them need. */
void hvp_model_xsave(const struct hvp_cpu_model *m, struct hvp_xsave *out)
{
	const struct hvp_model_cpuid *e = hvp_model_cpuid_find(m, 0xd, 0);

	*out = (struct hvp_xsave){ 0 };
	if (!e)
		return;
	out->present = true;
	out->components = (uint64_t)e->reg[HVP_EDX] << 32 | e->reg[HVP_EAX];
	out->size_max = e->reg[HVP_ECX];
}

void hvp_model_feature_list(const struct hvp_cpu_model *m, char *buf, size_t size)
{
	unsigned n;
	const struct hvp_feature *t = hvp_model_features(m->arch, &n);
	size_t len = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < n && len < size; i++)
		if (hvp_model_has(m, &t[i]))
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? " " : "", t[i].name);
}
