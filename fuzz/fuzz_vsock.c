/* SPDX-License-Identifier: MIT */
/* fuzz_vsock: TX parsing and RX writing over chains of any shape, headers
 * split anywhere, lengths that lie; checked against a flat reference. */
#include "harness/harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct scenario s;
	scenario_decode(&s, data, size);
	harness_run(&s, HARNESS_OP(SCN_POST) | HARNESS_OP(SCN_WRITE_DESC) |
				HARNESS_OP(SCN_WRITE_TABLE) | HARNESS_OP(SCN_WRITE_AVAIL) |
				HARNESS_OP(SCN_BUMP_AVAIL) | HARNESS_OP(SCN_POP) |
				HARNESS_OP(SCN_VSOCK_TX) | HARNESS_OP(SCN_VSOCK_RX) |
				HARNESS_OP(SCN_ADD_USED) | HARNESS_OP(SCN_PUBLISH) |
				HARNESS_OP(SCN_CONSUME) | HARNESS_OP(SCN_RESET));
	return 0;
}
