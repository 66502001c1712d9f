/* SPDX-License-Identifier: MIT */
/*
 * The datapath sequence the queue analyses share (eva_queue.c for a split
 * ring, eva_packed.c for a packed one): on an active queue, any sequence of
 * any length of pop, discard, resubmit, unpop, add_used (any id, any
 * length), publish, the notification calls, the batch calls (pop_many,
 * add_used_many, complete, complete_many) and the in-flight listing, then
 * reset.
 */
#include "guest.h"

#define SEGS 8u

#define BATCH 4u

/* The caller's array for virtq_in_flight_list(), room for every head. */
static uint16_t heads[VIRTQ_MAX_SIZE];

/* Completions with any ids and lengths. */
static void any_elems(struct virtq_used_elem *e)
{
	//@ loop unroll BATCH;
	for (unsigned i = 0; i < BATCH; i++)
		e[i] = (struct virtq_used_elem){ .id = any_u16(), .len = any_u32() };
}

void guest_datapath(struct virtq *q, bool batches)
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
		switch (Frama_C_interval(0, batches ? 13 : 10)) {
		case 0: (void)virtq_pop(q, &c); break;
		case 1: (void)virtq_discard(q, Frama_C_nondet(0, 1) ? &c : NULL); break;
		case 2: (void)virtq_resubmit(q, any_u16(), &c); break;
		case 3: (void)virtq_unpop(q); break;
		case 4: (void)virtq_add_used(q, any_u16(), any_u32()); break;
		case 5: (void)virtq_publish_used(q); break;
		case 6: (void)virtq_needs_notify(q); break;
		case 7: (void)virtq_enable_notify(q); break;
		case 8: (void)virtq_disable_notify(q); break;
		case 9: (void)virtq_complete(q, any_u16(), any_u32()); break;
		case 10: (void)virtq_in_flight_list(q, heads, VIRTQ_MAX_SIZE); break;
		case 11: (void)virtq_pop_many(q, batch, Frama_C_unsigned_int_interval(0, BATCH)); break;
		case 12: any_elems(elems); (void)virtq_add_used_many(q, elems, Frama_C_unsigned_int_interval(0, BATCH)); break;
		default: any_elems(elems); (void)virtq_complete_many(q, elems, Frama_C_unsigned_int_interval(0, BATCH)); break;
		}
	}
	/* Last: inside the loop, a reset queue's NULL rings would be merged
	 * with the active queue's (Eva is not relational), and everything
	 * after a reset is activation again. */
	virtq_reset(q);
}
