/* SPDX-License-Identifier: MIT */
#include "contract.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int check_entry(const struct hvp_contract_entry *e, int line, char *err, size_t err_size)
{
	if (e->expected == HVP_ANSWER_NONE && !e->silent) {
		snprintf(err, err_size, "entry [%s] ending before line %d has no valid 'expected'", e->id, line);
		return -1;
	}
	if (e->citation[0] == '\0') {
		snprintf(err, err_size, "entry [%s] ending before line %d has no 'citation'", e->id, line);
		return -1;
	}
	return 0;
}

static int set_key(struct hvp_contract_entry *e, const char *key, const char *val, int line,
		   char *err, size_t err_size)
{
	if (strcmp(key, "expected") == 0) {
		e->expected = hvp_answer_parse(val);
		e->silent = strcmp(val, "undocumented") == 0;
		if (e->expected == HVP_ANSWER_NONE && !e->silent) {
			snprintf(err, err_size,
				 "line %d: expected must be yes, no, crashed, hung, skipped or undocumented, not '%s'",
				 line, val);
			return -1;
		}
	} else if (strcmp(key, "citation") == 0) {
		hvp_copy_str(e->citation, sizeof(e->citation), val);
	} else if (strcmp(key, "says") == 0) {
		hvp_copy_str(e->says, sizeof(e->says), val);
	} else {
		snprintf(err, err_size, "line %d: unknown key '%s' (expected, citation, says)", line, key);
		return -1;
	}
	return 0;
}

static struct hvp_contract_entry *new_entry(struct hvp_contract *c, const char *id, int line,
					    char *err, size_t err_size)
{
	struct hvp_contract_entry *grown;

	if (*id == '\0' || strlen(id) >= HVP_ID_MAX) {
		snprintf(err, err_size, "line %d: section name must be a probe id", line);
		return NULL;
	}
	if (hvp_contract_find(c, id)) {
		snprintf(err, err_size, "line %d: [%s] appears twice", line, id);
		return NULL;
	}
	grown = realloc(c->entries, (c->n + 1) * sizeof(*grown));
	if (!grown) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	c->entries = grown;
	memset(&grown[c->n], 0, sizeof(grown[0]));
	hvp_copy_str(grown[c->n].id, sizeof(grown[0].id), id);
	return &grown[c->n++];
}

static int parse_line(struct hvp_contract *c, struct hvp_contract_entry **cur, char *raw, int line,
		      char *err, size_t err_size)
{
	char *s = (char *)trim(raw);
	char *eq;

	if (*s == '\0' || *s == '#')
		return 0;
	if (*s == '[') {
		char *close = strchr(s, ']');
		if (!close || close[1] != '\0') {
			snprintf(err, err_size, "line %d: section header must be [probe.id]", line);
			return -1;
		}
		if (*cur && check_entry(*cur, line, err, err_size))
			return -1;
		*close = '\0';
		*cur = new_entry(c, trim(s + 1), line, err, err_size);
		return *cur ? 0 : -1;
	}
	eq = strchr(s, '=');
	if (!eq) {
		snprintf(err, err_size, "line %d: expected 'key = value' or '[probe.id]'", line);
		return -1;
	}
	if (!*cur) {
		snprintf(err, err_size, "line %d: key outside a [probe.id] section", line);
		return -1;
	}
	*eq = '\0';
	return set_key(*cur, trim(s), trim(eq + 1), line, err, err_size);
}

int hvp_contract_parse(struct hvp_contract *c, const char *name, const char *text, size_t len,
		       char *err, size_t err_size)
{
	struct hvp_contract_entry *cur = NULL;
	char linebuf[1024];
	size_t pos = 0;
	int line = 0;

	memset(c, 0, sizeof(*c));
	hvp_copy_str(c->name, sizeof(c->name), name);
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		line++;
		if (n >= sizeof(linebuf)) {
			snprintf(err, err_size, "line %d: longer than %zu characters", line, sizeof(linebuf) - 1);
			goto fail;
		}
		memcpy(linebuf, text + pos, n);
		linebuf[n] = '\0';
		if (memchr(linebuf, '\0', n)) {
			snprintf(err, err_size, "line %d: contains a NUL byte", line);
			goto fail;
		}
		if (parse_line(c, &cur, linebuf, line, err, err_size))
			goto fail;
		pos += n + 1;
	}
	if (cur && check_entry(cur, line + 1, err, err_size))
		goto fail;
	return 0;
fail:
	hvp_contract_free(c);
	return -1;
}

void hvp_contract_free(struct hvp_contract *c)
{
	free(c->entries);
	c->entries = NULL;
	c->n = 0;
}

const struct hvp_contract_entry *hvp_contract_find(const struct hvp_contract *c, const char *id)
{
	for (unsigned i = 0; c && i < c->n; i++)
		if (strcmp(c->entries[i].id, id) == 0)
			return &c->entries[i];
	return NULL;
}

void hvp_contract_judge(const struct hvp_contract *c, struct hvp_finding *f)
{
	const struct hvp_contract_entry *e = hvp_contract_find(c, f->id);

	f->expected[0] = '\0';
	f->citation[0] = '\0';
	if (e) {
		if (!e->silent)
			hvp_copy_str(f->expected, sizeof(f->expected), hvp_answer_name(e->expected));
		hvp_copy_str(f->citation, sizeof(f->citation), e->citation);
	}
	if (f->answer == HVP_ANSWER_SKIPPED && (!e || e->expected != HVP_ANSWER_SKIPPED))
		f->verdict = HVP_VERDICT_NOT_CHECKED;
	else if (!e && f->bench.present)
		f->verdict = HVP_VERDICT_NOT_CHECKED; /* a measurement: nothing documented to hold it against */
	else if (!e || e->silent)
		f->verdict = HVP_VERDICT_UNDOCUMENTED;
	else
		f->verdict = e->expected == f->answer ? HVP_VERDICT_AS_DOCUMENTED : HVP_VERDICT_DEVIATES;
}

int hvp_finding_fails_run(const struct hvp_finding *f)
{
	if (f->verdict == HVP_VERDICT_DEVIATES)
		return 1;
	/* A crash or hang no contract foresaw is a failure even where the contract is silent. */
	return f->verdict == HVP_VERDICT_UNDOCUMENTED &&
	       (f->answer == HVP_ANSWER_CRASHED || f->answer == HVP_ANSWER_HUNG);
}

int hvp_contract_overlay(struct hvp_contract *c, const char *name, const char *text, size_t len, char *err,
			 size_t err_size)
{
	struct hvp_contract o;

	if (hvp_contract_parse(&o, name, text, len, err, err_size))
		return -1;
	for (unsigned i = 0; i < o.n; i++) {
		struct hvp_contract_entry *e = (struct hvp_contract_entry *)hvp_contract_find(c, o.entries[i].id);
		if (!e) {
			struct hvp_contract_entry *grown = realloc(c->entries, (c->n + 1) * sizeof(*grown));
			if (!grown) {
				snprintf(err, err_size, "out of memory");
				hvp_contract_free(&o);
				return -1;
			}
			c->entries = grown;
			e = &c->entries[c->n++];
		}
		*e = o.entries[i];
	}
	hvp_contract_free(&o);
	return 0;
}
