/* SPDX-License-Identifier: MIT */
/* A tiny TAP producer for the unit tests (TAP version 13, read by prove). */
#ifndef HVP_TEST_TAP_H
#define HVP_TEST_TAP_H

#include <stdio.h>
#include <stdlib.h>

struct tap {
	int n, failed;
};

#define TAP_PLAN_LATER(t) (printf("TAP version 13\n"), (t)->n = 0, (t)->failed = 0)

/* Records one test; returns cond so that later checks can depend on it. */
#define ok(t, cond, ...)                                                          \
	({                                                                        \
		int _c = !!(cond);                                                \
		(t)->n++;                                                         \
		printf("%s %d - ", _c ? "ok" : "not ok", (t)->n);                 \
		printf(__VA_ARGS__);                                              \
		printf("\n");                                                     \
		if (!_c) {                                                        \
			(t)->failed++;                                            \
			printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                 \
		fflush(stdout);                                                   \
		_c;                                                               \
	})

static inline int tap_done(struct tap *t)
{
	printf("1..%d\n", t->n);
	return t->failed ? 1 : 0;
}

#endif
