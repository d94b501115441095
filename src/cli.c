/* SPDX-License-Identifier: MIT */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"
#include "report.h"

void hvp_cli_usage(FILE *out)
{
	fprintf(out,
		"Usage: hvprobe [COMMAND] [OPTION]... [PATTERN]...\n"
		"Characterize the host's hypervisor API: what it allows, proven by guests that run,\n"
		"held against what its documentation promises.\n"
		"\n"
		"Commands:\n"
		"  run [PATTERN]...     run the probes whose ids match the shell-style PATTERNs\n"
		"                       (all probes if none), e.g. 'vm.*'; the default command\n"
		"  bench [PATTERN]...   run the benchmarks (ids bench.*) matching the PATTERNs (all if none)\n"
		"  list [PATTERN]...    list probe and benchmark ids and their questions\n"
		"  info                 show the host's hypervisor facts (backend, module, capabilities)\n"
		"                       and how guests run here (measured at ring 0 and ring 3)\n"
		"  diff OLD.json NEW.json  what changed between two JSON reports: answers, verdicts,\n"
		"                       probes added or missing, benchmark medians that moved beyond\n"
		"                       three times the runs' combined spread, and whether a guest given\n"
		"                       OLD's CPU model can run on NEW's host (text or json)\n"
		"  baseline A.json B.json...  the guest CPU model common to the reports' hosts, as a\n"
		"                       Firecracker custom CPU template (JSON)\n"
		"  report FILE.json     render a saved JSON report in any format (-f), with no hypervisor:\n"
		"                       e.g. -f html for a page, -f nfd for Kubernetes' node labels\n"
		"  matrix FILE.json...  many reports side by side: probes as rows, hosts as columns, the\n"
		"                       rows whose answers differ marked (text, markdown, html or json)\n"
		"\n"
		"Options:\n"
		"  -f, --format=FORMAT  report format (default text), one of\n"
		"                       %s;\n"
		"                       nfd: a Node Feature Discovery feature file (features.d)\n"
		"                       labelling what the run proved, expiring a day after it\n"
		"  -o, --output=FILE    write the report to FILE (atomically) instead of stdout\n"
		"  -t, --timeout=SEC    deadline per probe, overriding each probe's own (1-3600)\n"
		"      --kvm-device=PATH  KVM device to open (default /dev/kvm)\n"
		"      --contract=FILE  hold findings against this contract file instead of the built-in one\n"
		"      --color=WHEN     colour the text report: auto (default: on a terminal), always, never;\n"
		"                       NO_COLOR in the environment also turns it off\n"
		"      --cap-maps=N     mem.max_maps stops after N maps (default %u)\n"
		"      --cap-vms=N      limits.vms_per_process stops after N VMs (default %u)\n"
		"      --cap-vcpus=N    limits.vcpus_per_vm stops after N vCPUs (default %u)\n"
		"      --duration=SEC   bench: time budget per benchmark (default 1)\n"
		"      --samples=N      bench: exactly N timed batches per benchmark (at most 256)\n"
		"      --pin=CPU        bench: run each benchmark on CPU number CPU\n"
		"      --page-size=BYTES  for testing hvprobe: map guest memory in pages of BYTES (a power\n"
		"                       of two, 4096 to 65536, and a multiple of the API's own page) instead\n"
		"                       of the API's page; 16384 runs the probes as on Apple silicon\n"
		"      --cpu            info: show the guest CPU model the API offers (named features,\n"
		"                       XSAVE sizes, the raw CPUID and feature MSRs or ID registers)\n"
		"  -v, --verbose        text report: show each answer's reason and every API call\n"
		"  -h, --help           show this help and exit\n"
		"  -V, --version        show the version and exit\n"
		"\n"
		"Exit status:\n"
		"  0  every probe ran and none deviates from its contract (diff: nothing changed)\n"
		"  1  a finding deviates, or a probe crashed or hung where no contract expects it\n"
		"     (diff: something changed; matrix: the answers differ between hosts; report: the\n"
		"     report could not be written)\n"
		"  2  usage error (diff, report, matrix: a report that cannot be read, or of a newer\n"
		"     schema; the message names the file and the place)\n"
		"  3  no usable hypervisor (the message names the cause and the fix)\n"
		"  130  interrupted (the findings so far are still reported)\n",
		hvp_report_format_names(), HVP_CAP_MAPS_DEFAULT, HVP_CAP_VMS_DEFAULT, HVP_CAP_VCPUS_DEFAULT);
}

