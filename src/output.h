/* SPDX-License-Identifier: MIT */
/* Files in and out: whole-file reads, and reports written atomically. */
#ifndef HVP_OUTPUT_H
#define HVP_OUTPUT_H

#include <stddef.h>

#include <stdio.h>

/*
 * Reads a whole file into a NUL-terminated malloc'd buffer; 0, or -1 with
 * errno set (EFBIG when it holds more than max bytes).
 */
int hvp_read_file(const char *path, size_t max, char **text, size_t *len);

/*
 * Writes a report to stdout (path NULL or "-") or to path through a
 * temporary file in the same directory renamed over it, so that a reader
 * never sees half a report. Returns 0, or -1 with errno set.
 */
typedef int (*hvp_writer)(FILE *out, const void *what);
int hvp_write_output(const char *path, hvp_writer write, const void *what);

#endif
