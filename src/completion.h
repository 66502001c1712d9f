/* SPDX-License-Identifier: MIT */
/*
 * Returning chains to the driver, after the entry checks: shared by the
 * one-chain calls (used.c) and the batch calls (batch.c), so both write the
 * used ring, the in-flight area and the notification state the same way.
 */
#ifndef VIRTQ_COMPLETION_H
#define VIRTQ_COMPLETION_H

#include "inflight.h"
#include "queue_internal.h"
#include "ring_access.h"
#include "split_layout.h"

/* Writes the used element of chain id (checked in flight by the caller) at
 * next_used. At most size - 1 entries are unpublished: each is another head
 * than this one, in flight. So this element overwrites no unpublished one. */
static inline void completion_write(struct virtq *q, uint16_t id, uint32_t len)
{
	void *elem = ring_at(q->used, used_ring_off(q->next_used & q->size_minus_1));
	ring_store32(elem, id);
	ring_store32(ring_at(elem, 4), len);
	q->next_used++;
}

/* Completes chain id with len, if it is in flight; -VIRTQ_EINVAL (nothing
 * written) for an id outside the queue or not in flight. */
static inline int completion_add(struct virtq *q, uint16_t id, uint32_t len)
{
	if (id > q->size_minus_1)
		return -VIRTQ_EINVAL;
	unsigned char *entry = inflight_entry(q, id);
	if (!inflight_entry_in_flight(entry))
		return -VIRTQ_EINVAL;
	completion_write(q, id, len);
	inflight_entry_completed(q, entry, id);
	return 0;
}

/*
 * Once 65536 or more entries were published since the last notification
 * decision, 16-bit indices cannot tell how many: used.idx may be back at the
 * old value, or any used_event may have been passed. The decision then knows
 * nothing, as the first one (virtio 2.7.7.2's wrap caveat; QEMU and vhost
 * reset their signalled index the same way).
 */
static inline void forget_signalled_if_wrapped(struct virtq *q, uint16_t n)
{
	uint32_t since = (uint16_t)(q->published_used - q->signalled_used);
	if (since + n > UINT16_MAX)
		q->signalled_valid = false;
}

/* Makes the n added used entries visible. */
static inline void completion_release(struct virtq *q, uint16_t n)
{
	/* 2.7.13 (b): release orders the used elements before the new used.idx. */
	ring_store16_release(ring_at(q->used, USED_IDX), q->next_used);
	inflight_published(q, n, q->next_used);
	forget_signalled_if_wrapped(q, n);
	q->published_used = q->next_used;
}

/* completion_release() with a dirty log attached (log.c): the elements are
 * logged before used.idx publishes them, used.idx after it. Returns n. */
uint16_t virtq_completion_release_logged(struct virtq *q, uint16_t n);

/* Makes the added used entries visible; returns how many there were. A
 * queue without a dirty log pays one branch for it (a tail call). */
static inline uint16_t completion_publish(struct virtq *q)
{
	const uint16_t n = (uint16_t)(q->next_used - q->published_used);
	if (!n)
		return 0;
	if (VIRTQ_UNLIKELY(q->log != NULL))
		return virtq_completion_release_logged(q, n);
	completion_release(q, n);
	return n;
}

/* The notification decision for what was published since the last one
 * (virtq_needs_notify): 1 notify, 0 not. */
static inline int completion_needs_notify(struct virtq *q)
{
	/* 2.7.13 (c): used.idx must be visible before we read the driver's
	 * suppression field, or both sides may skip the notification. */
	ring_fence_full();
	const uint16_t old = q->signalled_used, now = q->published_used;
	const bool known = q->signalled_valid;
	q->signalled_used = now;
	q->signalled_valid = true;
	if (queue_has(q, VIRTQ_F_EVENT_IDX)) {
		uint16_t event = ring_load16(ring_at(q->avail, used_event_off(queue_size(q))));
		return !known || need_event(event, now, old);
	}
	if (known && now == old)
		return 0; /* nothing published since the last decision */
	return !(ring_load16(ring_at(q->avail, AVAIL_FLAGS)) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

#endif /* VIRTQ_COMPLETION_H */
