/* SPDX-License-Identifier: MIT */
/* fuzz_chain: reader/writer cursors, limits and segment views over chains of
 * every shape the guest can post (split at regions, indirect, zero-length),
 * and over chains a device builds by hand with virtq_chain_append(). */
#include "harness/harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct scenario s;
	scenario_decode(&s, data, size);
	harness_run(&s, HARNESS_RING_OPS | HARNESS_OP(SCN_READ) | HARNESS_OP(SCN_WRITE) |
				HARNESS_OP(SCN_LIMIT) | HARNESS_OP(SCN_SEGMENTS) |
				HARNESS_OP(SCN_APPEND));
	return 0;
}
