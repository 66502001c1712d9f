/* SPDX-License-Identifier: MIT */
/*
 * Eva driver: the split-queue datapath against a guest whose memory holds
 * anything, anytime. For every queue size 1, 2, 4, ..., 32768 and any
 * features: activation, then any sequence of any length of pop, discard,
 * resubmit, unpop, add_used (any id, any length), publish, the notification
 * calls, the batch calls (pop_many, add_used_many, complete, complete_many)
 * and the in-flight listing, then reset; separately, resume from an
 * in-flight area holding arbitrary bytes at any index, then the same
 * sequence without the batch calls (whose code after a resume is that of
 * the single calls in a loop: analysed after activation).
 */
#include "guest.h"

static void one_size(const struct virtq_mem *mem, uint32_t size)
{
	struct virtq q;
	if (guest_queue(&q, mem, size) == 0)
		guest_datapath(&q, true);
}

/* Its own function so that prove.sh can check it was reached: a resume
 * that can never succeed would leave the resumed datapath unanalysed. */
static void datapath_after_resume(struct virtq *q)
{
	guest_datapath(q, false);
}

static void resumed(const struct virtq_mem *mem, uint32_t size)
{
	struct virtq q;
	if (guest_configure(&q, mem, size, false) != 0)
		return;
	Frama_C_make_unknown((char *)guest_inflight_area, sizeof(guest_inflight_area));
	if (virtq_resume(&q, any_u16()) == 0)
		datapath_after_resume(&q);
}

int main(void)
{
	struct virtq_mem_region slots[GUEST_NREGIONS];
	struct virtq_mem mem;
	if (guest_map(&mem, slots))
		return 1;
#ifndef LOG2_SIZES
#define LOG2_SIZES 15 /* sizes 1 .. 2^15 = 32768 */
#endif
#ifndef SIZES_FROM
#define SIZES_FROM 0 /* prove.sh runs a range of sizes per job */
#endif
	//@ loop unroll 16;
	for (uint32_t k = SIZES_FROM; k <= LOG2_SIZES; k++) {
		one_size(&mem, 1u << k);
		resumed(&mem, 1u << k);
	}
	return 0;
}
