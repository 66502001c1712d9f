/* SPDX-License-Identifier: MIT */
/* Split virtqueue: returning chains to the driver and notification suppression. */
#include "completion.h"
#include "packed.h"

bool virtq_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return need_event(event, new_idx, old_idx);
}

int virtq_add_used(struct virtq *q, uint16_t id, uint32_t len)
{
	int r = queue_usable(q);
	if (r)
		return r;
	if (VIRTQ_UNLIKELY(q->packed))
		return virtq_packed_add_used(q, id, len);
	if ((r = completion_add(q, id, len)))
		return r;
	if (VIRTQ_UNLIKELY(q->log != NULL)) /* the element just written (log.h) */
		return virtq_queue_log_elems(q, (uint16_t)(q->next_used - 1u), 1);
	return 0;
}

int virtq_publish_used(struct virtq *q)
{
	int r = queue_usable(q);
	if (r)
		return r;
	if (VIRTQ_UNLIKELY(q->packed))
		return virtq_packed_publish(q);
	return completion_publish(q);
}

int virtq_needs_notify(struct virtq *q)
{
	int r = queue_usable(q);
	if (r)
		return r;
	if (VIRTQ_UNLIKELY(q->packed))
		return virtq_packed_needs_notify(q);
	return completion_needs_notify(q);
}

int virtq_enable_notify(struct virtq *q)
{
	int r = queue_usable(q);
	if (r)
		return r;
	if (q->packed)
		return virtq_packed_enable_notify(q);
	q->notify_enabled = true;
	if (queue_has(q, VIRTQ_F_EVENT_IDX)) {
		ring_store16(ring_at(q->used, avail_event_off(queue_size(q))), q->shadow_avail);
		queue_log_used(q, avail_event_off(queue_size(q)), 2);
	} else {
		ring_store16(ring_at(q->used, USED_FLAGS), 0);
		queue_log_used(q, USED_FLAGS, 2);
	}
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
	if (q->packed)
		return virtq_packed_disable_notify(q);
	q->notify_enabled = false;
	if (!queue_has(q, VIRTQ_F_EVENT_IDX)) {
		ring_store16(ring_at(q->used, USED_FLAGS), VIRTQ_USED_F_NO_NOTIFY);
		queue_log_used(q, USED_FLAGS, 2);
	}
	return 0;
}