/* The value of an option: "--opt=value", "-ovalue", or the next argument. */
static const char *option_value(int argc, char **argv, int *i, const char *inline_value, const char *name,
				char *err, size_t err_size)
{
	if (inline_value)
		return inline_value;
	if (*i + 1 >= argc) {
		snprintf(err, err_size, "option '%s' needs a value", name);
		return NULL;
	}
	return argv[++*i];
}

static int parse_timeout(const char *v, unsigned *out, char *err, size_t err_size)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10);

	if (*v == '\0' || *end != '\0' || *v == '-' || n < 1 || n > 3600) {
		snprintf(err, err_size, "invalid timeout '%s': give whole seconds from 1 to 3600", v);
		return -1;
	}
	*out = (unsigned)n;
	return 0;
}

static int parse_count(const char *v, const char *name, unsigned min, unsigned max, unsigned *out, char *err,
		       size_t err_size)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10);

	if (*v == '\0' || *end != '\0' || *v == '-' || n < min || n > max) {
		snprintf(err, err_size, "invalid %s '%s': give a whole number from %u to %u", name, v, min, max);
		return -1;
	}
	*out = (unsigned)n;
	return 0;
}

/* A page size: a power of two from 4 KiB (x86's, and the least any host has) to 64 KiB (arm64's largest). */
static int parse_page_size(const char *v, unsigned *out, char *err, size_t err_size)
{
	unsigned n;

	if (parse_count(v, "--page-size", 4096, 65536, &n, err, err_size))
		return -1;
	if (n & (n - 1)) {
		snprintf(err, err_size, "invalid --page-size '%s': give a power of two from 4096 to 65536", v);
		return -1;
	}
	*out = n;
	return 0;
}

static int parse_color(const char *v, enum hvp_color *out, char *err, size_t err_size)
{
	if (strcmp(v, "auto") == 0)
		*out = HVP_COLOR_AUTO;
	else if (strcmp(v, "always") == 0)
		*out = HVP_COLOR_ALWAYS;
	else if (strcmp(v, "never") == 0)
		*out = HVP_COLOR_NEVER;
	else {
		snprintf(err, err_size, "invalid --color '%s': use auto, always or never", v);
		return -1;
	}
	return 0;
}

struct option_def {
	const char *lng;
	char shrt; /* 0: long form only */
	int takes_value;
	char key;  /* what apply_option switches on */
};

static const struct option_def options[] = {
	{ "format", 'f', 1, 'f' },   { "output", 'o', 1, 'o' },  { "timeout", 't', 1, 't' },
	{ "kvm-device", 0, 1, 'k' }, { "contract", 0, 1, 'c' },  { "color", 0, 1, 'C' },
	{ "verbose", 'v', 0, 'v' },  { "help", 'h', 0, 'h' },    { "version", 'V', 0, 'V' },
	{ "cap-maps", 0, 1, 'm' },   { "duration", 0, 1, 'd' },  { "samples", 0, 1, 's' },
	{ "pin", 0, 1, 'p' },        { "cap-vms", 0, 1, 'n' },   { "cap-vcpus", 0, 1, 'u' },
	{ "page-size", 0, 1, 'P' },  { "cpu", 0, 0, 'M' },
};

