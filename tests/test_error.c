/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "fixture.h"

static void test_every_code_described(void **state)
{
	(void)state;
	for (int e = 0; e < VIRTQ_ERROR_COUNT; e++) {
		assert_string_equal(virtq_strerror(e), virtq_strerror(-e));
		assert_string_not_equal(virtq_strerror(e), "unknown error");
		assert_true(strncmp(virtq_errname(-e), "VIRTQ_", 6) == 0);
		for (int o = 0; o < e; o++) {
			assert_string_not_equal(virtq_strerror(o), virtq_strerror(e));
			assert_string_not_equal(virtq_errname(o), virtq_errname(e));
		}
	}
	assert_string_equal(virtq_errname(-VIRTQ_EBADIDX), "VIRTQ_EBADIDX");
}

static void test_unknown_codes(void **state)
{
	(void)state;
	static const int unknown[] = { VIRTQ_ERROR_COUNT, -VIRTQ_ERROR_COUNT, 1000, -1000,
				       INT32_MIN, INT32_MAX };
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		assert_string_equal(virtq_strerror(unknown[i]), "unknown error");
		assert_string_equal(virtq_errname(unknown[i]), "VIRTQ_E?");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_code_described),
		cmocka_unit_test(test_unknown_codes),
	};
	return cmocka_run_group_tests_name("errors", tests, NULL, NULL);
}
