/* SPDX-License-Identifier: MIT */
/*
 * A report's guest CPU model read back (host.cpu_model, as cpu_model_out.c
 * writes it), for `hvprobe diff` and `hvprobe baseline`. Untrusted input:
 * every member is checked for its type and range, and the first problem
 * ends the read with its JSON path named. The derived members (features,
 * xsave) are not read: they are recomputed from the raw values.
 */
#include "cpu_model_read.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#ifdef HVP_HAVE_JSONC

struct place {
	char *err;
	size_t size;
};

__attribute__((format(printf, 3, 4)))
static int bad(struct place *p, const char *path, const char *fmt, ...)
{
	int n = snprintf(p->err, p->size, "%s: ", path);
	va_list ap;

	if (n >= 0 && (size_t)n < p->size) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->size - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static json_object *get(json_object *o, const char *key, json_type want)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, want))
		return NULL;
	return v;
}

static int text(struct place *p, json_object *o, const char *path, const char *key, char *dst, size_t size)
{
	json_object *v = get(o, key, json_type_string);
	size_t len;

	if (!v)
		return bad(p, path, "member \"%s\" is missing or not a string", key);
	len = (size_t)json_object_get_string_len(v);
	if (len >= size || strlen(json_object_get_string(v)) != len)
		return bad(p, path, "member \"%s\" is longer than %zu bytes or holds a NUL", key, size - 1);
	memcpy(dst, json_object_get_string(v), len + 1);
	return 0;
}

/* A "0x..." string member no larger than max. */
static int hex(struct place *p, json_object *o, const char *path, const char *key, uint64_t max, uint64_t *out)
{
	char buf[24], *end;
	unsigned long long v;

	if (text(p, o, path, key, buf, sizeof(buf)))
		return -1;
	if (strncmp(buf, "0x", 2) != 0 || !buf[2] || strspn(buf + 2, "0123456789abcdefABCDEF") != strlen(buf + 2) ||
	    strlen(buf + 2) > 16)
		return bad(p, path, "member \"%s\" is \"%s\", not a hex number \"0x...\"", key, buf);
	v = strtoull(buf, &end, 16);
	if (v > max)
		return bad(p, path, "member \"%s\" is %s, more than 0x%llx", key, buf, (unsigned long long)max);
	*out = v;
	return 0;
}

static json_object *array(struct place *p, json_object *o, const char *path, const char *key, size_t max)
{
	json_object *a = get(o, key, json_type_array);

	if (!a) {
		bad(p, path, "member \"%s\" is missing or not an array", key);
		return NULL;
	}
	if (json_object_array_length(a) > max) {
		bad(p, path, "member \"%s\" has %zu entries, at most %zu", key, json_object_array_length(a), max);
		return NULL;
	}
	return a;
}

/* Entry i of array a, which must be an object; its path goes to where. */
static json_object *entry(struct place *p, json_object *a, const char *path, const char *key, size_t i, char *where,
			  size_t size)
{
	json_object *e = json_object_array_get_idx(a, i);

	snprintf(where, size, "%s.%s[%zu]", path, key, i);
	if (!json_object_is_type(e, json_type_object)) {
		bad(p, where, "expected an object");
		return NULL;
	}
	return e;
}

static int read_cpuid(struct place *p, json_object *o, const char *path, struct hvp_cpu_model *m)
{
	static const char *const regs[4] = { "eax", "ebx", "ecx", "edx" };
	json_object *a = array(p, o, path, "cpuid", HVP_MODEL_CPUID_MAX), *e, *flags;
	char where[96];
	uint64_t v;

	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		struct hvp_model_cpuid *c = &m->cpuid[i];
		if (!(e = entry(p, a, path, "cpuid", i, where, sizeof(where))))
			return -1;
		if (hex(p, e, where, "leaf", UINT32_MAX, &v))
			return -1;
		c->leaf = (uint32_t)v;
		if (hex(p, e, where, "subleaf", UINT32_MAX, &v))
			return -1;
		c->subleaf = (uint32_t)v;
		if (!(flags = get(e, "flags", json_type_int)) || json_object_get_int64(flags) < 0 ||
		    json_object_get_int64(flags) > UINT32_MAX)
			return bad(p, where, "member \"flags\" is missing or not an integer from 0 to 2^32-1");
		c->flags = (uint32_t)json_object_get_int64(flags);
		for (unsigned r = 0; r < 4; r++) {
			if (hex(p, e, where, regs[r], UINT32_MAX, &v))
				return -1;
			c->reg[r] = (uint32_t)v;
		}
		m->n_cpuid = (unsigned)i + 1;
	}
	return a ? 0 : -1;
}

static int read_msrs(struct place *p, json_object *o, const char *path, struct hvp_cpu_model *m)
{
	json_object *a = array(p, o, path, "msrs", HVP_MODEL_MSRS_MAX), *e;
	char where[96];
	uint64_t v;

	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		if (!(e = entry(p, a, path, "msrs", i, where, sizeof(where))) || hex(p, e, where, "index", UINT32_MAX, &v))
			return -1;
		m->msr[i].index = (uint32_t)v;
		if (hex(p, e, where, "value", UINT64_MAX, &m->msr[i].value))
			return -1;
		m->n_msrs = (unsigned)i + 1;
	}
	return a ? 0 : -1;
}

static int read_regs(struct place *p, json_object *o, const char *path, struct hvp_cpu_model *m)
{
	json_object *a = array(p, o, path, "id_registers", HVP_MODEL_REGS_MAX), *e;
	char where[96];
	uint64_t v;

	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		if (!(e = entry(p, a, path, "id_registers", i, where, sizeof(where))) ||
		    hex(p, e, where, "encoding", UINT16_MAX, &v))
			return -1;
		m->reg[i].enc = (uint16_t)v;
		if (hex(p, e, where, "value", UINT64_MAX, &m->reg[i].value))
			return -1;
		if (get(e, "writable", json_type_string)) {
			if (hex(p, e, where, "writable", UINT64_MAX, &m->reg[i].writable))
				return -1;
			m->has_writable = true;
		}
		m->n_regs = (unsigned)i + 1;
	}
	return a ? 0 : -1;
}

int hvp_model_read(json_object *o, const char *path, struct hvp_cpu_model *m, char *err, size_t err_size)
{
	struct place p = { err, err_size };

	memset(m, 0, sizeof(*m));
	if (!json_object_is_type(o, json_type_object))
		return bad(&p, path, "expected an object");
	if (text(&p, o, path, "arch", m->arch, sizeof(m->arch)) ||
	    text(&p, o, path, "source", m->source, sizeof(m->source)) ||
	    text(&p, o, path, "note", m->note, sizeof(m->note)))
		return -1;
	/* A model the API gave has entries: an empty one would compare as offering nothing, or as all there is. */
	if (strcmp(m->arch, "x86_64") == 0) {
		if (read_cpuid(&p, o, path, m) || read_msrs(&p, o, path, m))
			return -1;
		if (!m->n_cpuid)
			return bad(&p, path, "member \"cpuid\" is empty: a model the API gave has CPUID leaves");
	} else if (strcmp(m->arch, "arm64") == 0) {
		if (read_regs(&p, o, path, m))
			return -1;
		if (!m->n_regs)
			return bad(&p, path, "member \"id_registers\" is empty: a model the API gave has ID registers");
	} else {
		return bad(&p, path, "arch \"%s\" is not x86_64 or arm64", m->arch);
	}
	m->present = true;
	return 0;
}

#endif
