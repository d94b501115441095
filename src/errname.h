/* SPDX-License-Identifier: MIT */
#ifndef HVP_ERRNAME_H
#define HVP_ERRNAME_H

/* The symbolic name of an errno value ("EEXIST"); "OK" for 0, "E<n>" if unknown. */
const char *hvp_errno_name(int err);

#endif
