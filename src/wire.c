/* SPDX-License-Identifier: MIT */
#include "wire.h"

#include "stats.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WIRE_MAGIC "hvprobe-finding 1"

struct out {
	char *buf;
	size_t size, len;
	int overflow;
};

static void put_char(struct out *o, char c)
{
	if (o->len + 1 >= o->size) {
		o->overflow = 1;
		return;
	}
	o->buf[o->len++] = c;
}

static void put_raw(struct out *o, const char *s)
{
	while (*s)
		put_char(o, *s++);
}

static void put_escaped(struct out *o, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '\\': put_raw(o, "\\\\"); break;
		case '\n': put_raw(o, "\\n"); break;
		case '\t': put_raw(o, "\\t"); break;
		default: put_char(o, *s);
		}
	}
}

static void put_fmt(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_fmt(struct out *o, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	put_raw(o, tmp);
}

static void put_field(struct out *o, const char *key, const char *value)
{
	put_raw(o, key);
	put_char(o, ' ');
	put_escaped(o, value);
	put_char(o, '\n');
}

long hvp_wire_encode(const struct hvp_finding *f, char *buf, size_t size)
{
	struct out o = { buf, size, 0, 0 };

	put_raw(&o, WIRE_MAGIC "\n");
	put_field(&o, "id", f->id);
	put_field(&o, "question", f->question);
	put_field(&o, "answer", hvp_answer_name(f->answer));
	put_field(&o, "reason", f->reason);
	put_fmt(&o, "decisive %d\n", f->decisive);
	put_fmt(&o, "elapsed_ns %" PRId64 "\n", f->elapsed_ns);
	put_fmt(&o, "guest_verified %d\n", f->guest_verified ? 1 : 0);
	put_fmt(&o, "evidence_omitted %u\n", f->evidence_omitted);
	for (unsigned i = 0; i < f->n_evidence; i++) {
		const struct hvp_evidence *e = &f->evidence[i];
		put_fmt(&o, "ev %" PRId64 "\t", e->result);
		put_escaped(&o, e->call);
		put_char(&o, '\t');
		put_escaped(&o, e->errname);
		put_char(&o, '\t');
		put_escaped(&o, e->detail);
		put_char(&o, '\n');
	}
	for (unsigned i = 0; i < f->n_guest; i++) {
		put_fmt(&o, "gv %" PRIx64 "\t", f->guest[i].value);
		put_escaped(&o, f->guest[i].label);
		put_char(&o, '\n');
	}
	if (f->bench.present) {
		const struct hvp_bench *b = &f->bench;
		put_raw(&o, "bench ");
		put_escaped(&o, b->unit);
		put_char(&o, '\t');
		put_escaped(&o, b->per);
		put_char(&o, '\t');
		put_escaped(&o, b->ring);
		put_char(&o, '\t');
		put_escaped(&o, b->pinned);
		put_fmt(&o, "\t%.17g\t%" PRIu64 "\t%.17g\n", b->tsc_khz, b->ops_per_sample, b->harness_ratio);
		for (unsigned i = 0; i < b->n; i++)
			put_fmt(&o, "s %.17g\n", b->sample[i]);
	}
	put_raw(&o, "end\n");
	if (o.overflow)
		return -1;
	buf[o.len] = '\0';
	return (long)o.len;
}

/* Unescapes [s, end) into dst (at most size-1 chars); returns 0, or -1 on a bad escape. */
static int unescape(const char *s, const char *end, char *dst, size_t size)
{
	size_t n = 0;

	for (; s < end; s++) {
		char c = *s;
		if (c == '\\') {
			if (++s >= end)
				return -1;
			switch (*s) {
			case '\\': c = '\\'; break;
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			default: return -1;
			}
		}
		if (n + 1 < size)
			dst[n++] = c;
	}
	dst[n] = '\0';
	return 0;
}

/* Splits a line at tabs into up to max fields; returns the count. */
static int split_tabs(const char *s, const char *end, const char **field, const char **field_end, int max)
{
	int n = 0;

	field[0] = s;
	for (; s < end; s++) {
		if (*s != '\t')
			continue;
		field_end[n++] = s;
		if (n == max)
			return -1;
		field[n] = s + 1;
	}
	field_end[n++] = end;
	return n;
}

static int parse_i64(const char *s, const char *end, int base, int64_t *out)
{
	char tmp[32];
	char *stop;

	if (end - s <= 0 || end - s >= (long)sizeof(tmp))
		return -1;
	memcpy(tmp, s, (size_t)(end - s));
	tmp[end - s] = '\0';
	if (base == 16)
		*out = (int64_t)strtoull(tmp, &stop, 16);
	else
		*out = strtoll(tmp, &stop, 10);
	return *stop == '\0' ? 0 : -1;
}

static int decode_evidence(const char *s, const char *end, struct hvp_finding *f)
{
	const char *fld[4], *fe[4];
	char call[HVP_CALL_MAX], errname[HVP_ERRNAME_MAX], detail[HVP_DETAIL_MAX];
	int64_t result;

	if (split_tabs(s, end, fld, fe, 4) != 4 || parse_i64(fld[0], fe[0], 10, &result) ||
	    unescape(fld[1], fe[1], call, sizeof(call)) ||
	    unescape(fld[2], fe[2], errname, sizeof(errname)) ||
	    unescape(fld[3], fe[3], detail, sizeof(detail)))
		return -1;
	hvp_finding_add_evidence(f, call, result, errname, detail);
	return 0;
}

static int decode_guest(const char *s, const char *end, struct hvp_finding *f)
{
	const char *fld[2], *fe[2];
	char label[HVP_CALL_MAX];
	int64_t v;

	if (split_tabs(s, end, fld, fe, 2) != 2 || parse_i64(fld[0], fe[0], 16, &v) ||
	    unescape(fld[1], fe[1], label, sizeof(label)))
		return -1;
	hvp_finding_add_guest(f, label, (uint64_t)v);
	return 0;
}

static int parse_double(const char *s, const char *end, double *out)
{
	char tmp[40];
	char *stop;

	if (end - s <= 0 || end - s >= (long)sizeof(tmp))
		return -1;
	memcpy(tmp, s, (size_t)(end - s));
	tmp[end - s] = '\0';
	*out = strtod(tmp, &stop);
	return *stop == '\0' ? 0 : -1;
}

static int decode_bench(const char *s, const char *end, struct hvp_bench *b)
{
	const char *fld[7], *fe[7];
	int64_t ops;

	if (split_tabs(s, end, fld, fe, 7) != 7 || parse_double(fld[6], fe[6], &b->harness_ratio) || unescape(fld[0], fe[0], b->unit, sizeof(b->unit)) ||
	    unescape(fld[1], fe[1], b->per, sizeof(b->per)) || unescape(fld[2], fe[2], b->ring, sizeof(b->ring)) ||
	    unescape(fld[3], fe[3], b->pinned, sizeof(b->pinned)) || parse_double(fld[4], fe[4], &b->tsc_khz) ||
	    parse_i64(fld[5], fe[5], 10, &ops))
		return -1;
	b->ops_per_sample = (uint64_t)ops;
	b->present = true;
	return 0;
}

static int decode_line(const char *key, size_t klen, const char *v, const char *end,
		       struct hvp_finding *f)
{
	char answer[16];
	int64_t n;

#define KEY(k) (klen == sizeof(k) - 1 && memcmp(key, k, klen) == 0)
	if (KEY("id"))
		return unescape(v, end, f->id, sizeof(f->id));
	if (KEY("question"))
		return unescape(v, end, f->question, sizeof(f->question));
	if (KEY("reason"))
		return unescape(v, end, f->reason, sizeof(f->reason));
	if (KEY("answer")) {
		if (unescape(v, end, answer, sizeof(answer)))
			return -1;
		f->answer = hvp_answer_parse(answer);
		return f->answer == HVP_ANSWER_NONE ? -1 : 0;
	}
	if (KEY("ev"))
		return decode_evidence(v, end, f);
	if (KEY("gv"))
		return decode_guest(v, end, f);
	if (KEY("bench"))
		return decode_bench(v, end, &f->bench);
	if (KEY("s")) {
		if (!f->bench.present || f->bench.n >= HVP_SAMPLES_MAX)
			return -1;
		return parse_double(v, end, &f->bench.sample[f->bench.n++]);
	}
	if (parse_i64(v, end, 10, &n))
		return -1;
	if (KEY("decisive"))
		f->decisive = (int)n;
	else if (KEY("elapsed_ns"))
		f->elapsed_ns = n;
	else if (KEY("guest_verified"))
		f->guest_verified = n != 0;
	else if (KEY("evidence_omitted"))
		f->evidence_omitted += (unsigned)n;
	else
		return -1;
	return 0;
#undef KEY
}

int hvp_wire_decode(const char *buf, size_t len, struct hvp_finding *f, const char **err)
{
	const char *p = buf, *end = buf + len;
	const char *dummy;
	int line = 0;

	if (!err)
		err = &dummy;
	hvp_finding_init(f, "", "");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			*err = "finding cut short (no end of line)";
			return -1;
		}
		if (line++ == 0) {
			if ((size_t)(nl - p) != strlen(WIRE_MAGIC) || memcmp(p, WIRE_MAGIC, strlen(WIRE_MAGIC))) {
				*err = "not a finding (bad first line)";
				return -1;
			}
		} else if (nl - p == 3 && memcmp(p, "end", 3) == 0) {
			if (f->decisive >= (int)f->n_evidence)
				f->decisive = -1;
			if (f->bench.present)
				hvp_bench_summarize(&f->bench);
			return 0;
		} else {
			const char *sp = memchr(p, ' ', (size_t)(nl - p));
			if (!sp || decode_line(p, (size_t)(sp - p), sp + 1, nl, f)) {
				*err = "malformed finding line";
				return -1;
			}
		}
		p = nl + 1;
	}
	*err = "finding cut short (no end line)";
	return -1;
}
