/* SPDX-License-Identifier: MIT */
/*
 * Eva driver: saved queue state from untrusted bytes. Decoding any bytes of
 * any length from 0 to beyond the largest encoding (the input is volatile: a
 * stream being rewritten while it is parsed), and encoding what decoded into
 * a buffer of any capacity.
 */
#include "guest.h"

#define INPUT_BYTES (VIRTQ_STATE_MAX_BYTES + 8u)

static volatile unsigned char input[INPUT_BYTES];
static unsigned char output[VIRTQ_STATE_MAX_BYTES];
static struct virtq_state state;

int main(void)
{
	const size_t len = Frama_C_size_t_interval(0, INPUT_BYTES);
	if (virtq_state_decode(&state, (const void *)(uintptr_t)input, len) == 0)
		(void)virtq_state_encode(&state, output, Frama_C_size_t_interval(0, sizeof(output)));
	return 0;
}
