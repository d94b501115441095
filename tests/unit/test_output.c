/* SPDX-License-Identifier: MIT */
/* Reports written atomically: a reader sees the old file or the whole new one. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdbool.h>
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

/* The directory's entries but . and ..; with dot files only those, without only the others. */
static unsigned entries_of(const char *dir, bool dot_files)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n += (e->d_name[0] == '.') == dot_files;
	if (d)
		closedir(d);
	return n;
}

static unsigned entries(const char *dir)
{
	return entries_of(dir, true) + entries_of(dir, false);
}

/* What a reader of the directory sees while a report is being written into it. */
struct seen {
	const char *dir;
	unsigned visible, hidden;
};

static int write_looking(FILE *out, const void *arg)
{
	struct seen *s = (struct seen *)arg;

	s->visible = entries_of(s->dir, false);
	s->hidden = entries_of(s->dir, true);
	fputs("x=true\n", out);
	return 0;
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
	struct seen seen = { dir, 9, 9 };
	snprintf(path, sizeof(path), "%s/hvprobe", dir);
	ok(&t, hvp_write_output(path, write_looking, &seen) == 0 && seen.visible == 1 && seen.hidden == 1,
	   "while it is written, the new file is a dot file (which features.d readers skip): %u visible, %u hidden",
	   seen.visible, seen.hidden);
	unlink(path);
	snprintf(path, sizeof(path), "%s/report.txt", dir);
	ok(&t, hvp_write_output("/nonexistent-dir/r.txt", write_hello, "x") == -1 && errno == ENOENT,
	   "a missing directory fails with ENOENT");
	ok(&t, hvp_read_file("/nonexistent-file", 1024, &text, &len) == -1 && errno == ENOENT, "reading a missing file fails");
	ok(&t, hvp_read_file(path, 4, &text, &len) == -1 && errno == EFBIG, "a file larger than the limit is refused (EFBIG)");
	unlink(path);
	rmdir(dir);
	return tap_done(&t);
}
