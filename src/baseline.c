/* SPDX-License-Identifier: MIT */
#include "baseline.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "cpu_model.h"

#define MSR_ARCH_CAPABILITIES 0x10a

/* "0b" and one character per bit, most significant first: '0' where clear has a 1, 'x' elsewhere. */
static void clear_bitmap(char *buf, unsigned bits, uint64_t clear)
{
	buf[0] = '0';
	buf[1] = 'b';
	for (unsigned i = 0; i < bits; i++)
		buf[2 + i] = clear >> (bits - 1 - i) & 1 ? '0' : 'x';
	buf[2 + bits] = '\0';
}

/* The 12 characters of CPUID leaf 0's vendor string. */
static void vendor(const struct hvp_cpu_model *m, char out[13])
{
	const struct hvp_model_cpuid *e = hvp_model_cpuid_find(m, 0, 0);

	memset(out, 0, 13);
	if (!e)
		return;
	memcpy(out, &e->reg[HVP_EBX], 4);
	memcpy(out + 4, &e->reg[HVP_EDX], 4);
	memcpy(out + 8, &e->reg[HVP_ECX], 4);
}

/* One CPUID feature word across the hosts: the bits some offer and others do not. */
static uint32_t word_to_clear(const struct hvp_read_report *r, unsigned n, const struct hvp_feature_word *w)
{
	uint32_t all = ~UINT32_C(0), any = 0;

	for (unsigned k = 0; k < n; k++) {
		uint32_t v = hvp_model_word(r[k].cpu_model, w);
		all &= v;
		any |= v;
	}
	return any & ~all;
}

static void write_x86(FILE *out, const struct hvp_read_report *r, unsigned n)
{
	static const char *const reg_names[4] = { "eax", "ebx", "ecx", "edx" };
	uint64_t msr_all = ~UINT64_C(0), msr_any = 0;
	const struct hvp_feature_word *open_leaf = NULL; /* the leaf whose modifiers are being written */
	unsigned leaves = 0;
	char bitmap[80];

	fputs("{\n  \"cpuid_modifiers\": [", out);
	for (unsigned w = 0; w < hvp_n_feature_words; w++) {
		const struct hvp_feature_word *fw = &hvp_feature_words[w];
		const struct hvp_model_cpuid *e = hvp_model_cpuid_find(r[0].cpu_model, fw->leaf, fw->subleaf);
		uint32_t clear = word_to_clear(r, n, fw);
		if (!clear)
			continue;
		if (open_leaf && (open_leaf->leaf != fw->leaf || open_leaf->subleaf != fw->subleaf)) {
			fputs("\n      ]\n    }", out);
			open_leaf = NULL;
		}
		if (!open_leaf) {
			fprintf(out, "%s\n    {\n      \"leaf\": \"0x%" PRIx32 "\",\n      \"subleaf\": \"0x%" PRIx32 "\",\n"
				"      \"flags\": %" PRIu32 ",\n      \"modifiers\": [", leaves++ ? "," : "", fw->leaf,
				fw->subleaf, e ? e->flags : 0);
			open_leaf = fw;
		} else {
			fputc(',', out);
		}
		clear_bitmap(bitmap, 32, clear);
		fprintf(out, "\n        { \"register\": \"%s\", \"bitmap\": \"%s\" }", reg_names[fw->reg], bitmap);
	}
	fputs(open_leaf ? "\n      ]\n    }\n  ],\n" : "\n  ],\n", out);
	for (unsigned k = 0; k < n; k++) {
		const struct hvp_model_msr *m = hvp_model_msr_find(r[k].cpu_model, MSR_ARCH_CAPABILITIES);
		msr_all &= m ? m->value : 0;
		msr_any |= m ? m->value : 0;
	}
	fputs("  \"msr_modifiers\": [", out);
	if (msr_any & ~msr_all) {
		clear_bitmap(bitmap, 64, msr_any & ~msr_all);
		fprintf(out, "\n    { \"addr\": \"0x%x\", \"bitmap\": \"%s\" }\n  ", MSR_ARCH_CAPABILITIES, bitmap);
	}
	fputs("]\n}\n", out);
}

/*
 * One ID register across the hosts: each field that differs fixed at the
 * lowest value any host has (or at "absent", for a field whose values are
 * no scale); the bitmap's other characters x.
 */
