/* SPDX-License-Identifier: MIT */
/* Command-line parsing: commands, options in every spelling, and usage errors. */
#include <string.h>

#include "cli.h"
#include "tap.h"

#define ARGV(...) ((char *[]){ "hvprobe", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "hvprobe", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(c, err, ...) hvp_cli_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (c), (err), 256)

int main(void)
{
	struct hvp_cli c;
	char err[256] = "";
	struct tap t;

	TAP_PLAN_LATER(&t);
	ok(&t, hvp_cli_parse(1, (char *[]){ "hvprobe", NULL }, &c, err, 256) == 0 && c.cmd == HVP_CMD_RUN &&
		       strcmp(c.format, "text") == 0 && strcmp(c.kvm_device, "/dev/kvm") == 0 && c.timeout_s == 0,
	   "no arguments: run everything, text, /dev/kvm, per-probe deadlines");
	ok(&t, PARSE(&c, err, "run", "vm.*", "mem.two_maps") == 0 && c.n_patterns == 2 && strcmp(c.patterns[0], "vm.*") == 0,
	   "run takes patterns");
	ok(&t, PARSE(&c, err, "vm.*") == -1 && strstr(err, "unknown command"), "a bare pattern is not a command: %s", err);
	ok(&t, PARSE(&c, err, "list", "mem.*") == 0 && c.cmd == HVP_CMD_LIST && c.n_patterns == 1, "list takes patterns");
	ok(&t, PARSE(&c, err, "info") == 0 && c.cmd == HVP_CMD_INFO, "info");
	ok(&t, PARSE(&c, err, "info", "x") == -1 && strstr(err, "no patterns"), "info takes no patterns: %s", err);
	ok(&t, PARSE(&c, err, "--format=json", "-o", "out.json", "--timeout", "5") == 0 && strcmp(c.format, "json") == 0 &&
		       strcmp(c.output, "out.json") == 0 && c.timeout_s == 5,
	   "--opt=value and --opt value");
	ok(&t, PARSE(&c, err, "-ftap", "-t7", "-oX") == 0 && strcmp(c.format, "tap") == 0 && c.timeout_s == 7 &&
		       strcmp(c.output, "X") == 0,
	   "-xVALUE short forms");
	ok(&t, PARSE(&c, err, "run", "-v", "vm.*", "--kvm-device", "/tmp/k", "--contract=f.ini") == 0 && c.verbose &&
		       c.n_patterns == 1 && strcmp(c.kvm_device, "/tmp/k") == 0 && strcmp(c.contract_file, "f.ini") == 0,
	   "options between patterns");
	ok(&t, PARSE(&c, err, "--format=xml") == -1 && strstr(err, "unknown format 'xml'"), "unknown format: %s", err);
	ok(&t, PARSE(&c, err, "--timeout=0") == -1 && strstr(err, "invalid timeout"), "timeout 0: %s", err);
	ok(&t, PARSE(&c, err, "--timeout=5s") == -1, "timeout with a unit is refused");
	ok(&t, PARSE(&c, err, "--timeout=-1") == -1, "negative timeout is refused");
	ok(&t, PARSE(&c, err, "--timeout") == -1 && strstr(err, "needs a value"), "missing value: %s", err);
	ok(&t, PARSE(&c, err, "--color=sometimes") == -1 && strstr(err, "auto, always or never"), "bad --color: %s", err);
	ok(&t, PARSE(&c, err, "--color=never") == 0 && c.color == HVP_COLOR_NEVER, "--color=never");
	ok(&t, PARSE(&c, err, "--bogus") == -1 && strstr(err, "unknown option '--bogus'"), "unknown option: %s", err);
	ok(&t, PARSE(&c, err, "--verbose=yes") == -1 && strstr(err, "takes no value"), "flag with value: %s", err);
	ok(&t, PARSE(&c, err, "--formatx") == -1, "a longer word is not a prefix match");
	ok(&t, PARSE(&c, err, "list", "--help") == 0 && c.cmd == HVP_CMD_HELP, "--help wins over a command");
	ok(&t, PARSE(&c, err, "--version", "list") == 0 && c.cmd == HVP_CMD_VERSION, "--version wins too");
	ok(&t, PARSE(&c, err, "run", "--", "-odd-id") == 0 && c.n_patterns == 1 && strcmp(c.patterns[0], "-odd-id") == 0,
	   "-- ends the options");
	return tap_done(&t);
}
