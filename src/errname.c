/* SPDX-License-Identifier: MIT */
/*
 * errno names: users search for "EEXIST", not for "File exists". glibc
 * knows them all (strerrorname_np); elsewhere a table of the codes that
 * hypervisor APIs and this program's own calls return.
 */
#define _GNU_SOURCE
#include "errname.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#if defined(__GLIBC__)
#if __GLIBC_PREREQ(2, 32)
#define HAVE_STRERRORNAME_NP 1
#endif
#endif

#ifndef HAVE_STRERRORNAME_NP
static const char *table_name(int err)
{
	switch (err) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case ENXIO: return "ENXIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case ECHILD: return "ECHILD";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case EMFILE: return "EMFILE";
	case ENFILE: return "ENFILE";
	case ENOTTY: return "ENOTTY";
	case ENOSPC: return "ENOSPC";
	case ERANGE: return "ERANGE";
	case ENOSYS: return "ENOSYS";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default: return NULL;
	}
}
#endif

const char *hvp_errno_name(int err)
{
	static __thread char unknown[16];
	const char *name;

	if (err == 0)
		return "OK";
#ifdef HAVE_STRERRORNAME_NP
	name = strerrorname_np(err);
#else
	name = table_name(err);
#endif
	if (name)
		return name;
	snprintf(unknown, sizeof(unknown), "E%d", err);
	return unknown;
}