static bool reg_bitmap(const struct hvp_read_report *r, unsigned n, uint16_t enc, char *buf)
{
	bool any = false;

	clear_bitmap(buf, 64, 0);
	for (unsigned shift = 0; shift < 64; shift += 4) {
		bool sg = hvp_model_field_signed(enc, shift), differ = false, unordered = false;
		int low = 0, first = 0;
		for (unsigned k = 0; k < n; k++) {
			int v = hvp_model_field(hvp_model_reg_find(r[k].cpu_model, enc)->value, shift, sg);
			first = k == 0 ? v : first;
			differ |= k > 0 && v != low;
			unordered |= hvp_model_field_unordered(enc, shift, first, v);
			low = k == 0 || v < low ? v : low;
		}
		if (!differ)
			continue;
		low = hvp_model_field_common(enc, low, unordered);
		any = true;
		for (unsigned b = 0; b < 4; b++)
			buf[2 + 63 - (shift + b)] = ((unsigned)low >> b & 1) ? '1' : '0';
	}
	return any;
}

static void write_arm64(FILE *out, const struct hvp_read_report *r, unsigned n)
{
	const struct hvp_cpu_model *m0 = r[0].cpu_model;
	unsigned k = 0;
	char bitmap[80];

	fputs("{\n  \"reg_modifiers\": [", out);
	for (unsigned i = 0; i < m0->n_regs; i++)
		if (reg_bitmap(r, n, m0->reg[i].enc, bitmap))
			fprintf(out, "%s\n    { \"addr\": \"0x%016" PRIx64 "\", \"bitmap\": \"%s\" }", k++ ? "," : "",
				hvp_model_kvm_reg_id(m0->reg[i].enc), bitmap);
	fputs(k ? "\n  ]\n}\n" : "]\n}\n", out);
}

/* Every report has a model of the first one's architecture (and vendor), with the same registers. */
static int check_models(const struct hvp_read_report *r, const char *const *names, unsigned n, char *err,
			size_t err_size)
{
	char v0[13], v[13];

	for (unsigned k = 0; k < n; k++)
		if (!r[k].cpu_model) {
			snprintf(err, err_size, "%s: the report has no guest CPU model (host.cpu_model): write it again with "
				 "this hvprobe", names[k]);
			return -1;
		}
	vendor(r[0].cpu_model, v0);
	for (unsigned k = 1; k < n; k++) {
		const struct hvp_cpu_model *m = r[k].cpu_model;
		if (strcmp(m->arch, r[0].cpu_model->arch) != 0) {
			snprintf(err, err_size, "%s is %s but %s is %s: a template is for one architecture", names[k], m->arch,
				 names[0], r[0].cpu_model->arch);
			return -1;
		}
		vendor(m, v);
		if (strcmp(v, v0) != 0) {
			snprintf(err, err_size, "%s's CPU vendor is \"%s\" but %s's is \"%s\": Firecracker's templates do not "
				 "make one vendor look like another", names[k], v, names[0], v0);
			return -1;
		}
		for (unsigned i = 0; i < r[0].cpu_model->n_regs; i++)
			if (!hvp_model_reg_find(m, r[0].cpu_model->reg[i].enc)) {
				snprintf(err, err_size, "%s lacks ID register 0x%04x that %s has", names[k],
					 r[0].cpu_model->reg[i].enc, names[0]);
				return -1;
			}
	}
	return 0;
}

int hvp_baseline_write(FILE *out, const struct hvp_read_report *r, const char *const *names, unsigned n,
		       char *err, size_t err_size, char *note, size_t note_size)
{
	bool writable = true;

	note[0] = '\0';
	if (n == 0 || check_models(r, names, n, err, err_size))
		return n ? -1 : (snprintf(err, err_size, "no reports"), -1);
	if (strcmp(r[0].cpu_model->arch, "arm64") != 0) {
		write_x86(out, r, n);
		return 0;
	}
	for (unsigned k = 0; k < n; k++)
		writable &= r[k].cpu_model->has_writable;
	if (!writable)
		snprintf(note, note_size, "not every host's kernel says which ID register fields a VMM may change "
			 "(KVM_ARM_GET_REG_WRITABLE_MASKS; Linux 6.1 lets it change only ID_AA64PFR0_EL1.CSV2 and CSV3): "
			 "Firecracker applies an aarch64 template only where the kernel has writable ID registers");
	write_arm64(out, r, n);
	return 0;
}
