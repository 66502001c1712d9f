/* SPDX-License-Identifier: MIT */
/* Split virtqueue: returning chains to the driver and notification suppression. */
#include "inflight.h"
#include "queue_internal.h"
#include "ring_access.h"
#include "split_layout.h"

bool virtq_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return need_event(event, new_idx, old_idx);
}

/*
 * Once 65536 or more entries were published since the last notification
 * decision, 16-bit indices cannot tell how many: used.idx may be back at the
 * old value, or any used_event may have been passed. The decision then knows
 * nothing, as the first one (virtio 2.7.7.2's wrap caveat; QEMU and vhost
 * reset their signalled index the same way).
 */
static void forget_signalled_if_wrapped(struct virtq *q, uint16_t n)
{
	uint32_t since = (uint16_t)(q->published_used - q->signalled_used);
	if (since + n > UINT16_MAX)
		q->signalled_valid = false;
}

/* Logs the used elements [published_used, next_used) (log.h). */
static void log_unpublished(struct virtq *q)
{
	const uint32_t size = queue_size(q), first = q->published_used & q->size_minus_1;
	const uint32_t n = (uint16_t)(q->next_used - q->published_used);
	const uint32_t before_wrap = n < size - first ? n : size - first;
	virtq_queue_log_used(q, used_ring_off(first), 8u * (uint64_t)before_wrap);
	if (n > before_wrap)
		virtq_queue_log_used(q, used_ring_off(0), 8u * (uint64_t)(n - before_wrap));
}

static VIRTQ_ALWAYS_INLINE void publish(struct virtq *q)
{
	const uint16_t n = (uint16_t)(q->next_used - q->published_used);
	/* 2.7.13 (b): release orders the used elements before the new used.idx. */
	ring_store16_release(ring_at(q->used, USED_IDX), q->next_used);
	inflight_published(q, n, q->next_used);
	forget_signalled_if_wrapped(q, n);
	q->published_used = q->next_used;
}

/* publish() with a dirty log attached, out of the way of the one without. */
static VIRTQ_NOINLINE int publish_logged(struct virtq *q, uint16_t n)
{
	/* log (b): the elements are dirty before used.idx publishes them */
	log_unpublished(q);
	publish(q);
	virtq_queue_log_used(q, USED_IDX, 2); /* log (a): after the write */
	return n;
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
	/* At most size - 1 entries are unpublished: each is another head than
	 * this one, in flight. So this element overwrites no unpublished one. */
	const uint64_t off = used_ring_off(q->next_used & q->size_minus_1);
	void *elem = ring_at(q->used, off);
	ring_store32(elem, id);
	ring_store32(ring_at(elem, 4), len);
	/* dirty log: publish_logged() logs the elements before used.idx */
	inflight_entry_completed(q, entry, id);
	q->next_used++;
	return 0;
}

int virtq_publish_used(struct virtq *q)
{
	int r = queue_usable(q);
	if (r)
		return r;
	uint16_t n = (uint16_t)(q->next_used - q->published_used);
	if (VIRTQ_UNLIKELY(q->log != NULL) && n)
		return publish_logged(q, n);
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
	q->notify_enabled = false;
	if (!queue_has(q, VIRTQ_F_EVENT_IDX)) {
		ring_store16(ring_at(q->used, USED_FLAGS), VIRTQ_USED_F_NO_NOTIFY);
		queue_log_used(q, USED_FLAGS, 2);
	}
	return 0;
}
