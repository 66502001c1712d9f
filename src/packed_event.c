/* SPDX-License-Identifier: MIT */
/*
 * Packed virtqueue (virtio 2.8.10): event suppression.
 *
 * Each side has a structure { le16 off_wrap; le16 flags; }: the driver's
 * (driver area, read here) says when it wants used-buffer notifications,
 * the device's (device area, written here) when the device wants kicks.
 * flags: ENABLE (always), DISABLE (never), DESC (with EVENT_IDX only: when
 * the descriptor at off_wrap's offset, in the lap of its wrap bit, is
 * used / made available). A driver's reserved flags value, or DESC without
 * EVENT_IDX, is taken as ENABLE: an extra notification is harmless, a
 * missing one hangs the driver.
 */
#include "packed.h"
#include "packed_layout.h"
#include "ring_access.h"

/* The device event structure: both fields in one store, so the driver never
 * reads a DESC flag with a stale offset. */
static void write_device_event(struct virtq *q, uint16_t off_wrap, uint16_t flags)
{
	ring_store32(ring_at(q->used, EVENT_OFF_WRAP), (uint32_t)off_wrap | (uint32_t)flags << 16);
	queue_log_used(q, EVENT_OFF_WRAP, VIRTQ_PACKED_EVENT_BYTES);
}

void virtq_packed_event_follow(struct virtq *q)
{
	ring_store16(ring_at(q->used, EVENT_OFF_WRAP), packed_off_wrap(q->avail_pos, q->avail_wrap));
	queue_log_used(q, EVENT_OFF_WRAP, 2);
}

void virtq_packed_start(struct virtq *q)
{
	q->avail_pos = q->used_pos = q->batch_pos = 0;
	q->avail_wrap = q->used_wrap = true; /* 2.8.1: both counters start at 1 */
	q->desc_owned = 0;
	q->batch_flags = 0;
	q->signal_slots = 0;
	if (queue_has(q, VIRTQ_F_EVENT_IDX))
		write_device_event(q, packed_off_wrap(0, true), VIRTQ_RING_EVENT_FLAGS_DESC);
	else
		write_device_event(q, 0, VIRTQ_RING_EVENT_FLAGS_ENABLE);
}

/*
 * The EVENT_IDX form (2.8.10): event is the driver's off_wrap; the device
 * moved from old to new (ring positions, since < size slots apart) and is
 * in the lap of used_wrap at new. An event in the previous lap lies size
 * slots back; 16-bit arithmetic as in need_event() (2.7.7.2).
 */
static bool packed_need_event(const struct virtq *q, uint16_t off_wrap, uint16_t new_pos,
			      bool new_wrap, uint32_t since)
{
	uint16_t event = off_wrap & EVENT_OFF_MASK;
	if ((off_wrap >> EVENT_WRAP_SHIFT) != (uint16_t)new_wrap)
		event = (uint16_t)(event - queue_size(q));
	return need_event(event, new_pos, (uint16_t)(new_pos - since));
}

int virtq_packed_needs_notify(struct virtq *q)
{
	/* 2.8.21 (as 2.7.13 c): the used descriptors must be visible before we
	 * read the driver's event structure, or both sides may skip. */
	ring_fence_full();
	const uint32_t since = q->signal_slots;
	const bool known = q->signalled_valid;
	q->signal_slots = 0;
	q->signalled_valid = true;
	if (known && since == 0)
		return 0; /* nothing published since the last decision */
	const uint32_t event = ring_load32(ring_at(q->avail, EVENT_OFF_WRAP)); /* one read */
	const uint16_t off_wrap = (uint16_t)event, flags = (uint16_t)(event >> 16) & EVENT_FLAGS_MASK;
	if (flags == VIRTQ_RING_EVENT_FLAGS_DISABLE)
		return 0;
	if (flags != VIRTQ_RING_EVENT_FLAGS_DESC || !queue_has(q, VIRTQ_F_EVENT_IDX))
		return 1;
	if (!known || since >= queue_size(q))
		return 1; /* a lap or more: the offset cannot tell */
	/* the published end: the open batch's first slot, else used_pos */
	const bool open = q->next_used != q->published_used;
	const uint16_t pos = open ? q->batch_pos : q->used_pos;
	const bool wrap = open ? (q->batch_flags & VIRTQ_DESC_F_USED) != 0 : q->used_wrap;
	return packed_need_event(q, off_wrap, pos, wrap, since);
}

int virtq_packed_enable_notify(struct virtq *q)
{
	q->notify_enabled = true;
	if (queue_has(q, VIRTQ_F_EVENT_IDX))
		write_device_event(q, packed_off_wrap(q->avail_pos, q->avail_wrap),
				   VIRTQ_RING_EVENT_FLAGS_DESC);
	else
		write_device_event(q, 0, VIRTQ_RING_EVENT_FLAGS_ENABLE);
	/* 2.8.21 (as 2.7.13 d): the driver must see notifications enabled
	 * before we look for a chain it made available meanwhile. */
	ring_fence_full();
	void *first = ring_at(q->desc, packed_desc_off(q->avail_pos));
	return packed_is_avail(ring_load16(ring_at(first, PACKED_DESC_FLAGS)), q->avail_wrap);
}

int virtq_packed_disable_notify(struct virtq *q)
{
	q->notify_enabled = false;
	ring_store16(ring_at(q->used, EVENT_FLAGS), VIRTQ_RING_EVENT_FLAGS_DISABLE);
	queue_log_used(q, EVENT_FLAGS, 2);
	return 0;
}
