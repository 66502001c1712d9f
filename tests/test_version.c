/* SPDX-License-Identifier: MIT */
/* Version macros and virtq_version() tell the same version. */
#include <stdio.h>
#include <string.h>

#include "fixture.h"

static void test_runtime_matches_headers(void **state)
{
	(void)state;
	assert_string_equal(virtq_version(), VIRTQ_VERSION_STRING);
}

static void test_number_matches_string(void **state)
{
	(void)state;
	unsigned major, minor, patch;
	char end;
	assert_int_equal(sscanf(virtq_version(), "%u.%u.%u%c", &major, &minor, &patch, &end), 3);
	assert_int_equal(major, VIRTQ_VERSION_MAJOR);
	assert_int_equal(minor, VIRTQ_VERSION_MINOR);
	assert_int_equal(patch, VIRTQ_VERSION_PATCH);
	assert_int_equal(VIRTQ_VERSION_NUMBER, (major << 16) | (minor << 8) | patch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runtime_matches_headers),
		cmocka_unit_test(test_number_matches_string),
	};
	return cmocka_run_group_tests_name("version", tests, NULL, NULL);
}
