/* SPDX-License-Identifier: MIT */
/* fuzz_chain: reader/writer cursors, limits and segment views over chains of
 * every shape the guest can post (split at regions, indirect, zero-length). */
#include "harness/harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct scenario s;
	scenario_decode(&s, data, size);
	harness_run(&s, HARNESS_OP(SCN_POST) | HARNESS_OP(SCN_WRITE_DESC) |
				HARNESS_OP(SCN_WRITE_TABLE) | HARNESS_OP(SCN_WRITE_AVAIL) |
				HARNESS_OP(SCN_BUMP_AVAIL) | HARNESS_OP(SCN_POP) |
				HARNESS_OP(SCN_READ) | HARNESS_OP(SCN_WRITE) |
				HARNESS_OP(SCN_LIMIT) | HARNESS_OP(SCN_SEGMENTS) |
				HARNESS_OP(SCN_ADD_USED) | HARNESS_OP(SCN_PUBLISH) |
				HARNESS_OP(SCN_CONSUME));
	return 0;
}
