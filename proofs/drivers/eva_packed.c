/* SPDX-License-Identifier: MIT */
/*
 * Eva driver: the packed-queue datapath (virtio 2.8, src/packed_*.c) against
 * a guest whose memory holds anything, anytime. For every queue size 1, 2,
 * 4, ..., 32768 and any features with RING_PACKED: activation, then any
 * sequence of any length of pop, discard, unpop, add_used (any id, any
 * length), publish, the notification calls, the batch calls (pop_many,
 * add_used_many, complete, complete_many) and the in-flight listing, then
 * reset. The descriptor ring and both event structures are guest memory:
 * every flag, id, wrap counter and off_wrap is any value at every read.
 */
#include "guest.h"

#define SEGS 8u

#define BATCH 4u

static uint16_t heads[VIRTQ_MAX_SIZE];

static void any_elems(struct virtq_used_elem *e)
{
	//@ loop unroll BATCH;
	for (unsigned i = 0; i < BATCH; i++)
		e[i] = (struct virtq_used_elem){ .id = any_u16(), .len = any_u32() };
}

static void packed_datapath(struct virtq *q)
{
	struct virtq_seg segs[SEGS], batch_segs[BATCH][SEGS];
	struct virtq_chain c, batch[BATCH];
	struct virtq_used_elem elems[BATCH];
	virtq_chain_init(&c, segs, Frama_C_unsigned_int_interval(0, SEGS));
	any_elems(elems);
	//@ loop unroll BATCH;
	for (unsigned i = 0; i < BATCH; i++)
		virtq_chain_init(&batch[i], batch_segs[i], SEGS);
	while (Frama_C_nondet(0, 1)) {
		switch (Frama_C_interval(0, 12)) {
		case 0: (void)virtq_pop(q, &c); break;
		case 1: (void)virtq_discard(q, Frama_C_nondet(0, 1) ? &c : NULL); break;
		case 2: (void)virtq_unpop(q); break;
		case 3: (void)virtq_add_used(q, any_u16(), any_u32()); break;
		case 4: (void)virtq_publish_used(q); break;
		case 5: (void)virtq_needs_notify(q); break;
		case 6: (void)virtq_enable_notify(q); break;
		case 7: (void)virtq_disable_notify(q); break;
		case 8: (void)virtq_pop_many(q, batch, Frama_C_unsigned_int_interval(0, BATCH)); break;
		case 9: any_elems(elems); (void)virtq_add_used_many(q, elems, Frama_C_unsigned_int_interval(0, BATCH)); break;
		case 10: (void)virtq_complete(q, any_u16(), any_u32()); break;
		case 11: any_elems(elems); (void)virtq_complete_many(q, elems, Frama_C_unsigned_int_interval(0, BATCH)); break;
		default: (void)virtq_in_flight_list(q, heads, VIRTQ_MAX_SIZE); break;
		}
	}
	/* Last, as in eva_queue.c: a reset inside the loop would merge NULL
	 * rings with the active queue's. */
	virtq_reset(q);
}

static void one_packed_size(const struct virtq_mem *mem, uint32_t size)
{
	struct virtq q;
	if (guest_queue_packed(&q, mem, size) == 0)
		packed_datapath(&q);
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
	for (uint32_t k = SIZES_FROM; k <= LOG2_SIZES; k++)
		one_packed_size(&mem, 1u << k);
	return 0;
}
