/* SPDX-License-Identifier: MIT */
/* Reading a report's guest CPU model back (report_read.c calls it for host.cpu_model). */
#ifndef HVP_CPU_MODEL_READ_H
#define HVP_CPU_MODEL_READ_H

#include <stddef.h>

#include "cpu_model.h"

#ifdef HVP_HAVE_JSONC
#include <json-c/json.h>

/* Parses the object o found at path; returns 0, or -1 with "path: what" in err. */
int hvp_model_read(json_object *o, const char *path, struct hvp_cpu_model *m, char *err, size_t err_size);
#endif

#endif
