/* SPDX-License-Identifier: MIT */
/* fuzz_vsock: TX parsing and RX writing over chains of any shape, headers
 * split anywhere, lengths that lie; checked against a flat reference. */
#include "harness/harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct scenario s;
	scenario_decode(&s, data, size);
	harness_run(&s, HARNESS_RING_OPS | HARNESS_OP(SCN_VSOCK_TX) | HARNESS_OP(SCN_VSOCK_RX) |
				HARNESS_OP(SCN_RESET));
	return 0;
}
