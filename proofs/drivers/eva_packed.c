/* SPDX-License-Identifier: MIT */
/*
 * Eva driver: the packed-queue datapath (virtio 2.8, src/packed_*.c) against
 * a guest whose memory holds anything, anytime. For every queue size 1, 2,
 * 4, ..., 32768 and any features with RING_PACKED: activation, then the
 * datapath sequence of datapath.c (resubmit included: a packed queue
 * resubmits from the descriptor journal); separately, resume
 * (virtq_resume_packed) with any base from an in-flight area and a journal
 * holding arbitrary bytes, then the datapath's single calls. The
 * descriptor ring and both event structures are guest memory: every flag,
 * id, wrap counter and off_wrap is any value at every read.
 */
#include "guest.h"

static void one_packed_size(const struct virtq_mem *mem, uint32_t size)
{
	struct virtq q;
	if (guest_queue_packed(&q, mem, size) == 0)
		guest_datapath(&q, true);
}

/* Its own function so that prove.sh can check it was reached: a resume
 * that can never succeed would leave the resumed datapath unanalysed. */
static void datapath_after_packed_resume(struct virtq *q)
{
	guest_datapath(q, false);
}

static void resumed_packed(const struct virtq_mem *mem, uint32_t size)
{
	struct virtq q;
	if (guest_configure(&q, mem, size, true) != 0)
		return;
	Frama_C_make_unknown((char *)guest_inflight_area, sizeof(guest_inflight_area));
	Frama_C_make_unknown((char *)guest_journal_area, sizeof(guest_journal_area));
	if (virtq_resume_packed(&q, any_u32()) == 0)
		datapath_after_packed_resume(&q);
}

int main(void)
{
	struct virtq_mem_region slots[GUEST_NREGIONS];
	struct virtq_mem mem;
	if (guest_map(&mem, slots))
		return 1;
#ifndef LOG2_SIZES
#define LOG2_SIZES 15
#endif
#ifndef SIZES_FROM
#define SIZES_FROM 0
#endif
	//@ loop unroll 16;
	for (uint32_t k = SIZES_FROM; k <= LOG2_SIZES; k++) {
		one_packed_size(&mem, 1u << k);
		resumed_packed(&mem, 1u << k);
	}
	return 0;
}
