/* SPDX-License-Identifier: MIT */
/*
 * The guest CPU model: what the hypervisor API offers a guest's CPU, as
 * the API itself reports it (x86: the CPUID table and the feature MSRs;
 * arm64: the ID registers of a vCPU), with its features named through one
 * table per architecture. The report keeps it in its host block
 * (report_json.c), `hvprobe info --cpu` prints it, `hvprobe diff` holds two
 * of them against each other for a migration and `hvprobe baseline` writes
 * the features common to several as a Firecracker custom CPU template.
 *
 * Everything here is a pure function of the model's raw values: names are
 * derived, never stored, so a model read back from a report means what
 * one read from the API does.
 */
#ifndef HVP_CPU_MODEL_H
#define HVP_CPU_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define HVP_MODEL_CPUID_MAX 256
#define HVP_MODEL_MSRS_MAX 96
#define HVP_MODEL_REGS_MAX 16

enum { HVP_EAX, HVP_EBX, HVP_ECX, HVP_EDX };

struct hvp_model_cpuid {
	uint32_t leaf, subleaf;
	uint32_t flags; /* KVM_CPUID_FLAG_*: whether the subleaf matters */
	uint32_t reg[4];
};

struct hvp_model_msr {
	uint32_t index;
	uint64_t value;
};

/*
 * An arm64 system register by its encoding, op0:op1:CRn:CRm:op2 packed as
 * KVM's ONE_REG ids and Hypervisor.framework's hv_sys_reg_t both pack it
 * (op0 << 14 | op1 << 11 | CRn << 7 | CRm << 3 | op2).
 */
struct hvp_model_reg {
	uint16_t enc;
	uint64_t value;
	uint64_t writable; /* the fields the VMM may change (valid when the model's has_writable) */
};

struct hvp_cpu_model {
	bool present;
	char arch[16];        /* "x86_64", "arm64" */
	char source[160];     /* the calls it came from, and the vCPU features asked for */
	unsigned n_cpuid;
	struct hvp_model_cpuid cpuid[HVP_MODEL_CPUID_MAX];
	unsigned n_msrs;
	struct hvp_model_msr msr[HVP_MODEL_MSRS_MAX];
	unsigned n_regs;
	struct hvp_model_reg reg[HVP_MODEL_REGS_MAX];
	bool has_writable;    /* arm64: reg[].writable came from the API */
	char note[192];       /* what the API could not say, and why (no feature MSRs, no writable masks) */
};

/* arm64 ID registers in the model, in this order. */
#define HVP_SYSREG(op0, op1, crn, crm, op2) ((uint16_t)((op0) << 14 | (op1) << 11 | (crn) << 7 | (crm) << 3 | (op2)))
extern const uint16_t hvp_model_id_regs[];
extern const unsigned hvp_model_n_id_regs;
/* "ID_AA64PFR0_EL1", or NULL for an encoding the model does not name. */
const char *hvp_model_reg_name(uint16_t enc);
/* KVM's ONE_REG id of a 64-bit system register (what Firecracker's reg_modifiers call addr). */
uint64_t hvp_model_kvm_reg_id(uint16_t enc);

/*
 * A named feature. x86: one CPUID bit. arm64: a 4-bit ID register field at
 * least min (signed fields, where 0xf means absent, compare as signed);
 * or_shift, when not 0, names a second field of the same register that
 * also grants it (pauth: APA or API).
 */
struct hvp_feature {
	const char *name;
	uint32_t leaf, subleaf;
	uint8_t reg, bit;
	uint16_t sysreg;
	uint8_t shift, or_shift;
	int8_t min;
	bool is_signed;
};

/* The named features of an architecture ("x86_64", "arm64"); NULL (n = 0) for another. */
const struct hvp_feature *hvp_model_features(const char *arch, unsigned *n);
/* Whether the model offers the feature. */
bool hvp_model_has(const struct hvp_cpu_model *m, const struct hvp_feature *f);
/* The feature called name in the model's architecture, or NULL. */
const struct hvp_feature *hvp_model_feature(const char *arch, const char *name);

const struct hvp_model_cpuid *hvp_model_cpuid_find(const struct hvp_cpu_model *m, uint32_t leaf, uint32_t subleaf);
const struct hvp_model_msr *hvp_model_msr_find(const struct hvp_cpu_model *m, uint32_t index);
const struct hvp_model_reg *hvp_model_reg_find(const struct hvp_cpu_model *m, uint16_t enc);

/*
 * The CPUID registers that are sets of feature bits (not counts, sizes or
 * names), the ones a migration check and a baseline compare bit by bit;
 * mask leaves out bits the CPU sets by itself at run time (OSXSAVE, OSPKE).
 */
struct hvp_feature_word {
	uint32_t leaf, subleaf;
	uint8_t reg;
	uint32_t mask;
};
extern const struct hvp_feature_word hvp_feature_words[];
extern const unsigned hvp_n_feature_words;
/* The word's value in the model (0 where the leaf is absent). */
uint32_t hvp_model_word(const struct hvp_cpu_model *m, const struct hvp_feature_word *w);
/* The feature a CPUID bit is, or NULL. */
const struct hvp_feature *hvp_model_feature_at(uint32_t leaf, uint32_t subleaf, unsigned reg, unsigned bit);

/* XSAVE (CPUID leaf 0xD): the user state components offered (XCR0 bits) and the largest area they need. */
struct hvp_xsave {
	bool present;
	uint64_t components;
	uint32_t size_max;
};
void hvp_model_xsave(const struct hvp_cpu_model *m, struct hvp_xsave *out);
/* "avx", "xtiledata": the name of XSAVE state component bit i, or NULL. */
const char *hvp_xsave_component(unsigned i);

/* arm64: the 4-bit field at shift of register enc, signed where the architecture makes it so. */
int hvp_model_field(uint64_t value, unsigned shift, bool is_signed);
/* Whether the field at shift of register enc is signed (0xf: not implemented). */
bool hvp_model_field_signed(uint16_t enc, unsigned shift);
/*
 * Whether a field's values a and b of two hosts cannot be compared as
 * "higher offers more", so that only equal values are compatible.
 */
bool hvp_model_field_unordered(uint16_t enc, unsigned shift, int a, int b);
/* The value every host can give for a field that differs: lowest, or "absent" for an unordered one. */
int hvp_model_field_common(uint16_t enc, int lowest, bool unordered);

/* Writes the model as the JSON object kept in a report's host block. */
void hvp_model_json(FILE *out, const struct hvp_cpu_model *m);
/* `hvprobe info --cpu`: the named features, XSAVE, the raw model, one item a line. */
void hvp_model_text(FILE *out, const struct hvp_cpu_model *m);
/* The names of the features offered, space-separated, for the text report's host facts. */
void hvp_model_feature_list(const struct hvp_cpu_model *m, char *buf, size_t size);

#endif
