/* SPDX-License-Identifier: MIT */
/*
 * Batch calls: many chains per call with the queue's state checked once, and
 * the fused completion of one chain (add used + publish + notification
 * decision). Every guest-facing check of the one-chain calls still runs per
 * chain: the pops are virtq_pop()'s, the used elements and the in-flight
 * area are written by the same helpers as virtq_add_used()'s.
 * virtq_pop_many() is in pop.c, next to the walk it inlines.
 */
#include "completion.h"
#include "packed.h"

/* Undoes claim_all()'s first n marks. */
static void unclaim(struct virtq *q, const struct virtq_used_elem *elems, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		inflight_entry_unclaim(inflight_entry(q, elems[i].id));
}

/* Every id < size and in flight, each once (inflight.h: two passes), or
 * -VIRTQ_EINVAL with nothing marked. */
static int claim_all(struct virtq *q, const struct virtq_used_elem *elems, uint32_t n)
{
	unsigned char *const base = q->inflight;
	const uint16_t mask = q->size_minus_1;
	for (uint32_t i = 0; i < n; i++) {
		unsigned char *e = inflight_entry_at(base, mask, elems[i].id);
		if (elems[i].id > mask || !inflight_entry_in_flight(e)) {
			unclaim(q, elems, i);
			return -VIRTQ_EINVAL;
		}
		inflight_entry_claim(e);
	}
	return 0;
}

/* The used elements of claimed ids, each linked into the batch list
 * (inflight.h) in the same pass. */
static void write_all(struct virtq *q, const struct virtq_used_elem *elems, uint32_t n)
{
	void *const used = q->used;
	unsigned char *const base = q->inflight;
	const uint16_t mask = q->size_minus_1;
	uint16_t idx = q->next_used;
	uint16_t batch_head = inflight_get16(base + INFLIGHT_LAST_BATCH_HEAD);
	for (uint32_t i = 0; i < n; i++, idx++) {
		const uint16_t id = elems[i].id;
		/* At most size entries unpublished, each another claimed head:
		 * no unpublished element is overwritten (completion_write()). */
		void *elem = ring_at(used, used_ring_off(idx & mask));
		ring_store32(elem, id);
		ring_store32(ring_at(elem, 4), elems[i].len);
		inflight_put16(inflight_entry_at(base, mask, id) + ENTRY_NEXT, batch_head);
		batch_head = id;
	}
	inflight_put16(base + INFLIGHT_LAST_BATCH_HEAD, batch_head);
	q->next_used = idx;
}

/* virtq_add_used_many() after the entry checks. */
static int add_used_many(struct virtq *q, const struct virtq_used_elem *elems, uint32_t n)
{
	if (!elems && n)
		return -VIRTQ_EINVAL;
	int r = claim_all(q, elems, n);
	if (r)
		return r;
	if (VIRTQ_UNLIKELY(q->packed))
		return virtq_packed_add_used_many(q, elems, n);
	const uint16_t first = q->next_used;
	write_all(q, elems, n);
	if (q->log) /* the elements just written (log.h) */
		virtq_queue_log_elems(q, first, n);
	return 0;
}

int virtq_add_used_many(struct virtq *q, const struct virtq_used_elem *elems, uint32_t n)
{
	int r = queue_usable(q);
	return r ? r : add_used_many(q, elems, n);
}

int virtq_complete(struct virtq *q, uint16_t id, uint32_t len)
{
	int r = queue_usable(q);
	if (r)
		return r;
	if (VIRTQ_UNLIKELY(q->packed)) {
		if ((r = virtq_packed_add_used(q, id, len)))
			return r;
		virtq_packed_publish(q);
		return virtq_packed_needs_notify(q);
	}
	if ((r = completion_add(q, id, len)))
		return r;
	completion_publish(q);
	return completion_needs_notify(q);
}

int virtq_complete_many(struct virtq *q, const struct virtq_used_elem *elems, uint32_t n)
{
	int r = queue_usable(q);
	if (r)
		return r;
	if ((r = add_used_many(q, elems, n)))
		return r;
	if (VIRTQ_UNLIKELY(q->packed)) {
		virtq_packed_publish(q);
		return virtq_packed_needs_notify(q);
	}
	completion_publish(q);
	return completion_needs_notify(q);
}
