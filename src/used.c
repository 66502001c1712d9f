/* SPDX-License-Identifier: MIT */
/* Split virtqueue: returning chains to the driver and notification suppression. */
#include "queue_internal.h"
#include "ring_access.h"
#include "split_layout.h"

bool virtq_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return need_event(event, new_idx, old_idx);
}

static void publish(struct virtq *q)
{
	/* 2.7.13 (b): release orders the used elements before the new used.idx. */
	ring_store16_release(ring_at(q->used, USED_IDX), q->next_used);
	q->published_used = q->next_used;
}

int virtq_add_used(struct virtq *q, uint16_t id, uint32_t len)
{
	int r = queue_usable(q);
	if (r)
		return r;
	if (id > q->size_minus_1 || q->in_flight == 0)
		return -VIRTQ_EINVAL;
	/* A full ring of unpublished entries: publish before overwriting any. */
	if ((uint16_t)(q->next_used - q->published_used) == queue_size(q))
		publish(q);
	void *elem = ring_at(q->used, used_ring_off(q->next_used & q->size_minus_1));
	ring_store32(elem, id);
	ring_store32(ring_at(elem, 4), len);
	q->next_used++;
	q->in_flight--;
	return 0;
}

int virtq_publish_used(struct virtq *q)
{
	int r = queue_usable(q);
	if (r)
		return r;
	uint16_t n = (uint16_t)(q->next_used - q->published_used);
	if (n)
		publish(q);
	return n;
}

int virtq_needs_notify(struct virtq *q)
{
	int r = queue_usable(q);
	if (r)
		return r;
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

int virtq_enable_notify(struct virtq *q)
{
	int r = queue_usable(q);
	if (r)
		return r;
	q->notify_enabled = true;
	if (queue_has(q, VIRTQ_F_EVENT_IDX))
		ring_store16(ring_at(q->used, avail_event_off(queue_size(q))), q->shadow_avail);
	else
		ring_store16(ring_at(q->used, USED_FLAGS), 0);
	/* 2.7.13 (d): the driver must see notifications enabled before we look
	 * for buffers it added meanwhile; else it skips the kick and we sleep. */
	ring_fence_full();
	return ring_load16(ring_at(q->avail, AVAIL_IDX)) != q->next_avail;
}

int virtq_disable_notify(struct virtq *q)
{
	int r = queue_usable(q);
	if (r)
		return r;
	q->notify_enabled = false;
	if (!queue_has(q, VIRTQ_F_EVENT_IDX))
		ring_store16(ring_at(q->used, USED_FLAGS), VIRTQ_USED_F_NO_NOTIFY);
	return 0;
}
