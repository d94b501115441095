/* SPDX-License-Identifier: MIT */
/*
 * Event notifiers: what irqfd and ioeventfd bind (backend.h). On Linux an
 * eventfd, a counter the kernel adds to and a read takes and clears; where
 * the host has none (macOS) opening fails with ENOSYS, and the backends
 * there offer no call that takes one.
 */
#ifndef HVP_NOTIFY_H
#define HVP_NOTIFY_H

#include <stdint.h>

/* A new notifier with count 0, non-blocking; -1 with errno on failure. */
int hvp_notifier_open(void);
/* Adds n; 0, or -1 with errno. */
int hvp_notifier_signal(int fd, uint64_t n);
/* Takes the count (0 when nothing was signalled) and clears it; -1 with errno on failure. */
int hvp_notifier_take(int fd, uint64_t *count);
void hvp_notifier_close(int fd);

#endif