/* Finds the option an argument names; sets *inline_value for "--x=v" and "-xv". */
static const struct option_def *find_option(const char *arg, const char **inline_value)
{
	*inline_value = NULL;
	for (unsigned k = 0; k < sizeof(options) / sizeof(options[0]); k++) {
		const struct option_def *o = &options[k];
		size_t n = strlen(o->lng);
		if (arg[1] == '-' && strncmp(arg + 2, o->lng, n) == 0 && (arg[2 + n] == '\0' || arg[2 + n] == '=')) {
			if (arg[2 + n] == '=')
				*inline_value = arg + 3 + n;
			return o;
		}
		if (arg[1] != '-' && o->shrt && arg[1] == o->shrt) {
			if (arg[2] != '\0')
				*inline_value = arg + 2;
			return o;
		}
	}
	return NULL;
}

static int apply_option(struct hvp_cli *c, const struct option_def *o, const char *v, bool *help, bool *version,
			char *err, size_t err_size)
{
	switch (o->key) {
	case 'f':
		if (!hvp_report_format(v)) {
			snprintf(err, err_size, "unknown format '%s': use %s", v, hvp_report_format_names());
			return -1;
		}
		c->format = v;
		c->format_given = true;
		return 0;
	case 'o': c->output = v; return 0;
	case 't': return parse_timeout(v, &c->timeout_s, err, err_size);
	case 'k': c->kvm_device = v; return 0;
	case 'm': return parse_count(v, "--cap-maps", 1, 1u << 20, &c->cap_maps, err, err_size);
	case 's': return parse_count(v, "--samples", 5, 256, &c->samples, err, err_size);
	case 'n': return parse_count(v, "--cap-vms", 1, 1u << 16, &c->cap_vms, err, err_size);
	case 'u': return parse_count(v, "--cap-vcpus", 1, 1u << 16, &c->cap_vcpus, err, err_size);
	case 'P': return parse_page_size(v, &c->page_size, err, err_size);
	case 'p': {
		unsigned cpu;
		if (parse_count(v, "--pin", 0, 4095, &cpu, err, err_size))
			return -1;
		c->pin_cpu = (int)cpu;
		return 0;
	}
	case 'd': {
		char *end;
		c->duration_s = strtod(v, &end);
		if (*v == '\0' || *end != '\0' || !(c->duration_s >= 0.05 && c->duration_s <= 600)) {
			snprintf(err, err_size, "invalid --duration '%s': give seconds from 0.05 to 600", v);
			return -1;
		}
		return 0;
	}
	case 'c': c->contract_file = v; return 0;
	case 'C': return parse_color(v, &c->color, err, err_size);
	case 'v': c->verbose = true; return 0;
	case 'M': c->cpu = true; return 0;
	case 'h': *help = true; return 0;
	case 'V': *version = true; return 0;
	}
	return -1;
}

static int add_word(struct hvp_cli *c, const char *w, int *seen_command, char *err, size_t err_size)
{
	if (!*seen_command && c->n_patterns == 0) {
		*seen_command = 1;
		if (strcmp(w, "run") == 0)
			return 0;
		if (strcmp(w, "bench") == 0) {
			c->cmd = HVP_CMD_BENCH;
			return 0;
		}
		if (strcmp(w, "list") == 0) {
			c->cmd = HVP_CMD_LIST;
			return 0;
		}
		if (strcmp(w, "info") == 0) {
			c->cmd = HVP_CMD_INFO;
			return 0;
		}
		if (strcmp(w, "diff") == 0) {
			c->cmd = HVP_CMD_DIFF;
			return 0;
		}
		if (strcmp(w, "baseline") == 0) {
			c->cmd = HVP_CMD_BASELINE;
			return 0;
		}
		if (strcmp(w, "report") == 0) {
			c->cmd = HVP_CMD_REPORT;
			return 0;
		}
		if (strcmp(w, "matrix") == 0) {
			c->cmd = HVP_CMD_MATRIX;
			return 0;
		}
		if (strcmp(w, "help") == 0) {
			c->cmd = HVP_CMD_HELP;
			return 0;
		}
		snprintf(err, err_size, "unknown command '%s': use run, bench, list, info, diff, baseline, report or matrix", w);
		return -1;
	}
	if (c->cmd == HVP_CMD_INFO) {
		snprintf(err, err_size, "'info' takes no patterns (got '%s')", w);
		return -1;
	}
	if (c->n_patterns == HVP_PATTERNS_MAX) {
		snprintf(err, err_size, "too many patterns (at most %d)", HVP_PATTERNS_MAX);
		return -1;
	}
	c->patterns[c->n_patterns++] = w;
	return 0;
}

