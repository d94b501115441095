/* SPDX-License-Identifier: MIT */
/*
 * Renders contract files side by side into one Markdown page: for every
 * question hvprobe asks, what each API's documentation promises, with the
 * citation. `make docs` writes docs/contracts.md with it, and `make check`
 * fails when that page is stale.
 *
 *   contract-doc NAME=FILE[+OVERLAY]...
 *   contract-doc kvm-x86_64=contracts/kvm.ini kvm-arm64=contracts/kvm.ini+contracts/kvm-arm64.ini
 *
 * A column's name ends in the architecture it is for; a probe that asks
 * about another architecture shows "not asked" there.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"
#include "output.h"
#include "probe.h"
#include "report.h"

#define CONTRACTS_MAX 8


/* Table cell text: pipes escaped. */
static void cell(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputc('\\', out);
		fputc(*s, out);
	}
}

static void entry_cell(FILE *out, const struct hvp_contract_entry *e, bool asked)
{
	if (!asked) {
		fputs(" not asked here |", out);
		return;
	}
	if (!e) {
		fputs(" no entry |", out);
		return;
	}
	fprintf(out, " **%s**", e->silent ? "silent" : hvp_answer_name(e->expected));
	if (e->says[0]) {
		fputs(": ", out);
		cell(out, e->says);
	}
	fputs(" (", out);
	cell(out, e->citation);
	fputs(") |", out);
}

/* Whether column c asks probe p: the column's name ends in the probe's architecture, if it has one. */
static bool asks(const struct hvp_contract *c, const struct hvp_probe *p)
{
	size_t n = strlen(c->name), a = p->arch ? strlen(p->arch) : 0;

	return !p->arch || (n > a && c->name[n - a - 1] == '-' && strcmp(c->name + n - a, p->arch) == 0);
}

static void write_topic(FILE *out, const char *title, const struct hvp_contract *c, unsigned nc)
{
	int shown = 0;

	for (unsigned i = 0; i < hvp_n_probes; i++) {
		const struct hvp_probe *p = hvp_probes[i];
		if (p->kind == HVP_PROBE_BENCH || strcmp(hvp_topic_of(p->id), title) != 0)
			continue;
		if (!shown++) {
			fprintf(out, "## %s\n\n| probe | question |", title);
			for (unsigned k = 0; k < nc; k++)
				fprintf(out, " %s |", c[k].name);
			fputs("\n| --- | --- |", out);
			for (unsigned k = 0; k < nc; k++)
				fputs(" --- |", out);
			fputc('\n', out);
		}
		fprintf(out, "| `%s` | ", p->id);
		cell(out, p->question);
		fputs(" |", out);
		for (unsigned k = 0; k < nc; k++)
			entry_cell(out, hvp_contract_find(&c[k], p->id), asks(&c[k], p));
		fputc('\n', out);
	}
	if (shown)
		fputc('\n', out);
}

/* "kvm-arm64=contracts/kvm.ini+contracts/kvm-arm64.ini": a column, its file and overlays. */
static int read_column(const char *arg, struct hvp_contract *c)
{
	const char *eq = strchr(arg, '=');
	char name[32], path[256], err[256];
	const char *p;

	if (!eq || eq == arg) {
		fprintf(stderr, "contract-doc: '%s' is not NAME=FILE[+OVERLAY]\n", arg);
		return -1;
	}
	snprintf(name, sizeof(name), "%.*s", (int)(eq - arg), arg);
	p = eq + 1;
	for (int first = 1; *p; first = 0) {
		size_t n = strcspn(p, "+"), len = 0;
		char *text;
		int rc;
		snprintf(path, sizeof(path), "%.*s", (int)n, p);
		p += n + (p[n] == '+');
		if (hvp_read_file(path, HVP_CONTRACT_FILE_MAX, &text, &len)) {
			fprintf(stderr, "contract-doc: %s: cannot read: %s\n", path, strerror(errno));
			return -1;
		}
		rc = first ? hvp_contract_parse(c, name, text, len, err, sizeof(err))
			   : hvp_contract_overlay(c, name, text, len, err, sizeof(err));
		free(text);
		if (rc) {
			fprintf(stderr, "contract-doc: %s: %s\n", path, err);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct hvp_contract c[CONTRACTS_MAX];
	unsigned nc = 0;

	if (argc < 2 || argc - 1 > CONTRACTS_MAX) {
		fprintf(stderr, "usage: contract-doc NAME=FILE[+OVERLAY]... (at most %d)\n", CONTRACTS_MAX);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		if (read_column(argv[i], &c[nc++]))
			return 2;
	puts("# What each hypervisor API promises\n\n"
	     "For every question hvprobe asks, what each API's own documentation says the answer is, and where "
	     "it says so. **silent** means the cited document was read and says nothing on the question: hvprobe "
	     "then reports the verdict `undocumented`, whatever the host does. Generated from `contracts/*.ini` "
	     "by `make docs`; do not edit by hand.\n");
	for (unsigned k = 0; hvp_topic(k); k++)
		write_topic(stdout, hvp_topic(k), c, nc);
	for (unsigned k = 0; k < nc; k++)
		hvp_contract_free(&c[k]);
	return ferror(stdout) ? 1 : 0;
}
