/* SPDX-License-Identifier: MIT */
/* Split virtqueue: returning chains to the driver and notification suppression. */
#include "completion.h"

bool virtq_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return need_event(event, new_idx, old_idx);
}

int virtq_add_used(struct virtq *q, uint16_t id, uint32_t len)
{
	int r = queue_usable(q);
	if (r)
		return r;
	if (id > q->size_minus_1)
		return -VIRTQ_EINVAL;
	unsigned char *entry = inflight_entry(q, id);
	if (!inflight_entry_in_flight(entry))
		return -VIRTQ_EINVAL;
	completion_write(q, id, len);
	inflight_entry_completed(q, entry, id);
	return 0;
}

int virtq_publish_used(struct virtq *q)
{
	int r = queue_usable(q);
	if (r)
		return r;
	return completion_publish(q);
}

int virtq_needs_notify(struct virtq *q)
{
	int r = queue_usable(q);
	if (r)
		return r;
	return completion_needs_notify(q);
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
