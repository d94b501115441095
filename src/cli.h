/* SPDX-License-Identifier: MIT */
/* Command-line parsing, kept apart from main() so that it can be tested. */
#ifndef HVP_CLI_H
#define HVP_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum hvp_command { HVP_CMD_RUN, HVP_CMD_BENCH, HVP_CMD_LIST, HVP_CMD_INFO, HVP_CMD_DIFF, HVP_CMD_BASELINE, HVP_CMD_REPORT, HVP_CMD_MATRIX, HVP_CMD_HELP, HVP_CMD_VERSION };
enum hvp_color { HVP_COLOR_AUTO, HVP_COLOR_ALWAYS, HVP_COLOR_NEVER };

#define HVP_PATTERNS_MAX 64

struct hvp_cli {
	enum hvp_command cmd;
	const char *format;        /* "text" unless given */
	bool format_given;         /* -f was given (matrix: its own formats) */
	const char *output;        /* NULL: stdout */
	unsigned timeout_s;        /* 0: each probe's default */
	const char *kvm_device;    /* "/dev/kvm" unless given */
	const char *contract_file; /* NULL: the built-in contract */
	enum hvp_color color;
	unsigned cap_maps, cap_vms, cap_vcpus;
	unsigned samples;          /* bench: 0 = as the duration allows */
	double duration_s;         /* bench: budget per benchmark */
	int pin_cpu;               /* bench: -1 = not pinned */
	unsigned page_size;        /* --page-size: the page guest memory is mapped in; 0 = the API's */
	bool verbose;
	bool cpu;                  /* info --cpu: the guest CPU model */
	unsigned n_patterns;
	const char *patterns[HVP_PATTERNS_MAX]; /* diff: the two reports, old then new; baseline, report, matrix: the reports */
};

/* Returns 0, or -1 with a one-line message in err (a usage error: exit 2). */
int hvp_cli_parse(int argc, char **argv, struct hvp_cli *c, char *err, size_t err_size);

/* The usage text for --help. */
void hvp_cli_usage(FILE *out);

#endif
