/* SPDX-License-Identifier: MIT */
/*
 * Eva driver: restoring a decoded state (any state the decoder accepts, from
 * any bytes) onto a queue of every size 1 .. 32768 whose rings hold
 * anything, then saving it again.
 */
#include "guest.h"

/* as in eva_state.c: lengths up to beyond the largest encoding */
#define INPUT_BYTES (VIRTQ_STATE_MAX_BYTES + 8u)

static volatile unsigned char input[INPUT_BYTES];
static struct virtq_state state;

static void restore_onto(const struct virtq_mem *mem, uint32_t size)
{
	struct virtq q;
	if (guest_queue(&q, mem, size) == 0 && virtq_restore(&q, mem, &state) == 0)
		(void)virtq_save(&q, &state);
}

int main(void)
{
	struct virtq_mem_region slots[GUEST_NREGIONS];
	struct virtq_mem mem;
	if (guest_map(&mem, slots))
		return 1;
	const size_t len = Frama_C_size_t_interval(0, INPUT_BYTES);
	if (virtq_state_decode(&state, (const void *)(uintptr_t)input, len) != 0)
		return 0;
#ifndef LOG2_SIZES
#define LOG2_SIZES 15 /* sizes 1 .. 2^15 = 32768 */
#endif
#ifndef SIZES_FROM
#define SIZES_FROM 0 /* prove.sh runs a range of sizes per job */
#endif
	//@ loop unroll 16;
	for (uint32_t k = SIZES_FROM; k <= LOG2_SIZES; k++)
		restore_onto(&mem, 1u << k);
	return 0;
}
