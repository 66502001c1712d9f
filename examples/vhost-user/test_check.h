/* SPDX-License-Identifier: MIT */
/* The example's tests: CHECK() counts a failure and carries on, so one run
 * reports every broken expectation; main returns test_failures != 0. */
#ifndef VU_TEST_CHECK_H
#define VU_TEST_CHECK_H

#include <stdio.h>

static int test_failures;

#define CHECK(cond)                                                                    \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, \
				#cond);                                                \
			test_failures++;                                               \
		}                                                                      \
	} while (0)

#endif /* VU_TEST_CHECK_H */
