/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "output.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int hvp_read_file(const char *path, size_t max, char **text, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return -1;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			char *grown = realloc(buf, cap = cap ? cap * 2 : 8192);
			if (!grown) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return -1;
			}
			buf = grown;
		}
		size_t r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (n > max) {
			free(buf);
			fclose(f);
			errno = EFBIG;
			return -1;
		}
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		int err = errno ? errno : EIO;
		free(buf);
		fclose(f);
		errno = err;
		return -1;
	}
	fclose(f);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

int hvp_write_output(const char *path, hvp_writer write, const void *r)
{
	char *tmp;
	FILE *f;
	int fd, rc, err;

	if (!path || strcmp(path, "-") == 0) {
		rc = write(stdout, r);
		return fflush(stdout) || rc ? -1 : 0;
	}
	/*
	 * A dot file beside the target: the directories a report is written
	 * into for others to read skip dot files (Node Feature Discovery's
	 * features.d) or read only *.prom (node_exporter's textfile collector),
	 * so neither sees the half-written file.
	 */
	const char *slash = strrchr(path, '/');
	int dir_len = slash ? (int)(slash - path + 1) : 0;
	if (asprintf(&tmp, "%.*s.%s.XXXXXX", dir_len, path, path + dir_len) < 0)
		return -1;
	fd = mkstemp(tmp);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		err = errno;
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		free(tmp);
		errno = err;
		return -1;
	}
	rc = write(f, r);
	if (fflush(f) || fsync(fileno(f)))
		rc = -1;
	err = errno;
	if (fclose(f))
		rc = -1;
	/* mkstemp creates 0600; a report is for others to read too. */
	if (rc == 0 && (chmod(tmp, 0644) || rename(tmp, path)))
		rc = -1, err = errno;
	if (rc)
		unlink(tmp);
	free(tmp);
	errno = err;
	return rc;
}
