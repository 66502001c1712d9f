/* SPDX-License-Identifier: MIT */
/* fuzz_queue: the whole split-queue API against a scheming guest, with the
 * reference model as a differential oracle. */
#include "harness/harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct scenario s;
	scenario_decode(&s, data, size);
	harness_run(&s, HARNESS_ALL_OPS);
	return 0;
}
