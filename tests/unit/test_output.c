/* SPDX-License-Identifier: MIT */
/* Reports written atomically: a reader sees the old file or the whole new one. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output.h"
#include "tap.h"

static int write_hello(FILE *out, const void *arg)
{
	fprintf(out, "hello %s\n", (const char *)arg);
	return 0;
}

static int write_half_then_fail(FILE *out, const void *arg)
{
	(void)arg;
	fputs("half a rep", out);
	return -1;
}

static unsigned entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

int main(void)
{
	char dir[] = "/tmp/hvprobe-out-XXXXXX", path[64], *text = NULL;
	struct stat st;
	size_t len = 0;
	struct tap t;

	TAP_PLAN_LATER(&t);
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/report.txt", dir);
	ok(&t, hvp_write_output(path, write_hello, "world") == 0, "a report is written");
	ok(&t, hvp_read_file(path, 1024, &text, &len) == 0 && len == 12 && strcmp(text, "hello world\n") == 0,
	   "with its whole content");
	free(text);
	ok(&t, stat(path, &st) == 0 && (st.st_mode & 0777) == 0644, "readable by others (0644)");
	ok(&t, hvp_write_output(path, write_half_then_fail, NULL) == -1, "a failing writer reports failure");
	ok(&t, hvp_read_file(path, 1024, &text, &len) == 0 && strcmp(text, "hello world\n") == 0,
	   "and the previous report is untouched");
	free(text);
	ok(&t, entries(dir) == 1, "no temporary file is left behind");
	ok(&t, hvp_write_output("/nonexistent-dir/r.txt", write_hello, "x") == -1 && errno == ENOENT,
	   "a missing directory fails with ENOENT");
	ok(&t, hvp_read_file("/nonexistent-file", 1024, &text, &len) == -1 && errno == ENOENT, "reading a missing file fails");
	ok(&t, hvp_read_file(path, 4, &text, &len) == -1 && errno == EFBIG, "a file larger than the limit is refused (EFBIG)");
	unlink(path);
	rmdir(dir);
	return tap_done(&t);
}
