/* SPDX-License-Identifier: MIT */
#include "notify.h"

#include <errno.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/eventfd.h>

int hvp_notifier_open(void)
{
	return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

int hvp_notifier_signal(int fd, uint64_t n)
{
	return eventfd_write(fd, n);
}

int hvp_notifier_take(int fd, uint64_t *count)
{
	eventfd_t v = 0;

	*count = 0;
	if (eventfd_read(fd, &v) < 0)
		return errno == EAGAIN ? 0 : -1; /* EAGAIN: a count of 0 */
	*count = v;
	return 0;
}
#else
int hvp_notifier_open(void)
{
	errno = ENOSYS;
	return -1;
}

int hvp_notifier_signal(int fd, uint64_t n)
{
	(void)fd;
	(void)n;
	errno = ENOSYS;
	return -1;
}

int hvp_notifier_take(int fd, uint64_t *count)
{
	(void)fd;
	*count = 0;
	errno = ENOSYS;
	return -1;
}
#endif

void hvp_notifier_close(int fd)
{
	if (fd >= 0)
		close(fd);
}