/* What the commands that read reports need, and --cpu only with info. */
static int check_files(const struct hvp_cli *c, char *err, size_t err_size)
{
	if (c->cmd == HVP_CMD_DIFF && c->n_patterns != 2) {
		snprintf(err, err_size, "diff compares two JSON reports: hvprobe diff OLD.json NEW.json (got %u)",
			 c->n_patterns);
		return -1;
	}
	if (c->cmd == HVP_CMD_BASELINE && c->n_patterns < 1) {
		snprintf(err, err_size, "baseline needs JSON reports: hvprobe baseline A.json B.json ...");
		return -1;
	}
	if (c->cpu && c->cmd != HVP_CMD_INFO) {
		snprintf(err, err_size, "--cpu is an option of 'info': hvprobe info --cpu");
		return -1;
	}
	if (c->cmd == HVP_CMD_REPORT && c->n_patterns != 1) {
		snprintf(err, err_size, "report renders one JSON report: hvprobe report FILE.json [-f FORMAT] (got %u)",
			 c->n_patterns);
		return -1;
	}
	if (c->cmd == HVP_CMD_MATRIX && c->n_patterns == 0) {
		snprintf(err, err_size, "matrix puts JSON reports side by side: hvprobe matrix A.json B.json ...");
		return -1;
	}
	return 0;
}

int hvp_cli_parse(int argc, char **argv, struct hvp_cli *c, char *err, size_t err_size)
{
	int seen_command = 0, only_words = 0;
	bool help = false, version = false;

	memset(c, 0, sizeof(*c));
	c->format = "text";
	c->kvm_device = "/dev/kvm";
	c->cap_maps = HVP_CAP_MAPS_DEFAULT;
	c->cap_vms = HVP_CAP_VMS_DEFAULT;
	c->cap_vcpus = HVP_CAP_VCPUS_DEFAULT;
	c->duration_s = 1.0;
	c->pin_cpu = -1;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *inline_value, *v = NULL;
		const struct option_def *o;

		if (only_words || arg[0] != '-' || arg[1] == '\0') {
			if (add_word(c, arg, &seen_command, err, err_size))
				return -1;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			only_words = 1;
			continue;
		}
		o = find_option(arg, &inline_value);
		if (!o) {
			snprintf(err, err_size, "unknown option '%s'", arg);
			return -1;
		}
		if (!o->takes_value && inline_value && arg[1] == '-') {
			snprintf(err, err_size, "option '--%s' takes no value", o->lng);
			return -1;
		}
		if (!o->takes_value && inline_value) {
			snprintf(err, err_size, "unknown option '%s'", arg);
			return -1;
		}
		if (o->takes_value && !(v = option_value(argc, argv, &i, inline_value, arg, err, err_size)))
			return -1;
		if (apply_option(c, o, v, &help, &version, err, err_size))
			return -1;
	}
	/* --help and --version win over any command word. */
	if (!help && !version && check_files(c, err, err_size))
		return -1;
	if (help)
		c->cmd = HVP_CMD_HELP;
	else if (version)
		c->cmd = HVP_CMD_VERSION;
	return 0;
}
